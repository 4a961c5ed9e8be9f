"""Sentiment scores as a time series stamped with the moment each item became PUBLIC.

Every source answers one question, ``await source.scores(start_ms, end_ms)``: the items published
in ``[start_ms, end_ms)`` as a frame on a UTC ``DatetimeIndex`` named ``time`` (publication time,
oldest first; several items may share a time), with a float64 ``score`` in [-1, 1] (negative:
bearish) and a string ``source``. The index is the publication time and never the time the item talks
about, because that is what the features layer needs to count an item only once it could have been
read (``features/sentiment.py``).

Two sources:

- ``HeadlinesFile``: the offline default, a CSV (or CSV.gz) of headlines (``timestamp``, ``source``,
  ``text``) scored with VADER's compound score, a lexicon and rule based scorer whose lexicon ships
  inside the ``vaderSentiment`` package (no download, no network). As for candle files
  (``data/files.py``), a bad file raises ``DataFileError`` naming the file and the line (the header is
  line 1) and nothing is returned unless the whole file is valid. ISO-8601 times must carry a UTC
  offset: a naive time would silently move every headline by the reader's time zone.
- ``FearGreedIndex``: the Alternative.me Crypto Fear & Greed index (``GET /fng/?limit=N&format=json``),
  one value 0..100 a day, mapped to (value - 50) / 50. Its ``timestamp`` (seconds) is taken as the
  publication time, plus ``publication_delay_ms`` for callers who want a safety margin. One aiohttp
  session per call and a total timeout, so an offline machine fails within ``timeout_s`` with an
  error naming the URL.

The protocol is async because network sources are; ``HeadlinesFile`` scores in a worker thread so it
does not block the event loop, and ``HeadlinesFile.read()`` is the synchronous whole-file path.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import aiohttp
import numpy as np
import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from trading_agent.data.errors import DataError, DataFileError

__all__ = [
    "FEAR_GREED_SOURCE",
    "FEAR_GREED_URL",
    "SENTIMENT_COLUMNS",
    "FearGreedIndex",
    "HeadlinesFile",
    "SentimentServiceError",
    "SentimentSource",
    "SentimentUnavailableError",
    "empty_scores",
]

SENTIMENT_COLUMNS = ("score", "source")
FEAR_GREED_URL = "https://api.alternative.me/fng/"
FEAR_GREED_SOURCE = "fear_greed"
_HEADLINE_COLUMNS = ("timestamp", "source", "text")
_DAY_MS = 86_400_000
# Epoch-ms bounds that catch seconds or microseconds passed by mistake: 1990-01-01 .. 2100-01-01.
_MIN_TS_MS = 631_152_000_000
_MAX_TS_MS = 4_102_444_800_000
_DETAIL_CHARS = 120
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


class SentimentServiceError(DataError):
    """A sentiment service answered with an error, or with a body its API does not document."""


class SentimentUnavailableError(SentimentServiceError):
    """A sentiment service could not be reached (no network, DNS failure, timeout) or is failing (HTTP 5xx)."""


class SentimentSource(Protocol):
    """Anything that yields sentiment items by publication time."""

    async def scores(self, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Items published in ``[start_ms, end_ms)`` (epoch ms UTC): ``score`` in [-1, 1] and ``source``."""
        ...


def _scores_frame(ts_ms: np.ndarray, scores: np.ndarray, sources: list[str]) -> pd.DataFrame:
    """The scores frame, sorted by publication time (stable: items at the same time keep their order)."""
    order = np.argsort(ts_ms, kind="stable")
    stamps = np.asarray(ts_ms, dtype="int64")[order].view("datetime64[ms]")
    index = pd.DatetimeIndex(stamps, name="time").tz_localize("UTC")
    columns = {"score": np.asarray(scores, dtype="float64")[order], "source": np.asarray(sources, dtype=object)[order]}
    return pd.DataFrame(columns, index=index)


def empty_scores() -> pd.DataFrame:
    """A scores frame with no rows."""
    return _scores_frame(np.empty(0, "int64"), np.empty(0), [])


