"""The event-driven engine: candles per second over 1M one-minute candles, ours vs backtesting.py.

Both engines get the same candles (``SyntheticMarket(seed=SEED)``, BTC-like) and the same
strategy in one run. The strategy is an SMA(100)/SMA(300) cross on the close, about one cross
every 260 candles (SMA(50)/SMA(200) would give one every 160). A cross up closes any short and
goes long; a cross down closes any long and goes short. Each entry has a stop-loss
``2 x ATR(14)`` from the entry and a take-profit at 2R. ATR comes from TA-Lib and is known at the
decision candle's close. A decision at a close fills at the next open. Both sides precompute the
signal and ATR with numpy and TA-Lib (backtesting.py's ``init`` wraps the same arrays with
``Strategy.I``), so the comparison is between the engines, not the indicators. Only the loop is
timed: ``Backtest.run()`` for backtesting.py (best of 1, it is slow) and the candle loop for ours
(best of 3), run two ways: ``engine.feed_arrays`` over the arrays, acting at the crosses (how
``run_event_backtest`` drives the engine: the quiet candles are skipped by a numpy scan), and one
``engine.feed`` call per candle (how the paper-trading agent does); the two must end in the same
state. The goal is judged on ``feed_arrays``.

Ours is ``TradingEngine`` with the BTCUSD spec of ``config/instruments.yaml`` and the default risk
limits, circuit breakers, slippage and fees (taker 0.05% + 18% GST). Exits use the defaults: the
bracket, the trailing stop (from +2%) and the 24 h time exit, both of which are rarely reached
with 2 x ATR brackets on one-minute candles. The in-memory journal is committed after every candle
the loop sees (``commit(checkpoint=False)``). ``FixedFractionalSizer`` sizes each entry at ``NOTIONAL_FRACTION``
of equity with ``stop_distance``, and the engine places the brackets around the actual fill. An
opposite entry of ``held + new`` contracts flips the position (netting; ``check_flip`` verifies
this before timing). The benchmark prints the limits it loosens:

- ``max_trades_per_day`` and ``min_time_between_trades_s``: SMA whipsaws cross more often than
  the defaults allow.
- ``max_consecutive_losses``, both the limit and the breaker: with the defaults, five losses in
  a row halt entries until a person resets the breaker, and a backtest has no person.

The rapid-fire, daily-loss, drawdown and volatility rules stay at their defaults. The 1% sizing
keeps the drawdown under the 15% limit on this data.

The reference is ``backtesting.lib.FractionalBacktest`` in whole units of 0.001 BTC (one of our
contracts) with the same cash, run two ways: with the precomputed signal our loop reads (its
fastest form) and idiomatically (SMA and ATR through ``Strategy.I``, ``crossover`` tested in
``next``, as its documentation writes it). ``commission`` is the taker fee with GST, ``spread`` is our fixed
slippage (2 bps), ``exclusive_orders=True`` makes an entry close the opposite trade, and
``trade_on_close=False``. ``sl``/``tp`` are set from the decision close; ours are set from the
fill. The synthetic open is the previous close, so the two agree up to our tick rounding.

Why the trade counts and equity differ a little:

- Our risk gate rejects some entries (counted and printed; mostly the rapid-fire breaker during
  whipsaws). backtesting.py has no risk gate.
- Our fills slip by volatility and participation on top of the fixed 2 bps and are rounded to
  the 0.5 USD tick. backtesting.py charges its spread on entries only.
- Ours sizes on equity, backtesting.py on the margin available.
- Ours can exit by trailing stop or time exit; backtesting.py has neither.

Neither counts a position still open after the last candle.
"""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import talib
from rich.console import Console
from rich.table import Table

from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import (
    Instrument,
    InstrumentId,
    OrderIntent,
    OrderStatus,
    PositionSide,
    Side,
    SizingMethod,
    Timeframe,
)
from trading_agent.engine.candle_arrays import CandleArrays
from trading_agent.engine.config import EngineConfig
from trading_agent.engine.engine import TradingEngine
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits
from trading_agent.risk.sizing import FixedFractionalSizer, SizingContext, SizingRules, contracts_for_notional

__all__ = ["main"]

N_CANDLES = 1_000_000
PROFILE_CANDLES = 200_000
SEED = 11
FAST, SLOW, ATR_PERIOD = 100, 300, 14
STOP_ATR, RISK_REWARD = 2.0, 2.0
NOTIONAL_FRACTION = 0.01  # of equity per entry, on both sides (FixedFractionalSizer's risk_per_trade)
INITIAL_BALANCE = 100_000
OURS_RUNS = 3
GOAL_RATIO = 10.0

