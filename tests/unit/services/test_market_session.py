from pathlib import Path

import pytest

from trading_agent.domain import Timeframe
from trading_agent.services.errors import ServiceError
from trading_agent.services.market_session import series_of_file

HEADER = "timestamp,open,high,low,close,volume\n"


def test_series_from_the_conventional_file_name(tmp_path: Path) -> None:
    path = tmp_path / "binanceusdm_BTCUSDT_1h.csv.gz"
    assert series_of_file(path) == ("binanceusdm", "BTCUSDT", Timeframe.H1)


def test_timeframe_from_the_most_common_step_when_the_name_says_nothing(tmp_path: Path) -> None:
    path = tmp_path / "my candles.csv"
    rows = [1_700_000_100_000 - 1_700_000_100_000 % 300_000 + i * 300_000 for i in (0, 1, 2, 4, 5)]
    path.write_text(HEADER + "".join(f"{ts},1,2,1,1,1\n" for ts in rows))
    assert series_of_file(path) == ("file", "my-candles", Timeframe.M5)


def test_unknown_step_asks_for_the_timeframe(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(HEADER + "0,1,2,1,1,1\n7000,1,2,1,1,1\n14000,1,2,1,1,1\n")
    with pytest.raises(ServiceError, match="pass --timeframe"):
        series_of_file(path)
