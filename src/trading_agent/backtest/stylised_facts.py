"""The stylised facts of return series, to check that simulated returns look like real ones.

Why: a Monte Carlo is only as honest as the returns it draws. Financial returns share a few robust
statistical properties (Cont, "Empirical properties of asset returns: stylized facts and
statistical issues", Quantitative Finance 1, 2001): heavy tails, volatility clustering (``|r|`` is
positively autocorrelated, slowly decaying), almost no linear autocorrelation of ``r`` itself,
and a leverage effect (falls precede higher volatility). Gaussian noise has none of the first
three; a generator (``models.scenario``) or a bootstrap must be measured against the real data.

``stylised_facts(paths)`` pools a set of equally long series (rows of a 2-D array): each series is
demeaned (its ``|r|`` too, for the clustering), and the moments and lagged products are summed over
all series before dividing, so many short paths estimate the same quantities as one long series
cut into pieces of that length. Compare real and simulated returns cut to the same length
(``segments``): a series' own mean level is removed, so the length changes the clustering figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from trading_agent.domain import DomainError

__all__ = ["ABS_LAGS", "RETURN_LAGS", "StylisedFacts", "StylisedFactsError", "segments", "stylised_facts"]

FloatArray = npt.NDArray[np.float64]

RETURN_LAGS: tuple[int, ...] = (1, 2, 3, 4, 5)
ABS_LAGS: tuple[int, ...] = (1, 5, 10, 20)


class StylisedFactsError(DomainError):
    """Series the stylised facts cannot be measured on (a ``ValueError`` subclass)."""


@dataclass(frozen=True, slots=True)
class StylisedFacts:
    """Pooled statistics of a set of return series (see the module docstring).

    ``q01_sigma`` and ``q99_sigma`` are the 1% and 99% quantiles in units of the pooled standard deviation
    (a Gaussian: -2.33 and 2.33). ``acf_returns[k]`` is the autocorrelation of ``r`` at ``RETURN_LAGS[k]``,
    ``acf_abs[k]`` that of ``|r|`` at ``ABS_LAGS[k]``. ``leverage`` is ``corr(r_t, |r_{t+1}|)`` (negative when
    falls raise volatility).
    """

    excess_kurtosis: float
    q01_sigma: float
    q99_sigma: float
    acf_returns: tuple[float, ...]
    acf_abs: tuple[float, ...]
    leverage: float
    n_series: int
    length: int

    def to_dict(self) -> dict[str, float | int | tuple[float, ...]]:
        """The facts keyed by field name."""
        return asdict(self)


def segments(returns: npt.ArrayLike, length: int) -> FloatArray:
    """One series cut into consecutive pieces of ``length`` (the remainder dropped): rows of a 2-D array."""
    r = np.asarray(returns, dtype=np.float64).ravel()
    if length < 1 or length > r.size:
        raise StylisedFactsError(f"length must be between 1 and the {r.size} returns, got {length}")
    n = r.size // length
    return np.ascontiguousarray(r[: n * length].reshape(n, length))


def stylised_facts(paths: npt.ArrayLike) -> StylisedFacts:
    """The stylised facts of ``paths``: one series (1-D) or equally long series (rows of a 2-D array)."""
    r = np.atleast_2d(np.asarray(paths, dtype=np.float64))
    longest_lag = max(*RETURN_LAGS, *ABS_LAGS)
    if r.ndim != 2 or r.shape[1] <= longest_lag + 1:
        raise StylisedFactsError(f"paths must be series longer than {longest_lag + 1} steps, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise StylisedFactsError("paths must be finite")
    centred = r - r.mean(axis=1, keepdims=True)
    variance = float(np.mean(centred**2))
    if variance <= 0:
        raise StylisedFactsError("paths are constant: no variance to measure")
    standardised = centred / np.sqrt(variance)
    size = np.abs(r)
    size_centred = size - size.mean(axis=1, keepdims=True)
    leverage = _pooled_correlation(centred[:, :-1], size_centred[:, 1:])
    return StylisedFacts(
        excess_kurtosis=float(np.mean(standardised**4) - 3.0),
        q01_sigma=float(np.quantile(standardised, 0.01)),
        q99_sigma=float(np.quantile(standardised, 0.99)),
        acf_returns=tuple(_pooled_acf(centred, lag) for lag in RETURN_LAGS),
        acf_abs=tuple(_pooled_acf(size_centred, lag) for lag in ABS_LAGS),
        leverage=leverage,
        n_series=int(r.shape[0]),
        length=int(r.shape[1]),
    )


def _pooled_acf(centred: FloatArray, lag: int) -> float:
    return float(np.sum(centred[:, lag:] * centred[:, :-lag]) / np.sum(centred**2))


def _pooled_correlation(a: FloatArray, b: FloatArray) -> float:
    return float(np.sum(a * b) / np.sqrt(np.sum(a**2) * np.sum(b**2)))