BTCUSD = Instrument(  # config/instruments.yaml
    id=InstrumentId("delta_india", "BTCUSD"),
    contract_value=Decimal("0.001"),
    tick_size=Decimal("0.5"),
    min_size=1,
    max_leverage=Decimal(200),
    maker_fee=Decimal("0.0002"),
    taker_fee=Decimal("0.0005"),
    initial_margin=Decimal("0.005"),
    maintenance_margin=Decimal("0.0025"),
    funding_interval_s=28_800,
    max_leverage_notional=Decimal(100_000),
    initial_margin_scaling=Decimal("0.000000025"),
    maintenance_margin_scaling=Decimal("0.0000000125"),
    price_band=Decimal("0.025"),
)
COMMISSION = float(BTCUSD.taker_fee) * 1.18  # taker fee plus 18% GST, as the engine's FeeModel charges
SPREAD = 2e-4  # the engine's fixed slippage (SlippageModel.fixed_bps = 2)

_STREAK = 1_000_000
LIMITS = RiskLimits(max_trades_per_day=1_000, min_time_between_trades_s=0, max_consecutive_losses=_STREAK)
BREAKERS = BreakerRules(max_consecutive_losses=_STREAK)
LOOSENED = (
    ("RiskLimits.max_trades_per_day", "20", "1,000"),
    ("RiskLimits.min_time_between_trades_s", "300", "0"),
    ("RiskLimits.max_consecutive_losses", "5", f"{_STREAK:,}"),
    ("BreakerRules.max_consecutive_losses", "5", f"{_STREAK:,}"),
)
SIZING = SizingRules(
    method=SizingMethod.FIXED_FRACTIONAL,
    risk_per_trade=NOTIONAL_FRACTION,
    min_position_size=Decimal(0),
    max_position_size=Decimal(10_000_000),
)
_SIZER, _NO_CONTEXT = FixedFractionalSizer(SIZING), SizingContext()


@dataclass(frozen=True, slots=True)
class Market:
    """The candles (as arrays and as lists), the precomputed signal (+1 up, -1 down, 0) and stop distance."""

    frame: pd.DataFrame
    arrays: CandleArrays
    ts: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]
    signal: list[int]
    stop: list[float]

    @property
    def crosses(self) -> int:
        """How many SMA crosses the candles hold."""
        return sum(1 for direction in self.signal if direction)


def sma_cross_market(frame: pd.DataFrame) -> Market:
    """Vectorised: the SMA cross at each close and ``STOP_ATR x ATR`` known at that close."""
    close = frame["close"].to_numpy()
    fast, slow = talib.SMA(close, FAST), talib.SMA(close, SLOW)
    valid = ~np.isnan(slow)
    above = np.nan_to_num(fast - slow) > 0
    turned = np.zeros(len(close), dtype=bool)
    turned[1:] = (above[1:] != above[:-1]) & valid[1:] & valid[:-1]
    signal = np.where(turned, np.where(above, 1, -1), 0)
    stop = STOP_ATR * talib.ATR(frame["high"].to_numpy(), frame["low"].to_numpy(), close, ATR_PERIOD)
    columns = [frame[name].to_numpy() for name in ("open", "high", "low", "close", "volume")]
    return Market(
        frame=frame,
        arrays=CandleArrays(pd.DatetimeIndex(frame.index).as_unit("ms").asi8, *columns),
        ts=pd.DatetimeIndex(frame.index).as_unit("ms").asi8.tolist(),
        open=frame["open"].tolist(),
        high=frame["high"].tolist(),
        low=frame["low"].tolist(),
        close=close.tolist(),
        volume=frame["volume"].tolist(),
        signal=signal.tolist(),
        stop=stop.tolist(),
    )


def _head(market: Market, n: int) -> Market:
    arrays = market.arrays
    return Market(
        market.frame.iloc[:n],
        CandleArrays(*(getattr(arrays, name)[:n] for name in ("ts", "open", "high", "low", "close", "volume"))),
        *(getattr(market, name)[:n] for name in ("ts", "open", "high", "low", "close", "volume", "signal", "stop")),
    )


def _engine() -> TradingEngine:
    config = EngineConfig(
        timeframe=Timeframe.M1, initial_balance=Decimal(INITIAL_BALANCE), limits=LIMITS, breakers=BREAKERS
    )
    return TradingEngine(config, [BTCUSD])


