"""Small learnable training sets, their walk-forward folds, and a tuning worker for the training tests."""

from __future__ import annotations

import json
import sys

import numpy as np

from trading_agent.domain import Timeframe
from trading_agent.training.dataset import TrainingSet
from trading_agent.training.splits import Split, WalkForwardConfig, purged_walk_forward

HOUR_MS = Timeframe.H1.ms
START_MS = 1_600_000_000_000
# 3 folds in 125 days of hourly rows: 40 train, 10 validation, 15 test days, 15 days apart
SMALL_WALK_FORWARD = WalkForwardConfig(train_days=40, validation_days=10, test_days=15, step_days=15, n_splits=3)
# quick tuning runs, per model key: few trees (they still learn the planted signal) and one thread (small
# fits gain nothing from two, and OpenMP threads crawl when other processes hold the cores)
TINY_PARAMS: dict[str, dict[str, int]] = {
    "lgbm": {"n_estimators": 20, "n_jobs": 1},
    "xgb": {"n_estimators": 20, "n_jobs": 1},
    "catboost": {"iterations": 20, "thread_count": 1},
    "rf": {"n_estimators": 20, "n_jobs": 1},
}


def planted_training_set(
    n_rows: int = 3000, n_features: int = 20, n_signal: int = 3, strength: float = 0.6, seed: int = 0
) -> TrainingSet:
    """Hourly rows, 24-hour labels, unit weights; the first ``n_signal`` features lean towards the label."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_rows)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    X[:, :n_signal] += (strength * (2 * y - 1))[:, None].astype(np.float32)
    open_ms = START_MS + HOUR_MS * np.arange(n_rows, dtype=np.int64)
    return TrainingSet(
        X=X,
        y=y,
        open_ms=open_ms,
        label_end_ms=open_ms + 24 * HOUR_MS,
        weight=np.ones(n_rows),
        ret=np.where(y == 1, 0.01, -0.01),
        feature_names=tuple(f"f{i}" for i in range(n_features)),
        timeframe=Timeframe.H1,
    )


def small_folds(data: TrainingSet) -> list[Split]:
    """The three purged walk-forward folds of ``SMALL_WALK_FORWARD`` over ``data``."""
    return purged_walk_forward(data.open_ms, data.label_end_ms, SMALL_WALK_FORWARD)


def run_tuning_worker(storage: str, study_name: str, trials: int) -> None:
    """One worker process of a shared study: tune lgbm on the planted set, print the result as JSON."""
    from trading_agent.training.tuning import TuningConfig, TuningObjective, tune_model

    data = planted_training_set()
    config = TuningConfig(
        trials=trials, objective=TuningObjective.LOG_LOSS, storage=storage, study_name=study_name, n_startup_trials=2
    )
    result = tune_model("lgbm", data, small_folds(data), config, fixed_params=TINY_PARAMS["lgbm"])
    json.dump({"best_value": result.best_value, "n_trials": result.n_trials, "values": list(result.values)}, sys.stdout)
