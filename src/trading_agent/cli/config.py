"""``trading-agent config``: show and validate the configuration, manage encrypted secrets."""

from __future__ import annotations

from typing import Annotated

import typer

from trading_agent.cli.context import console, print_json, state
from trading_agent.config import available_profiles, load_instruments, load_trading_rules
from trading_agent.config.secrets import encrypt_secret, generate_key
from trading_agent.domain import TradingAgentError

__all__ = ["app"]

app = typer.Typer(help="Configuration: show, validate, encrypt secrets.", no_args_is_help=True)


@app.command()
def show(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="Apply this profile over the rules.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The effective settings (secrets masked) and trading rules."""
    settings = state(ctx).settings
    rules = load_trading_rules(settings.config_dir, profile or settings.profile)
    payload = {
        "settings": settings.model_dump(mode="json"),
        "trading_rules": rules.model_dump(mode="json"),
        "profiles": available_profiles(settings.config_dir),
    }
    if json_:
        print_json(payload)
    else:
        console.print_json(data=payload)


@app.command()
def validate(ctx: typer.Context) -> None:
    """Load every YAML file under the config directory (rules, each profile, instruments); report errors."""
    settings = state(ctx).settings
    problems: list[str] = []
    for profile in [None, *available_profiles(settings.config_dir)]:
        try:
            load_trading_rules(settings.config_dir, profile)
        except TradingAgentError as exc:
            problems.append(str(exc))
    try:
        instruments = load_instruments(settings.instruments_path)
    except TradingAgentError as exc:
        problems.append(str(exc))
        instruments = {}
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/] {problem}")
        raise typer.Exit(1)
    count = len(available_profiles(settings.config_dir))
    console.print(f"[green]✓[/] trading rules, {count} profiles and {len(instruments)} instruments are valid")


@app.command("generate-key")
def generate_key_() -> None:
    """Print a new encryption key for TRADING_AGENT_ENCRYPTION_KEY."""
    typer.echo(generate_key())


@app.command()
def encrypt(ctx: typer.Context) -> None:
    """Encrypt a secret (read from a hidden prompt or stdin) for use as ``fernet:<token>``."""
    key = state(ctx).settings.encryption_key
    if key is None:
        raise typer.BadParameter("set TRADING_AGENT_ENCRYPTION_KEY first (see `trading-agent config generate-key`)")
    secret = typer.prompt("Secret", hide_input=True)
    typer.echo(encrypt_secret(secret, key))
