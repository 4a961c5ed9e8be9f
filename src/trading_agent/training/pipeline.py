"""The walk-forward training run: every split's ensemble, and the stitched out-of-sample record.

``walk_forward_run`` trains one ensemble per purged split (``oof.run_fold``) and stitches their
test predictions into one out-of-sample record the way the agent would have traded: each row is
predicted by the most recent model whose test window had started by then, i.e. the model retrained
every ``step_days`` trades the ``step_days`` after it (and the last model the rest of its window).
The windows of the blueprint overlap (30-day tests every 7 days), so this also means no row is
counted twice. Every figure a report gives is computed from this record or from each fold's own
test window, never from a row a model trained, was calibrated or was stacked on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from trading_agent.models.trees import TreeModel
from trading_agent.training.dataset import TrainingSet
from trading_agent.training.oof import FoldResult, FoldSetup, run_fold
from trading_agent.training.splits import Split

__all__ = ["OutOfSample", "WalkForwardRun", "feature_importances", "walk_forward_run"]


@dataclass(frozen=True, slots=True)
class OutOfSample:
    """The stitched record: per row (a position in the training set) its fold, the ensemble's output and each vote."""

    rows: np.ndarray
    fold: np.ndarray
    prediction: np.ndarray
    confidence: np.ndarray
    votes: dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class WalkForwardRun:
    """The splits, each fold's fitted ensemble and test output, and the stitched record."""

    splits: tuple[Split, ...]
    folds: tuple[FoldResult, ...]
    out_of_sample: OutOfSample


def _own_rows(data: TrainingSet, splits: Sequence[Split], i: int) -> np.ndarray:
    """Positions (into ``splits[i].test``) of the rows fold ``i`` trades: until the next fold's test starts."""
    if i + 1 == len(splits):
        return np.arange(len(splits[i].test))
    return np.flatnonzero(data.open_ms[splits[i].test] < splits[i + 1].test_start_ms)


def walk_forward_run(
    data: TrainingSet,
    splits: Sequence[Split],
    setup: FoldSetup,
    *,
    on_fold: Callable[[int, int], None] | None = None,
) -> WalkForwardRun:
    """Train every split in time order and stitch the out-of-sample record (see the module docstring)."""
    if not splits:
        raise ValueError("no walk-forward splits to train")
    folds: list[FoldResult] = []
    for done, split in enumerate(splits, start=1):
        folds.append(run_fold(data, split, setup))
        if on_fold is not None:
            on_fold(done, len(splits))
    pieces = [_own_rows(data, splits, i) for i in range(len(splits))]
    names = list(folds[0].output.votes)
    record = OutOfSample(
        rows=np.concatenate([f.test_rows[p] for f, p in zip(folds, pieces, strict=True)]),
        fold=np.concatenate([np.full(len(p), f.split) for f, p in zip(folds, pieces, strict=True)]),
        prediction=np.concatenate([f.output.prediction[p] for f, p in zip(folds, pieces, strict=True)]),
        confidence=np.concatenate([f.output.confidence[p] for f, p in zip(folds, pieces, strict=True)]),
        votes={n: np.concatenate([f.output.votes[n][p] for f, p in zip(folds, pieces, strict=True)]) for n in names},
    )
    return WalkForwardRun(tuple(splits), tuple(folds), record)


def feature_importances(models: Sequence[object], feature_names: Sequence[str]) -> dict[str, float]:
    """The mean importance share of each feature over the tree models among ``models``, largest first."""
    trees = [m for m in models if isinstance(m, TreeModel)]
    if not trees:
        return {}
    share = np.mean([m.feature_importances() for m in trees], axis=0)
    order = np.argsort(-share, kind="stable")
    return {feature_names[i]: float(share[i]) for i in order}
