"""The vectorized backtester: the event engine's rules in one compiled pass over arrays, for research speed.

``run_vectorized_backtest(bars, strategy, ...)`` (or ``backtest_signals`` for precomputed signals)
gives what ``event_runner.run_event_backtest`` gives on the same bars, signals, costs and sizing:
the same trades (fill candles, side, contracts, prices, exit reasons) and the same equity, in a
numba loop (``vectorized_nb``) instead of the engine's ``Decimal`` books. It is the research path
(parameter sweeps, walk-forward, Monte Carlo); paper trading and the journal stay on the engine.

**The risk gate is not modelled.** The limits and circuit breakers of ``config.limits`` and
``config.breakers`` are ignored: a run agrees with the event engine only when they refuse nothing
(``ungated_config`` gives such a config). The one check of the gate that no config switches off is
modelled: the margin and taker fee of an entry's new exposure, at the decision close, against the
balance less the margin in use (refusals are counted in ``rejected``).

The rules, each the engine's (``docs/engine.md``):

- **Signals** are decided at a close and acted on at the next open, as the event runner acts: an
  exit (without an entry) closes the position with a reduce-only market order; an entry opens a
  position, or reverses one in one order of ``new + held`` contracts; an entry on the side already
  held is ignored (no pyramiding). The last candle's signals are never filled.
- **Sizing** at the decision close, from the equity there: ``risk_per_trade`` (fixed fractional),
  ``base_risk`` (volatility-adjusted: the event runner gives the sizer no volatility, so the ratio
  is 1) or fractional Kelly over the trades closed so far (``risk_per_trade`` until
  ``kelly_min_trades``); the fraction rounded to 12 places, the notional rounded down to the cent
  and clamped to ``[min_position_size, max_position_size]``, then whole contracts at the close,
  rounded down, none below ``min_size``. ``buy-hold`` (``all_in``) takes 98% of equity, unclamped,
  with no stop, target, trailing or time exit.
- **Stop distance** ``atr_multiplier x ATR(14)`` at the decision close; none during the ATR warm-up
  or with ``stop_method: volatility`` (the event runner passes no volatility), and then no brackets.
- **Candles** are snapped to the tick (nearest, ties to even) before any fill rule.
- **Market fills** (entries, exits, time exits) at the open plus slippage, taker. Slippage =
  ``min(fixed_bps / 1e4 + impact x vol x sqrt(min(qty / volume, 1)), max_slippage_bps / 1e4)``
  (participation 1 on a zero-volume candle), with ``vol`` = ATR / close of the previous candle, or
  the fill candle's ``(high - low) / open`` when there is none; the slipped price is rounded to the
  tick against the trader, kept inside the instrument's ``price_band`` around the reference price
  (the band's edge rounded inward) and clipped into the candle's range.
- **The max-slippage guard** refuses an entry fill worse than ``max_slippage_percent`` from the
  open; the order tries again at each next open, with that candle's slippage, until it fills or
  has been refused ``max_retries`` times more (at once without ``retry_failed_orders``). A strategy
  order while a refused one waits is outside the model (the engine would hold both and could
  pyramid): it raises ``VectorizedScopeError``. An entry fill whose margin and fee exceed the
  balance available (after what its closing part frees) is canceled.
- **Brackets** around the actual fill: the stop-loss ``distance`` away, the take-profit
  ``risk_reward x distance`` away (when enabled), each on the nearest tick, at least one tick
  from the entry and never below one tick. A stop is a stop-market order: it fills at the stop,
  or at the open when the open gapped through it, plus slippage, taker. The target is a limit:
  at the limit as maker (``maker_fee x 1.18``), or at the open plus slippage (never worse than the
  limit) as taker when the open is already through it.
- **Inside a candle** the price goes to the adverse extreme first: a stop and a target reached in
  one candle resolve to the stop. Orders that act at the open (a stop or a target the open is
  through, a time exit, the strategy's order) do so in the order they were placed; brackets placed
  at the open (by an entry filled there) act in the same candle, and a new stop already through
  the open fills at once.
- **Trailing stop**: once a candle's favourable extreme (high for a long, low for a short) is
  ``trailing_activation_percent`` past the entry, the stop trails it by ``trailing_percent``
  (floored to the tick for a long, ceiled for a short), never loosened, moved at the close and
  effective from the next candle; the trade's exit reason becomes ``trailing_stop``.
- **Time exit**: a position held ``max_holding_period_s`` at a close gets a market exit at the
  next open.
- **Fees** = notional x rate (GST included when charged) rounded up to the fee precision; a
  reversal's fee is split pro rata between its closing and its opening part.
- **Funding** settles on the grid ``funding_anchor_ms + k x funding_interval_s`` at the open price
  of the candle containing the settlement (or the first candle after a gap), on the position held
  before that candle: ``contracts x contract_value x open x rate``, longs paying a positive rate,
  taken from the isolated margin. The rate is the series' at that exact time, else
  ``default_funding_rate``.
- **Margin**: isolated, leverage 1 (what the event runner submits). A liquidation (a short whose
  price roughly doubles, or a position whose liquidation price funding has moved to the price) is
  out of scope: coming within a tick of it raises ``VectorizedScopeError``. The liquidation price
  uses the maintenance fraction for the position's value at entry, as the engine does (it grows
  above the instrument's ``max_leverage_notional``).
- **Equity** at each close = deposit + realised PnL - fees - funding + the position valued at the
  close. A trade's ``pnl`` is net of its fees and funding.

Not modelled, besides the gate's limits and breakers: leverage above 1, liquidation, adding to a
position (the event runner never pyramids; only a second order beside a retried one would), limit
entries (``execution.order_type: limit``: refused with ``VectorizedScopeError``) and the order types
the event runner does not submit (stop entries, stop-limits).

Floats, not decimals. The kernel re-implements the engine's slippage, fee, bracket, trailing,
margin and sizing arithmetic in floats, which a compiled loop cannot avoid (``vectorized_nb`` says
how its rounding stays exact); what can stay outside the loop reuses the engine: the fee rates
(``FeeModel.rate``), the funding grid and its rates (``funding_times``, ``rate_at``). The
agreement test (``tests/unit/backtest/test_vectorized.py``, and on real candles with real funding
in ``tests/integration/backtest``) guards every rule: the event engine's trades, prices to 1e-9,
equity at every close to 1e-9 (the final equity is required within 1e-6). One known difference
is the event runner's, not ours: its rebuilt equity curve books a funding settlement that falls in
a gap of the candles at the close before the gap, while its engine (and this model) pays it at the
first open after the gap.

Trap: the first call compiles the kernel (several seconds); numba caches it on disk beside the
module, so later processes load it in well under a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import talib

from trading_agent.backtest.event_runner import ATR_PERIOD
from trading_agent.backtest.strategies import Signals, Strategy
from trading_agent.backtest.vectorized_nb import (
    ALL_IN,
    FIXED,
    KELLY,
    LIQUIDATION_REACHED,
    OK,
    ORDER_WHILE_RETRYING,
    TRADE_DTYPE,
    KernelParams,
    backtest_signals_nb,
)
from trading_agent.domain import Instrument, Liquidity, OrderRole, OrderType, PositionSide, SizingMethod, Trade, TradeId
from trading_agent.engine import EngineConfig, StopMethod
from trading_agent.engine.funding import FundingSeries, funding_times, rate_at
from trading_agent.features import Bars
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits
from trading_agent.risk.sizing import SizingRules

__all__ = [
    "EXIT_REASONS",
    "TRADE_RECORD",
    "VectorBacktest",
    "VectorizedInputError",
    "VectorizedScopeError",
    "backtest_signals",
    "run_vectorized_backtest",
    "ungated_config",
]

EXIT_REASONS: tuple[str, ...] = (
    OrderRole.STOP_LOSS.value,
    OrderRole.TAKE_PROFIT.value,
    OrderRole.TRAILING_STOP.value,
    OrderRole.TIME_EXIT.value,
    OrderRole.EXIT.value,
    "reversal",
)
"""A trade's exit reason, as the engine names it (the role of the closing order, or ``reversal``)."""

