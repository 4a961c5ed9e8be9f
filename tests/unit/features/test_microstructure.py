"""Microstructure features on hand-made book snapshots and trades; none come from candles."""

from __future__ import annotations

import math

import pytest

from trading_agent.features.groups import microstructure
from trading_agent.features.groups.microstructure_book import (
    BookImbalance,
    BookSnapshot,
    InterTradeTime,
    RelativeSpread,
    Trade,
    TradeRate,
)
from trading_agent.features.spec import FeatureGroup


def test_candles_give_no_microstructure_features() -> None:
    assert microstructure.default_indicators() == []


def test_spread_and_imbalance_of_a_snapshot() -> None:
    book = BookSnapshot(ts=0, best_bid=99.0, best_ask=101.0, bid_size=3.0, ask_size=1.0)
    assert RelativeSpread().update(book) == pytest.approx(200.0)  # 2 / 100 = 200 bps
    assert BookImbalance().update(book) == 0.5
    empty = BookSnapshot(ts=1, best_bid=100.0, best_ask=100.0, bid_size=0.0, ask_size=0.0)
    assert RelativeSpread().update(empty) == 0.0
    assert BookImbalance().update(empty) == 0.0
    assert RelativeSpread().spec.group is FeatureGroup.MICROSTRUCTURE


@pytest.mark.parametrize(
    ("bid", "ask", "bid_size"),
    [(101.0, 100.0, 1.0), (0.0, 1.0, 1.0), (100.0, 101.0, -1.0), (math.nan, 101.0, 1.0)],
)
def test_a_crossed_empty_or_broken_snapshot_is_refused(bid: float, ask: float, bid_size: float) -> None:
    with pytest.raises(ValueError, match="book snapshot at 7"):
        BookSnapshot(ts=7, best_bid=bid, best_ask=ask, bid_size=bid_size, ask_size=1.0)


def test_trade_rate_counts_the_trailing_window_once_it_is_covered() -> None:
    rate = TradeRate(seconds=10)
    values = [rate.update(Trade(ts, 100.0, 1.0)) for ts in (0, 1_000, 2_000, 9_999, 10_000, 10_500, 25_000)]
    assert all(math.isnan(v) for v in values[:4])
    assert values[4] == 0.4  # trades at 1.0, 2.0, 9.999, 10.0 s are in (0, 10] s
    assert values[5] == 0.5
    assert values[6] == 0.1  # only itself
    with pytest.raises(ValueError, match="older"):
        rate.update(Trade(24_000, 100.0, 1.0))


def test_inter_trade_time_is_the_mean_gap_of_the_last_trades() -> None:
    gaps = InterTradeTime(n=2)
    values = [gaps.update(Trade(ts, 100.0, 1.0)) for ts in (0, 100, 400, 400, 1_000)]
    assert math.isnan(values[0]) and math.isnan(values[1])
    assert values[2:] == [200.0, 150.0, 300.0]
    assert gaps.spec.warmup == 2


def test_a_trade_needs_a_positive_price_and_size() -> None:
    with pytest.raises(ValueError, match="positive"):
        Trade(0, 100.0, 0.0)
