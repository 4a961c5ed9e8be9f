"""Resampling 1M synthetic 1m candles to all 11 coarser timeframes: our numpy kernel vs pandas.

Goal: ``resample_all`` (cascading 1m → 5m → 15m → ...) within 1 s in total. Pandas runs
``DataFrame.resample(...).agg(...)`` from the 1m frame for each target in the same process
(weeks as ``W-MON`` with left label and edge; ``3D`` is timed although pandas does not anchor it
to the epoch on a UTC index). Times are the best of ``REPEATS`` runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
from rich.console import Console
from rich.table import Table

from trading_agent.data.resample import resample_all, resample_candles
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe

__all__ = ["main"]

N_CANDLES = 1_000_000
REPEATS = 3
GOAL_SECONDS = 1.0
_AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
_PANDAS_RULES = {
    Timeframe.M3: {"rule": "3min"},
    Timeframe.M5: {"rule": "5min"},
    Timeframe.M15: {"rule": "15min"},
    Timeframe.M30: {"rule": "30min"},
    Timeframe.H1: {"rule": "1h"},
    Timeframe.H2: {"rule": "2h"},
    Timeframe.H4: {"rule": "4h"},
    Timeframe.H6: {"rule": "6h"},
    Timeframe.D1: {"rule": "1D"},
    Timeframe.D3: {"rule": "3D"},
    Timeframe.W1: {"rule": "W-MON", "label": "left", "closed": "left"},
}


def _best_seconds(job: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - started)
    return best


def _pandas_resample(frame: pd.DataFrame, target: Timeframe) -> pd.DataFrame:
    return frame.resample(**_PANDAS_RULES[target]).agg(_AGG).dropna(subset=["open"])


def main() -> None:
    """Print a table of per-target and total times, ours vs pandas, with the ratio."""
    started = time.perf_counter()
    frame = SyntheticMarket(seed=1, timeframe=Timeframe.M1).generate(N_CANDLES)
    generate_seconds = time.perf_counter() - started
    targets = [tf for tf in Timeframe if tf is not Timeframe.M1]
    table = Table(title=f"Resample {N_CANDLES:,} synthetic 1m candles (best of {REPEATS})")
    for column in ("target", "rows out", "pandas resample [ms]", "ours [ms]", "pandas / ours"):
        table.add_column(column, justify="right")
    pandas_total = ours_direct_total = 0.0
    for target in targets:
        pandas_seconds = _best_seconds(lambda t=target: _pandas_resample(frame, t))
        ours_seconds = _best_seconds(lambda t=target: resample_candles(frame, Timeframe.M1, t))
        pandas_total += pandas_seconds
        ours_direct_total += ours_seconds
        rows = len(resample_candles(frame, Timeframe.M1, target))
        table.add_row(
            target.value,
            f"{rows:,}",
            f"{pandas_seconds * 1e3:.1f}",
            f"{ours_seconds * 1e3:.1f}",
            f"{pandas_seconds / ours_seconds:.1f}x",
        )
    cascade_seconds = _best_seconds(lambda: resample_all(frame, Timeframe.M1))
    table.add_section()
    table.add_row(
        "all 11, one by one",
        "",
        f"{pandas_total * 1e3:.1f}",
        f"{ours_direct_total * 1e3:.1f}",
        f"{pandas_total / ours_direct_total:.1f}x",
    )
    table.add_row(
        "all 11, resample_all",
        "",
        f"{pandas_total * 1e3:.1f}",
        f"{cascade_seconds * 1e3:.1f}",
        f"{pandas_total / cascade_seconds:.1f}x",
    )
    console = Console()
    console.print(table)
    verdict = "met" if cascade_seconds <= GOAL_SECONDS else "MISSED"
    console.print(
        f"goal ≤ {GOAL_SECONDS:.0f} s for all 11 timeframes: {verdict} ({cascade_seconds:.3f} s); "
        f"generating the candles took {generate_seconds:.3f} s"
    )


if __name__ == "__main__":
    main()
