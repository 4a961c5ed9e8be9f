"""The vectorized backtester: the event engine's trades and equity on the same signals and costs, and its kernel."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from tests.testkit.features import HOUR, T0, make_bars, random_walk
from tests.testkit.instruments import btcusd, ethusd, tiered_btcusd
from trading_agent.backtest.event_runner import EventBacktest, run_event_backtest
from trading_agent.backtest.strategies import Signals, Strategy, make_strategy
from trading_agent.backtest.vectorized import (
    EXIT_REASONS,
    VectorBacktest,
    VectorizedInputError,
    VectorizedScopeError,
    backtest_signals,
    run_vectorized_backtest,
    ungated_config,
)
from trading_agent.backtest.vectorized_nb import (
    FIXED,
    OK,
    ORDER_WHILE_RETRYING,
    TOL,
    KernelParams,
    backtest_signals_nb,
    ceil_tol_nb,
    floor_tol_nb,
    snap_to_tick_nb,
)
from trading_agent.domain import Instrument, OrderFillRefused, OrderType, PositionSide, SizingMethod, Timeframe
from trading_agent.engine import EngineConfig, ExitRules
from trading_agent.engine.config import ExecutionRules
from trading_agent.engine.costs import SlippageModel
from trading_agent.engine.funding import FundingSeries
from trading_agent.features import Bars
from trading_agent.risk.sizing import SizingRules

D = Decimal
SIZING = SizingRules(method=SizingMethod.FIXED_FRACTIONAL, risk_per_trade=0.05, max_position_size=D(100_000))
KELLY = SizingRules(method=SizingMethod.KELLY_CRITERION, kelly_min_trades=10, max_position_size=D(100_000))
STRATEGIES = [("sma-cross", {"fast": 10, "slow": 30}), ("rsi-reversion", {"period": 14})]
EIGHT_HOURS = 8 * HOUR
# margins that grow from 100 USD of position value: a 500 USD position has MM 0.25% + 1e-4 x 400 = 4.25%
TIERED_SMALL = tiered_btcusd(
    max_leverage_notional=D(100), initial_margin_scaling=D("0.0002"), maintenance_margin_scaling=D("0.0001")
)


def _bars(n: int = 1500, seed: int = 3) -> Bars:
    """A seeded random walk with wicks and gaps (each open jumps away from the previous close)."""
    rng = np.random.default_rng(seed)
    close = random_walk(n, seed=rng, step=4e-3, level=60_000.0)
    open_ = np.concatenate(([close[0]], close[:-1])) * np.exp(rng.normal(0, 1.5e-3, n))
    wick = rng.uniform(0, 150, n)
    high, low = np.maximum(open_, close) + wick, np.minimum(open_, close) - wick
    return make_bars(close, high, low, open_, volume=rng.uniform(2, 80, n))


def _funding(bars: Bars) -> FundingSeries:
    times = np.arange(T0, int(bars.ts[-1]), EIGHT_HOURS)
    return FundingSeries(times, np.random.default_rng(5).normal(1e-4, 3e-4, times.size))


def _config(**overrides: object) -> EngineConfig:
    spec: dict[str, object] = {"timeframe": Timeframe.H1, "session": "bt", "default_funding_rate": D("0.0001")}
    return ungated_config(EngineConfig(**(spec | overrides)))  # type: ignore[arg-type]


NO_EXITS = ExitRules(atr_multiplier=1000.0, take_profit_enabled=False, trailing_enabled=False, time_exit_enabled=False)


def _short_into_a_rally(top: float) -> tuple[Bars, Signals, EngineConfig]:
    """A 1x short entered at 60,000 (the 21st open), no exit in reach, then the price climbs to ``top``."""
    n = 40
    close = np.concatenate((np.full(25, 60_000.0), np.geomspace(60_000.0, top, n - 25)))
    bars = make_bars(close, close + 50, close - 50, volume=np.full(n, 50.0))
    entries = np.zeros(n, dtype=np.int8)
    entries[20] = -1
    return bars, Signals(entries, np.zeros(n, dtype=bool)), _config(exits=NO_EXITS)


def assert_same_run(event: EventBacktest, vector: VectorBacktest) -> float:
    """The same trades (fill candles, side, contracts, prices to 1e-9, reasons) and final equity to 1e-6.

    Returns the largest relative difference of a price or of the final equity.
    """
    assert len(vector.trades) == len(event.trades)
    worst = 0.0
    for expected, got in zip(event.trades, vector.trades, strict=True):
        side = 1 if expected.side is PositionSide.LONG else -1
        assert (got["entry_ts"], got["exit_ts"], got["side"], got["contracts"], got["exit_reason"]) == (
            expected.ts_opened,
            expected.ts_closed,
            side,
            expected.contracts,
            expected.exit_reason,
        )
        for name, price in (("entry_price", expected.entry_price), ("exit_price", expected.exit_price)):
            worst = max(worst, abs(got[name] - float(price)) / float(price))
    final = float(event.final_state.equity)
    worst = max(worst, abs(vector.final_equity - final) / final)
    assert worst <= 1e-9
    assert vector.rejected == event.rejected
    return worst


CASES = {
    "default rules": (_config(), SIZING, None),
    "trailing and time exits": (
        _config(
            exits=ExitRules(
                atr_multiplier=3.0, trailing_activation_percent=0.5, trailing_percent=0.3, max_holding_period_s=28_800
            )
        ),
        SIZING,
        None,
    ),
    "kelly sizing, funding series": (_config(), KELLY, "series"),
    "refused fills, retried": (_config(slippage=SlippageModel(impact_coefficient=8.0)), SIZING, None),
    "fixed slippage on the tick": (_config(slippage=SlippageModel(impact_coefficient=0.0)), SIZING, None),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(("name", "params"), STRATEGIES)
def test_the_vectorized_run_has_the_event_engines_trades_and_equity(
    case: str, name: str, params: dict[str, object]
) -> None:
    bars = _bars()
    config, sizing, funding_kind = CASES[case]
    funding = _funding(bars) if funding_kind else None
    strategy = make_strategy(name, params)
    event = run_event_backtest(bars, strategy, instrument=btcusd(), config=config, sizing=sizing, funding=funding)
    vector = run_vectorized_backtest(bars, strategy, instrument=btcusd(), config=config, sizing=sizing, funding=funding)
    assert len(event.trades) >= 10
    assert_same_run(event, vector)
    np.testing.assert_allclose(vector.equity, event.equity, rtol=1e-9)  # no gaps in these candles: every close
    np.testing.assert_array_equal(vector.in_position, event.in_position)
    if case == "refused fills, retried":
        assert any(isinstance(e, OrderFillRefused) for e in event.events)


def test_every_exit_reason_and_buy_hold_agree() -> None:
    bars = _bars()
    config, sizing, _ = CASES["trailing and time exits"]
    reasons: set[str] = set()
    for name, params in STRATEGIES:
        strategy = make_strategy(name, params)
        vector = run_vectorized_backtest(bars, strategy, instrument=btcusd(), config=config, sizing=sizing)
        reasons |= set(vector.trades["exit_reason"].tolist())
    default = run_vectorized_backtest(
        bars, make_strategy(*STRATEGIES[0]), instrument=btcusd(), config=_config(), sizing=SIZING
    )
    reasons |= set(default.trades["exit_reason"].tolist())
    assert reasons == set(EXIT_REASONS)
    buy_hold = make_strategy("buy-hold")
    event = run_event_backtest(bars, buy_hold, instrument=btcusd(), config=_config(), sizing=SIZING)
    vector = run_vectorized_backtest(bars, buy_hold, instrument=btcusd(), config=_config(), sizing=SIZING)
    assert_same_run(event, vector)
    assert vector.in_position[1:].all() and len(vector.trades) == 0


def test_another_tick_and_contract_size_agree() -> None:
    bars = _bars(seed=8)
    scaled = Bars(bars.ts, bars.open / 20, bars.high / 20, bars.low / 20, bars.close / 20, bars.volume * 20)
    strategy = make_strategy(*STRATEGIES[0])
    event = run_event_backtest(scaled, strategy, instrument=ethusd(), config=_config(), sizing=SIZING)
    vector = run_vectorized_backtest(scaled, strategy, instrument=ethusd(), config=_config(), sizing=SIZING)
    assert_same_run(event, vector)


def test_a_binding_price_band_agrees() -> None:
    bars, strategy = _bars(), make_strategy(*STRATEGIES[0])
    slip_1pct = SlippageModel(fixed_bps=100, impact_coefficient=8.0, max_slippage_bps=500)
    config = _config(slippage=slip_1pct, execution=ExecutionRules(max_slippage_percent=None))
    banded = tiered_btcusd(price_band=D("0.003"))  # tighter than the slippage: fills stop at ±0.3%
    event = run_event_backtest(bars, strategy, instrument=banded, config=config, sizing=SIZING)
    vector = run_vectorized_backtest(bars, strategy, instrument=banded, config=config, sizing=SIZING)
    assert len(event.trades) >= 10
    assert_same_run(event, vector)
    unbanded = run_event_backtest(bars, strategy, instrument=btcusd(), config=config, sizing=SIZING)
    assert event.final_state.equity > unbanded.final_state.equity  # the band did bind


@pytest.mark.parametrize(("instrument", "liquidated"), [(btcusd(), False), (TIERED_SMALL, True)])
def test_a_larger_maintenance_margin_above_the_threshold_in_both_engines(
    instrument: Instrument, liquidated: bool
) -> None:
    # a 1x short of 500 USD; with MM 4.25% (the 100 USD threshold's tier) its liquidation is
    # 2 x 60,000 / 1.0425 = 115,108, with the flat 0.25% 119,701: the price climbs to 117,000
    bars, signals, config = _short_into_a_rally(117_000.0)
    by_hand = Strategy("by-hand", {}, 0, lambda _: signals)
    event = run_event_backtest(bars, by_hand, instrument=instrument, config=config, sizing=SIZING)
    assert [trade.exit_reason for trade in event.trades] == (["liquidation"] if liquidated else [])
    if liquidated:
        with pytest.raises(VectorizedScopeError, match="reaches a liquidation"):
            backtest_signals(bars, signals, instrument=instrument, config=config, sizing=SIZING)
    else:
        assert_same_run(event, backtest_signals(bars, signals, instrument=instrument, config=config, sizing=SIZING))


# --- the kernel by hand ------------------------------------------------------------------------------

FIXED_2BPS = KernelParams(
    tick=0.5,
    tick_num=1,
    tick_den=2,
    contract_value=0.001,
    min_size=1,
    maintenance_margin=0.0025,
    maintenance_margin_scaling=0.0,
    max_leverage_notional=math.inf,
    price_band=0.0,
    taker_rate=0.00059,  # 0.05% + 18% GST
    maker_rate=0.000236,  # 0.02% + 18% GST
    fee_scale=1e8,
    fixed_bps=2.0,
    impact_coefficient=0.0,
    max_slippage_bps=100.0,
    guard=False,
    guard_num=1,
    guard_den=10,
    max_retries=3,
    initial_balance=10_000.0,
    risk_reward=2.0,
    trailing=False,
    activation_long=1.02,
    activation_short=0.98,
    trail_long=0.99,
    trail_short=1.01,
    time_exit=False,
    max_holding_ms=86_400_000,
    timeframe_ms=HOUR,
    first_settlement_ms=T0,
    funding_interval_ms=EIGHT_HOURS,
    sizing=FIXED,
    fraction=0.1,  # 1,000 USD: 16 contracts of 0.001 BTC at 60,000
    kelly_fraction=0.5,
    kelly_cap=0.25,
    kelly_min_trades=30,
    min_notional=0.0,
    max_notional=1e9,
)
QUIET = (60_000.0, 60_010.0, 59_990.0, 60_000.0)  # open, high, low, close
FILLED = (60_000.0, 60_050.0, 59_950.0, 60_020.0)  # the long fills at 60,000 x 1.0002 = 60,012 (on the tick)
ENTRY, ENTRY_FEE = 60_012.0, 0.56651328  # 16 x 0.001 x 60,012 x 0.00059, exactly
# the brackets: stop 60,012 - 100 = 59,912, target 60,012 + 2 x 100 = 60,212


def _read_only(array: np.ndarray) -> np.ndarray:
    """Contiguous and read-only, as the wrapper passes arrays (numba compiles once per array layout)."""
    view = np.ascontiguousarray(array).view()
    view.flags.writeable = False
    return view


def _run_by_hand(
    third: tuple[float, float, float, float], params: KernelParams = FIXED_2BPS, entries: tuple[int, ...] = (1,)
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """Five candles: a long signal at the first close, fills at the second open, ``third`` is the test."""
    candles = np.array([QUIET, FILLED, third, QUIET, QUIET])
    signal = np.zeros(5, dtype=np.int8)
    signal[: len(entries)] = entries
    arrays = (
        T0 + np.arange(5, dtype=np.int64) * HOUR,
        *(candles[:, k] for k in (0, 1, 2, 3)),
        np.full(5, 100.0),  # volume
        np.zeros(5),  # slippage volatility (no impact anyway)
        signal,
        np.zeros(5, dtype=np.bool_),
        np.full(5, 100.0),  # stop distance
        np.zeros(1),  # funding rates
    )
    return backtest_signals_nb(
        *(_read_only(array) for array in arrays),
        params,
    )


@pytest.mark.parametrize(
    ("third", "reason", "exit_price", "exit_fee"),
    [
        # the low reaches the stop: 59,912 x (1 - 0.0002) = 59,900.0176, floored to 59,900.0, taker
        ((60_000.0, 60_030.0, 59_900.0, 59_950.0), "stop_loss", 59_900.0, 0.565456),
        # the high reaches the target: at the limit, maker: 16 x 0.001 x 60,212 x 0.000236 = 0.227360512, rounded up
        ((60_100.0, 60_250.0, 60_050.0, 60_200.0), "take_profit", 60_212.0, 0.22736052),
        # both in one candle: the adverse extreme comes first
        ((60_000.0, 60_300.0, 59_850.0, 60_100.0), "stop_loss", 59_900.0, 0.565456),
        # the open gaps through the stop: at the open, 59,800 x (1 - 0.0002) = 59,788.04 -> 59,788.0
        ((59_800.0, 59_850.0, 59_700.0, 59_750.0), "stop_loss", 59_788.0, 16 * 0.001 * 59_788.0 * 0.00059),
    ],
)
def test_the_kernel_by_hand(
    third: tuple[float, float, float, float], reason: str, exit_price: float, exit_fee: float
) -> None:
    equity, in_position, trades, rejected, status, _ = _run_by_hand(third)
    assert (status, rejected, len(trades)) == (OK, 0, 1)
    (trade,) = trades
    assert (trade["entry_index"], trade["exit_index"], trade["side"], trade["contracts"]) == (1, 2, 1, 16)
    assert EXIT_REASONS[trade["reason"]] == reason
    assert (trade["entry_price"], trade["exit_price"]) == (ENTRY, exit_price)
    assert trade["fees"] == pytest.approx(ENTRY_FEE + exit_fee, abs=1e-12)
    pnl = 16 * 0.001 * (exit_price - ENTRY) - ENTRY_FEE - exit_fee
    assert trade["pnl"] == pytest.approx(pnl, abs=1e-9)
    assert in_position.tolist() == [False, True, False, False, False]
    assert equity[1] == pytest.approx(10_000 - ENTRY_FEE + 16 * 0.001 * (60_020.0 - ENTRY), abs=1e-9)
    assert equity[-1] == pytest.approx(10_000 + pnl, abs=1e-9)


def test_a_refused_entry_is_retried_then_canceled_and_a_second_order_meanwhile_is_out_of_scope() -> None:
    # 0.2% of slippage (clipped to the high: at least 10 USD) against a 0.01% guard: always refused
    guarded = FIXED_2BPS._replace(guard=True, guard_den=100, fixed_bps=20.0)
    quiet = (60_000.0, 60_200.0, 59_800.0, 60_000.0)
    *_, trades, _, status, _ = _run_by_hand(quiet, guarded)
    assert (status, len(trades)) == (OK, 0)  # tried at the 2nd, 3rd, 4th and 5th open (3 retries), then canceled
    *_, status, index = _run_by_hand(quiet, guarded, entries=(1, -1))
    assert (status, index) == (ORDER_WHILE_RETRYING, 1)


def test_rounding_matches_the_engines_decimals() -> None:
    for instrument in (btcusd(), ethusd()):
        num, den = instrument.tick_size.as_integer_ratio()
        tick = float(instrument.tick_size)
        prices = [60_000.25, 60_000.75, 60_001.25, 3_000.025, 3_000.075, 0.75, 1.25]
        prices += np.random.default_rng(1).uniform(100, 100_000, 2000).round(2).tolist()
        for price in prices:
            expected = instrument.round_price(D(repr(price))) / instrument.tick_size
            assert snap_to_tick_nb(price, tick, num, den) == int(expected), price
    assert ceil_tol_nb(120_000 * 0.0002) == 24  # 24.000000000000004 in floats, exactly 24 in decimals
    assert ceil_tol_nb(24.01) == 25 and floor_tol_nb(23.99) == 23
    assert floor_tol_nb(0.29 * 10_000 * 100) == 290_000  # 289999.99999999994 in floats
    assert ceil_tol_nb(24 * (1 + 10 * TOL)) == 25


# --- scope and inputs -------------------------------------------------------------------------------


def test_a_liquidation_is_out_of_scope_and_the_event_engine_has_one() -> None:
    bars, signals, config = _short_into_a_rally(130_000.0)  # the price more than doubles
    with pytest.raises(VectorizedScopeError, match="reaches a liquidation"):
        backtest_signals(bars, signals, instrument=btcusd(), config=config, sizing=SIZING)
    by_hand = Strategy("by-hand", {}, 0, lambda _: signals)
    event = run_event_backtest(bars, by_hand, instrument=btcusd(), config=config, sizing=SIZING)
    assert [trade.exit_reason for trade in event.trades] == ["liquidation"]


def test_a_long_in_profit_outlives_a_margin_funding_overdrew_in_both_engines() -> None:
    n = 40
    close = np.where(np.arange(n) < 22, 60_000.0, 100_000.0)  # entry at the 21st open, 60,000; then 100,000
    bars = make_bars(close, close + 50, close - 50, volume=np.full(n, 50.0))
    entries, exits = np.zeros(n, dtype=np.int8), np.zeros(n, dtype=bool)
    entries[20], exits[28] = 1, True  # one settlement held (candle 24), out at the 29th open
    # 80% at 100,000 takes 4/3 of the 1x margin: margin -1/3, uPnL +2/3 of it, liquidation 80,200.5
    config = _config(exits=NO_EXITS, default_funding_rate=D("0.8"))
    signals = Signals(entries, exits)
    vector = backtest_signals(bars, signals, instrument=btcusd(), config=config, sizing=SIZING)
    by_hand = Strategy("by-hand", {}, 0, lambda _: signals)
    event = run_event_backtest(bars, by_hand, instrument=btcusd(), config=config, sizing=SIZING)
    assert_same_run(event, vector)
    (trade,) = event.trades
    margin = trade.contracts * D("0.001") * trade.entry_price  # 1x
    assert trade.exit_reason == "exit" and trade.exit_price > 99_900  # the exit signal, not a liquidation
    assert trade.funding == D("0.8") * trade.contracts * D("0.001") * 100_000 > margin


def test_limit_entries_are_out_of_scope() -> None:
    bars = _bars(60)
    entries = np.zeros(60, dtype=np.int8)
    entries[40] = 1
    config = _config(execution=ExecutionRules(entry_order_type=OrderType.LIMIT))
    with pytest.raises(VectorizedScopeError, match=r"limit entries .* run the event engine"):
        backtest_signals(
            bars, Signals(entries, np.zeros(60, dtype=bool)), instrument=btcusd(), config=config, sizing=SIZING
        )


def test_bad_inputs_are_refused_by_name() -> None:
    bars = _bars(50)
    signals = Signals(np.zeros(49, dtype=np.int8), np.zeros(49, dtype=bool))
    with pytest.raises(VectorizedInputError, match="49 signals for 50 candles"):
        backtest_signals(bars, signals, instrument=btcusd(), config=_config(), sizing=SIZING)
    broken = Bars(bars.ts, bars.open, bars.low - 1, bars.low, bars.close, bars.volume)  # high below the open
    flat = Signals(np.zeros(50, dtype=np.int8), np.zeros(50, dtype=bool))
    with pytest.raises(VectorizedInputError, match="impossible prices"):
        backtest_signals(broken, flat, instrument=btcusd(), config=_config(), sizing=SIZING)
