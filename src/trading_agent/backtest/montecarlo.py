"""Monte Carlo simulation of equity paths: a bootstrap of trade returns and a block bootstrap of bar returns.

Both resample the returns actually observed (with replacement, as many as were given), compound
them into ``n_paths`` equity paths from ``start_equity``, and summarise the paths in a
``MonteCarloResult``: percentile bands of equity at every step (the fan chart), the distribution of
the maximum drawdown and of the final return, and the probability of ruin at any loss level.

``bootstrap_trades`` draws trades independently (Efron's bootstrap): right for trade returns,
whose order carries little information. ``block_bootstrap`` draws bar returns in blocks so the
serial dependence of bar returns (volatility clusters, autocorrelation) survives inside each
block. It is the *stationary* bootstrap (Politis & Romano, "The Stationary Bootstrap", JASA 89,
1994), not the moving-block bootstrap: block lengths are geometric with mean ``block`` and blocks
wrap around the end of the series, so the resampled series is itself stationary (the moving-block
bootstrap's fixed joins are not), every bar is drawn with the same probability (no under-weighted
ends), and the result is less sensitive to the exact block length. With ``block=1`` it is the
i.i.d. bootstrap.

Every path starts at ``start_equity`` (step 0), so a path has one more point than there are
returns. The simulation is vectorised over paths (random draws in chunks of 64 steps for all
paths, then one numpy operation per step across every path; no Python loop per path), and the
percentiles partition each step's values in place: 10,000 paths of 1,000 steps take about 0.3 s
here and hold one 80 MB array.

``scenario_paths`` compounds return paths drawn elsewhere instead: market log returns from a
generator (``models.scenario.ScenarioGenerator``, or anything with its ``sample`` method: see
``ReturnPathSampler``) held at a constant ``exposure`` (1 = fully long, -1 short, 2 = 2x long), into
the same ``MonteCarloResult``; ``generated_monte_carlo`` samples and compounds in one call. A
strategy whose exposure follows its own signals would have to be re-run on synthetic candles,
which these paths alone are not (no highs, lows or volumes): not done here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from trading_agent.domain import DomainError

__all__ = [
    "PERCENTILES",
    "MonteCarloError",
    "MonteCarloResult",
    "ReturnPathSampler",
    "block_bootstrap",
    "bootstrap_trades",
    "generated_monte_carlo",
    "scenario_paths",
    "stationary_bootstrap_indices",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
_CHUNK_STEPS = 64  # steps simulated at once: bounds the temporaries to 64 x n_paths values


class MonteCarloError(DomainError):
    """A Monte Carlo simulation was given an invalid argument (a ``ValueError`` subclass); the message names it."""


@dataclass(frozen=True, slots=True)
class MonteCarloResult:
    """The summary of ``n_paths`` simulated equity paths of ``steps + 1`` points each (step 0 is the start).

    ``bands[i]`` is the ``PERCENTILES[i]`` percentile of equity across paths at every step (shape
    ``5 x (steps + 1)``, ordered low to high, numpy's linear interpolation). ``max_drawdowns`` and
    ``final_returns`` hold one value per path: the largest fall from a running peak as a positive
    fraction, and ``final equity / start_equity - 1``. ``lowest_equity`` is each path's minimum
    (the start included), which ``probability_of_ruin`` reads. Arrays are read-only.
    """

    start_equity: float
    bands: FloatArray
    max_drawdowns: FloatArray
    final_returns: FloatArray
    lowest_equity: FloatArray

    @property
    def n_paths(self) -> int:
        """The number of simulated paths."""
        return int(self.max_drawdowns.size)

    @property
    def steps(self) -> int:
        """Returns compounded per path (each path has ``steps + 1`` points)."""
        return int(self.bands.shape[1]) - 1

    def band(self, percentile: int) -> FloatArray:
        """Equity at every step for one of ``PERCENTILES`` (e.g. ``band(50)`` is the median path)."""
        if percentile not in PERCENTILES:
            raise MonteCarloError(f"percentile must be one of {PERCENTILES}, got {percentile!r}")
        return np.asarray(self.bands[PERCENTILES.index(percentile)], dtype=np.float64)

    def max_drawdown_percentiles(self) -> dict[int, float]:
        """The ``PERCENTILES`` of the maximum-drawdown distribution (fractions; 95 is the bad tail)."""
        return _percentiles(self.max_drawdowns)

    def final_return_percentiles(self) -> dict[int, float]:
        """The ``PERCENTILES`` of the final-return distribution (fractions; 5 is the bad tail)."""
        return _percentiles(self.final_returns)

    def probability_of_ruin(self, loss: float) -> float:
        """The share of paths whose equity ever falls to ``(1 - loss) x start_equity`` or below, in [0, 1].

        ``loss`` is a fraction in (0, 1]: 0.5 asks how often half the capital is lost at some
        point (not just at the end). ``loss=1`` is 0, since a simple return above -1 never zeroes
        the equity.
        """
        if isinstance(loss, bool) or not (isinstance(loss, int | float) and 0 < loss <= 1):
            raise MonteCarloError(f"loss must be a fraction in (0, 1], got {loss!r}")
        threshold = (1 - loss) * self.start_equity
        return float(np.mean(self.lowest_equity <= threshold))


def bootstrap_trades(trade_returns: npt.ArrayLike, *, n_paths: int, seed: int, start_equity: float) -> MonteCarloResult:
    """Resample the trades' returns with replacement (as many as given) and compound them, ``n_paths`` times.

    ``trade_returns`` are simple returns on equity per trade (``0.02`` is +2%), in any order; the
    i.i.d. draw ignores their order, so use ``block_bootstrap`` for bar returns. Same ``seed``,
    same result: the trades drawn are ``stationary_bootstrap_indices(len(trade_returns), block=1,
    n_paths=n_paths, seed=seed)``.
    """
    gross = _gross_returns(trade_returns, "trade_returns")
    return _simulate(gross, block=1, n_paths=n_paths, seed=seed, start_equity=start_equity)


def block_bootstrap(
    bar_returns: npt.ArrayLike, *, block: int, n_paths: int, seed: int, start_equity: float
) -> MonteCarloResult:
    """The stationary bootstrap of per-bar returns, mean block length ``block``, compounded ``n_paths`` times.

    Each path is as long as ``bar_returns`` and follows ``stationary_bootstrap_indices`` with the
    same arguments (same ``seed``, same bars), so dependence within about ``block`` bars is kept.
    ``block=1`` draws bars independently. ``block`` must not exceed the number of returns.
    """
    gross = _gross_returns(bar_returns, "bar_returns")
    return _simulate(
        gross, block=_check_block(block, gross.size), n_paths=n_paths, seed=seed, start_equity=start_equity
    )


class ReturnPathSampler(Protocol):
    """Anything that draws ``(n_paths, n_steps)`` market log returns, the same for the same ``seed``."""

    def sample(self, n_paths: int, n_steps: int, seed: int) -> npt.NDArray[np.float64]:
        """``n_paths`` paths of ``n_steps`` log returns."""
        ...


def scenario_paths(log_returns: npt.ArrayLike, *, start_equity: float, exposure: float = 1.0) -> MonteCarloResult:
    """Compound ``n_paths x steps`` market log returns held at a constant ``exposure`` into equity paths.

    The equity's simple return per step is ``exposure x (exp(r) - 1)``: no costs, no funding, rebalanced
    to the same exposure every step. It must stay above -1 (a short or leveraged exposure can lose more
    than everything on a large enough move): ``MonteCarloError`` otherwise.
    """
    _check_start_equity(start_equity)
    if isinstance(exposure, bool) or not (isinstance(exposure, int | float) and math.isfinite(exposure)):
        raise MonteCarloError(f"exposure must be a finite number, got {exposure!r}")
    paths = np.asarray(log_returns, dtype=np.float64)
    if paths.ndim != 2 or paths.shape[0] < 1 or paths.shape[1] < 1:
        raise MonteCarloError(f"log_returns must be n_paths x steps (2-D, not empty), got shape {paths.shape}")
    if not np.all(np.isfinite(paths)):
        raise MonteCarloError("log_returns must be finite: found NaN or infinity")
    gross = 1.0 + exposure * np.expm1(paths.T)  # steps x paths, one contiguous row per step
    if np.any(gross <= 0.0):
        raise MonteCarloError(f"an exposure of {exposure} loses more than the whole equity on some step of these paths")
    steps, n_paths = gross.shape
    chunks = ((begin, gross[begin : begin + _CHUNK_STEPS]) for begin in range(0, steps, _CHUNK_STEPS))
    return _compound(chunks, steps=steps, n_paths=n_paths, start_equity=start_equity)


def generated_monte_carlo(
    sampler: ReturnPathSampler, *, n_paths: int, steps: int, seed: int, start_equity: float, exposure: float = 1.0
) -> MonteCarloResult:
    """``scenario_paths`` of ``sampler.sample(n_paths, steps, seed)``: a Monte Carlo over generated market paths."""
    _rng(n_paths, seed)  # the same argument checks as the bootstraps
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise MonteCarloError(f"steps must be an integer >= 1, got {steps!r}")
    paths = np.asarray(sampler.sample(int(n_paths), int(steps), int(seed)), dtype=np.float64)
    if paths.shape != (n_paths, steps):
        raise MonteCarloError(f"the sampler returned shape {paths.shape}, expected {(n_paths, steps)}")
    return scenario_paths(paths, start_equity=start_equity, exposure=exposure)


def stationary_bootstrap_indices(n_bars: int, *, block: int, n_paths: int, seed: int) -> IntArray:
    """The bars each path of the stationary bootstrap draws: ``n_paths x n_bars`` indices into a series of ``n_bars``.

    Step 0 starts a block at a uniform bar; every later step starts a new block there with
    probability ``1 / block`` and otherwise takes the bar after the previous one, wrapping from the
    last bar to the first. ``series[indices]`` resamples any series aligned with the returns (the
    paths of ``block_bootstrap`` with the same arguments are ``bar_returns[indices]`` compounded).
    """
    if isinstance(n_bars, bool) or not isinstance(n_bars, int | np.integer) or n_bars < 1:
        raise MonteCarloError(f"n_bars must be an integer >= 1, got {n_bars!r}")
    rng = _rng(n_paths, seed)
    chunks = [indices for _, indices in _index_chunks(rng, int(n_bars), int(n_paths), _check_block(block, int(n_bars)))]
    return np.ascontiguousarray((np.concatenate(chunks) % n_bars).T)


def _check_block(block: int, n_bars: int) -> int:
    if isinstance(block, bool) or not isinstance(block, int | np.integer) or block < 1:
        raise MonteCarloError(f"block must be an integer >= 1, got {block!r}")
    if block > n_bars:
        raise MonteCarloError(f"block ({block}) must not exceed the number of bar returns ({n_bars})")
    return int(block)


def _rng(n_paths: int, seed: int) -> np.random.Generator:
    if isinstance(n_paths, bool) or not isinstance(n_paths, int | np.integer) or n_paths < 1:
        raise MonteCarloError(f"n_paths must be an integer >= 1, got {n_paths!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise MonteCarloError(f"seed must be an integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def _gross_returns(values: npt.ArrayLike, name: str) -> FloatArray:
    returns = np.asarray(values, dtype=np.float64)
    if returns.ndim != 1:
        raise MonteCarloError(f"{name} must be one-dimensional, got shape {returns.shape}")
    if returns.size == 0:
        raise MonteCarloError(f"{name} is empty: there is nothing to resample")
    if not np.all(np.isfinite(returns)):
        raise MonteCarloError(f"{name} must be finite: found NaN or infinity")
    if np.any(returns <= -1.0):
        worst = int(np.argmin(returns))
        raise MonteCarloError(
            f"{name} must be simple returns above -1 (a loss beyond -100% is impossible), "
            f"got {returns[worst]} at index {worst}"
        )
    return 1.0 + returns


def _simulate(gross: FloatArray, *, block: int, n_paths: int, seed: int, start_equity: float) -> MonteCarloResult:
    rng = _rng(n_paths, seed)
    _check_start_equity(start_equity)
    steps, n_paths = gross.size, int(n_paths)
    circular = np.resize(gross, steps + _CHUNK_STEPS)  # gross[i mod steps] for the chunks' indices
    chunks = ((begin, np.take(circular, indices)) for begin, indices in _index_chunks(rng, steps, n_paths, block))
    return _compound(chunks, steps=steps, n_paths=n_paths, start_equity=start_equity)


def _check_start_equity(start_equity: float) -> None:
    if isinstance(start_equity, bool) or not (
        isinstance(start_equity, int | float) and math.isfinite(start_equity) and start_equity > 0
    ):
        raise MonteCarloError(f"start_equity must be positive and finite, got {start_equity!r}")


def _compound(
    chunks: Iterator[tuple[int, FloatArray]], *, steps: int, n_paths: int, start_equity: float
) -> MonteCarloResult:
    # ``chunks`` yields (first step, gross returns of the next rows x n_paths steps), in order.
    # Relative equity (start = 1), one row per step and one column per path: each step's row is
    # contiguous, so compounding runs across paths and the percentiles partition each row in place.
    # Row by row: numpy's accumulate along axis 0 is strided and about 10x slower.
    paths = np.empty((steps + 1, n_paths), dtype=np.float64)
    paths[0] = 1.0
    peak = np.ones(n_paths)
    worst_ratio = np.ones(n_paths)  # min over steps of equity / running peak
    ratio = np.empty(n_paths)
    for begin, gross in chunks:
        paths[begin + 1 : begin + 1 + gross.shape[0]] = gross
        for step in range(begin + 1, begin + 1 + gross.shape[0]):
            equity = paths[step]
            np.multiply(equity, paths[step - 1], out=equity)
            np.maximum(peak, equity, out=peak)
            np.divide(equity, peak, out=ratio)
            np.minimum(worst_ratio, ratio, out=worst_ratio)
    final_returns = paths[-1] - 1.0
    lowest = paths.min(axis=0) * start_equity
    bands = _bands_in_place(paths) * start_equity
    return MonteCarloResult(
        start_equity=float(start_equity),
        bands=_read_only(bands),
        max_drawdowns=_read_only(1.0 - worst_ratio),
        final_returns=_read_only(final_returns),
        lowest_equity=_read_only(lowest),
    )


def _index_chunks(rng: np.random.Generator, n_bars: int, n_paths: int, block: int) -> Iterator[tuple[int, IntArray]]:
    # (first step, indices) for consecutive chunks of steps: indices are rows x paths, in
    # [0, n_bars + rows). A step continues its block at the previous step's bar + 1 with probability
    # 1 - 1 / block, else starts a new one at a uniform bar; reading from the series tiled to
    # n_bars + rows wraps the blocks without a modulo per element.
    last_index = np.zeros(n_paths, dtype=np.int64)
    following = np.empty(n_paths, dtype=np.int64)
    for begin in range(0, n_bars, _CHUNK_STEPS):
        rows = min(_CHUNK_STEPS, n_bars - begin)
        indices = rng.integers(0, n_bars, size=(rows, n_paths))
        if block > 1:
            continues = rng.random((rows, n_paths), dtype=np.float32) >= np.float32(1.0 / block)
            continues[0] &= begin > 0
            previous = last_index
            for step in range(rows):
                np.add(previous, 1, out=following)
                np.copyto(indices[step], following, where=continues[step])
                previous = indices[step]
            last_index = indices[-1] % n_bars
        yield begin, indices


def _bands_in_place(paths: FloatArray) -> FloatArray:
    # numpy's default (linear) percentiles of every row, by partitioning each row in place: no copy
    # of the paths. Destroys the paths' order within each row.
    n_paths = paths.shape[1]
    positions = np.array(PERCENTILES, dtype=np.float64) / 100 * (n_paths - 1)
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, n_paths - 1)
    paths.partition(np.unique(np.concatenate([lower, upper])), axis=1)
    weight = positions - lower
    bands = paths[:, lower] + (paths[:, upper] - paths[:, lower]) * weight
    return np.ascontiguousarray(bands.T)


def _percentiles(values: FloatArray) -> dict[int, float]:
    return {p: float(v) for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True)}


def _read_only(array: FloatArray) -> FloatArray:
    array.setflags(write=False)
    return array
