"""Research honesty: the deflated Sharpe ratio and the probability of backtest overfitting.

Both answer "is this backtest's Sharpe better than what searching alone would produce?".

Deflated Sharpe ratio (Bailey & López de Prado, "The Deflated Sharpe Ratio: Correcting for
Selection Bias, Backtest Overfitting, and Non-Normality", Journal of Portfolio Management 40(5),
2014), built on the probabilistic Sharpe ratio (Bailey & López de Prado, "The Sharpe Ratio
Efficient Frontier", Journal of Risk 15(2), 2012). With ``SR`` the per-bar Sharpe of ``T`` returns,
``g3`` their skewness and ``g4`` their (non-excess) kurtosis, population moments::

    PSR(SR*) = Phi((SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR**2))
    SR0      = sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)))
    DSR      = PSR(SR0)

``N`` is the number of trials, ``V`` the variance of the trials' per-bar Sharpe ratios, ``gamma``
the Euler-Mascheroni constant and ``SR0`` the expected maximum Sharpe of ``N`` zero-skill trials.
With one trial there is no selection: ``SR0 = 0`` and the DSR is ``PSR(0)``.

Probability of backtest overfitting (Bailey, Borwein, López de Prado & Zhu, "The Probability of
Backtest Overfitting", Journal of Computational Finance 20(4), 2017; SSRN 2326253, 2015), by
combinatorially symmetric cross-validation (CSCV): split the ``T x N`` matrix of per-bar returns
of ``N`` trials into ``S`` (even) blocks of consecutive rows; for each of the ``C(S, S/2)`` ways
to pick half the blocks as in-sample (the rest out-of-sample), take the trial with the best
in-sample Sharpe, its out-of-sample rank ``r`` among the ``N`` (1 = worst, ties averaged),
``w = r / (N + 1)`` and the logit ``l = ln(w / (1 - w))``. PBO is the fraction of splits with
``l <= 0``: the in-sample winner is at or below the out-of-sample median.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from trading_agent.backtest.metrics_inputs import (
    FloatArray,
    MetricsInputError,
    as_returns,
    as_vector,
    check_periods_per_year,
)
from trading_agent.backtest.metrics_returns import NEGLIGIBLE_STDEV, sharpe_ratio

__all__ = [
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "pbo",
    "pbo_logits",
    "probabilistic_sharpe_ratio",
]

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()
_SPLITS_PER_BATCH = 1024  # bounds the memory of the CSCV matrices (splits x trials)


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """The expected maximum Sharpe of ``n_trials`` zero-skill trials (the DSR's ``SR0``).

    ``sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)))``, in the units of
    the Sharpe ratios whose variance ``V`` is given; 0 for a single trial.
    """
    _check_trials(n_trials)
    if not (math.isfinite(sharpe_variance) and sharpe_variance >= 0):
        raise MetricsInputError(f"sharpe_variance must be finite and >= 0, got {sharpe_variance}")
    if n_trials == 1:
        return 0.0
    spread = (1 - EULER_GAMMA) * _NORMAL.inv_cdf(1 - 1 / n_trials) + EULER_GAMMA * _NORMAL.inv_cdf(
        1 - 1 / (n_trials * math.e)
    )
    return math.sqrt(sharpe_variance) * spread


def probabilistic_sharpe_ratio(
    returns: npt.ArrayLike, *, benchmark_sharpe: float = 0.0, periods_per_year: float
) -> float:
    """The probability that the true Sharpe exceeds ``benchmark_sharpe``, given the returns' length, skew and kurtosis.

    ``benchmark_sharpe`` is annualised with ``periods_per_year`` (like ``sharpe_ratio``); the formula
    runs per bar. NaN below 3 returns or when the Sharpe ratio is undefined (a flat curve).
    """
    series = as_returns(returns)
    ppy = check_periods_per_year(periods_per_year)
    if not math.isfinite(benchmark_sharpe):
        raise MetricsInputError(f"benchmark_sharpe must be finite, got {benchmark_sharpe}")
    return _psr(series, benchmark_sharpe / math.sqrt(ppy))


def deflated_sharpe_ratio(
    returns: npt.ArrayLike,
    *,
    n_trials: int,
    trial_sharpes: npt.ArrayLike | None = None,
    periods_per_year: float,
) -> float:
    """The probability that the true Sharpe exceeds the best of ``n_trials`` zero-skill trials, in [0, 1].

    ``trial_sharpes`` are the Sharpe ratios of the trials of the search, annualised with the same
    ``periods_per_year`` (as ``sharpe_ratio`` reports them); their sample variance (ddof=1) is the
    ``V`` of the formula, turned per bar by dividing by ``periods_per_year``. Required when
    ``n_trials > 1`` (at least two of them), and ``n_trials`` counts every configuration tried, so
    it is at least ``len(trial_sharpes)``. Non-increasing in ``n_trials``. NaN when
    ``probabilistic_sharpe_ratio`` is.
    """
    series = as_returns(returns)
    ppy = check_periods_per_year(periods_per_year)
    _check_trials(n_trials)
    sharpes = np.zeros(0) if trial_sharpes is None else as_vector(trial_sharpes, "trial_sharpes")
    if sharpes.size > n_trials:
        raise MetricsInputError(f"n_trials ({n_trials}) is smaller than the {sharpes.size} trial_sharpes given")
    if n_trials > 1 and sharpes.size < 2:
        raise MetricsInputError(f"trial_sharpes (at least 2) are required to deflate over n_trials={n_trials}")
    variance = float(sharpes.var(ddof=1)) / ppy if sharpes.size >= 2 else 0.0
    return _psr(series, expected_max_sharpe(n_trials, variance))


def pbo_logits(trial_returns: npt.ArrayLike, *, n_blocks: int = 16) -> FloatArray:
    """The CSCV logit ``ln(w / (1 - w))`` of every one of the ``C(n_blocks, n_blocks / 2)`` splits.

    ``trial_returns`` is ``T x N``: per-bar returns (or PnL) of ``N >= 2`` trials over the same
    ``T`` bars, ``T >= 2 * n_blocks``. Blocks are consecutive rows of near-equal size
    (``np.array_split``). The performance statistic is the per-bar Sharpe ratio; a zero-variance
    trial counts as +inf, -inf or 0 by the sign of its mean. Logits <= 0 are the overfit splits.
    """
    blocks = _blocks(trial_returns, n_blocks)
    n_trials = blocks.column_means.size
    splits = np.array(
        [np.isin(np.arange(n_blocks), chosen) for chosen in combinations(range(n_blocks), n_blocks // 2)],
        dtype=np.float64,
    )
    logits = []
    for start in range(0, splits.shape[0], _SPLITS_PER_BATCH):
        in_sample = splits[start : start + _SPLITS_PER_BATCH]
        best = np.argmax(blocks.sharpes(in_sample), axis=1)
        oos = blocks.sharpes(1.0 - in_sample)
        chosen = oos[np.arange(oos.shape[0]), best][:, None]
        rank = np.sum(oos < chosen, axis=1) + (np.sum(oos == chosen, axis=1) + 1) / 2
        share = rank / (n_trials + 1)
        logits.append(np.log(share / (1 - share)))
    return np.concatenate(logits)


def pbo(trial_returns: npt.ArrayLike, *, n_blocks: int = 16) -> float:
    """The probability of backtest overfitting: the fraction of CSCV splits with a logit <= 0, in [0, 1].

    About 0.5 when the trials are all noise (in-sample skill does not carry over), near 0 when one
    trial is genuinely better everywhere. See ``pbo_logits`` for the input and the method.
    """
    return float(np.mean(pbo_logits(trial_returns, n_blocks=n_blocks) <= 0))


def _check_trials(n_trials: int) -> None:
    if isinstance(n_trials, bool) or not isinstance(n_trials, int | np.integer) or n_trials < 1:
        raise MetricsInputError(f"n_trials must be an integer >= 1, got {n_trials!r}")


def _psr(series: FloatArray, benchmark_per_bar: float) -> float:
    if series.size < 3:
        return math.nan
    sharpe = sharpe_ratio(series, periods_per_year=1.0)
    if math.isnan(sharpe):
        return math.nan
    centred = series - series.mean()
    m2 = float(np.mean(centred**2))
    skew = float(np.mean(centred**3)) / m2**1.5
    kurtosis = float(np.mean(centred**4)) / m2**2
    spread = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if spread <= 0:
        return math.nan
    return _NORMAL.cdf((sharpe - benchmark_per_bar) * math.sqrt(series.size - 1) / math.sqrt(spread))


@dataclass(frozen=True, slots=True)
class _Blocks:
    # Per-block row counts, and per-block sums and sums of squares of the column-centred returns (S x N).

    counts: FloatArray
    sums: FloatArray
    squares: FloatArray
    column_means: FloatArray

    def sharpes(self, membership: FloatArray) -> FloatArray:
        # Per-bar Sharpe of every trial (column) over the blocks each membership row selects.
        n = (membership @ self.counts)[:, None]
        centred_mean = membership @ self.sums / n
        stdev = np.sqrt(np.maximum(membership @ self.squares - n * centred_mean**2, 0.0) / (n - 1))
        mean = centred_mean + self.column_means
        with np.errstate(divide="ignore", invalid="ignore"):
            flat_value = np.where(mean == 0, 0.0, np.sign(mean) * np.inf)
            sharpe = np.where(stdev <= NEGLIGIBLE_STDEV, flat_value, mean / stdev)
        return np.asarray(sharpe, dtype=np.float64)


def _blocks(trial_returns: npt.ArrayLike, n_blocks: int) -> _Blocks:
    matrix = np.asarray(trial_returns, dtype=np.float64)
    if matrix.ndim != 2:
        raise MetricsInputError(f"trial_returns must be a T x N matrix, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise MetricsInputError("trial_returns must be finite: found NaN or infinity")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 2 or n_blocks % 2:
        raise MetricsInputError(f"n_blocks must be an even integer >= 2, got {n_blocks!r}")
    rows, n_trials = matrix.shape
    if n_trials < 2:
        raise MetricsInputError(f"trial_returns needs at least 2 trials (columns), got {n_trials}")
    if rows < 2 * n_blocks:
        raise MetricsInputError(f"trial_returns needs at least 2 * n_blocks = {2 * n_blocks} rows, got {rows}")
    column_means = matrix.mean(axis=0)
    centred = matrix - column_means
    parts = np.array_split(np.arange(rows), n_blocks)
    return _Blocks(
        counts=np.array([part.size for part in parts], dtype=np.float64),
        sums=np.stack([centred[part].sum(axis=0) for part in parts]),
        squares=np.stack([(centred[part] ** 2).sum(axis=0) for part in parts]),
        column_means=column_means,
    )