@dataclass(slots=True)
class OursResult:
    """One run of our engine: the loop's seconds, the engine after it and what the gate said."""

    seconds: float
    engine: TradingEngine
    approved: int = 0
    flips: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


def _enter(engine: TradingEngine, result: OursResult, direction: int, close: float, stop: float) -> None:
    """The strategy at a cross: size 1% of equity, flip any opposite position in the same order."""
    price = Decimal(repr(close))
    contracts = contracts_for_notional(_SIZER.size(engine.portfolio_state().equity, _NO_CONTEXT), BTCUSD, price)
    side = Side.BUY if direction > 0 else Side.SELL
    position = engine.position(BTCUSD.id)
    flip = position is not None and (position.side is PositionSide.LONG) != (side is Side.BUY)
    if flip and position is not None:
        contracts += position.contracts  # close the position and open the new one in one order
    if not contracts:
        return
    intent = OrderIntent(
        instrument=BTCUSD.id, side=side, contracts=contracts, stop_distance=Decimal(repr(stop)), leverage=Decimal(1)
    )
    order = engine.submit(intent)
    if order.status is OrderStatus.REJECTED:
        result.rejected[order.reject_reason or "?"] += 1
    else:
        result.approved += 1
        result.flips += flip


def run_ours(market: Market, *, arrays: bool = True) -> OursResult:
    """The strategy through ``TradingEngine``: only the candle loop is timed.

    ``arrays``: the arrays through ``engine.feed_arrays``, acting at the crosses (how ``run_event_backtest``
    drives the engine); otherwise one ``feed`` call per candle (how the paper-trading agent does).
    """
    engine = _engine()
    result = OursResult(0.0, engine)
    commit, signal, close, stop = engine.commit, market.signal, market.close, market.stop
    if arrays:
        wanted = np.asarray(signal) != 0
        started = time.perf_counter()
        for i in engine.feed_arrays(BTCUSD.id, market.arrays, wanted):
            if direction := signal[i]:
                _enter(engine, result, direction, close[i], stop[i])
            commit(checkpoint=False)
    else:
        bar = engine.feed(BTCUSD.id)
        columns = (market.ts, market.open, market.high, market.low, close, market.volume)
        candles = zip(*columns, signal, stop, strict=True)
        started = time.perf_counter()
        for ts, o, h, low, c, v, direction, distance in candles:
            bar(ts, o, h, low, c, v)
            if direction:
                _enter(engine, result, direction, c, distance)
            commit(checkpoint=False)
    result.seconds = time.perf_counter() - started
    return result


def best_of(runs: int, market: Market, *, arrays: bool = True) -> OursResult:
    """The fastest of ``runs`` runs of ours, each started after a full garbage collection."""
    best: OursResult | None = None
    for _ in range(runs):
        gc.collect()  # start clean: no run pays for the garbage of the one before
        result = run_ours(market, arrays=arrays)
        if best is None or result.seconds < best.seconds:
            best = result
        del result  # keep one engine alive, not two, while the next run is timed
    if best is None:
        raise ValueError("runs must be at least 1")
    return best


def check_flip() -> None:
    """An opposite entry with more contracts than the position must flip it (netting)."""
    engine = _engine()
    bar, ts = engine.feed(BTCUSD.id), 1_704_067_200_000
    steps = ((Side.BUY, 10, (PositionSide.LONG, 10)), (Side.SELL, 15, (PositionSide.SHORT, 5)))
    for side, contracts, expected in steps:
        bar(ts, 30_000.0, 30_001.0, 29_999.0, 30_000.0, 10.0)
        engine.submit(OrderIntent(instrument=BTCUSD.id, side=side, contracts=contracts, stop_distance=Decimal(500)))
        ts += 60_000
        bar(ts, 30_000.0, 30_001.0, 29_999.0, 30_000.0, 10.0)
        position = engine.position(BTCUSD.id)
        got = None if position is None else (position.side, position.contracts)
        if got != expected:
            raise RuntimeError(f"{side} {contracts}: expected position {expected}, got {got}")
        ts += 60_000


