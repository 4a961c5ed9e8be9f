"""``trading-agent data``: import, download, list, check and resample market data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn

from trading_agent.cli.context import console, print_json, state
from trading_agent.cli.render import import_table, quality_table, series_table
from trading_agent.data.files import SeriesFileKind
from trading_agent.data.quality import FillPolicy
from trading_agent.domain import SeriesKey, Timeframe

__all__ = ["app"]

app = typer.Typer(
    help="Market data: import files, download from Delta, list, check quality, resample.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
ExchangeOption = Annotated[str, typer.Option("--exchange", "-e", help="Exchange (venue) name, e.g. binance.")]
SymbolOption = Annotated[str, typer.Option("--symbol", "-s", help="Symbol, e.g. BTCUSDT.")]
TimeframeOption = Annotated[
    str, typer.Option("--timeframe", "-t", help="Candle timeframe: 1m 3m 5m 15m 30m 1h 2h 4h 6h 1d 3d 1w.")
]
FillPolicyOption = Annotated[
    FillPolicy, typer.Option("--fill-policy", help="Gaps: leave them (default: never invent prices) or forward_fill.")
]


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV, CSV.gz or Parquet file (timestamp in epoch ms UTC, ...).")],
    exchange: ExchangeOption,
    symbol: SymbolOption,
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t", help="Candle timeframe (candles only).")] = None,
    kind: Annotated[SeriesFileKind, typer.Option("--kind", help="candles (OHLCV) or funding (funding_rate).")] = (
        SeriesFileKind.CANDLES
    ),
    json_: JsonOption = False,
) -> None:
    """Import a file in one transaction; re-importing the same file changes nothing."""
    summary = state(ctx).market_data().import_file(file, exchange, symbol, timeframe, kind)
    if json_:
        print_json(summary.model_dump() | {"rows_added": summary.rows_added})
    else:
        console.print(import_table(summary))


@app.command()
def download(
    ctx: typer.Context,
    symbol: SymbolOption = "BTCUSD",
    timeframe: TimeframeOption = "1h",
    days: Annotated[int, typer.Option("--days", "-d", help="How many days back from now.", min=1)] = 730,
    json_: JsonOption = False,
) -> None:
    """Download closed candles from Delta Exchange India's public REST API into the store."""
    service = state(ctx).market_data()
    columns = (TextColumn("downloading"), BarColumn(), TextColumn("page {task.completed}/{task.total}"))
    with Progress(*columns, console=console, transient=True, disable=json_) as progress:
        task = progress.add_task("download", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = service.download(symbol, timeframe, days, on_progress=advance)
    if json_:
        print_json(summary.model_dump() | {"rows_added": summary.rows_added})
    else:
        console.print(import_table(summary))


@app.command("list")
def list_(ctx: typer.Context, json_: JsonOption = False) -> None:
    """Every stored series with its row count and first/last timestamp."""
    series = state(ctx).market_data().list_series()
    if json_:
        print_json([s.model_dump() for s in series])
    elif not series:
        console.print("No series stored yet: try `trading-agent data import` or `trading-agent data download`.")
    else:
        console.print(series_table(series))


@app.command()
def check(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="Check this file instead of a stored series.")] = None,
    exchange: Annotated[str | None, typer.Option("--exchange", "-e", help="Stored series: exchange.")] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", "-s", help="Stored series: symbol.")] = None,
    timeframe: TimeframeOption = "1h",
    fill_policy: FillPolicyOption = FillPolicy.LEAVE,
    strict: Annotated[bool, typer.Option("--strict", help="Exit with code 3 when any check is not ok.")] = False,
    json_: JsonOption = False,
) -> None:
    """The data-quality report: gaps, duplicates, timestamps, outliers, volume anomalies."""
    service = state(ctx).market_data()
    if file is not None:
        report, title = service.check_file(file, timeframe, fill_policy), f"Data quality: {file}"
    elif exchange and symbol:
        series = SeriesKey.of(exchange, symbol, timeframe)
        report, title = service.check_series(series, fill_policy), f"Data quality: {series}"
    else:
        raise typer.BadParameter("give a FILE, or --exchange and --symbol of a stored series")
    if json_:
        print_json(report)
    else:
        console.print(quality_table(report, title))
    if strict and not report["ok"]:
        raise typer.Exit(3)


@app.command()
def resample(
    ctx: typer.Context,
    exchange: ExchangeOption,
    symbol: SymbolOption,
    to: Annotated[str, typer.Option("--to", help="Target timeframe, e.g. 4h.")],
    timeframe: TimeframeOption = "1m",
    save: Annotated[bool, typer.Option("--save/--no-save", help="Store the result as its own series.")] = True,
    json_: JsonOption = False,
) -> None:
    """Resample a stored series to a higher timeframe (UTC-aligned; the last incomplete candle is left out)."""
    series = SeriesKey.of(exchange, symbol, timeframe)
    summary = state(ctx).market_data().resample(series, Timeframe.parse(to), save=save)
    if json_:
        print_json(summary.model_dump())
    else:
        stored = "stored" if summary.stored else "not stored"
        console.print(
            f"{summary.source} → {summary.target}: {summary.rows_in:,} candles in, {summary.rows_out:,} out ({stored})"
        )