TRADE_RECORD = np.dtype(
    [*((name, TRADE_DTYPE[name]) for name in TRADE_DTYPE.names or () if name != "reason"), ("exit_reason", "U13")]
)
"""The fields of ``VectorBacktest.trades``: ``entry_ts``/``exit_ts`` (open times of the fill candles,
ms), ``entry_index``/``exit_index``, ``side`` (+1 long, -1 short), ``contracts``, ``entry_price``,
``exit_price``, ``pnl`` (net of ``fees`` and ``funding``), ``exit_reason`` (one of ``EXIT_REASONS``)."""

_ALL_IN_FRACTION = 0.98  # buy-hold's share of equity, as the event runner takes it
_UNLIMITED = 1_000_000


class VectorizedInputError(ValueError):
    """Candles or signals the backtester cannot run: misaligned, out of order or impossible prices."""


class VectorizedScopeError(ValueError):
    """A run that reached an engine rule the vectorized model does not reproduce (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class VectorBacktest:
    """Equity and the position flag at each close, the closed trades (``TRADE_RECORD``), the gate's refusals."""

    equity: npt.NDArray[np.float64]
    in_position: npt.NDArray[np.bool_]
    trades: npt.NDArray[np.void]
    rejected: int

    @property
    def final_equity(self) -> float:
        """Equity at the last close."""
        return float(self.equity[-1])

    def domain_trades(self, instrument: Instrument) -> tuple[Trade, ...]:
        """The trades as the domain's ``Trade`` records (what the metrics and reports read).

        ``pnl_percent`` is against the margin committed at leverage 1 (the notional at entry).
        """
        return tuple(
            Trade(
                id=TradeId(f"vector-{n}"),
                instrument=instrument.id,
                side=PositionSide.LONG if record["side"] > 0 else PositionSide.SHORT,
                contracts=int(record["contracts"]),
                entry_price=Decimal(repr(float(record["entry_price"]))),
                exit_price=Decimal(repr(float(record["exit_price"]))),
                pnl=Decimal(repr(float(record["pnl"]))),
                pnl_percent=Decimal(
                    repr(
                        float(record["pnl"])
                        / (int(record["contracts"]) * float(instrument.contract_value) * float(record["entry_price"]))
                        * 100
                    )
                ),
                fees=Decimal(repr(float(record["fees"]))),
                funding=Decimal(repr(float(record["funding"]))),
                ts_opened=int(record["entry_ts"]),
                ts_closed=int(record["exit_ts"]),
                exit_reason=str(record["exit_reason"]),
            )
            for n, record in enumerate(self.trades, start=1)
        )


