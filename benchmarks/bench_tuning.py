"""Wall time of ``tune_model`` for each model on folds the size of the real ones.

Three purged walk-forward folds of the default ``WalkForwardConfig`` (180 training days of 1h rows,
~4,300 rows) with 181 float32 features of random data (the fit cost depends on the shape, not on the
signal), uniqueness weights of labels 1-24 bars long, objective log-loss, 20 trials per model, as
a training run would do. Goal: the four models together within ``BUDGET_S`` on this 2-core CPU
(wall time; the CPU time, at most twice the wall time with 2 threads, shows how much other load slowed it).
``python -m benchmarks tuning``; ``TUNING_BENCH_TRIALS`` changes the number of trials, and
``TUNING_BENCH_THREADS=1`` fits single-threaded (the models default to 2 threads, whose OpenMP workers
spin and burn CPU when other processes hold the cores). ``TUNING_BENCH_MODELS=lstm,transformer,tcn,gru``
tunes the sequence models instead of the four tree models (the budget is the tree models'; for the
sequence models the table shows the time per trial, with the thread count applied to torch).
"""

from __future__ import annotations

import os
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from trading_agent.domain import Timeframe
from trading_agent.features.labels import sample_uniqueness
from trading_agent.models.catalog import MODEL_KEYS
from trading_agent.models.trees import TREE_MODELS
from trading_agent.training.dataset import TrainingSet
from trading_agent.training.splits import WalkForwardConfig, purged_walk_forward
from trading_agent.training.tuning import TuningConfig, TuningObjective, tune_model

__all__ = ["main"]

N_FEATURES, HORIZON, N_FOLDS = 181, 24, 3
BUDGET_S = 360.0
THREAD_PARAMS = {"lgbm": "n_jobs", "xgb": "n_jobs", "catboost": "thread_count", "rf": "n_jobs"}


def _random_set(config: WalkForwardConfig, seed: int = 0) -> TrainingSet:
    days = config.train_days + config.validation_days + config.test_days + 2 * config.embargo_days
    n = int((days + (N_FOLDS - 1) * config.step_days + 1) * 24)
    rng = np.random.default_rng(seed)
    start = np.arange(n)
    end = np.minimum(start + rng.integers(0, HORIZON, n), n - 1)
    open_ms = 1_600_000_000_000 + Timeframe.H1.ms * start.astype(np.int64)
    return TrainingSet(
        X=rng.normal(size=(n, N_FEATURES)).astype(np.float32),
        y=rng.integers(0, 2, n),
        open_ms=open_ms,
        label_end_ms=open_ms[end] + Timeframe.H1.ms,
        weight=sample_uniqueness(start, end, n),
        ret=rng.normal(scale=0.01, size=n),
        feature_names=tuple(f"f{i}" for i in range(N_FEATURES)),
        timeframe=Timeframe.H1,
    )


def main() -> None:
    """Tune each model on three real-sized folds and print the wall time per model."""
    console = Console()
    trials = int(os.environ.get("TUNING_BENCH_TRIALS", "20"))
    threads = os.environ.get("TUNING_BENCH_THREADS")
    keys = os.environ.get("TUNING_BENCH_MODELS", ",".join(TREE_MODELS)).split(",")
    unknown = sorted(set(keys) - set(MODEL_KEYS))
    if unknown:
        raise SystemExit(f"TUNING_BENCH_MODELS: unknown {', '.join(unknown)}; choose from {', '.join(MODEL_KEYS)}")
    if threads and set(keys) - set(TREE_MODELS):
        import torch

        torch.set_num_threads(int(threads))
    walk_forward = WalkForwardConfig(n_splits=N_FOLDS)
    data = _random_set(walk_forward)
    folds = purged_walk_forward(data.open_ms, data.label_end_ms, walk_forward)
    sizes = ", ".join(f"{len(f.train)}/{len(f.test)}" for f in folds)
    console.print(f"{len(data)} rows x {N_FEATURES} features; {len(folds)} folds (train/test rows: {sizes})")
    config = TuningConfig(trials=trials, objective=TuningObjective.LOG_LOSS)
    title = f"tune_model, {trials} trials, {len(folds)} folds, objective log-loss, {threads or 'default'} threads"
    table = Table(title=title)
    for column in ("model", "wall s", "cpu s", "s / trial", "complete", "pruned", "best"):
        table.add_column(column, justify="left" if column == "model" else "right")
    total = 0.0
    for key in keys:
        started, cpu_started = time.perf_counter(), time.process_time()
        fixed = {THREAD_PARAMS[key]: int(threads)} if threads and key in THREAD_PARAMS else None
        result = tune_model(key, data, folds, config, fixed_params=fixed)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        total += wall
        counts = (str(result.n_complete), str(result.n_pruned))
        table.add_row(key, f"{wall:.1f}", f"{cpu:.1f}", f"{wall / trials:.2f}", *counts, f"{result.best_value:.4f}")
        console.print(f"{key}: {wall:.1f} s wall, {cpu:.1f} s cpu (load {os.getloadavg()[0]:.1f})", highlight=False)
    console.print(table)
    load = os.getloadavg()[0]
    if set(keys) != set(TREE_MODELS):
        console.print(f"{', '.join(keys)}: {total:.1f} s in all (load {load:.1f})")
        return
    verdict = "met" if total <= BUDGET_S * trials / 20 else "NOT met"
    console.print(f"all four: {total:.1f} s; goal <= {BUDGET_S * trials / 20:.0f} s: {verdict} (load {load:.1f})")


if __name__ == "__main__":
    main()
