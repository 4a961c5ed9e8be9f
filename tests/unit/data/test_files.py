import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading_agent.data.errors import DataFileError
from trading_agent.data.files import read_candle_file, read_funding_file
from trading_agent.data.frames import index_ms
from trading_agent.domain import Timeframe

HEADER = "timestamp,open,high,low,close,volume\n"
T0 = 1_514_764_800_000  # 2018-01-01 00:00 UTC
H = 3_600_000


def _write(tmp_path: Path, body: str, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def _rows(n: int) -> str:
    return "".join(f"{T0 + i * H},10,12,9,11,5\n" for i in range(n))


def test_reads_csv_gz_and_parquet_identically(tmp_path: Path) -> None:
    csv = _write(tmp_path, HEADER + _rows(5))
    gz = tmp_path / "c.csv.gz"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    parquet = tmp_path / "c.parquet"
    pd.read_csv(csv).to_parquet(parquet)
    frames = [read_candle_file(p, Timeframe.H1) for p in (csv, gz, parquet)]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert list(frames[0].columns) == ["open", "high", "low", "close", "volume"]
    assert str(frames[0].index.tz) == "UTC"
    assert index_ms(frames[0])[0] == T0


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (HEADER + _rows(1) + f"{T0 + H},10,12,9,11,5,7\n", 3, "Expected 6 fields"),
        (HEADER + _rows(1) + f"{T0 + H},10,12,9,abc,5\n", 3, "close: non-numeric or non-finite value 'abc'"),
        (HEADER + _rows(1) + f"{T0 + H},10,12,9,,5\n", 3, "close: missing value"),
        (HEADER + _rows(1) + "\n" + f"{T0 + 2 * H},10,12,9,11,5\n", 3, "timestamp: missing value"),
        (HEADER + _rows(2) + f"{T0},10,12,9,11,5\n", 4, "is earlier than the previous row"),
        (HEADER + _rows(2) + f"{T0 + H},10,12,9,11,5\n", 4, "duplicates the previous row"),
        (HEADER + _rows(1) + f"{T0 + H + 60_000},10,12,9,11,5\n", 3, "not on the 1h grid"),
        (HEADER + _rows(1) + f"{T0 + H},10,8,9,9,5\n", 3, "high is below low"),
        (HEADER + _rows(1) + f"{T0 + H},10,10.5,9,11,5\n", 3, "high is below open or close"),
        (HEADER + _rows(1) + f"{T0 + H},10,12,10.5,11,5\n", 3, "low is above open or close"),
        (HEADER + _rows(1) + f"{T0 + H},-10,12,9,11,5\n", 3, "prices must be positive"),
        (HEADER + _rows(1) + f"{T0 + H},10,12,9,11,-5\n", 3, "volume must not be negative"),
        (HEADER + f"{T0 // 1000},10,12,9,11,5\n", 2, "not epoch milliseconds"),
        (HEADER + f"{T0}.5,10,12,9,11,5\n", 2, "not a whole number of milliseconds"),
        (HEADER + f"{T0},10,12,9,inf,5\n", 2, "close: non-numeric or non-finite"),
    ],
)
def test_bad_rows_are_named_by_file_and_line(tmp_path: Path, body: str, line: int, message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(DataFileError, match=message) as info:
        read_candle_file(path, Timeframe.H1)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}, line {line}: ")


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    frame = pd.DataFrame(
        {
            "timestamp": [T0, T0 + H],
            "open": [1.0, 1.0],
            "high": [2.0, 0.5],
            "low": [0.5, 1.0],
            "close": [1.5, 1.0],
            "volume": [1.0, 1.0],
        }
    )
    frame.to_parquet(path)
    with pytest.raises(DataFileError, match=r"bad\.parquet: row 2: high is below low"):
        read_candle_file(path, Timeframe.H1)


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("c.csv", "timestamp,open,high,low,close\n1,1,1,1,1\n", r"missing column\(s\) volume"),
        ("c.csv", HEADER, "header but no rows"),
        ("c.csv", "", "empty"),
        ("c.json", "{}", "unsupported file type"),
    ],
)
def test_file_level_problems(tmp_path: Path, name: str, body: str, message: str) -> None:
    with pytest.raises(DataFileError, match=message):
        read_candle_file(_write(tmp_path, body, name), Timeframe.H1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file not found"):
        read_candle_file(tmp_path / "nope.csv", Timeframe.H1)


def test_weekly_candles_must_open_on_monday(tmp_path: Path) -> None:
    monday = 1_717_977_600_000  # 2024-06-10
    week = 7 * 86_400_000
    good = _write(tmp_path, HEADER + f"{monday},1,2,1,1,1\n{monday + week},1,2,1,1,1\n", "w.csv")
    assert len(read_candle_file(good, Timeframe.W1)) == 2
    bad = _write(tmp_path, HEADER + f"{monday + 86_400_000},1,2,1,1,1\n", "w2.csv")
    with pytest.raises(DataFileError, match="not on the 1w grid"):
        read_candle_file(bad, Timeframe.W1)


def test_funding_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,funding_rate\n1568102400000,0.0001\n1568131200000,-0.0003\n")
    frame = read_funding_file(path)
    assert frame["funding_rate"].tolist() == [0.0001, -0.0003]
    bad = _write(tmp_path, "timestamp,funding_rate\n1568102400000,1.5\n", "f.csv")
    with pytest.raises(DataFileError, match=r"line 2: funding_rate 1\.5 is not a fraction"):
        read_funding_file(bad)


@pytest.mark.real_data
def test_real_files_read_exactly(btc_1h_path: Path, funding_path: Path) -> None:
    frame = read_candle_file(btc_1h_path, Timeframe.H1)
    raw = pd.read_csv(btc_1h_path)
    assert len(frame) == 56_830
    np.testing.assert_array_equal(index_ms(frame), raw["timestamp"].to_numpy())
    np.testing.assert_array_equal(frame["close"].to_numpy(), raw["close"].to_numpy())
    assert str(frame.index[-1]) == "2024-06-30 23:00:00+00:00"
    funding = read_funding_file(funding_path)
    assert len(funding) == 5267
    assert funding["funding_rate"].abs().max() <= 0.003
