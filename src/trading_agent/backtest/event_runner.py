"""The event-driven backtest: signals through the one trading engine, with the risk manager and costs on.

Per candle: the engine processes it (fills, exits, funding, breakers; ``TradingEngine.feed_arrays`` skips
the candles where nothing can happen and nothing is to be decided), then the candle's signals are
acted on at its close by ``engine.decisions.act``, the rule the paper-trading agent shares (exits
reduce-only, entries sized by the risk manager with an ATR stop, reversals in one order, no
pyramiding). Every entry passes the engine's gate, so the risk limits and circuit
breakers apply as in paper trading; refusals are counted. A strategy with anomaly scores reports
each scored close to the engine (``report_anomaly``) before acting on it, so the anomaly filter of
the trading rules halves or blocks the entries of flagged candles.

``buy-hold`` runs outside the risk limits (it is the yardstick, not a strategy the risk manager
sizes): all equity long at 1x (98% of it, to leave room for the fee and slippage), no exits.

The equity curve is rebuilt from the journal afterwards (``equity_curve``): deposit plus the cash
flows of fills and funding up to each close plus the position valued at that close, in floats. It
matches the engine's exact books to far below a cent (a test checks the final value).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
import talib

from trading_agent.backtest.strategies import Signals, Strategy
from trading_agent.domain import (
    CircuitBreakerReset,
    CircuitBreakerTripped,
    Event,
    FundingApplied,
    Instrument,
    OrderFilled,
    PortfolioState,
    RiskRejected,
    Trade,
)
from trading_agent.engine import CandleArrays, EngineConfig, MemoryJournal, TradingEngine
from trading_agent.engine.decisions import Decision, act
from trading_agent.engine.exits import ExitRules
from trading_agent.engine.funding import FundingSeries
from trading_agent.features import Bars
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits
from trading_agent.risk.sizing import SizingRules, make_sizer

__all__ = [
    "ATR_PERIOD",
    "BreakerSpell",
    "EventBacktest",
    "equity_curve",
    "risk_log",
    "run_event_backtest",
    "volatility_arrays",
    "volatility_inputs",
]

ATR_PERIOD = 14
VOLATILITY_AVERAGE = 200  # candles in the average the volatility breaker compares with
PROGRESS_EVERY = 10_000
_UNLIMITED = 1_000_000


@dataclass(frozen=True, slots=True)
class BreakerSpell:
    """A circuit breaker's trip: when (market time, ms), why, and when it reset (``None``: tripped at the end)."""

    breaker: str
    tripped_ms: int
    reason: str
    reset_ms: int | None


@dataclass(frozen=True, slots=True)
class EventBacktest:
    """What a backtest produced: equity at each close, whether a position was open, trades, the journal.

    ``refused_by`` counts the refused entries per limit they broke (one entry may break several);
    ``breakers`` lists every circuit breaker's trip, oldest first (``risk_log``).
    """

    equity: np.ndarray
    in_position: np.ndarray
    trades: tuple[Trade, ...]
    events: tuple[Event, ...]
    final_state: PortfolioState
    rejected: int
    refused_by: dict[str, int] = field(default_factory=dict)
    breakers: tuple[BreakerSpell, ...] = ()


def _yardstick(config: EngineConfig) -> EngineConfig:
    """Buy-hold's config: the same costs, no risk limits, no breakers, no exits."""
    return replace(
        config,
        limits=RiskLimits(max_position_fraction=1.0, max_trades_per_day=_UNLIMITED, min_time_between_trades_s=0),
        breakers=BreakerRules(max_consecutive_losses=_UNLIMITED, rapid_fire_max_trades=_UNLIMITED),
        exits=ExitRules(trailing_enabled=False, time_exit_enabled=False, take_profit_enabled=False),
    )


