"""Sentiment sources: the headlines file (VADER, strict validation) and the Fear & Greed client on a local fake."""

from __future__ import annotations

import gzip
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from tests.testkit.fake_fear_greed import FakeFearGreed
from trading_agent.data.errors import DataFileError
from trading_agent.data.sentiment import (
    FEAR_GREED_SOURCE,
    FearGreedIndex,
    HeadlinesFile,
    SentimentServiceError,
    SentimentSource,
    SentimentUnavailableError,
)

HEADER = "timestamp,source,text\n"
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
DAY_S = 86_400
GOOD = "Bitcoin surges to a record high as investors celebrate strong gains"
BAD = "Exchange hacked as traders panic and prices crash with terrible losses"


def _write(tmp_path: Path, body: str, name: str = "h.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ headlines


def test_positive_and_negative_headlines_score_with_the_right_sign(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + f"{T0},wire,{GOOD}\n{T0 + 1},blog,{BAD}\n{T0 + 2},wire,Bitcoin trades at 40000\n")
    frame = HeadlinesFile(path).read()
    assert list(frame.columns) == ["score", "source"]
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "time"
    good, bad, neutral = frame["score"].tolist()
    assert good > 0.5
    assert bad < -0.5
    assert neutral == 0.0
    assert frame["source"].tolist() == ["wire", "blog", "wire"]


def test_iso_times_with_offsets_and_quoted_commas_are_read_and_sorted(tmp_path: Path) -> None:
    body = (
        HEADER
        + '2023-11-14T23:13:20+01:00,wire,"Calm, quiet markets"\n'  # = T0
        + f"2023-11-14T22:13:19.5Z,wire,{GOOD}\n"  # T0 - 500 ms: earlier, so first
        + f"{T0 + 1000},wire,{BAD}\n"
    )
    frame = HeadlinesFile(_write(tmp_path, body)).read()
    ms = frame.index.as_unit("ms").asi8.tolist()
    assert ms == [T0 - 500, T0, T0 + 1000]
    assert frame["score"].iloc[0] > 0 > frame["score"].iloc[2]


def test_sub_millisecond_iso_times_round_up_never_earlier(tmp_path: Path) -> None:
    body = HEADER + f"2023-11-14T22:13:20.0005Z,wire,{GOOD}\n2023-11-14T22:13:20.001Z,wire,{GOOD}\n"
    frame = HeadlinesFile(_write(tmp_path, body)).read()
    assert frame.index.as_unit("ms").asi8.tolist() == [T0 + 1, T0 + 1]


def test_gzip_file_reads_like_plain_csv(tmp_path: Path) -> None:
    plain = _write(tmp_path, HEADER + f"{T0},wire,{GOOD}\n")
    packed = tmp_path / "h.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert HeadlinesFile(packed).read().equals(HeadlinesFile(plain).read())


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("timestamp,text\n" + f"{T0},{GOOD}\n", 1, "missing column(s) source"),
        (HEADER + f"{T0},wire,{GOOD}\nyesterday,wire,{GOOD}\n", 3, "neither epoch milliseconds nor ISO-8601"),
        (HEADER + f"{T0},wire,{GOOD}\n,wire,{GOOD}\n", 3, "timestamp: missing value"),
        (HEADER + f"{T0 // 1000},wire,{GOOD}\n", 2, "not epoch milliseconds between 1990 and 2100"),
        (HEADER + f"2023-11-14T22:13:20,wire,{GOOD}\n", 2, "has no UTC offset"),
        (HEADER + f"{T0},wire,{GOOD}\n{T0},wire,  \n", 3, "text: missing value"),
        (HEADER + f"{T0},,{GOOD}\n", 2, "source: missing value"),
        (
            HEADER + f"{T0},wire,{GOOD}\n{T0},wire,a,b\n",
            3,
            "expected 3 fields, found 4 (quote a text that holds commas)",
        ),
        (HEADER + f"{T0},wire,{GOOD}\n\n", 3, "expected 3 fields, found 0"),
    ],
)
def test_a_bad_file_names_the_file_and_the_line(tmp_path: Path, body: str, line: int, message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(DataFileError, match="line") as caught:
        HeadlinesFile(path).read()
    assert caught.value.path == str(path)
    assert caught.value.line == line
    assert message in caught.value.problem
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("h.csv", "", "the file is empty"),
        ("h.csv", HEADER, "header but no rows"),
        ("h.txt", HEADER, "unsupported file type"),
        ("missing.csv", None, "file not found"),
    ],
)
def test_files_without_headlines_are_refused(tmp_path: Path, name: str, body: str | None, message: str) -> None:
    path = tmp_path / name if body is None else _write(tmp_path, body, name)
    with pytest.raises(DataFileError, match=message):
        HeadlinesFile(path).read()


