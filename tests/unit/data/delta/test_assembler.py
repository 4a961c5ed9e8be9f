"""Closed candles out of repeated current-candle updates: once each, in order."""

from __future__ import annotations

from trading_agent.data.delta.assembler import CandleAssembler
from trading_agent.domain import Candle, Timeframe

T0 = 1_704_067_200_000
MINUTE = 60_000


def bar(i: int, close: float = 100.0) -> Candle:
    return Candle(T0 + i * MINUTE, 100.0, max(100.0, close), min(100.0, close), close, 1.0)


def test_a_candle_closes_when_a_later_one_starts_with_its_last_value() -> None:
    assembler = CandleAssembler(Timeframe.M1)
    assert assembler.on_update("BTCUSD", bar(0, 101)) is None
    assert assembler.on_update("BTCUSD", bar(0, 102)) is None
    assert assembler.on_update("BTCUSD", bar(1, 99)) == bar(0, 102)
    assert assembler.next_open("BTCUSD") == T0 + MINUTE


def test_symbols_are_independent() -> None:
    assembler = CandleAssembler(Timeframe.M1)
    assembler.on_update("BTCUSD", bar(0))
    assembler.on_update("ETHUSD", bar(5))
    assert assembler.on_update("BTCUSD", bar(1)) == bar(0)
    assert assembler.on_update("ETHUSD", bar(6)) == bar(5)
    assert assembler.next_open("SOLUSD") is None


def test_stale_updates_are_ignored() -> None:
    assembler = CandleAssembler(Timeframe.M1)
    assembler.on_update("BTCUSD", bar(0))
    assembler.on_update("BTCUSD", bar(1))
    assert assembler.on_update("BTCUSD", bar(0, 150)) is None  # already handed out
    assembler.on_update("BTCUSD", bar(2))
    assert assembler.on_update("BTCUSD", bar(1, 150)) is None
    assert assembler.on_update("BTCUSD", bar(3)) == bar(2)


def test_no_gap_is_reported_while_a_candle_is_in_progress_or_before_the_first() -> None:
    assembler = CandleAssembler(Timeframe.M1)
    assert assembler.gap_before("BTCUSD", T0 + 9 * MINUTE) is None
    assembler.on_update("BTCUSD", bar(0))
    assembler.on_update("BTCUSD", bar(1))
    assert assembler.gap_before("BTCUSD", T0 + 5 * MINUTE) is None


def test_after_a_reconnect_a_late_update_asks_for_the_gap() -> None:
    assembler = CandleAssembler(Timeframe.M1)
    assembler.on_update("BTCUSD", bar(0))
    assembler.on_update("BTCUSD", bar(1, 101))
    assembler.forget_current()  # bar 1 may have missed updates
    assert assembler.gap_before("BTCUSD", T0 + 1 * MINUTE) is None
    assert assembler.gap_before("BTCUSD", T0 + 4 * MINUTE) == (T0 + MINUTE, T0 + 4 * MINUTE)
    assert assembler.on_update("BTCUSD", bar(4)) is None  # nothing stale is handed out


def test_backfill_keeps_only_new_closed_candles_in_order_once() -> None:
    assembler = CandleAssembler(Timeframe.M1)
    assembler.on_update("BTCUSD", bar(0))
    assembler.on_update("BTCUSD", bar(1))
    fetched = [bar(3), bar(0), bar(2), bar(2), bar(1, 105), bar(4)]
    accepted = assembler.accept_closed("BTCUSD", fetched, until_ms=T0 + 4 * MINUTE + 30_000)
    assert accepted == [bar(1, 105), bar(2), bar(3)]  # bar 4 is still open
    assert assembler.next_open("BTCUSD") == T0 + 4 * MINUTE
    assert assembler.accept_closed("BTCUSD", fetched, until_ms=T0 + 5 * MINUTE) == [bar(4)]


def test_backfill_past_the_current_candle_drops_it() -> None:
    assembler = CandleAssembler(Timeframe.M1)
    assembler.on_update("BTCUSD", bar(0))
    assembler.on_update("BTCUSD", bar(1))
    assembler.accept_closed("BTCUSD", [bar(1), bar(2)], until_ms=T0 + 3 * MINUTE)
    assert assembler.on_update("BTCUSD", bar(3)) is None  # bar 1 was handed out by the backfill