def _between(frame: pd.DataFrame, start_ms: int, end_ms: int) -> pd.DataFrame:
    ts = np.asarray(pd.DatetimeIndex(frame.index).as_unit("ms").asi8, dtype="int64")
    return frame.iloc[np.searchsorted(ts, start_ms, side="left") : np.searchsorted(ts, end_ms, side="left")]


# ---------------------------------------------------------------------------------------- headlines


def _parse_time(text: str) -> int | str:
    """Epoch ms of ``text`` (epoch ms or ISO-8601 with an offset), or the problem with it."""
    text = text.strip()
    if not text:
        return "timestamp: missing value"
    if text.isdigit():
        value = int(text)
        if not _MIN_TS_MS <= value <= _MAX_TS_MS:
            return f"timestamp {value} is not epoch milliseconds between 1990 and 2100 (seconds or µs?)"
        return value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return f"timestamp {text!r} is neither epoch milliseconds nor ISO-8601"
    if moment.utcoffset() is None:
        return f"timestamp {text!r} has no UTC offset (add Z or +00:00)"
    # Exact integer arithmetic, rounded UP to the millisecond: an item is never public earlier than it was.
    return -((_EPOCH - moment) // _ONE_MS)


def _rows(handle: IO[str], path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for every data row of a headlines CSV, after checking its header."""
    reader = csv.reader(handle, strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise DataFileError(str(path), "the file is empty (no header, no rows)") from None
    missing = [name for name in _HEADLINE_COLUMNS if name not in header]
    if missing:
        raise DataFileError(str(path), f"missing column(s) {', '.join(missing)} (found: {', '.join(header)})", line=1)
    line = reader.line_num + 1
    for fields in reader:
        if len(fields) != len(header):
            problem = f"expected {len(header)} fields, found {len(fields)}"
            if len(fields) > len(header):
                problem += " (quote a text that holds commas)"
            raise DataFileError(str(path), problem, line=line)
        yield line, dict(zip(header, fields, strict=True))
        line = reader.line_num + 1


class HeadlinesFile:
    """Headlines from a CSV or CSV.gz file (``timestamp``, ``source``, ``text``), scored with VADER."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._analyzer: SentimentIntensityAnalyzer | None = None

    def score_text(self, text: str) -> float:
        """VADER's compound score of one text, in [-1, 1]."""
        if self._analyzer is None:
            self._analyzer = SentimentIntensityAnalyzer()
        return float(self._analyzer.polarity_scores(text)["compound"])

    def read(self) -> pd.DataFrame:
        """Every headline of the file, scored; raises ``DataFileError`` naming the file and line."""
        if not self.path.is_file():
            raise DataFileError(str(self.path), "file not found")
        suffixes = [s.lower() for s in self.path.suffixes]
        if suffixes[-1:] != [".csv"] and suffixes[-2:] != [".csv", ".gz"]:
            raise DataFileError(str(self.path), "unsupported file type: use .csv or .csv.gz")
        opener: Callable[..., IO[str]] = gzip.open if suffixes[-1] == ".gz" else open
        stamps: list[int] = []
        scores: list[float] = []
        sources: list[str] = []
        try:
            with opener(self.path, "rt", encoding="utf-8", newline="") as handle:
                for line, row in _rows(handle, self.path):
                    stamp = _parse_time(row["timestamp"])
                    if isinstance(stamp, str):
                        raise DataFileError(str(self.path), stamp, line=line)
                    for column in ("source", "text"):
                        if not row[column].strip():
                            raise DataFileError(str(self.path), f"{column}: missing value", line=line)
                    stamps.append(stamp)
                    sources.append(row["source"].strip())
                    scores.append(self.score_text(row["text"]))
        except csv.Error as exc:
            raise DataFileError(str(self.path), f"malformed row: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DataFileError(str(self.path), f"cannot read the file: {exc}") from None
        if not stamps:
            raise DataFileError(str(self.path), "the file has a header but no rows")
        return _scores_frame(np.asarray(stamps, dtype="int64"), np.asarray(scores), sources)

    async def scores(self, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Headlines published in ``[start_ms, end_ms)``, read and scored in a worker thread."""
        return _between(await asyncio.to_thread(self.read), start_ms, end_ms)


# ------------------------------------------------------------------------------ fear & greed index


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _number(item: Mapping[str, Any], key: str) -> float | None:
    try:
        value = float(item[key])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class FearGreedIndex:
    """Async client of the Alternative.me Crypto Fear & Greed index (one value a day, 0 = fear, 100 = greed)."""

    def __init__(
        self,
        url: str = FEAR_GREED_URL,
        timeout_s: float = 10.0,
        *,
        publication_delay_ms: int = 0,
        clock_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        if timeout_s <= 0 or publication_delay_ms < 0:
            raise ValueError(
                f"timeout_s must be > 0 and publication_delay_ms >= 0, got {timeout_s}, {publication_delay_ms}"
            )
        self.url = url
        self.timeout_s = timeout_s
        self.publication_delay_ms = publication_delay_ms
        self._clock_ms = clock_ms

    async def scores(self, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Daily values published in ``[start_ms, end_ms)``; asks for just enough days back from now."""
        days = max(1, -(-(self._clock_ms() - start_ms) // _DAY_MS) + 1)
        return _between(await self.latest(days), start_ms, end_ms)

    async def latest(self, limit: int) -> pd.DataFrame:
        """The ``limit`` most recent daily values (``limit=0``: the whole history), oldest first."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        body = await self._get({"limit": str(limit), "format": "json"})
        return self._parse(body)

    async def _get(self, params: Mapping[str, str]) -> str:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(self.url, params=params) as response,
            ):
                body = await response.text(errors="replace")
                status = response.status
        except TimeoutError:
            raise self._unavailable(f"no answer within {self.timeout_s:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise self._unavailable(f"connection failed ({exc.os_error.strerror or exc.os_error})") from None
        except aiohttp.ClientError as exc:
            raise self._unavailable(str(exc).strip() or type(exc).__name__) from None
        if status >= 500:
            raise SentimentUnavailableError(f"the Fear & Greed index at {self.url} is failing: HTTP {status}")
        if status >= 400:
            raise SentimentServiceError(
                f"the Fear & Greed index at {self.url} answered HTTP {status}: {body.strip()[:_DETAIL_CHARS]!r}"
            )
        return body

    def _unavailable(self, reason: str) -> SentimentUnavailableError:
        return SentimentUnavailableError(f"no connection to the Fear & Greed index at {self.url}: {reason}")

    def _bad(self, problem: str) -> SentimentServiceError:
        return SentimentServiceError(f"the Fear & Greed index at {self.url} sent {problem}")

    def _parse(self, body: str) -> pd.DataFrame:
        try:
            parsed = json.loads(body)
        except ValueError:
            raise self._bad(f"a body that is not JSON: {body[:80]!r}") from None
        if not isinstance(parsed, Mapping) or not isinstance(parsed.get("data"), list):
            raise self._bad(f"no 'data' list: {body[:80]!r}")
        metadata = parsed.get("metadata")
        if isinstance(metadata, Mapping) and metadata.get("error"):
            raise self._bad(f"an error: {metadata['error']}")
        stamps: list[int] = []
        values: list[float] = []
        for i, item in enumerate(parsed["data"]):
            if not isinstance(item, Mapping):
                raise self._bad(f"data[{i}] that is not an object: {item!r}")
            value, seconds = _number(item, "value"), _number(item, "timestamp")
            if value is None or not 0 <= value <= 100:
                raise self._bad(f"data[{i}] with value {item.get('value')!r} (expected a number 0..100)")
            if seconds is None or not _MIN_TS_MS <= seconds * 1000 <= _MAX_TS_MS:
                raise self._bad(f"data[{i}] with timestamp {item.get('timestamp')!r} (expected epoch seconds)")
            stamps.append(int(seconds * 1000) + self.publication_delay_ms)
            values.append((value - 50) / 50)
        return _scores_frame(np.asarray(stamps, dtype="int64"), np.asarray(values), [FEAR_GREED_SOURCE] * len(values))
