"""Single-row latency of the tree ensemble, native vs ONNX Runtime, side by side in one run.

The ensemble is the one a training fold produces: LightGBM, XGBoost, CatBoost and a random forest
(default parameters) on the default feature set of BTC/USDT 1h candles (``../shared/data``; a
seeded synthetic market when it is absent), a stacking meta model and an isotonic calibrator. The
base models are trained on the first 12,000 rows, the meta model and calibrator on the next 2,000.
Each of ``CALLS`` calls predicts one feature row (what the signal engine does once per closed
candle); the row changes every call. Goal: p95 of the ONNX ensemble <= 1 ms on this 2-core CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmarks.btc_market import REAL_BTC_1H
from benchmarks.timing import latencies_ms
from trading_agent.data.files import read_candle_file
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe
from trading_agent.models.calibration import Calibrator
from trading_agent.models.ensemble import Stacking
from trading_agent.models.onnx_export import to_onnx
from trading_agent.models.onnx_runtime import OnnxModel
from trading_agent.models.predictor import EnsemblePredictor, probability_up
from trading_agent.models.trees import TREE_MODELS, make_tree_model
from trading_agent.training.dataset import build_training_set

__all__ = ["main"]

N_TRAIN, N_META, CALLS, WARMUP = 12_000, 2_000, 2_000, 50
GOAL_P95_MS = 1.0


def _candles() -> tuple[pd.DataFrame, str]:
    if REAL_BTC_1H.is_file():
        return read_candle_file(REAL_BTC_1H, Timeframe.H1).iloc[:16_000], "BTC/USDT 1h (real)"
    return SyntheticMarket(seed=7).generate(16_000), "synthetic 1h (../shared/data absent)"


def _latencies_ms(predict: Callable[[np.ndarray], object], rows: np.ndarray) -> np.ndarray:
    return latencies_ms(predict, rows, calls=CALLS, warmup=WARMUP)


def main() -> None:
    """Train the ensemble, then time single-row predictions native and ONNX."""
    console = Console()
    candles, source = _candles()
    data = build_training_set(candles, Timeframe.H1)
    X, y = data.X, data.y
    console.print(f"{source}: {X.shape[0]} rows x {X.shape[1]} features; training the four models ...")
    started = time.perf_counter()
    native = {
        key: make_tree_model(key).fit(X[:N_TRAIN], y[:N_TRAIN], data.weight[:N_TRAIN]) for key in sorted(TREE_MODELS)
    }
    console.print(f"trained in {time.perf_counter() - started:.1f} s")
    meta_rows = slice(N_TRAIN, N_TRAIN + N_META)
    P = np.column_stack([probability_up(m, X[meta_rows]) for m in native.values()])
    half = N_META // 2
    meta = Stacking().fit(P[:half], y[meta_rows][:half])
    calibrator = Calibrator.fit(meta.combine(P[half:]), y[meta_rows][half:])
    onnx = {key: OnnxModel(to_onnx(model), model.metadata) for key, model in native.items()}
    rows = X[N_TRAIN + N_META :]
    table = Table(title=f"one feature row, {CALLS} calls (ms)")
    for column in ("what", "p50", "p95", "p99"):
        table.add_column(column, justify="right" if column != "what" else "left")
    results = {}
    for key in sorted(TREE_MODELS):
        for kind, model in (("native", native[key]), ("onnx", onnx[key])):
            results[f"{key} {kind}"] = _latencies_ms(model.predict_proba, rows)
    for kind, base in (("native", native), ("onnx", onnx)):
        predictor = EnsemblePredictor(base, meta, calibrator)
        results[f"ensemble {kind}"] = _latencies_ms(predictor.predict, rows)
    for name, lat in results.items():
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        table.add_row(name, f"{p50:.3f}", f"{p95:.3f}", f"{p99:.3f}")
    console.print(table)
    same = np.max(
        np.abs(
            EnsemblePredictor(native, meta, calibrator).predict(rows).prediction
            - EnsemblePredictor(onnx, meta, calibrator).predict(rows).prediction
        )
    )
    onnx_p95 = float(np.percentile(results["ensemble onnx"], 95))
    native_p95 = float(np.percentile(results["ensemble native"], 95))
    console.print(
        f"ensemble p95: ONNX {onnx_p95:.3f} ms vs native {native_p95:.3f} ms ({native_p95 / onnx_p95:.1f}x); "
        f"goal <= {GOAL_P95_MS} ms: {'met' if onnx_p95 <= GOAL_P95_MS else 'NOT met'}; "
        f"largest ONNX - native difference in the ensemble's probability: {same:.1e}"
    )


if __name__ == "__main__":
    main()
