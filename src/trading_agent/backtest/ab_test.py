"""Is one strategy's return really better than another's over the same candles? A paired significance test.

Two model versions traded over the same candles give two return series that share every market
move, so they are compared PAIRED: the test is on the per-period difference ``b - a``. Candle returns
of a trading strategy are autocorrelated (a position lasts many candles), which makes a candle-level
t-test overconfident, so the candle returns are first compounded into ``bucket`` candles (a day of
1h candles by default) and the tests run on those: scipy's paired t-test and Wilcoxon signed-rank
test, and a paired bootstrap confidence interval of the mean difference (``scipy.stats.bootstrap``).
The verdict is "b" or "a" only when the two-sided t-test rejects equality at ``alpha`` and the
bootstrap interval excludes zero; otherwise "no significant difference".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from trading_agent.backtest.metrics_inputs import MetricsInputError

__all__ = ["PairedTest", "paired_return_test"]

_MIN_BUCKETS = 10


@dataclass(frozen=True, slots=True)
class PairedTest:
    """The paired comparison of ``b`` against ``a`` (differences are ``b - a``, per bucket of candles)."""

    buckets: int
    candles_per_bucket: int
    mean_difference: float
    ci_low: float
    ci_high: float
    t_statistic: float
    t_p_value: float
    wilcoxon_p_value: float
    alpha: float
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for JSON)."""
        return asdict(self)


def _bucketed(returns: npt.NDArray[np.float64], bucket: int) -> npt.NDArray[np.float64]:
    """Compounded returns of consecutive ``bucket``-candle blocks (a trailing partial block is dropped)."""
    whole = len(returns) // bucket * bucket
    growth: npt.NDArray[np.float64] = np.prod(1.0 + returns[:whole].reshape(-1, bucket), axis=1) - 1.0
    return growth


def paired_return_test(
    returns_a: npt.ArrayLike,
    returns_b: npt.ArrayLike,
    *,
    bucket: int = 24,
    alpha: float = 0.05,
    n_resamples: int = 9999,
    seed: int = 0,
) -> PairedTest:
    """The paired tests of the module docstring on two aligned per-candle return series."""
    a, b = np.asarray(returns_a, dtype=np.float64), np.asarray(returns_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise MetricsInputError(f"the two return series must be 1-d and aligned, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise MetricsInputError("returns must be finite")
    if bucket < 1 or not 0 < alpha < 1:
        raise MetricsInputError(f"bucket must be >= 1 and alpha in (0, 1), got {bucket} and {alpha}")
    da, db = _bucketed(a, bucket), _bucketed(b, bucket)
    if len(da) < _MIN_BUCKETS:
        raise MetricsInputError(f"{len(a)} candles make {len(da)} buckets of {bucket}; at least {_MIN_BUCKETS} needed")
    diff = db - da
    mean = float(diff.mean())
    if np.ptp(diff) <= 1e-12 * max(1.0, abs(mean)):  # the same difference every bucket: no noise to test against
        verdict = "no significant difference" if mean == 0 else ("b" if mean > 0 else "a")
        p_value = 1.0 if mean == 0 else 0.0
        return PairedTest(len(diff), bucket, mean, mean, mean, 0.0, p_value, p_value, alpha, verdict)
    t = stats.ttest_rel(db, da)
    wilcoxon = stats.wilcoxon(db, da, zero_method="zsplit")
    interval = stats.bootstrap(
        (diff,), np.mean, n_resamples=n_resamples, confidence_level=1 - alpha, random_state=seed, method="percentile"
    ).confidence_interval
    low, high = float(interval.low), float(interval.high)
    significant = float(t.pvalue) < alpha and (low > 0 or high < 0)
    verdict = ("b" if mean > 0 else "a") if significant else "no significant difference"
    return PairedTest(
        buckets=len(diff),
        candles_per_bucket=bucket,
        mean_difference=mean,
        ci_low=low,
        ci_high=high,
        t_statistic=float(t.statistic),
        t_p_value=float(t.pvalue),
        wilcoxon_p_value=float(wilcoxon.pvalue),
        alpha=alpha,
        verdict=verdict,
    )