def ungated_config(config: EngineConfig) -> EngineConfig:
    """``config`` with risk limits and circuit breakers that refuse nothing short of a total loss.

    The event engine under it runs what the vectorized model reproduces (the gate's margin check
    stays: no config turns it off).
    """
    return replace(
        config,
        limits=RiskLimits(
            max_position_fraction=1.0,
            max_daily_loss_percent=100.0,
            max_drawdown_percent=100.0,
            max_consecutive_losses=_UNLIMITED,
            min_confidence=0.0,
            max_trades_per_day=_UNLIMITED,
            min_time_between_trades_s=0,
        ),
        breakers=BreakerRules(
            max_daily_loss_percent=100.0,
            max_drawdown_percent=100.0,
            max_consecutive_losses=_UNLIMITED,
            volatility_breaker_multiple=1e12,
            rapid_fire_max_trades=_UNLIMITED,
        ),
    )


def run_vectorized_backtest(
    bars: Bars,
    strategy: Strategy,
    *,
    instrument: Instrument,
    config: EngineConfig,
    sizing: SizingRules,
    funding: FundingSeries | None = None,
) -> VectorBacktest:
    """Run ``strategy`` over ``bars`` by the module's rules (``run_event_backtest``'s arguments, no risk gate)."""
    return backtest_signals(
        bars,
        strategy.signals(bars),
        instrument=instrument,
        config=config,
        sizing=sizing,
        funding=funding,
        all_in=strategy.all_in,
    )


