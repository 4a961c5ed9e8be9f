"""``trading-agent models``: list, show, promote, roll back and benchmark the registered ensembles."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from trading_agent.cli.context import console, print_json, state
from trading_agent.services.models import ModelDetails, ModelService, ModelVersionSummary

__all__ = ["app"]

# MLflow draws a tqdm bar on stderr for every download; the commands print their own output.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

app = typer.Typer(
    help="The model registry (MLflow): versions, the production alias, promote, rollback, serving latency.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
NameArgument = Annotated[str, typer.Argument(help="Registered model name.")]
VersionOption = Annotated[int | None, typer.Option("--version", help="Version number.", min=1)]


def _service(ctx: typer.Context) -> ModelService:
    return ModelService.from_settings(state(ctx).settings)


def _emit(json_: bool, payload: Any, table: Callable[[], Table]) -> None:
    if json_:
        print_json(payload)
    else:
        console.print(table())


def _versions_table(versions: list[ModelVersionSummary]) -> Table:
    table = Table(title="Registered models")
    for column in ("name", "version", "aliases", "created", "metrics", "run"):
        table.add_column(column, justify="right" if column == "version" else "left")
    for v in versions:
        metrics = ", ".join(f"{k} {value:.4g}" for k, value in sorted(v.metrics.items()))
        created = v.created.strftime("%Y-%m-%d %H:%M:%S UTC")
        table.add_row(v.name, str(v.version), ", ".join(v.aliases) or "-", created, metrics or "-", v.run_id[:12])
    return table


def _details_table(details: ModelDetails) -> Table:
    table = Table(title=f"{details.name} version {details.version}", show_header=False, show_lines=True)
    table.add_row("aliases", ", ".join(details.aliases) or "-")
    table.add_row("created", str(details.created))
    table.add_row("run", details.run_id)
    table.add_row("source", details.source)
    for title, values in (("params", details.params), ("metrics", details.metrics), ("tags", details.tags)):
        table.add_row(title, "\n".join(f"{k}: {v}" for k, v in sorted(values.items())) or "-")
    if details.fold_metrics:
        folds = (", ".join(f"{k} {v:.4g}" for k, v in sorted(fold.items())) for fold in details.fold_metrics)
        table.add_row("folds", "\n".join(f"{i}: {line}" for i, line in enumerate(folds)))
    return table


def _bench_table(report: dict[str, Any]) -> Table:
    title = (
        f"{report['name']} version {report['version']}: single-row predict over {report['rows']:,} rows "
        f"({report['n_features']} features; {', '.join(report['base_models'])} → {report['meta']})"
    )
    table = Table(title=title)
    table.add_column("")
    runtimes = report["runtimes"]
    for runtime in runtimes:
        table.add_column(runtime, justify="right")
    rows = (
        ("p50", "p50_ms", "{:.3f} ms"),
        ("p95", "p95_ms", "{:.3f} ms"),
        ("p99", "p99_ms", "{:.3f} ms"),
        ("mean", "mean_ms", "{:.3f} ms"),
        ("load", "load_ms", "{:.0f} ms"),
        ("resident memory after load", "rss_mb", "{:.0f} MiB"),
        ("added by the load", "load_rss_mb", "{:+.0f} MiB"),
    )
    for label, key, fmt in rows:
        table.add_row(label, *(fmt.format(values[key]) for values in runtimes.values()))
    return table


@app.command("list")
def list_(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Only this model's versions.")] = None,
    json_: JsonOption = False,
) -> None:
    """Every registered version (of one model with --name), newest first, with its aliases."""
    versions = _service(ctx).list_versions(name)
    if not versions and not json_:
        console.print("No model registered yet: a training run registers its ensemble.")
        return
    _emit(json_, [v.model_dump(mode="json") for v in versions], lambda: _versions_table(versions))


@app.command()
def show(
    ctx: typer.Context,
    name: NameArgument,
    version: VersionOption = None,
    alias: Annotated[str | None, typer.Option("--alias", "-a", help="Alias, e.g. production or candidate.")] = None,
    json_: JsonOption = False,
) -> None:
    """One version (the latest unless --version or --alias): params, metrics, per-fold metrics, aliases."""
    details = _service(ctx).show(name, version, alias)
    _emit(json_, details.model_dump(mode="json"), lambda: _details_table(details))


@app.command()
def promote(
    ctx: typer.Context,
    name: NameArgument,
    version: Annotated[int, typer.Argument(help="The version to serve.", min=1)],
) -> None:
    """Point the production alias (what the agent serves) at VERSION."""
    promoted = _service(ctx).promote(name, version)
    console.print(f"{promoted.name} version {promoted.version} is now production.")


@app.command()
def rollback(ctx: typer.Context, name: NameArgument) -> None:
    """Point production back at the version promoted before the current one."""
    restored = _service(ctx).rollback(name)
    console.print(f"{restored.name} rolled back: version {restored.version} is production again.")


@app.command()
def bench(
    ctx: typer.Context,
    name: NameArgument,
    version: VersionOption = None,
    alias: Annotated[str, typer.Option("--alias", "-a", help="Alias to bench when no --version.")] = "production",
    rows: Annotated[int, typer.Option("--rows", help="Single-row predictions to time per runtime.", min=1)] = 1000,
    json_: JsonOption = False,
) -> None:
    """Serving latency of one feature row (p50/p95/p99) and memory, native models vs ONNX side by side."""
    report = _service(ctx).bench(name, version, alias, rows)
    _emit(json_, report, lambda: _bench_table(report))


@app.command()
def ab(
    ctx: typer.Context,
    name: NameArgument,
    version_a: Annotated[int, typer.Argument(help="Version A (e.g. the production one).", min=1)],
    version_b: Annotated[int, typer.Argument(help="Version B (e.g. the candidate).", min=1)],
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Stored series to replay: symbol.")],
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Stored series: exchange.")] = "binance",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle timeframe.")] = "1h",
    from_: Annotated[str | None, typer.Option("--from", help="First candle (UTC date or time).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End of the range, exclusive (UTC).")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.", min=0.001, max=0.5)] = 0.05,
    json_: JsonOption = False,
) -> None:
    """A/B test: replay two versions over the same candles (costs and risk on) and test their daily returns, paired.

    A report only; promote the winner with `models promote`.
    """
    from trading_agent.cli.backtest import backtest_service, time_ms
    from trading_agent.domain import SeriesKey
    from trading_agent.services.ab_test import ab_test
    from trading_agent.services.backtest import MarketOptions

    options = MarketOptions(start_ms=time_ms(from_, "--from"), end_ms=time_ms(to, "--to"))
    series = SeriesKey.of(exchange, symbol, timeframe)
    report = ab_test(
        backtest_service(ctx, with_registry=True), series, name, version_a, version_b, options=options, alpha=alpha
    )
    if json_:
        print_json(report.model_dump())
        return
    table = Table(title=f"A/B: {name} v{version_a} vs v{version_b} on {report.series}, {report.candles:,} candles")
    for column in ("", f"A (v{version_a})", f"B (v{version_b})"):
        table.add_column(column, justify="left" if not column else "right")
    for key in ("total_return", "sharpe_ratio", "max_drawdown", "num_trades", "in_sample_candles"):
        table.add_row(key, str(report.a.get(key)), str(report.b.get(key)))
    console.print(table)
    test = report.test
    console.print(
        f"mean daily difference (B - A) {test['mean_difference']:.4%}, {1 - test['alpha']:.0%} interval "
        f"[{test['ci_low']:.4%}, {test['ci_high']:.4%}]; paired t-test p {test['t_p_value']:.3g}, "
        f"Wilcoxon p {test['wilcoxon_p_value']:.3g} over {test['buckets']} days."
    )
    console.print(f"[bold]{report.verdict}[/]")
