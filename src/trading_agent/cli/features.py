"""``trading-agent features``: list the registry, compute features of a stored series."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from trading_agent.cli.context import console, print_json, state
from trading_agent.domain import SeriesKey
from trading_agent.services.features import FeatureService

__all__ = ["app"]

app = typer.Typer(help="Features: the registry, and computing features of stored candles.", no_args_is_help=True)

FeatureSetOption = Annotated[str, typer.Option("--feature-set", help="Named feature set.")]


@app.command("list")
def list_(
    ctx: typer.Context,
    feature_set: FeatureSetOption = "default",
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every feature: name, group, parameters and warm-up (bars before the first value)."""
    features = FeatureService(state(ctx).market_data()).list_features(feature_set)
    if json_:
        print_json([f.model_dump() for f in features])
        return
    table = Table(title=f"Feature set {feature_set!r}: {len(features)} features")
    for column in ("name", "group", "warmup", "description"):
        table.add_column(column, justify="right" if column == "warmup" else "left")
    for f in features:
        table.add_row(f.name, f.group, str(f.warmup), f.description)
    console.print(table)


@app.command()
def compute(
    ctx: typer.Context,
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Stored series: exchange.")],
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Stored series: symbol.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .parquet, .csv or .csv.gz.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle timeframe.")] = "1h",
    higher: Annotated[
        list[str] | None, typer.Option("--higher", help="Also join this higher timeframe (repeatable).")
    ] = None,
    feature_set: FeatureSetOption = "default",
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compute features of a stored series (NaN during warm-up) and write them to a file."""
    series = SeriesKey.of(exchange, symbol, timeframe)
    result = FeatureService(state(ctx).market_data()).compute(series, out, feature_set=feature_set, higher=higher or ())
    if json_:
        print_json(result.model_dump())
    else:
        console.print(f"Wrote {result.rows:,} rows x {result.columns} features of {result.series} to {result.path}")