async def test_scores_returns_the_half_open_range_by_publication_time(tmp_path: Path) -> None:
    body = HEADER + "".join(f"{T0 + i * 1000},wire,{GOOD if i % 2 else BAD}\n" for i in range(5))
    source: SentimentSource = HeadlinesFile(_write(tmp_path, body))
    frame = await source.scores(T0 + 1000, T0 + 3000)
    assert frame.index.as_unit("ms").asi8.tolist() == [T0 + 1000, T0 + 2000]


# ---------------------------------------------------------------------------------------- fear & greed

DAY0 = 1_699_920_000  # 2023-11-14T00:00:00Z, in seconds
VALUES = [(DAY0 + i * DAY_S, v) for i, v in enumerate([10, 50, 75, 100, 0])]


async def test_values_map_to_minus_one_plus_one_oldest_first() -> None:
    async with FakeFearGreed(VALUES) as fake:
        frame = await FearGreedIndex(fake.url, timeout_s=2).latest(0)
    assert fake.requests == [{"limit": "0", "format": "json"}]
    assert frame.index.as_unit("ms").asi8.tolist() == [ts * 1000 for ts, _ in VALUES]
    np.testing.assert_allclose(frame["score"].to_numpy(), [-0.8, 0.0, 0.5, 1.0, -1.0])
    assert set(frame["source"]) == {FEAR_GREED_SOURCE}


async def test_scores_asks_for_enough_days_and_keeps_the_range() -> None:
    now_ms = (DAY0 + 4 * DAY_S + 3600) * 1000  # an hour after the last value
    async with FakeFearGreed(VALUES) as fake:
        client = FearGreedIndex(fake.url, timeout_s=2, clock_ms=lambda: now_ms)
        frame = await client.scores((DAY0 + DAY_S) * 1000, (DAY0 + 3 * DAY_S) * 1000)
    assert fake.requests[0]["limit"] == "5"  # 3 days and an hour back: 4 days, plus one for the boundary
    assert frame.index.as_unit("ms").asi8.tolist() == [(DAY0 + DAY_S) * 1000, (DAY0 + 2 * DAY_S) * 1000]


async def test_a_publication_delay_shifts_every_time() -> None:
    async with FakeFearGreed(VALUES[:1]) as fake:
        frame = await FearGreedIndex(fake.url, timeout_s=2, publication_delay_ms=60_000).latest(1)
    assert frame.index.as_unit("ms").asi8.tolist() == [DAY0 * 1000 + 60_000]


async def test_http_500_is_a_clear_unavailable_error() -> None:
    async with FakeFearGreed(VALUES) as fake:
        fake.status_next = 500
        with pytest.raises(SentimentUnavailableError, match=r"at http://127\.0\.0\.1:\d+/fng/ is failing: HTTP 500"):
            await FearGreedIndex(fake.url, timeout_s=2).latest(1)


async def test_http_404_is_a_service_error_with_the_body() -> None:
    async with FakeFearGreed(VALUES) as fake:
        fake.status_next = 404
        with pytest.raises(SentimentServiceError, match="answered HTTP 404: '<html>upstream error</html>'"):
            await FearGreedIndex(fake.url, timeout_s=2).latest(1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "a body that is not JSON"),
        ('{"name": "Fear and Greed Index"}', "no 'data' list"),
        ('{"data": [], "metadata": {"error": "Limit must be a number"}}', "an error: Limit must be a number"),
        ('{"data": ["40"]}', "data[0] that is not an object"),
        ('{"data": [{"value": "abc", "timestamp": "1700000000"}]}', "data[0] with value 'abc'"),
        ('{"data": [{"value": "140", "timestamp": "1700000000"}]}', "data[0] with value '140'"),
        ('{"data": [{"value": "40", "timestamp": "1700000000000"}]}', "expected epoch seconds"),
        ('{"data": [{"value": "40"}]}', "data[0] with timestamp None"),
    ],
)
async def test_a_malformed_body_is_a_clear_error(body: str, message: str) -> None:
    async with FakeFearGreed(VALUES) as fake:
        fake.body_next = body
        with pytest.raises(
            SentimentServiceError, match=r"Fear & Greed index at http://127\.0\.0\.1:\d+/fng/ sent"
        ) as e:
            await FearGreedIndex(fake.url, timeout_s=2).latest(1)
    assert message in str(e.value)


async def test_a_server_that_never_answers_times_out_naming_the_url() -> None:
    async with FakeFearGreed(VALUES) as fake:
        fake.stall_next = True
        started = time.monotonic()
        with pytest.raises(
            SentimentUnavailableError, match=r"no connection .* at http://127.*: no answer within 0.3 s"
        ):
            await FearGreedIndex(fake.url, timeout_s=0.3).latest(1)
        assert time.monotonic() - started < 2


async def test_nothing_listening_fails_fast_naming_the_url() -> None:
    with socket.socket() as sock:  # a free port that is then closed: the connection is refused
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/fng/"
    with pytest.raises(
        SentimentUnavailableError, match=rf"no connection to the Fear & Greed index at {url}: connection"
    ):
        await FearGreedIndex(url, timeout_s=2).latest(1)


def test_refuses_a_non_positive_timeout() -> None:
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        FearGreedIndex(timeout_s=0)
