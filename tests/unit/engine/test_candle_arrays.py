"""``TradingEngine.feed_arrays``: candle arrays through the engine, the quiet candles skipped by a numpy scan.

Random sessions (``test_engine_properties``) show feeding the arrays journals what feeding candle by
candle does; these cases pin the rest: what is yielded, what a skipped candle leaves, bad input.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from tests.testkit.engine import H, buy, engine, fast_path_off
from tests.testkit.instruments import BTCUSD_ID
from trading_agent.engine.candle_arrays import UNKNOWN, CandleArrays, next_busy
from trading_agent.engine.engine import CandleInputError, StaleCandleError, TradingEngine
from trading_agent.engine.errors import EngineError


def _arrays(closes: list[float], *, spread: float = 5.0, start: int = 0, **volatility: list[float]) -> CandleArrays:
    """Hourly candles opening at the previous close, ``spread`` USD either side of the body."""
    opens = [closes[0], *closes[:-1]]
    highs = [max(o, c) + spread for o, c in zip(opens, closes, strict=True)]
    lows = [min(o, c) - spread for o, c in zip(opens, closes, strict=True)]
    ts = [start + i * H for i in range(len(closes))]
    return CandleArrays(ts, opens, highs, lows, closes, [100.0] * len(closes), **volatility)


def _fed(engine_: TradingEngine, candles: CandleArrays) -> None:
    bar = engine_.feed(BTCUSD_ID)
    for i in range(len(candles)):
        bar(
            int(candles.ts[i]),
            float(candles.open[i]),
            float(candles.high[i]),
            float(candles.low[i]),
            float(candles.close[i]),
            float(candles.volume[i]),
            candles.volatility_at(i),
            candles.average_volatility_at(i),
        )
        engine_.commit(checkpoint=False)


def _fed_arrays(engine_: TradingEngine, candles: CandleArrays, wanted: list[bool] | None = None) -> list[int]:
    seen = []
    for i in engine_.feed_arrays(BTCUSD_ID, candles, None if wanted is None else np.array(wanted)):
        seen.append(i)
        engine_.commit(checkpoint=False)
    return seen


def test_quiet_candles_are_skipped_and_leave_the_last_mark() -> None:
    flat_engine = engine()
    _fed_arrays(flat_engine, _arrays([60_000.0]))  # the first candle always takes the slow path
    closes = [60_000.0 + i for i in range(1, 50)]
    seen = _fed_arrays(flat_engine, _arrays(closes, start=H), [i == 20 for i in range(len(closes))])
    assert seen == [20, 22, 46]  # flat, nothing resting: the candle asked for and the two that close a UTC day
    assert flat_engine.last_candle_ts(BTCUSD_ID) == 49 * H
    assert flat_engine.portfolio_state().ts == 50 * H  # market time is the last close


def test_a_new_equity_peak_is_not_skipped() -> None:
    """Long, no exits, the price up then down: each close up is a new peak, which only the close band catches.

    Against the slow path too: the fast path's own close band is what this case tests.
    """
    closes = [60_000.0 + 10 * min(i, 60 - i) for i in range(40)]  # the peak at the 31st close, then down
    slow, fed, batch = engine(), engine(), engine()
    for one in (slow, fed, batch):
        one.feed(BTCUSD_ID)(0, 59_990.0, 60_000.0, 59_980.0, 59_990.0, 100.0)
        one.submit(buy(50))
        one.commit(checkpoint=False)
    with fast_path_off():
        _fed(slow, _arrays(closes, spread=0.0, start=H))
    _fed(fed, _arrays(closes, spread=0.0, start=H))
    seen = _fed_arrays(batch, _arrays(closes, spread=0.0, start=H))
    assert set(range(5, 31)) <= set(seen)  # each new peak, once equity is over the fee the entry paid
    assert batch.snapshot() == fed.snapshot() == slow.snapshot()


def test_resting_orders_and_breakers_make_candles_busy_as_feeding_does() -> None:
    rng = np.random.default_rng(3)
    closes = (60_000 * np.exp(np.cumsum(rng.normal(0, 0.004, 600)))).round(1).tolist()
    volatility = np.abs(rng.normal(0.004, 0.003, 600))
    volatility[300:320] = 0.05  # a burst that trips the volatility breaker, and then clears it
    columns = {"volatility": volatility.tolist(), "average_volatility": [0.004] * 600}
    fed, batch = engine(), engine()
    for one in (fed, batch):
        one.feed(BTCUSD_ID)(0, 60_000.0, 60_010.0, 59_990.0, 60_000.0, 100.0)
        one.submit(buy(20, stop_distance=Decimal(800)))
        one.commit(checkpoint=False)
    _fed(fed, _arrays(closes, start=H, **columns))
    seen = _fed_arrays(batch, _arrays(closes, start=H, **columns))
    assert 0 < len(seen) < len(closes)
    assert batch.snapshot() == fed.snapshot()
    assert batch.trades and batch.trades == fed.trades


def test_leaving_the_loop_early_leaves_the_engine_at_the_yielded_candle() -> None:
    batch = engine()
    closes = [60_000.0 + i for i in range(30)]
    for i in batch.feed_arrays(BTCUSD_ID, _arrays(closes), np.arange(30) == 12):
        if i == 12:
            break
    assert batch.last_candle_ts(BTCUSD_ID) == 12 * H


@pytest.mark.parametrize(
    ("column", "value"),
    [("high", float("nan")), ("low", -1.0), ("close", 70_000.0), ("volume", float("inf"))],
)
def test_an_impossible_candle_anywhere_is_refused_before_any_is_processed(column: str, value: float) -> None:
    candles = _arrays([60_000.0 + i for i in range(10)])
    getattr(candles, column)[7] = value
    refused = engine()
    with pytest.raises(CandleInputError, match=f"candle at {7 * H}: impossible prices or volume"):
        refused.feed_arrays(BTCUSD_ID, candles)
    assert refused.last_candle_ts(BTCUSD_ID) is None
    assert refused.sequence == 0


def test_a_candle_out_of_order_is_refused_before_any_is_processed() -> None:
    candles = _arrays([60_000.0] * 6)
    candles.ts[4] = candles.ts[3]
    refused = engine()
    with pytest.raises(StaleCandleError, match=f"candle at {3 * H} is not after the last one processed \\({3 * H}\\)"):
        refused.feed_arrays(BTCUSD_ID, candles)
    assert refused.sequence == 0


def test_a_candle_not_after_the_engine_s_last_is_refused() -> None:
    fed = engine()
    _fed_arrays(fed, _arrays([60_000.0] * 3))
    with pytest.raises(StaleCandleError, match=f"not after the last one processed \\({2 * H}\\)"):
        fed.feed_arrays(BTCUSD_ID, _arrays([60_000.0] * 3, start=2 * H))


def test_misshapen_input_names_the_column() -> None:
    with pytest.raises(EngineError, match="candle column 'close' has shape \\(2,\\); expected \\(3,\\)"):
        CandleArrays([0, 1, 2], [1.0] * 3, [1.0] * 3, [1.0] * 3, [1.0] * 2, [1.0] * 3)
    with pytest.raises(EngineError, match="wanted has shape \\(2,\\); expected \\(3,\\)"):
        engine().feed_arrays(BTCUSD_ID, _arrays([60_000.0] * 3), np.array([True, False]))


def test_calm_is_unknown_where_either_volatility_is() -> None:
    candles = _arrays(
        [60_000.0] * 4, volatility=[0.01, 0.05, float("nan"), 0.01], average_volatility=[0.01, 0.01, 0.01, float("nan")]
    )
    assert candles.calm(3.0).tolist() == [1, 0, UNKNOWN, UNKNOWN]
    assert (_arrays([60_000.0] * 2).calm(3.0) == UNKNOWN).all()


def _scan_one_by_one(start: int, *columns: np.ndarray, thresholds: tuple[float, ...]) -> int:
    """The fast path's test in ``feed``, negated, candle by candle: the oracle of ``next_busy``."""
    ts, low, high, close, calm, wanted = columns
    wake_ts, low_trigger, high_trigger, close_low, close_high, volatility_tripped = thresholds
    for i in range(start, len(ts)):
        quiet = (
            ts[i] < wake_ts
            and low[i] > low_trigger
            and high[i] < high_trigger
            and close_low < close[i] < close_high
            and calm[i] != volatility_tripped
        )
        if wanted[i] or not quiet:
            return i
    return len(ts)


def test_the_vectorised_scan_is_the_one_by_one_test() -> None:
    rng = np.random.default_rng(0)
    n = 500
    ts = np.arange(n, dtype=np.int64) * H
    low, high = rng.uniform(90, 100, n), rng.uniform(100, 110, n)
    close = (low + high) / 2
    calm = rng.choice(np.array([1, 0, UNKNOWN], dtype=np.int8), n, p=[0.005, 0.005, 0.99])  # long quiet stretches
    wanted = rng.random(n) < 0.01
    for start in range(n + 1):  # every start, so that a busy candle falls on each stretch boundary
        for thresholds in ((400 * H, 90.5, 109.5, 91.0, 109.0, 0), (2**62, -np.inf, np.inf, -np.inf, np.inf, 1)):
            columns = (ts, low, high, close, calm, wanted)
            assert next_busy(start, *columns, *thresholds) == _scan_one_by_one(start, *columns, thresholds=thresholds)


def test_no_candles_yield_nothing_and_change_nothing() -> None:
    empty = engine()
    assert list(empty.feed_arrays(BTCUSD_ID, CandleArrays([], [], [], [], [], []))) == []
    assert empty.last_candle_ts(BTCUSD_ID) is None
