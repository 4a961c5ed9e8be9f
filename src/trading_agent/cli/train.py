"""``trading-agent train``: tune, walk-forward train, evaluate out of sample with costs, register.

The training service (the ML libraries, MLflow) is imported when the command runs, so that every
other command starts without loading them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from trading_agent.cli.backtest import backtest_service, time_ms
from trading_agent.cli.context import console, print_json, state
from trading_agent.config.trading_rules import load_trading_rules
from trading_agent.config.training import load_training_config
from trading_agent.domain import SeriesKey
from trading_agent.services.errors import ServiceError
from trading_agent.services.files import write_text

if TYPE_CHECKING:
    from trading_agent.services.training import TrainingProgress, TrainingReport

__all__ = ["check_report_path", "progress_bars", "train"]


@contextmanager
def progress_bars(quiet: bool) -> Iterator[TrainingProgress | None]:
    """One bar per stage (tuning each model, the walk-forward folds, the final model) on a terminal."""
    if quiet or not console.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with RichProgress(*columns, console=console) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update


def check_report_path(path: Path | None) -> None:
    if path is not None and path.suffix.lower() not in (".json", ".md"):
        raise ServiceError(f"{path}: the training report is .json or .md")


def _print(report: TrainingReport) -> None:
    from trading_agent.services.training_markdown import OUT_OF_SAMPLE_HEADER, cell, out_of_sample_rows

    table = Table(
        title=f"Out of sample, costs on: {report.series} as {report.contract}, "
        f"{report.out_of_sample_start:%Y-%m-%d} to {report.out_of_sample_end:%Y-%m-%d}"
    )
    shown = ("strategy", "return", "Sharpe", "max DD", "trades", "accuracy", "ROC-AUC")
    columns = [i for i, name in enumerate(OUT_OF_SAMPLE_HEADER) if name in shown]
    for column in shown:
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for row in out_of_sample_rows(report):
        table.add_row(*(row[i] for i in columns))
    console.print(table)
    console.print(
        f"[bold]{report.versus_buy_hold()}[/] Deflated Sharpe over {report.n_trials} configurations: "
        f"{cell(report.deflated_sharpe_ratio, 'num')}; calibration error (ECE) "
        f"{cell(report.expected_calibration_error, 'num')}; {len(report.splits)} folds, {report.duration_s:,.0f} s."
    )
    top = ", ".join(f"{name} {share:.1%}" for name, share in list(report.feature_importances.items())[:8])
    console.print(f"Top features: {top}")
    if report.registered is not None:
        name, version, aliases = (report.registered[key] for key in ("name", "version", "aliases"))
        hint = "" if "production" in aliases else f"; serve it with `trading-agent models promote {name} {version}`"
        console.print(f"Registered {name} version {version} ({', '.join(aliases)}){hint}.")


def train(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Stored series: symbol (e.g. BTCUSDT).")],
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Stored series: exchange.")] = "binance",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle timeframe.")] = "1h",
    models: Annotated[
        str | None, typer.Option("--models", help="Base models, comma-separated: lgbm,xgb,catboost,rf.")
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", min=0, help="Optuna trials per model (0: defaults).")
    ] = None,
    objective: Annotated[
        str | None, typer.Option("--objective", help="Tuning objective: sharpe, sortino or log_loss.")
    ] = None,
    storage: Annotated[
        str | None, typer.Option("--storage", help="Optuna storage URL shared by several workers (PostgreSQL).")
    ] = None,
    training_config: Annotated[
        Path | None, typer.Option("--training-config", help="Training settings file instead of config/training.yaml.")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First candle (UTC date or time).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End of the range, exclusive (UTC).")] = None,
    register: Annotated[
        bool, typer.Option("--register/--no-register", help="Register the trained ensemble in the model registry.")
    ] = True,
    promote: Annotated[
        bool, typer.Option("--promote", help="Also make the new version production (what the agent serves).")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    report_out: Annotated[
        Path | None, typer.Option("--report", help="Write the training report (.json or .md).")
    ] = None,
) -> None:
    """Train the ensemble on purged walk-forward splits and report it out of sample, costs on.

    Settings come from config/training.yaml (options win). The report gives per model and fold the
    classification and strategy metrics, the ensemble's, buy-and-hold's, the deflated Sharpe over
    every configuration tried, the reliability table and the feature importances.
    """
    check_report_path(report_out)  # a bad option fails before the models load
    start_ms, end_ms = time_ms(from_, "--from"), time_ms(to, "--to")
    from trading_agent.registry.mlflow_registry import ModelRegistry
    from trading_agent.services.training import TrainingService, TrainOptions
    from trading_agent.services.training_markdown import training_markdown

    settings = state(ctx).settings
    rules = load_trading_rules(settings.config_dir, settings.profile)
    registry = ModelRegistry(settings.mlflow_tracking_uri) if register else None
    service = TrainingService(
        backtest_service(ctx), rules, load_training_config(settings.config_dir, training_config), registry
    )
    options = TrainOptions(
        start_ms=start_ms,
        end_ms=end_ms,
        models=None if models is None else tuple(m.strip() for m in models.split(",") if m.strip()),
        trials=trials,
        objective=objective,
        storage=storage,
        register=register,
        promote=promote,
    )
    with progress_bars(json_) as progress:
        outcome = service.train(SeriesKey.of(exchange, symbol, timeframe), options, progress=progress)
    report = outcome.report
    if report_out is not None:
        text = report.model_dump_json(indent=2) if report_out.suffix.lower() == ".json" else training_markdown(report)
        write_text(text, report_out)
    if json_:
        print_json(report.model_dump(mode="json"))
        return
    _print(report)