def _reference_strategy(market: Market, unit: float) -> type[Any]:
    from backtesting import Strategy

    signal = np.asarray(market.signal, dtype=float)
    stop = np.asarray(market.stop) * unit  # FractionalBacktest trades prices scaled by the unit

    class SmaCrossWithStops(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.signal = self.I(lambda: signal, name="signal", overlay=False)
            self.stop = self.I(lambda: stop, name="stop", overlay=False)

        def next(self) -> None:
            direction = self.signal[-1]
            if not direction:
                return
            price, distance = self.data.Close[-1], self.stop[-1]
            if direction > 0:
                self.buy(size=NOTIONAL_FRACTION, sl=price - distance, tp=price + RISK_REWARD * distance)
            else:
                self.sell(size=NOTIONAL_FRACTION, sl=price + distance, tp=price - RISK_REWARD * distance)

    return SmaCrossWithStops


def _idiomatic_strategy() -> type[Any]:
    from backtesting import Strategy
    from backtesting.lib import crossover

    class SmaCross(Strategy):  # type: ignore[misc]
        """backtesting.py's own way: indicators in ``init``, ``crossover`` tested in ``next``."""

        def init(self) -> None:
            close = self.data.Close
            self.fast = self.I(talib.SMA, close, FAST)
            self.slow = self.I(talib.SMA, close, SLOW)
            self.atr = self.I(talib.ATR, self.data.High, self.data.Low, close, ATR_PERIOD)

        def next(self) -> None:
            price, distance = self.data.Close[-1], STOP_ATR * self.atr[-1]
            if crossover(self.fast, self.slow):
                self.buy(size=NOTIONAL_FRACTION, sl=price - distance, tp=price + RISK_REWARD * distance)
            elif crossover(self.slow, self.fast):
                self.sell(size=NOTIONAL_FRACTION, sl=price + distance, tp=price - RISK_REWARD * distance)

    return SmaCross


def run_reference(market: Market, *, idiomatic: bool) -> tuple[float, pd.Series]:
    """The strategy through backtesting.py (``FractionalBacktest`` in whole contracts); ``run()`` is timed.

    ``idiomatic``: the cross tested in ``next`` with ``crossover`` (how backtesting.py's docs write
    it); otherwise the precomputed signal, the same arrays our loop reads (its fastest form).
    """
    from backtesting.lib import FractionalBacktest

    unit = float(BTCUSD.contract_value)
    data = market.frame.rename(columns=str.capitalize)
    data.index = pd.DatetimeIndex(data.index).tz_localize(None)  # backtesting.py wants naive timestamps
    strategy = _idiomatic_strategy() if idiomatic else _reference_strategy(market, unit)
    backtest = FractionalBacktest(
        data,
        strategy,
        fractional_unit=unit,
        cash=INITIAL_BALANCE,
        commission=COMMISSION,
        spread=SPREAD,
        trade_on_close=False,
        exclusive_orders=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its "some prices are larger than initial cash" etc.
        gc.collect()
        started = time.perf_counter()
        stats = backtest.run()
        seconds = time.perf_counter() - started
    return seconds, stats


def _where(filename: str, line: int, name: str) -> str:
    for root in ("trading_agent/", "benchmarks/"):
        if root in filename:
            return f"{root}{filename.split(root, 1)[1]}:{line}({name})"
    return name if filename == "~" else f"{filename.rsplit('/', 1)[-1]}:{line}({name})"


def profile_table(market: Market, top: int = 15) -> Table:
    """Our run under cProfile: the ``top`` functions by cumulative time."""
    profiler = cProfile.Profile()
    gc.collect()
    profiler.runcall(run_ours, market)
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(entry[3] for entry in stats.values())
    table = Table(title=f"Profile of ours on {len(market.ts):,} candles (cProfile, top {top} by cumulative time)")
    for column in ("function", "calls", "own s", "cumulative s", "cumulative %"):
        table.add_column(column, justify="left" if column == "function" else "right")
    ranked = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)[:top]
    for (filename, line, name), (_, calls, own, cumulative, _) in ranked:
        table.add_row(
            _where(filename, line, name), f"{calls:,}", f"{own:.3f}", f"{cumulative:.3f}", f"{cumulative / total:.0%}"
        )
    return table


def main() -> None:
    """Run both engines on the same candles and print candles/s, the ratio, trades and equity."""
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the tables into 80 columns
        console = Console(width=130)
    check_flip()
    frame = SyntheticMarket(seed=SEED, timeframe=Timeframe.M1).generate(N_CANDLES)
    market = sma_cross_market(frame)
    n = len(market.ts)

    ours = best_of(OURS_RUNS, market)
    fed = best_of(OURS_RUNS, market, arrays=False)
    quiet = replace(market, signal=[0] * n)
    idle, idle_fed = best_of(OURS_RUNS, quiet), best_of(OURS_RUNS, quiet, arrays=False)
    if fed.engine.snapshot() != ours.engine.snapshot():
        raise RuntimeError("engine.feed_arrays and feeding candle by candle ended in different states")
    reference_s, stats = run_reference(market, idiomatic=False)
    idiomatic_s, idiomatic_stats = run_reference(market, idiomatic=True)
    engine = ours.engine
    ratio = reference_s / ours.seconds
    idiomatic_ratio = idiomatic_s / ours.seconds
    trades = engine.trades

    table = Table(
        title=f"Event-driven engine: {n:,} one-minute candles (seed {SEED}), SMA({FAST})/SMA({SLOW}) cross, "
        f"{market.crosses:,} crosses (one per {n / market.crosses:.0f} candles), SL 2xATR({ATR_PERIOD}), TP 2R"
    )
    for column in ("engine", "runs", "loop", "candles/s", "ours is ×", "trades", "final equity", "return"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    for name, result in (
        ("ours: TradingEngine.feed_arrays (risk gate, breakers, exits, journal)", ours),
        ("ours: TradingEngine.feed, one call per candle (the same state)", fed),
    ):
        row_equity = result.engine.portfolio_state().equity
        table.add_row(
            name,
            f"best of {OURS_RUNS}",
            f"{result.seconds:.2f} s",
            f"{n / result.seconds:,.0f}",
            "",
            f"{len(result.engine.trades):,}",
            f"{row_equity:,.2f}",
            f"{float(row_equity) / INITIAL_BALANCE - 1:+.2%}",
        )
    for name, seconds, outcome in (
        ("backtesting.py, precomputed signal (its fastest form)", reference_s, stats),
        ("backtesting.py, idiomatic (crossover in next)", idiomatic_s, idiomatic_stats),
    ):
        final = float(outcome["Equity Final [$]"])
        table.add_row(
            name,
            "1",
            f"{seconds:.2f} s",
            f"{n / seconds:,.0f}",
            f"{seconds / ours.seconds:.1f}×",
            f"{int(outcome['# Trades']):,}",
            f"{final:,.2f}",
            f"{final / INITIAL_BALANCE - 1:+.2%}",
        )
    for name, result in (("feed_arrays", idle), ("feed", idle_fed)):
        table.add_row(
            f"[dim]ours, {name} without orders (the quiet candles alone)[/]",
            f"best of {OURS_RUNS}",
            f"{result.seconds:.2f} s",
            f"{n / result.seconds:,.0f}",
            "",
            "0",
            "",
            "",
        )
    console.print(table)
    per_trade_ms = (ours.seconds - idle.seconds) / max(len(trades), 1) * 1e3
    for label, achieved in (("precomputed", ratio), ("idiomatic", idiomatic_ratio)):
        verdict = "[green]met[/]" if achieved >= GOAL_RATIO else "[red]MISSED[/]"
        console.print(f"goal ours >= {GOAL_RATIO:g}× backtesting.py ({label}): {verdict} ({achieved:.1f}×)")
    console.print(f"our cost above the fast path: {per_trade_ms:.2f} ms per round trip")

    detail = Table(title="Ours: what the risk gate and the exits did")
    detail.add_column("")
    detail.add_column("count", justify="right")
    detail.add_row("entries approved", f"{ours.approved:,}")
    detail.add_row("  of them flips (an opposite entry of held + new contracts)", f"{ours.flips:,}")
    for reason, count in ours.rejected.most_common():
        detail.add_row(f"entries rejected: {reason}", f"{count:,}")
    for exit_reason, count in Counter(trade.exit_reason for trade in trades).most_common():
        detail.add_row(f"trades closed by {exit_reason}", f"{count:,}")
    detail.add_row("circuit breakers tripped at the end", ", ".join(engine.tripped_breakers) or "none")
    console.print(detail)

    settings = Table(title="Settings")
    for column in ("setting", "default", "used"):
        settings.add_column(column)
    for name, default, used in LOOSENED:
        settings.add_row(name, default, used)
    settings.add_row("other risk limits and breakers, slippage, fees", "", "defaults")
    settings.add_row("exits: bracket, trailing stop (from +2%), time exit (24 h)", "on", "on")
    settings.add_row("sizing (both): fixed fraction of equity per entry", "", f"{NOTIONAL_FRACTION:.0%}")
    settings.add_row("backtesting.py commission / spread", "", f"{COMMISSION:.5f} / {SPREAD:.4f}")
    console.print(settings)

    if os.environ.get("BENCH_PROFILE") == "1":
        console.print(profile_table(_head(market, PROFILE_CANDLES)))


if __name__ == "__main__":
    main()
