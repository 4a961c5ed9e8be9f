"""Single-window latency of the four deep sequence models: eager PyTorch vs ONNX Runtime vs int8 ONNX.

Each model has its default parameters (window 32, hidden 32) over 181 features — the shape, not
the weights, sets the latency, so the models are trained for one epoch on seeded random data.
Each of ``CALLS`` calls predicts one window (what the signal engine does once per closed candle);
the window changes every call. Everything runs on one thread (``torch.set_num_threads(1)``, ONNX
Runtime's one intra-op thread), the way ``OnnxModel`` serves. Goal: p95 of each model on ONNX
Runtime <= 2 ms on this 2-core CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.timing import latencies_ms
from trading_agent.models.onnx_export import quantize, to_onnx
from trading_agent.models.onnx_runtime import OnnxModel
from trading_agent.models.sequence import COMMON_PARAMS, SEQUENCE_MODELS, make_sequence_model

__all__ = ["main"]

N_FEATURES, N_TRAIN, N_SERVE, CALLS, WARMUP = 181, 512, 200, 1_000, 50
WINDOW = int(COMMON_PARAMS["window"])
GOAL_P95_MS = 2.0
RUNTIMES = ("eager", "onnx", "int8")


def _latencies_ms(predict: Callable[[np.ndarray], object], windows: np.ndarray) -> np.ndarray:
    return latencies_ms(predict, windows, calls=CALLS, warmup=WARMUP)


def main() -> None:
    """Train each model briefly, export it, then time single-window predictions on the three runtimes."""
    import torch

    torch.set_num_threads(1)
    console = Console()
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(N_TRAIN + N_SERVE, WINDOW, N_FEATURES)).astype(np.float32)
    y = rng.integers(0, 2, size=N_TRAIN)
    serve = samples[N_TRAIN:]
    table = Table(title=f"one window ({WINDOW} x {N_FEATURES}), {CALLS} calls, 1 thread (ms)")
    for column in ("model", "runtime", "p50", "p95", "p99", "max |p - eager|"):
        table.add_column(column, justify="left" if column in ("model", "runtime") else "right")
    verdicts = []
    for key in sorted(SEQUENCE_MODELS):
        model = make_sequence_model(key, epochs=1).fit(samples[:N_TRAIN], y)
        exported = to_onnx(model)
        runtimes = {
            "eager": model,
            "onnx": OnnxModel(exported, model.metadata),
            "int8": OnnxModel(quantize(exported), model.metadata),
        }
        eager = model.predict_proba(serve)
        p95 = {}
        for runtime in RUNTIMES:
            p50, p95[runtime], p99 = np.percentile(_latencies_ms(runtimes[runtime].predict_proba, serve), [50, 95, 99])
            gap = np.abs(runtimes[runtime].predict_proba(serve) - eager).max()
            table.add_row(key, runtime, f"{p50:.3f}", f"{p95[runtime]:.3f}", f"{p99:.3f}", f"{gap:.1e}")
        table.add_section()
        verdicts.append(
            f"{key}: ONNX p95 {p95['onnx']:.3f} ms ({p95['eager'] / p95['onnx']:.1f}x faster than eager), "
            f"goal <= {GOAL_P95_MS} ms: {'met' if p95['onnx'] <= GOAL_P95_MS else 'NOT met'}"
        )
    console.print(table)
    for line in verdicts:
        console.print(line)


if __name__ == "__main__":
    main()
