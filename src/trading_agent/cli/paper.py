"""``trading-agent paper``: the paper-trading agent, with a status view that refreshes in place.

On a terminal the view (rich ``Live``) shows price, position, PnL, the last signal and its
confidence, the mode, pause and breaker states; when stdout is not a terminal it prints one plain
line per fill, closed trade, breaker and control, and a progress line every ``_PROGRESS_EVERY``
candles. On a terminal, single keys steer it (``cli.keys``: pause, resume, the risk modes, the
emergency stop). Ctrl-C stops the agent cleanly; the same command later resumes the session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from trading_agent.cli.backtest import FastOption, LowerOption, PeriodOption, SlowOption, UpperOption, strategy_params
from trading_agent.cli.context import console, state
from trading_agent.cli.keys import KEY_HELP, apply_key, keyboard
from trading_agent.domain import (
    AgentControlled,
    CandleClosed,
    CircuitBreakerReset,
    CircuitBreakerTripped,
    Event,
    OrderFilled,
    PositionClosed,
    PositionLiquidated,
    Timeframe,
)
from trading_agent.services.errors import ServiceError

if TYPE_CHECKING:  # the agent (and its models) load when a session starts, not with every command
    from trading_agent.agent import StepCallback, TradingAgent
    from trading_agent.services.paper import PaperSession

__all__ = ["Beside", "paper", "parse_speed", "run_session", "status_panel"]

Beside = Callable[[], AbstractAsyncContextManager[object]]
"""What runs beside the agent in its event loop (entered around its run)."""

_PROGRESS_EVERY = 1000
_REFRESH_S = 0.25  # the view redraws 4 times a second: building it more often is wasted

ReplayOption = Annotated[Path | None, typer.Option("--replay", help="Replay this candle file (CSV, CSV.gz, Parquet).")]
SyntheticOption = Annotated[bool, typer.Option("--synthetic", help="Replay the seeded synthetic market.")]
SpeedOption = Annotated[str, typer.Option("--speed", help="Replay speed: N x real time, or max (as fast as possible).")]
LastOption = Annotated[int | None, typer.Option("--last", help="Replay only the last N candles.", min=2)]
SessionOption = Annotated[str, typer.Option("--session", help="Journal session: the same name resumes it.")]
DaysOption = Annotated[int, typer.Option("--days", help="Days of history to download or synthesise.", min=1)]


def parse_speed(text: str) -> float | None:
    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ServiceError(f"--speed {text!r} is neither a number nor max") from None
    if not value > 0:
        raise ServiceError(f"--speed must be positive, got {text}")
    return value


def _timeframes(text: str | None) -> tuple[Timeframe, ...] | None:
    if text is None:
        return None
    try:
        return tuple(Timeframe.parse(part.strip()) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ServiceError(f"--timeframes {text!r}: {exc}") from None


def _utc(ts_ms: int) -> str:
    return pd.Timestamp(ts_ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def status_panel(session: PaperSession, said: Sequence[str] = ()) -> Panel:
    """The status view of ``session`` (with the last control done from the keyboard, if any)."""
    status = session.agent.status()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("market", session.market)
    grid.add_row("signals", session.source)
    done = f"{status.candles:,}" + (f" / {session.total:,}" if session.total else "")
    grid.add_row("candles traded", done + (f"  ({status.skipped} skipped)" if status.skipped else ""))
    candle = status.last_candle
    if candle is not None:
        grid.add_row("price", f"{candle.close:,.2f} at the close of {_utc(candle.ts)} candle")
    position = status.position
    grid.add_row(
        "position",
        "flat"
        if position is None
        else f"{position.side} {position.contracts} @ {position.entry_price} (liq {position.liquidation_price})",
    )
    grid.add_row(
        "equity",
        f"{status.equity:,.2f}  realised {status.realized_pnl:+,.2f}  unrealised {status.unrealized_pnl:+,.2f}  "
        f"fees {status.fees:,.2f}  funding {status.funding:+,.2f}  trades {status.trades}",
    )
    signal = status.last_signal
    if signal is not None:
        grid.add_row("last signal", f"{signal.direction} at {_utc(signal.ts)}, confidence {signal.confidence:.2f}")
    controls = "paused" if status.paused else "trading"
    grid.add_row("mode", f"{status.mode or 'as configured'}, {controls}" + (", PRICE STALE" if status.stale else ""))
    breakers = ", ".join(f"{name} ({why})" for name, why in status.breakers.items()) or "none tripped"
    grid.add_row("breakers", breakers)
    grid.add_row("keys", KEY_HELP + (f"   [bold]{said[-1]}[/]" if said else ""))
    style = "yellow" if session.synthetic else "green"
    title = f"Paper session {status.session}" + (" — SYNTHETIC market" if session.synthetic else "")
    return Panel(grid, title=title, border_style=style)


def _line(event: Event) -> str | None:
    """One plain log line for the events a person wants to see, None for the rest."""
    match event:
        case OrderFilled(fill=fill, order=order):
            return f"{_utc(fill.ts)} fill {fill.side} {fill.contracts} @ {fill.price} ({order.intent.role})"
        case PositionClosed(trade=trade) | PositionLiquidated(trade=trade):
            return f"{_utc(trade.ts_closed)} closed {trade.side} pnl {trade.pnl:+,.2f} ({trade.exit_reason})"
        case CircuitBreakerTripped(breaker=name, reason=reason):
            return f"{_utc(event.ts_event)} breaker {name} tripped: {reason}"
        case CircuitBreakerReset(breaker=name, reason=reason):
            return f"{_utc(event.ts_event)} breaker {name} reset: {reason}"
        case AgentControlled(command=command, value=value, reason=reason):
            return f"{_utc(event.ts_event)} control {command}{' ' + value if value else ''}: {reason}"
    return None


def run_session(session: PaperSession, beside: Beside | None = None) -> None:
    """Run the agent of ``session`` until its feed ends or Ctrl-C, showing its status.

    ``beside`` is entered around the agent's run, in its event loop (the API server of ``run``).
    """
    style = "bold yellow" if session.synthetic else "bold"
    console.print(f"[{style}]market:[/] {session.market}", highlight=False)
    console.print(f"[bold]signals:[/] {session.source}", highlight=False)
    for note in session.notes:
        console.print(f"[dim]{note}[/]", highlight=False)
    agent = session.agent
    if console.is_terminal:
        said: list[str] = []
        with Live(status_panel(session), console=console, refresh_per_second=4) as live:
            shown = [0.0]

            def show(agent: TradingAgent, candle: CandleClosed, committed: Sequence[Event]) -> None:
                session.cache.on_candle_closed(candle)
                now = time.monotonic()
                if now - shown[0] >= _REFRESH_S:  # a fast replay steps far more often than the view redraws
                    shown[0] = now
                    live.update(status_panel(session, said[-1:]))

            def on_key(key: str) -> None:
                done = apply_key(agent, key)
                if done is not None:
                    said.append(done)
                    live.update(status_panel(session, said[-1:]))

            _run(session, show, on_key, beside)
            live.update(status_panel(session, said[-1:]))
    else:

        def log(agent: TradingAgent, candle: CandleClosed, committed: Sequence[Event]) -> None:
            session.cache.on_candle_closed(candle)
            for event in committed:
                line = _line(event)
                if line is not None:
                    console.print(line, highlight=False)
            if agent.candles and agent.candles % _PROGRESS_EVERY == 0:
                console.print(f"{_utc(candle.candle.ts)} {agent.candles:,} candles traded", highlight=False)

        _run(session, log, None, beside)
    status = agent.status()
    console.print(
        f"Paper session {status.session}: {status.candles:,} candles traded, {status.trades} trades, "
        f"equity {status.equity:,.2f}, {'paused' if status.paused else 'trading'}.",
        highlight=False,
    )


def _run(
    session: PaperSession, on_step: StepCallback, on_key: Callable[[str], None] | None, beside: Beside | None
) -> None:
    async def trade() -> None:
        async with beside() if beside is not None else nullcontext():
            if on_key is None:
                await session.agent.run(session.feed, on_step)
                return
            with keyboard(on_key):
                await session.agent.run(session.feed, on_step)

    try:
        asyncio.run(trade())
    except KeyboardInterrupt:
        console.print("Stopped by Ctrl-C; the same command resumes this session.")


def paper(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Delta symbol to trade or download.")] = "BTCUSD",
    timeframes: Annotated[
        str | None,
        typer.Option("--timeframes", help="Timeframes, the traded one first (default: the rules', e.g. 1h,4h,1d)."),
    ] = None,
    replay: ReplayOption = None,
    synthetic: SyntheticOption = False,
    speed: SpeedOption = "max",
    last: LastOption = None,
    profile: Annotated[str | None, typer.Option("--profile", help="Trading profile of config/profiles.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="Risk mode: conservative, moderate, aggressive.")] = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="Built-in strategy, or ensemble (default: the trained one).")
    ] = None,
    fast: FastOption = None,
    slow: SlowOption = None,
    period: PeriodOption = None,
    lower: LowerOption = None,
    upper: UpperOption = None,
    contract: Annotated[str | None, typer.Option("--contract", help="Contract of config/instruments.yaml.")] = None,
    session: SessionOption = "paper",
    days: DaysOption = 60,
    state_dir: Annotated[
        Path, typer.Option("--state-dir", help="Where the agent saves its signal source's state between runs.")
    ] = Path("var/agent"),
) -> None:
    """Paper-trade: live Delta candles, or a replay (--replay FILE, --synthetic) that ends with its candles.

    Every signal, refusal, order, fill and breaker is journaled before it is shown; the same command
    resumes the session after a crash or Ctrl-C. Nothing is ever sent to an exchange.
    """
    traded, pace = _timeframes(timeframes), parse_speed(speed)  # a bad option fails before the agent loads
    params = strategy_params(fast=fast, slow=slow, period=period, lower=lower, upper=upper)
    from trading_agent.services.paper import PaperOptions, open_paper_session

    settings = state(ctx).settings
    options = PaperOptions(
        symbol=symbol,
        timeframes=traded,
        replay=replay,
        synthetic=synthetic,
        last=last,
        speed=pace,
        profile=profile,
        strategy=strategy,
        params=params,
        contract=contract,
        session=session,
        mode=mode,
        days=days,
        state_dir=state_dir,
    )
    with console.status("Preparing the agent…"):
        prepared = open_paper_session(settings, options)
    run_session(prepared)