def volatility_arrays(bars: Bars) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ATR / close, its average and the ATR at every close (NaN during the warm-up)."""
    atr = talib.ATR(bars.high, bars.low, bars.close, ATR_PERIOD)
    relative = atr / bars.close
    return relative, talib.SMA(relative, VOLATILITY_AVERAGE), atr


def volatility_inputs(bars: Bars) -> tuple[list[float | None], list[float | None], list[float]]:
    """``volatility_arrays`` as lists for the engine (None, and an ATR of 0, during the warm-up)."""
    relative, average, atr = volatility_arrays(bars)

    def listed(values: np.ndarray) -> list[float | None]:
        return [None if np.isnan(v) else float(v) for v in values]

    return listed(relative), listed(average), np.nan_to_num(atr).tolist()


def run_event_backtest(
    bars: Bars,
    strategy: Strategy,
    *,
    instrument: Instrument,
    config: EngineConfig,
    sizing: SizingRules,
    funding: FundingSeries | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EventBacktest:
    """Run ``strategy`` over ``bars`` through a fresh engine (in-memory journal); see the module docstring.

    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` candles and at the end (a bar on a terminal).
    """
    signals: Signals = strategy.signals(bars)
    engine_config = _yardstick(config) if strategy.all_in else config
    journal = MemoryJournal()
    engine = TradingEngine(
        engine_config, [instrument], journal=journal, funding={instrument.id: funding} if funding else None
    )
    sizer = make_sizer(sizing)
    relative, average, atr = volatility_arrays(bars)
    candles = CandleArrays(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, relative, average)
    atr = np.nan_to_num(atr)  # an ATR of 0 during the warm-up: no ATR stop
    entries, exits = signals.entries, signals.exits
    anomaly = signals.anomaly
    scores = None if anomaly is None else anomaly.scores
    wanted = (entries != 0) | exits if scores is None else (entries != 0) | exits | np.isfinite(scores)
    if progress is not None:
        wanted[::PROGRESS_EVERY] = True
    rejected = 0
    for i in engine.feed_arrays(instrument.id, candles, wanted):
        if anomaly is not None and scores is not None and math.isfinite(scores[i]):
            engine.report_anomaly(instrument.id, score=float(scores[i]), threshold=anomaly.threshold)
        if entries[i] or exits[i]:
            decision = Decision(
                int(entries[i]), bool(exits[i]), float(candles.close[i]), int(candles.ts[i]), float(atr[i])
            )
            rejected += act(engine, instrument, decision, name=strategy.name, sizer=sizer, all_in=strategy.all_in)
        engine.commit(checkpoint=False)
        if progress is not None and i % PROGRESS_EVERY == 0:
            progress(i, len(candles))
    if progress is not None:
        progress(len(candles), len(candles))
    events = tuple(journal.events)
    equity, held = equity_curve(events, bars, instrument, config.initial_balance, config.timeframe.ms)
    refused_by, breakers = risk_log(events)
    return EventBacktest(equity, held, engine.trades, events, engine.portfolio_state(), rejected, refused_by, breakers)


def risk_log(events: tuple[Event, ...]) -> tuple[dict[str, int], tuple[BreakerSpell, ...]]:
    """From a journal: refused entries per violated limit (most first), and every breaker's spells.

    A backtest has no one to reset a breaker that resets only by hand (the losing streak, the
    drawdown): a spell that never ends says the strategy took no entry after it.
    """
    refused: Counter[str] = Counter()
    spells: list[BreakerSpell] = []
    open_spells: dict[str, int] = {}
    for event in events:
        if isinstance(event, RiskRejected):
            refused.update(event.violations)
        elif isinstance(event, CircuitBreakerTripped):
            open_spells[event.breaker] = len(spells)
            spells.append(BreakerSpell(event.breaker, event.ts_event, event.reason, None))
        elif isinstance(event, CircuitBreakerReset) and event.breaker in open_spells:
            index = open_spells.pop(event.breaker)
            spells[index] = replace(spells[index], reset_ms=event.ts_event)
    return dict(refused.most_common()), tuple(spells)


def equity_curve(
    events: tuple[Event, ...], bars: Bars, instrument: Instrument, deposit: Decimal, timeframe_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Equity at each close and whether a position was open there, rebuilt from the fills and funding.

    A funding settlement counts from the candle the engine paid it in: the one containing it, or
    the first after a gap in the candles (the first whose close is after the settlement).
    """
    n = len(bars)
    flows = np.zeros(n)
    signed = np.zeros(n)
    contract_value = float(instrument.contract_value)
    for event in events:
        if isinstance(event, OrderFilled):
            fill = event.fill
            index = int(np.searchsorted(bars.ts, fill.ts))
            quantity = fill.side.sign * fill.contracts
            flows[index] -= quantity * contract_value * float(fill.price) + float(fill.fee)
            signed[index] += quantity
        elif isinstance(event, FundingApplied):
            index = int(np.searchsorted(bars.ts, event.ts_event - timeframe_ms, side="right"))
            flows[min(index, n - 1)] -= float(event.amount)
    held = np.cumsum(signed)
    equity = float(deposit) + np.cumsum(flows) + held * contract_value * bars.close
    return equity, held != 0
