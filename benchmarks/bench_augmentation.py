"""Training-data augmentation of the sequence models: out-of-sample effect on real BTC/USDT 1h candles.

The default feature set and triple-barrier labels (``training.dataset``) of Binance BTC/USDT 1h from
2021-10-01 to 2024-07-01 (``../shared/data``), three purged walk-forward folds (180 training days,
30 test days, 1-day embargo, test windows 120 days apart, the last ending 2024-07-01). In every
fold each model is fitted on the fold's training rows (uniqueness-weighted, its own early-stopping
hold-out) twice with the same seed, without and with ``AUGMENTATION``, and scored on the fold's
test rows: accuracy, ROC-AUC and log-loss of the probability of "up". A second seed of the plain
model shows how much of a difference is just the seed.

``PYTHONPATH=. .venv/bin/python -m benchmarks augmentation`` (about 15 minutes on 2 threads, over the 8-minute goal);
``AUG_MODELS=gru`` runs one model.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.btc_market import REAL_BTC_1H

if TYPE_CHECKING:
    from trading_agent.training.dataset import TrainingSet
    from trading_agent.training.splits import Split

__all__ = ["AUGMENTATION", "main"]

START, END = "2021-10-01", "2024-07-01"
AUGMENTATION = {"jitter_sigma": 0.05, "scaling_sigma": 0.1, "slice_fraction": 0.1, "copies": 1, "seed": 0}
MODEL_PARAMS = {"epochs": 20, "patience": 4}
ARMS = (("plain", 0, None), ("plain, seed 1", 1, None), ("augmented", 0, AUGMENTATION))


@dataclass(frozen=True)
class Score:
    """Out-of-sample scores of one fit on one fold."""

    accuracy: float
    roc_auc: float
    log_loss: float
    seconds: float


def _data() -> tuple[TrainingSet, list[Split]]:
    from trading_agent.data.files import read_candle_file
    from trading_agent.domain import Timeframe
    from trading_agent.training.dataset import build_training_set
    from trading_agent.training.splits import WalkForwardConfig, purged_walk_forward

    candles = read_candle_file(REAL_BTC_1H, Timeframe.H1)
    candles = candles[(candles.index >= START) & (candles.index < END)]
    data = build_training_set(candles, Timeframe.H1)
    config = WalkForwardConfig(train_days=180, validation_days=30, test_days=30, step_days=120, n_splits=3)
    return data, list(purged_walk_forward(data.open_ms, data.label_end_ms, config))


def _score(data: TrainingSet, split: Split, key: str, seed: int, augmentation: dict[str, float] | None) -> Score:
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    from trading_agent.models.base import samples
    from trading_agent.models.catalog import make_model

    began = time.perf_counter()
    model = make_model(key, seed=seed, augmentation=augmentation, **MODEL_PARAMS)
    train = split.train[split.train >= model.window - 1]
    windows = samples(data.X, train, model.input_kind, model.window)
    model.fit(windows, data.y[train], data.weight[train], feature_names=data.feature_names)
    test = split.test[split.test >= model.window - 1]
    up = model.predict_proba(samples(data.X, test, model.input_kind, model.window))[:, 1]
    truth = data.y[test]
    return Score(
        accuracy=float(accuracy_score(truth, up > 0.5)),
        roc_auc=float(roc_auc_score(truth, up)),
        log_loss=float(log_loss(truth, np.clip(up, 1e-7, 1 - 1e-7), labels=[0, 1])),
        seconds=time.perf_counter() - began,
    )


def main() -> None:
    """Fit every model x fold x arm and print the per-fold and mean out-of-sample scores."""
    import torch

    torch.set_num_threads(2)
    console = Console()
    if not REAL_BTC_1H.is_file():
        console.print(f"skipped: {REAL_BTC_1H} is absent (real data only)")
        return
    data, splits = _data()
    console.print(f"{len(data):,} rows x {data.X.shape[1]} features; augmentation {AUGMENTATION}")
    table = Table(title="Sequence models on BTC/USDT 1h, out of sample, with and without augmentation")
    for column in ("model", "arm", "fold (test start)", "accuracy", "ROC-AUC", "log-loss", "fit s"):
        table.add_column(column, justify="left" if column in ("model", "arm", "fold (test start)") else "right")
    for key in os.environ.get("AUG_MODELS", "gru,tcn").split(","):
        for arm, seed, augmentation in ARMS:
            scores = []
            for split in splits:
                score = _score(data, split, key, seed, augmentation)
                scores.append(score)
                start = np.datetime64(split.test_start_ms, "ms").astype("datetime64[D]")
                table.add_row(
                    key, arm, str(start), f"{score.accuracy:.4f}", f"{score.roc_auc:.4f}",
                    f"{score.log_loss:.4f}", f"{score.seconds:.0f}",
                )  # fmt: skip
                console.print(f"{key} {arm} {start}: {score}", highlight=False)
            mean = {f: float(np.mean([getattr(s, f) for s in scores])) for f in ("accuracy", "roc_auc", "log_loss")}
            table.add_row(
                key, arm, "mean", f"{mean['accuracy']:.4f}", f"{mean['roc_auc']:.4f}", f"{mean['log_loss']:.4f}",
                f"{sum(s.seconds for s in scores):.0f}",
            )  # fmt: skip
            table.add_section()
    console.print(table)


if __name__ == "__main__":
    main()
