"""Parsing Delta's candlestick messages (new compact and legacy formats) and building requests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trading_agent.data.delta.ws_messages import (
    ENABLE_HEARTBEAT,
    candle_channel,
    parse_candle_update,
    subscribe_message,
)
from trading_agent.data.errors import DataError
from trading_agent.domain import Candle, Timeframe

T0 = 1_704_067_200_000
MINUTE = 60_000


def compact(**changes: Any) -> dict[str, Any]:
    message = {
        "type": "candlestick_1m",
        "sy": "BTCUSD",
        "res": "1m",
        "o": 100.0,
        "h": 101.5,
        "l": 99.5,
        "c": 101.0,
        "v": 12,
        "ts": (T0 + MINUTE + 42_123) * 1000,
    }
    return message | changes


def test_compact_candle_start_is_the_update_time_floored() -> None:
    update = parse_candle_update(compact(), Timeframe.M1)
    assert update is not None
    assert update.symbol == "BTCUSD"
    assert update.candle == Candle(T0 + MINUTE, 100.0, 101.5, 99.5, 101.0, 12.0)


def test_compact_with_a_candle_start_field() -> None:
    update = parse_candle_update(compact(candle_start_time=T0 * 1000), Timeframe.M1)
    assert update is not None and update.candle.ts == T0


def test_compact_mark_candle_has_no_volume() -> None:
    message = compact(sy="MARK:BTCUSD", o="100", h="102", l="99", c="101")
    del message["v"]
    update = parse_candle_update(message, Timeframe.M1)
    assert update is not None
    assert update.symbol == "MARK:BTCUSD" and update.candle.volume == 0.0 and update.candle.high == 102.0


def test_legacy_format() -> None:
    message = {
        "type": "candlestick_5m",
        "symbol": "ETHUSD",
        "resolution": "5m",
        "candle_start_time": (T0 + 5 * MINUTE) * 1000,
        "open": "2000",
        "high": "2010.5",
        "low": "1995",
        "close": "2005",
        "volume": 7,
        "timestamp": (T0 + 7 * MINUTE) * 1000,
    }
    update = parse_candle_update(message, Timeframe.M5)
    assert update is not None
    assert update.candle == Candle(T0 + 5 * MINUTE, 2000.0, 2010.5, 1995.0, 2005.0, 7.0)


def test_other_resolutions_are_skipped() -> None:
    assert parse_candle_update(compact(res="5m"), Timeframe.M1) is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"c": None}, "'c'"),
        ({"o": "abc"}, "not a number"),
        ({"ts": "soon"}, "µs"),
        ({"sy": ""}, "'sy'"),
        ({"h": 99.0}, "high/low"),
    ],
)
def test_malformed_messages_raise(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(DataError, match=problem):
        parse_candle_update(compact(**changes), Timeframe.M1)


def test_requests() -> None:
    assert json.loads(ENABLE_HEARTBEAT) == {"type": "enable_heartbeat"}
    assert candle_channel(Timeframe.H4) == "candlestick_4h"
    assert json.loads(subscribe_message("candlestick_1m", ["BTCUSD", "MARK:BTCUSD"])) == {
        "type": "subscribe",
        "payload": {"channels": [{"name": "candlestick_1m", "symbols": ["BTCUSD", "MARK:BTCUSD"]}]},
    }
    with pytest.raises(DataError, match="3d"):
        candle_channel(Timeframe.D3)