def backtest_signals(
    bars: Bars,
    signals: Signals,
    *,
    instrument: Instrument,
    config: EngineConfig,
    sizing: SizingRules,
    funding: FundingSeries | None = None,
    all_in: bool = False,
) -> VectorBacktest:
    """Run precomputed ``signals`` over ``bars`` (``all_in``: buy-hold's sizing and no exits).

    Raises ``VectorizedInputError`` for misaligned or impossible inputs and ``VectorizedScopeError``
    when the run needs a rule outside the model (limit entries, a liquidation, two strategy orders
    at once).
    """
    _check(bars, signals)
    if config.execution.entry_order_type is not OrderType.MARKET and not all_in:
        raise VectorizedScopeError(
            f"{config.execution.entry_order_type} entries (execution.order_type) are not in the vectorized "
            "model, which fills market orders only; run the event engine"
        )
    ts = _kernel_array(bars.ts, np.int64)
    first_settlement, rates = _funding_rates(ts, instrument, config, funding)
    params = _params(instrument, config, sizing, all_in=all_in, first_settlement_ms=first_settlement)
    atr = talib.ATR(bars.high, bars.low, bars.close, ATR_PERIOD)
    prices = (bars.open, bars.high, bars.low, bars.close, bars.volume, _slippage_volatility(bars, atr))
    open_, high, low, close, volume, volatility = (_kernel_array(values, np.float64) for values in prices)
    equity, in_position, records, rejected, status, index = backtest_signals_nb(
        ts,
        open_,
        high,
        low,
        close,
        volume,
        volatility,
        _kernel_array(signals.entries, np.int8),
        _kernel_array(signals.exits, np.bool_),
        _kernel_array(_stop_distance(config, atr, all_in=all_in), np.float64),
        _kernel_array(rates, np.float64),
        params,
    )
    if status != OK:
        what = {
            LIQUIDATION_REACHED: "reaches a liquidation",
            ORDER_WHILE_RETRYING: "has a strategy order while a refused entry waits for its retry",
        }[status]
        raise VectorizedScopeError(
            f"the candle at {int(ts[index])} {what}, which the vectorized model does not reproduce "
            "(see trading_agent.backtest.vectorized); run the event engine"
        )
    return VectorBacktest(equity, in_position, _trade_records(records), int(rejected))


