"""``trading-agent run``: the main job (``make run``).

At this stage: load market data (a file, Delta's public feed, or the labelled synthetic market),
show its data-quality report, and replay it through the candle cache with a live status panel.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import pandas as pd
import redis
import typer
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table

from trading_agent.cli.context import CliContext, console, state
from trading_agent.cli.render import import_table, quality_table
from trading_agent.data.cache import CandleCache, RedisCandleCache
from trading_agent.services.market_session import (
    MarketSource,
    PreparedMarket,
    ReplayProgress,
    prepare_market,
    replay_market,
)

__all__ = ["run"]


def _utc(ts_ms: int) -> str:
    return pd.Timestamp(ts_ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def _status(market: PreparedMarket, progress: ReplayProgress, cache: CandleCache) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("source", market.label)
    grid.add_row("series", str(market.series))
    grid.add_row("replayed", f"{progress.replayed:,} / {progress.total:,}")
    grid.add_row("", ProgressBar(total=max(progress.total, 1), completed=progress.replayed, width=40))
    event = progress.last_event
    if event is not None:
        c = event.candle
        grid.add_row("last candle", f"{_utc(event.candle.ts)} → closed {_utc(event.ts_event)}")
        grid.add_row(
            "last close", f"{c.close:,.2f}  (O {c.open:,.2f}  H {c.high:,.2f}  L {c.low:,.2f}  V {c.volume:,.2f})"
        )
        grid.add_row("since start", f"{progress.change:+.2%}   range {progress.low:,.2f} – {progress.high:,.2f}")
    l2 = "Redis L2 on" if cache.has_l2 else "no L2 (set TRADING_AGENT_REDIS_URL)"
    grid.add_row("cache", f"L1 holds {cache.cached(market.series):,} candles; {l2}")
    style = "yellow" if market.source is MarketSource.SYNTHETIC else "green"
    title = "SYNTHETIC REPLAY" if market.source is MarketSource.SYNTHETIC else "Replay"
    return Panel(grid, title=title, border_style=style)


def _cache(ctx: CliContext) -> CandleCache:
    settings = ctx.settings
    l2 = None
    if settings.redis_url:
        l2 = RedisCandleCache(redis.Redis.from_url(settings.redis_url), settings.redis_prefix)
    return CandleCache(ctx.market_data().store, l2=l2)


def run(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option("--data", help="Replay this candle file (CSV, CSV.gz, Parquet).")] = None,
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Delta symbol when downloading.")] = "BTCUSD",
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t", help="Timeframe (inferred for files).")] = None,
    days: Annotated[int, typer.Option("--days", help="Days of history to download or synthesise.", min=1)] = 60,
    replay: Annotated[int, typer.Option("--replay", help="Replay the last N candles (0 = all).", min=0)] = 500,
    rate: Annotated[float, typer.Option("--rate", help="Candles per second (0 = as fast as possible).", min=0)] = 50,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic market.")] = 7,
) -> None:
    """Load market data, show its quality report, then replay it with a live status."""
    cli = state(ctx)
    service = cli.market_data()
    with console.status("Loading market data…"):
        market = prepare_market(service, data=data, symbol=symbol, timeframe=timeframe, days=days, seed=seed)
    if market.source is MarketSource.SYNTHETIC:
        console.print(f"[bold yellow]{market.label}[/]")
    console.print(import_table(market.imported))
    console.print(quality_table(market.quality, f"Data quality: {market.series}"))
    cache = _cache(cli)
    speed = market.series.timeframe.ms / 1000 * rate if rate > 0 else None
    with Live(console=console, refresh_per_second=8) as live:

        def show(progress: ReplayProgress) -> None:
            live.update(_status(market, progress, cache))

        final = asyncio.run(replay_market(market, cache, speed=speed, limit=replay or None, on_candle=show))
        live.update(_status(market, final, cache))
    console.print(f"Replayed {final.replayed:,} candles of {market.series}.")
