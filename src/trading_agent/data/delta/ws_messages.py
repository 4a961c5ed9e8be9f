"""Messages of Delta's public WebSocket: what the feed sends, and the candlestick updates it receives.

Hand-written: ccxt 4.5.90 has no Delta WebSocket. Two candle formats exist:

- new (``wss://public-socket.india.delta.exchange``, since Apr 2026): ``o h l c v res sy ts`` with
  ``ts`` in µs and no candle-start field in the documented sample, so the start is ``ts`` floored to
  the resolution unless a ``candle_start_time`` field is present; mark-price candles have no ``v``;
- legacy (``wss://socket.india.delta.exchange``): ``candle_start_time`` (µs), ``open high low close
  volume resolution symbol timestamp``.

Every update re-sends the whole current candle, not a delta.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trading_agent.data.delta.candles import resolution_for
from trading_agent.data.errors import DataError
from trading_agent.domain import Candle, DomainError, Timeframe

__all__ = [
    "ENABLE_HEARTBEAT",
    "CandleUpdate",
    "candle_channel",
    "parse_candle_update",
    "subscribe_message",
]

ENABLE_HEARTBEAT = json.dumps({"type": "enable_heartbeat"})

# (symbol, resolution, update time, open, high, low, close, volume) field names
_COMPACT = ("sy", "res", "ts", "o", "h", "l", "c", "v")
_LEGACY = ("symbol", "resolution", "timestamp", "open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class CandleUpdate:
    """The current state of ``symbol``'s candle that opened at ``candle.ts``."""

    symbol: str
    candle: Candle


def candle_channel(timeframe: Timeframe) -> str:
    """The channel name of ``timeframe``'s candles: ``candlestick_1m``."""
    return f"candlestick_{resolution_for(timeframe)}"


def subscribe_message(channel: str, symbols: Iterable[str]) -> str:
    """The JSON text that subscribes ``symbols`` to ``channel``."""
    payload = {"channels": [{"name": channel, "symbols": list(symbols)}]}
    return json.dumps({"type": "subscribe", "payload": payload})


def _float(message: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = message.get(name, default)
    if value is None or isinstance(value, bool):
        raise DataError(f"Delta candlestick message lacks {name!r}: {dict(message)}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"Delta candlestick field {name!r} is not a number: {value!r}") from None


def _micros(message: Mapping[str, Any], name: str) -> int:
    value = message.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise DataError(f"Delta candlestick field {name!r} must be µs since the epoch, got {value!r}")
    return int(value)


def parse_candle_update(message: Mapping[str, Any], timeframe: Timeframe) -> CandleUpdate | None:
    """The candle in a ``candlestick_*`` message, or None when it is of another resolution.

    Raises ``DataError`` for a malformed message (missing fields, impossible prices).
    """
    symbol_key, resolution_key, time_key, *price_keys, volume_key = _COMPACT if "sy" in message else _LEGACY
    resolution = message.get(resolution_key)
    if resolution is not None and resolution != resolution_for(timeframe):
        return None
    symbol = message.get(symbol_key)
    if not isinstance(symbol, str) or not symbol:
        raise DataError(f"Delta candlestick message lacks {symbol_key!r}: {dict(message)}")
    if "candle_start_time" in message:
        start_ms = _micros(message, "candle_start_time") // 1000
    else:
        start_ms = timeframe.bucket_start(_micros(message, time_key) // 1000)
    open_, high, low, close = (_float(message, key) for key in price_keys)
    try:
        return CandleUpdate(symbol, Candle(start_ms, open_, high, low, close, _float(message, volume_key, 0.0)))
    except DomainError as exc:
        raise DataError(f"Delta candlestick of {symbol}: {exc}") from exc
