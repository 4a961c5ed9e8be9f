"""Reading candle and funding-rate files (CSV, CSV.gz, Parquet) with strict validation.

The schema is ../shared/data's: ``timestamp`` (epoch milliseconds UTC, candle open time), ``open``,
``high``, ``low``, ``close``, ``volume``; funding files have ``timestamp`` and ``funding_rate`` (a
fraction per interval). Every problem is reported with the file and the line (CSV: the header is
line 1) or row (Parquet), and nothing is returned unless the whole file is valid, so an import is
all or nothing.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from trading_agent.data.errors import DataFileError
from trading_agent.data.frames import FUNDING_COLUMNS, OHLCV_COLUMNS, frame_from_arrays
from trading_agent.domain import Timeframe

__all__ = ["SeriesFileKind", "read_candle_file", "read_funding_file"]

# Epoch-ms bounds that catch seconds or microseconds passed by mistake: 2009-01-01 .. 2100-01-01.
_MIN_TS_MS = 1_230_768_000_000
_MAX_TS_MS = 4_102_444_800_000
_CSV_LINE = re.compile(r"line (\d+)")


class SeriesFileKind(StrEnum):
    """What a data file holds."""

    CANDLES = "candles"
    FUNDING = "funding"


class _Locator:
    """Turns a 0-based data row into the place a person looks for it."""

    def __init__(self, path: Path, is_csv: bool) -> None:
        self.path = str(path)
        self.is_csv = is_csv

    def error(self, row: int | None, problem: str) -> DataFileError:
        if row is None:
            return DataFileError(self.path, problem)
        if self.is_csv:
            return DataFileError(self.path, problem, line=row + 2)
        return DataFileError(self.path, f"row {row + 1}: {problem}")


def _is_csv(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".parquet"]:
        return False
    if suffixes[-1:] == [".csv"] or suffixes[-2:] == [".csv", ".gz"]:
        return True
    raise DataFileError(str(path), "unsupported file type: use .csv, .csv.gz or .parquet")


def _read_table(path: Path, columns: tuple[str, ...], where: _Locator) -> pd.DataFrame:
    if not path.is_file():
        raise DataFileError(str(path), "file not found")
    try:
        if where.is_csv:
            table = pd.read_csv(path, skip_blank_lines=False, engine="c")
        else:
            table = pq.read_table(path).to_pandas()
    except pd.errors.ParserError as exc:
        match = _CSV_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        raise DataFileError(str(path), f"malformed row: {exc}".replace("\n", " "), line=line) from None
    except pd.errors.EmptyDataError:
        raise DataFileError(str(path), "the file is empty (no header, no rows)") from None
    except (OSError, ValueError) as exc:
        raise DataFileError(str(path), f"cannot read the file: {exc}") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ("timestamp", *columns) if c not in table.columns]
    if missing:
        found = ", ".join(table.columns) or "none"
        raise where.error(None, f"missing column(s) {', '.join(missing)} (found: {found})")
    if table.empty:
        raise where.error(None, "the file has a header but no rows")
    return table


def _numeric(table: pd.DataFrame, column: str, where: _Locator) -> np.ndarray:
    raw = table[column]
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
    else:
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        shown = raw.iloc[row]
        what = "missing value" if pd.isna(shown) else f"non-numeric or non-finite value {shown!r}"
        raise where.error(row, f"{column}: {what}")
    return values


def _timestamps(table: pd.DataFrame, where: _Locator) -> np.ndarray:
    values = _numeric(table, "timestamp", where)
    fractional = values != np.floor(values)
    if fractional.any():
        row = int(np.argmax(fractional))
        raise where.error(row, f"timestamp {values[row]!r} is not a whole number of milliseconds")
    out_of_range = (values < _MIN_TS_MS) | (values > _MAX_TS_MS)
    if out_of_range.any():
        row = int(np.argmax(out_of_range))
        raise where.error(
            row, f"timestamp {int(values[row])} is not epoch milliseconds between 2009 and 2100 (seconds or µs?)"
        )
    ts = values.astype("int64")
    steps = np.diff(ts)
    if (steps <= 0).any():
        row = int(np.argmax(steps <= 0)) + 1
        kind = "duplicates" if steps[row - 1] == 0 else "is earlier than"
        problem = f"timestamp {ts[row]} {kind} the previous row's {ts[row - 1]} (must be strictly increasing)"
        raise where.error(row, problem)
    return ts


def _first_bad(mask: np.ndarray) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


def read_candle_file(path: Path, timeframe: Timeframe) -> pd.DataFrame:
    """Read and validate an OHLCV file of ``timeframe`` candles into a candle frame.

    Raises ``DataFileError`` naming the file and line for: malformed rows, missing columns,
    non-numeric or missing values, timestamps that are not strictly increasing or not on the
    ``timeframe`` grid, non-positive prices, negative volume, and high/low that do not contain
    open/close.
    """
    where = _Locator(path, _is_csv(path))
    table = _read_table(path, OHLCV_COLUMNS, where)
    ts = _timestamps(table, where)
    cols = {name: _numeric(table, name, where) for name in OHLCV_COLUMNS}
    tf_ms, offset = timeframe.ms, timeframe.offset_ms
    checks: list[tuple[np.ndarray, str]] = [
        ((ts - offset) % tf_ms != 0, f"timestamp is not on the {timeframe} grid"),
        (np.minimum.reduce([cols["open"], cols["high"], cols["low"], cols["close"]]) <= 0, "prices must be positive"),
        (cols["volume"] < 0, "volume must not be negative"),
        (cols["high"] < cols["low"], "high is below low"),
        (cols["high"] < np.maximum(cols["open"], cols["close"]), "high is below open or close"),
        (cols["low"] > np.minimum(cols["open"], cols["close"]), "low is above open or close"),
    ]
    for mask, problem in checks:
        row = _first_bad(mask)
        if row is not None:
            values = ", ".join(f"{k}={cols[k][row]:g}" for k in OHLCV_COLUMNS)
            raise where.error(row, f"{problem} (timestamp={ts[row]}, {values})")
    return frame_from_arrays(ts, cols)


def read_funding_file(path: Path) -> pd.DataFrame:
    """Read and validate a funding-rate file (``timestamp``, ``funding_rate`` as a fraction)."""
    where = _Locator(path, _is_csv(path))
    table = _read_table(path, FUNDING_COLUMNS, where)
    ts = _timestamps(table, where)
    rates = _numeric(table, "funding_rate", where)
    row = _first_bad(np.abs(rates) >= 1)
    if row is not None:
        raise where.error(row, f"funding_rate {rates[row]:g} is not a fraction per interval (|rate| must be < 1)")
    return frame_from_arrays(ts, {"funding_rate": rates})
