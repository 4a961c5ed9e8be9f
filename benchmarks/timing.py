"""The latency loop the serving benchmarks share: one sample per call, the sample changing every call."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["latencies_ms"]


def latencies_ms(
    predict: Callable[[np.ndarray], object], samples: np.ndarray, *, calls: int, warmup: int
) -> np.ndarray:
    """Milliseconds of each of ``calls`` calls of ``predict`` on one sample (``samples[i : i + 1]``, cycling),
    after ``warmup`` untimed calls."""
    for i in range(warmup):
        predict(samples[i % len(samples) : i % len(samples) + 1])
    out = np.empty(calls)
    for i in range(calls):
        sample = samples[i % len(samples) : i % len(samples) + 1]
        start = time.perf_counter_ns()
        predict(sample)
        out[i] = (time.perf_counter_ns() - start) / 1e6
    return out
