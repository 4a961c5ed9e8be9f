"""``trading-agent rl train``: the reinforcement-learning agent over the walk-forward windows, several seeds.

The RL service (stable-baselines3, torch, MLflow) is imported when the command runs, so that every
other command starts without loading them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from trading_agent.cli.backtest import backtest_service, time_ms
from trading_agent.cli.context import console, print_json, state
from trading_agent.cli.train import check_report_path, progress_bars
from trading_agent.config.rl import load_rl_config
from trading_agent.config.training import load_training_config
from trading_agent.domain import SeriesKey
from trading_agent.services.files import write_text

if TYPE_CHECKING:
    from trading_agent.services.rl_training import RLTrainingReport

__all__ = ["app", "train"]

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

app = typer.Typer(help="The reinforcement-learning agent (PPO, DQN) over the trading engine.", no_args_is_help=True)


def _print(report: RLTrainingReport) -> None:
    table = Table(
        title=f"RL agent out of sample, costs on: {report.series} as {report.contract}, "
        f"{report.out_of_sample_start:%Y-%m-%d} to {report.out_of_sample_end:%Y-%m-%d}"
    )
    for column in ("run", "return", "Sharpe", "max DD", "trades"):
        table.add_column(column, justify="left" if column == "run" else "right")

    def cells(values: dict[str, float | None]) -> tuple[str, ...]:
        def fmt(value: float | None, kind: str) -> str:
            if value is None:
                return "n/a"
            return f"{value:.2%}" if kind == "pct" else f"{value:.2f}" if kind == "num" else f"{value:.0f}"

        return (
            fmt(values.get("total_return"), "pct"),
            fmt(values.get("sharpe_ratio"), "num"),
            fmt(values.get("max_drawdown"), "pct"),
            fmt(values.get("num_trades"), "int"),
        )

    for row in report.per_seed:
        table.add_row(f"seed {row['seed']}", *cells(row))
    table.add_row("mean", *cells({k: v["mean"] for k, v in report.summary.items()}))
    table.add_row("std", *cells({k: v["std"] for k, v in report.summary.items()}))
    table.add_row("buy-and-hold", *cells(report.buy_hold))
    if report.ensemble is not None:
        table.add_row(f"ensemble {report.ensemble['model']} (own span)", *cells(report.ensemble))
    console.print(table)
    console.print(
        f"[bold]{report.versus_buy_hold()}[/] {len(report.splits)} folds, training {report.training_s:,.0f} s "
        f"of {report.duration_s:,.0f} s."
    )
    if report.registered is not None:
        console.print(f"Registered {report.registered['name']} version {report.registered['version']}.")


@app.command("train")
def train(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Stored series: symbol (e.g. BTCUSDT).")],
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Stored series: exchange.")] = "binance",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle timeframe.")] = "1h",
    algo: Annotated[str | None, typer.Option("--algo", help="ppo (target exposure) or dqn (flat/long/short).")] = None,
    seeds: Annotated[int | None, typer.Option("--seeds", min=1, help="Train seeds 0..N-1 (rl.yaml: seeds).")] = None,
    timesteps: Annotated[
        int | None, typer.Option("--timesteps", min=1, help="Environment steps per fold and seed.")
    ] = None,
    rl_config: Annotated[
        Path | None, typer.Option("--rl-config", help="RL settings instead of config/rl.yaml.")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First candle (UTC date or time).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End of the range, exclusive (UTC).")] = None,
    register: Annotated[
        bool, typer.Option("--register/--no-register", help="Register the trained policy in the model registry.")
    ] = True,
    json_: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    report_out: Annotated[Path | None, typer.Option("--report", help="Write the report (.json or .md).")] = None,
) -> None:
    """Train PPO or DQN on the walk-forward windows of config/training.yaml and report it out of sample.

    Settings come from config/rl.yaml (options win). Every fold is trained once per seed; the report
    gives each seed's stitched out-of-sample return, Sharpe, drawdown and trades, their mean and
    spread, buy-and-hold over the same candles and the registered ensemble's record when there is one.
    """
    check_report_path(report_out)  # a bad option fails before the policies load
    start_ms, end_ms = time_ms(from_, "--from"), time_ms(to, "--to")
    from trading_agent.registry.policy_registry import PolicyRegistry
    from trading_agent.services.rl_training import RLTrainingService, RLTrainOptions, rl_training_markdown

    settings = state(ctx).settings
    registry = PolicyRegistry(settings.mlflow_tracking_uri) if register else None
    service = RLTrainingService(
        backtest_service(ctx),
        load_training_config(settings.config_dir),
        load_rl_config(settings.config_dir, rl_config),
        registry,
    )
    options = RLTrainOptions(
        start_ms=start_ms,
        end_ms=end_ms,
        algorithm=algo,
        seeds=seeds,
        timesteps=timesteps,
        register=register,
    )
    with progress_bars(json_) as progress:
        outcome = service.train(SeriesKey.of(exchange, symbol, timeframe), options, progress=progress)
    report = outcome.report
    if report_out is not None:
        text = (
            report.model_dump_json(indent=2) if report_out.suffix.lower() == ".json" else rl_training_markdown(report)
        )
        write_text(text, report_out)
    if json_:
        print_json(report.model_dump(mode="json"))
        return
    _print(report)
