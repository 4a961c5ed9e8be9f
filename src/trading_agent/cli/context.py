"""What every command needs: settings, and the one way to print data and errors."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.console import Console

from trading_agent.config import AppSettings
from trading_agent.services.market_data import MarketDataService

__all__ = ["CliContext", "console", "err_console", "print_json", "state"]

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliContext:
    """Settings resolved once by the top-level callback."""

    settings: AppSettings
    _market_data: MarketDataService | None = field(default=None, repr=False)

    def market_data(self) -> MarketDataService:
        """The market-data service on the configured store (opened, and migrated, once)."""
        if self._market_data is None:
            self._market_data = MarketDataService.from_settings(self.settings)
        return self._market_data


def state(ctx: typer.Context) -> CliContext:
    """The ``CliContext`` stored by the top-level callback."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):
        raise RuntimeError("the top-level callback did not run")
    return obj


def print_json(payload: Any) -> None:
    """Data as JSON on stdout (timestamps as ISO-8601)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
