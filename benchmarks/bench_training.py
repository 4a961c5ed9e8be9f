"""Training: wall time of the full walk-forward run, and peak memory of training and of serving.

- **wall**: ``TrainingService.train`` exactly as ``trading-agent train`` runs it, on 2 years of
  BTC/USDT 1h (2022-07-01 to 2024-07-01, ``../shared/data``; a seeded synthetic market when absent)
  with the shipped ``config/training.yaml``: four tree models, 20 Optuna trials each on 3 tuning
  folds, 12 purged walk-forward splits, the final model, the out-of-sample report. Goal <= 600 s.
- **memory, training**: a child process builds the default feature set and the training set of one
  year of 1-minute candles (525,600; synthetic, because ``../shared/data`` holds 42 days of 1m and
  memory depends on the shape, not the prices) and trains one walk-forward fold of the four models
  at their default parameters (180 days = 259,200 training rows). Peak RSS; goal <= 4 GB.
- **memory, serving**: a child process loads that fold's ensemble bundle on ONNX Runtime and
  predicts one row, as the signal engine does. Peak RSS; goal <= 300 MB.

``python -m benchmarks training``; ``TRAINING_BENCH=wall`` or ``=memory`` runs one part.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.btc_market import CONFIG_DIR, btc_1h_market

__all__ = ["main"]

GOAL_WALL_S, GOAL_TRAIN_MB, GOAL_SERVE_MB = 600.0, 4096.0, 300.0
ONE_YEAR_OF_MINUTES = 525_600


def _peak_mb() -> float:
    """This process's peak resident set size in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _wall() -> dict[str, float | str]:
    from trading_agent.config.trading_rules import load_trading_rules
    from trading_agent.config.training import load_training_config
    from trading_agent.services.backtest import BacktestService
    from trading_agent.services.training import TrainingService, TrainOptions

    with btc_1h_market() as bench:
        market, series, source, start, end = bench.service, bench.series, bench.source, bench.start_ms, bench.end_ms
        rules = load_trading_rules(CONFIG_DIR)
        backtests = BacktestService(market, rules, CONFIG_DIR, None)
        service = TrainingService(backtests, rules, load_training_config(CONFIG_DIR), None)
        stages: dict[str, float] = {}
        began = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            stages[stage] = time.perf_counter() - began

        cpu = time.process_time()
        report = service.train(
            series, TrainOptions(start_ms=start, end_ms=end, register=False), progress=progress
        ).report
        wall = time.perf_counter() - began
    tuned = max((t for s, t in stages.items() if s.startswith("tune")), default=0.0)
    return {
        "data": source,
        "rows": report.rows,
        "wall_s": wall,
        "cpu_s": time.process_time() - cpu,
        "tuning_s": tuned,
        "walk_forward_s": stages["walk-forward"] - tuned,
        "trials": report.n_trials,
    }


def _child_train(out: Path) -> None:
    from trading_agent.data.synthetic import SyntheticMarket
    from trading_agent.domain import Timeframe
    from trading_agent.models.bundle import save_ensemble
    from trading_agent.models.trees import make_tree_model
    from trading_agent.training.dataset import build_training_set
    from trading_agent.training.oof import FoldSetup, run_fold
    from trading_agent.training.splits import WalkForwardConfig, purged_walk_forward

    began = time.perf_counter()
    candles = SyntheticMarket(seed=3, timeframe=Timeframe.M1).generate(ONE_YEAR_OF_MINUTES)
    data = build_training_set(candles, Timeframe.M1)
    del candles
    features_mb, features_s = _peak_mb(), time.perf_counter() - began
    split = purged_walk_forward(data.open_ms, data.label_end_ms, WalkForwardConfig(n_splits=1))[0]
    setup = FoldSetup({key: (lambda key=key: make_tree_model(key)) for key in ("lgbm", "xgb", "catboost", "rf")})
    fold = run_fold(data, split, setup)
    save_ensemble(fold.predictor, out / "bundle")
    print(json.dumps({
        "rows": len(data), "features": data.X.shape[1], "train_rows": len(split.train),
        "feature_matrix_mb": data.X.nbytes / 2**20, "peak_after_features_mb": features_mb,
        "features_s": features_s, "peak_mb": _peak_mb(), "wall_s": time.perf_counter() - began,
    }))  # fmt: skip


def _child_serve(out: Path) -> None:
    from trading_agent.models.bundle import load_ensemble

    predictor = load_ensemble(out / "bundle", runtime="onnx")
    n_features = len(next(iter(predictor.base.values())).metadata.feature_names)
    row = np.random.default_rng(0).normal(size=(1, n_features)).astype(np.float32)
    for _ in range(100):
        predictor.predict(row)
    print(json.dumps({"peak_mb": _peak_mb()}))


def _child(kind: str, out: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_training", kind, str(out)],
        capture_output=True, text=True, check=True, env=os.environ | {"PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    parsed: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def main() -> None:
    """Run the parts chosen by ``TRAINING_BENCH`` (default: both) and print the figures beside their goals."""
    parts = os.environ.get("TRAINING_BENCH", "wall,memory").split(",")
    console = Console()
    table = Table(title="Training: wall time and memory (goal in brackets)")
    for column in ("measure", "value", "goal", "met"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    if "wall" in parts:
        wall = _wall()
        console.print(f"wall: {wall}")
        measure = f"full walk-forward training, {wall['data']}, {wall['rows']:,} rows, {wall['trials']} configs"
        met = wall["wall_s"] <= GOAL_WALL_S
        table.add_row(measure, f"{wall['wall_s']:,.0f} s", f"{GOAL_WALL_S:,.0f} s", str(met))
        table.add_row("  of which tuning (4 x 20 trials)", f"{wall['tuning_s']:,.0f} s", "", "")
        table.add_row("  CPU time (2 threads)", f"{wall['cpu_s']:,.0f} s", "", "")
    if "memory" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            train = _child("train", Path(tmp))
            serve = _child("serve", Path(tmp))
        console.print(f"memory: train {train}, serve {serve}")
        measure = f"peak RSS, one fold on 1 year of 1m ({train['rows']:,} rows x {train['features']:.0f})"
        met = train["peak_mb"] <= GOAL_TRAIN_MB
        table.add_row(measure, f"{train['peak_mb']:,.0f} MB", f"{GOAL_TRAIN_MB:,.0f} MB", str(met))
        table.add_row("  of which after the features", f"{train['peak_after_features_mb']:,.0f} MB", "", "")
        table.add_row("  float32 feature matrix", f"{train['feature_matrix_mb']:,.0f} MB", "", "")
        met = serve["peak_mb"] <= GOAL_SERVE_MB
        table.add_row(
            "peak RSS, serving the ensemble (ONNX)", f"{serve['peak_mb']:,.0f} MB", f"{GOAL_SERVE_MB:,.0f} MB", str(met)
        )
    console.print(table)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("train", "serve"):
        (_child_train if sys.argv[1] == "train" else _child_serve)(Path(sys.argv[2]))
    else:
        main()