def _kernel_array(values: npt.ArrayLike, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A contiguous read-only view (a copy only when the dtype or layout differs).

    Read-only always: numba compiles the kernel once per array layout, and frames give read-only arrays.
    """
    view = np.ascontiguousarray(values, dtype=dtype).view()
    view.flags.writeable = False
    return view


def _check(bars: Bars, signals: Signals) -> None:
    n = len(bars)
    if n == 0:
        raise VectorizedInputError("no candles")
    if signals.entries.shape != (n,):
        raise VectorizedInputError(f"{signals.entries.shape[0]} signals for {n} candles")
    if np.any(np.diff(bars.ts) <= 0):
        raise VectorizedInputError("candle times must be strictly increasing")
    o, h, low, c, v = bars.open, bars.high, bars.low, bars.close, bars.volume
    valid = (low > 0) & (low <= o) & (o <= h) & (h < np.inf) & (low <= c) & (c <= h) & (v >= 0) & (v < np.inf)
    if not bool(np.all(valid)):
        i = int(np.argmin(valid))
        raise VectorizedInputError(
            f"candle at {int(bars.ts[i])}: impossible prices or volume "
            f"(open {o[i]}, high {h[i]}, low {low[i]}, close {c[i]}, volume {v[i]})"
        )


def _slippage_volatility(bars: Bars, atr: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per fill candle: ATR / close known at the previous close, else the candle's own range."""
    own_range = (bars.high - bars.low) / bars.open
    known = np.empty_like(own_range)
    known[0] = np.nan
    known[1:] = (atr / bars.close)[:-1]
    volatility: npt.NDArray[np.float64] = np.where(np.isnan(known), own_range, known)
    return volatility


def _stop_distance(config: EngineConfig, atr: npt.NDArray[np.float64], *, all_in: bool) -> npt.NDArray[np.float64]:
    """``exits.stop_distance`` at each close as the event runner measures it (ATR only), NaN when unusable."""
    if all_in or config.exits.stop_method is not StopMethod.ATR:
        return np.full(atr.size, np.nan)
    distance = config.exits.atr_multiplier * atr
    usable = np.isfinite(atr) & (atr > 0) & np.isfinite(distance) & (distance > 0)
    measured: npt.NDArray[np.float64] = np.where(usable, distance, np.nan)
    return measured


def _funding_rates(
    ts: npt.NDArray[np.int64], instrument: Instrument, config: EngineConfig, funding: FundingSeries | None
) -> tuple[int, npt.NDArray[np.float64]]:
    """The first settlement of the candles' span and the rate of every settlement in it (the engine's look-up)."""
    interval_s, anchor = instrument.funding_interval_s, config.funding_anchor_ms
    times = funding_times(int(ts[0]), int(ts[-1]) + config.timeframe.ms, interval_s, anchor)
    first = times[0] if times else int(ts[-1]) + config.timeframe.ms
    if funding is None:
        return first, np.full(len(times), float(config.default_funding_rate))
    series = FundingSeries(funding.timestamps, funding.rates, config.default_funding_rate)
    return first, np.array([float(rate_at(t, series)) for t in times], dtype=np.float64)


def _float_or(value: Decimal | None, default: float) -> float:
    return default if value is None else float(value)


def _ratio(value: Decimal) -> tuple[int, int]:
    numerator, denominator = value.as_integer_ratio()
    return numerator, denominator


def _params(
    instrument: Instrument, config: EngineConfig, sizing: SizingRules, *, all_in: bool, first_settlement_ms: int
) -> KernelParams:
    exits = config.exits
    if all_in:  # the yardstick's exits, as the event runner configures them
        exits = replace(exits, trailing_enabled=False, time_exit_enabled=False, take_profit_enabled=False)
    guard = config.execution.max_slippage_percent
    guard_num, guard_den = _ratio(guard) if guard is not None else (0, 1)
    tick_num, tick_den = _ratio(instrument.tick_size)
    activation = Decimal(repr(exits.trailing_activation_percent)) / 100
    trail = Decimal(repr(exits.trailing_percent)) / 100
    if all_in:
        method, fraction = ALL_IN, _ALL_IN_FRACTION
    elif sizing.method is SizingMethod.KELLY_CRITERION:
        method, fraction = KELLY, sizing.risk_per_trade
    elif sizing.method is SizingMethod.VOLATILITY_ADJUSTED:
        method, fraction = FIXED, sizing.base_risk * 1.0  # the ratio of a sizer given no volatility
    else:
        method, fraction = FIXED, sizing.risk_per_trade
    fees, slippage = config.fees, config.slippage
    return KernelParams(
        tick=float(instrument.tick_size),
        tick_num=tick_num,
        tick_den=tick_den,
        contract_value=float(instrument.contract_value),
        min_size=instrument.min_size,
        maintenance_margin=float(instrument.maintenance_margin),
        maintenance_margin_scaling=float(instrument.maintenance_margin_scaling),
        max_leverage_notional=_float_or(instrument.max_leverage_notional, math.inf),
        price_band=_float_or(instrument.price_band, 0.0),
        taker_rate=float(fees.rate(instrument, Liquidity.TAKER)),
        maker_rate=float(fees.rate(instrument, Liquidity.MAKER)),
        fee_scale=float(1 / fees.fee_precision),
        fixed_bps=float(slippage.fixed_bps),
        impact_coefficient=float(slippage.impact_coefficient),
        max_slippage_bps=float(slippage.max_slippage_bps),
        guard=guard is not None,
        guard_num=guard_num,
        guard_den=guard_den,
        max_retries=config.execution.max_retries if config.execution.retry_failed_orders else 0,
        initial_balance=float(config.initial_balance),
        risk_reward=float(exits.target_risk_reward or 0.0),
        trailing=exits.trailing_enabled,
        activation_long=float(1 + activation),
        activation_short=float(1 - activation),
        trail_long=float(1 - trail),
        trail_short=float(1 + trail),
        time_exit=exits.time_exit_enabled,
        max_holding_ms=exits.max_holding_period_s * 1000,
        timeframe_ms=config.timeframe.ms,
        first_settlement_ms=first_settlement_ms,
        funding_interval_ms=instrument.funding_interval_s * 1000,
        sizing=method,
        fraction=float(fraction),
        kelly_fraction=float(sizing.kelly_fraction),
        kelly_cap=float(sizing.kelly_cap),
        kelly_min_trades=sizing.kelly_min_trades,
        min_notional=float(sizing.min_position_size),
        max_notional=float(sizing.max_position_size),
    )


def _trade_records(records: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
    trades = np.empty(records.size, dtype=TRADE_RECORD)
    for name in TRADE_RECORD.names or ():
        if name != "exit_reason":
            trades[name] = records[name]
    trades["exit_reason"] = np.asarray(EXIT_REASONS)[records["reason"]]
    return trades
