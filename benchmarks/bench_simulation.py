"""Speed of the two simulators: the synthetic market and the Monte Carlo bootstraps.

- ``SyntheticMarket.generate``: one million 1-minute candles; goal < 2 s.
- ``block_bootstrap`` and ``bootstrap_trades``: 10,000 paths of 1,000 steps each; goal < 1 s each.

Best of three runs each (these were timed unit tests once; speed belongs here, not in the suite).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from trading_agent.backtest.montecarlo import block_bootstrap, bootstrap_trades
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe

__all__ = ["main"]


def _best_s(run: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    """Time each simulator and print it beside its goal."""
    returns = np.random.default_rng(0).normal(0.0005, 0.01, 1000)
    cases = [
        ("synthetic market, 1,000,000 1m candles", 2.0,
         lambda: SyntheticMarket(seed=1, timeframe=Timeframe.M1).generate(1_000_000)),
        ("block bootstrap, 10,000 paths x 1,000 steps", 1.0,
         lambda: block_bootstrap(returns, block=20, n_paths=10_000, seed=1, start_equity=1.0)),
        ("trade bootstrap, 10,000 paths x 1,000 trades", 1.0,
         lambda: bootstrap_trades(returns, n_paths=10_000, seed=1, start_equity=1.0)),
    ]  # fmt: skip
    table = Table(title="Simulators (best of 3)")
    for column in ("case", "time", "goal", "met"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for name, goal, run in cases:
        seconds = _best_s(run)
        table.add_row(name, f"{seconds:.3f} s", f"< {goal:.0f} s", str(seconds < goal))
    Console().print(table)
