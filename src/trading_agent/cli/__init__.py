"""The ``trading-agent`` command (Typer). Thin: parses, calls the services, prints.

Every command imports this package, so the heavy parts (the agent and its models, the API) are
imported inside the commands that use them: ``trading-agent trades list`` starts in about a second,
not in four (a test keeps it so).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from trading_agent import __version__
from trading_agent.cli import config, data, features, models, rl
from trading_agent.cli.backtest import backtest, montecarlo, walkforward
from trading_agent.cli.context import CliContext, err_console
from trading_agent.cli.journal import signals_app, trades_app
from trading_agent.cli.paper import paper
from trading_agent.cli.run import run
from trading_agent.cli.serve import serve
from trading_agent.cli.train import train
from trading_agent.config import LogFormat, LogLevel, configure_logging, load_settings
from trading_agent.domain import TradingAgentError

__all__ = ["app", "main"]

app = typer.Typer(
    name="trading-agent",
    help="AI paper-trading agent for crypto perpetual futures (Delta Exchange India). Never sends a real order.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.add_typer(features.app, name="features")
app.add_typer(config.app, name="config")
app.add_typer(models.app, name="models")
app.add_typer(rl.app, name="rl")
app.add_typer(trades_app, name="trades")
app.add_typer(signals_app, name="signals")
app.command()(run)
app.command()(paper)
app.command()(serve)
app.command()(backtest)
app.command()(walkforward)
app.command()(montecarlo)
app.command()(train)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trading-agent {__version__}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    log_level: Annotated[
        LogLevel | None, typer.Option("--log-level", help="Log threshold (env TRADING_AGENT_LOG_LEVEL).")
    ] = None,
    log_format: Annotated[
        LogFormat | None, typer.Option("--log-format", help="Log lines for people (console) or log shippers (json).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="SQLAlchemy URL (env TRADING_AGENT_DATABASE_URL).")
    ] = None,
    config_dir: Annotated[
        Path | None, typer.Option("--config-dir", help="Directory of the YAML configuration.")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Global options; settings come from TRADING_AGENT_* variables and .env, options win."""
    settings = load_settings(
        log_level=log_level, log_format=log_format, database_url=database_url, config_dir=config_dir
    )
    configure_logging(settings.log_level, settings.log_format)
    ctx.obj = CliContext(settings)


def main() -> None:
    """Entry point: a deliberate error prints one clear line and exits 1."""
    try:
        app()
    except TradingAgentError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
