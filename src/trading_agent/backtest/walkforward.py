"""Walk-forward optimisation: search parameters on a train window, trade them on the test window after it.

``walk_forward_windows`` cuts a series of candles into windows by candle open time: a train part
of ``train_ms`` followed by a test part of ``test_ms``, the next window ``step_ms`` later. Rolling
windows slide the train start; anchored windows keep it at the first candle (the train part
grows). ``walk_forward`` then, window by window, picks the parameters that maximise ``objective``
on the train candles (a ``GridSearch`` over every combination, or an ``OptunaSearch`` with a
seeded TPE sampler), runs them on the test candles, and chains the test segments into one
out-of-sample equity curve. Nothing of a test period reaches its own selection: that is the
point, and a test checks it.

The strategy is a callable ``evaluate(start, stop, params)``: the per-candle equity curve of the
strategy with ``params`` run on candles ``[start, stop)``, from either backtester. It may read
candles before ``start`` (the past, e.g. for indicator warm-up) but never at or after ``stop``.
Each run starts afresh, so the out-of-sample curve is flat across each join between windows: the
bar from a window's last test candle to the next window's first earns nothing.

With a grid, every combination also runs on every test period, and ``trial_returns`` keeps their
out-of-sample returns (one column per combination) for the probability of backtest overfitting
(``metrics.pbo``); ``n_trials`` per window feeds the deflated Sharpe ratio.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from trading_agent.domain import DomainError

if TYPE_CHECKING:
    import optuna

__all__ = [
    "Choice",
    "Evaluate",
    "FloatRange",
    "GridSearch",
    "IntRange",
    "Objective",
    "OptunaSearch",
    "WalkForwardError",
    "WalkForwardResult",
    "Window",
    "WindowResult",
    "walk_forward",
    "walk_forward_windows",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Evaluate: TypeAlias = Callable[[int, int, Mapping[str, Any]], npt.ArrayLike]
Objective: TypeAlias = Callable[[FloatArray], float]


class WalkForwardError(DomainError):
    """Walk-forward optimisation was given an invalid argument or a bad result (a ``ValueError`` subclass)."""


@dataclass(frozen=True, slots=True)
class Window:
    """One walk-forward window as half-open candle index ranges: train ``[train_start, train_stop)``, test after it.

    ``test_start == train_stop``: the test part begins with the first candle after the train part.
    """

    index: int
    train_start: int
    train_stop: int
    test_start: int
    test_stop: int

    @property
    def train(self) -> range:
        """The train candles' indices."""
        return range(self.train_start, self.train_stop)

    @property
    def test(self) -> range:
        """The test candles' indices."""
        return range(self.test_start, self.test_stop)


def walk_forward_windows(
    ts: npt.ArrayLike, *, train_ms: int, test_ms: int, step_ms: int, anchored: bool
) -> list[Window]:
    """The walk-forward windows over candles with open times ``ts`` (ms, strictly increasing).

    Window ``k`` tests the candles opening in ``[t0 + train_ms + k * step_ms, ... + test_ms)``, with
    ``t0 = ts[0]``, and trains on those in ``[t0 + k * step_ms, test start)`` (rolling) or
    ``[t0, test start)`` (anchored). Windows run while a test part has a candle: the last one may be
    partial (shorter than ``test_ms``). A window whose train or test part holds no candle (a gap in
    the data) is dropped. ``step_ms >= test_ms``, so test periods never overlap.
    """
    times = _check_timestamps(ts)
    train, test, step = (
        _check_length(value, name)
        for value, name in ((train_ms, "train_ms"), (test_ms, "test_ms"), (step_ms, "step_ms"))
    )
    if step < test:
        raise WalkForwardError(
            f"step_ms ({step}) must be >= test_ms ({test}): overlapping test periods cannot be stitched"
        )
    first, last = int(times[0]), int(times[-1])
    n_windows = (last - first - train) // step + 1 if last - first >= train else 0
    shifts = np.arange(max(n_windows, 0), dtype=np.int64) * step
    test_begin = first + train + shifts
    train_begin = np.full_like(test_begin, first) if anchored else first + shifts
    train_start = np.searchsorted(times, train_begin, side="left")
    test_start = np.searchsorted(times, test_begin, side="left")
    test_stop = np.searchsorted(times, test_begin + test, side="left")
    keep = (test_start > train_start) & (test_stop > test_start)
    windows = [
        Window(index=i, train_start=int(a), train_stop=int(b), test_start=int(b), test_stop=int(c))
        for i, (a, b, c) in enumerate(zip(train_start[keep], test_start[keep], test_stop[keep], strict=True))
    ]
    if not windows:
        raise WalkForwardError(
            f"no walk-forward window fits: the {times.size} candles span {last - first} ms, and one window needs "
            f"more than train_ms = {train} ms of candles plus at least one test candle after them"
        )
    return windows


@dataclass(frozen=True, slots=True)
class GridSearch:
    """Every combination of the values in ``grid`` (name -> candidate values), in the grid's key order.

    Ties on the objective go to the first combination in that order (the last key varies fastest).
    """

    grid: Mapping[str, Sequence[Any]]

    def __post_init__(self) -> None:
        if not self.grid:
            raise WalkForwardError("the parameter grid is empty")
        for name, values in self.grid.items():
            if isinstance(values, str) or not isinstance(values, Sequence) or len(values) == 0:
                raise WalkForwardError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")

    def candidates(self) -> tuple[dict[str, Any], ...]:
        """Every parameter set of the grid, in search order."""
        names = list(self.grid)
        return tuple(dict(zip(names, values, strict=True)) for values in itertools.product(*self.grid.values()))


@dataclass(frozen=True, slots=True)
class IntRange:
    """Integers from ``low`` to ``high`` inclusive, every ``step`` (Optuna's ``suggest_int``)."""

    low: int
    high: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True, slots=True)
class FloatRange:
    """Floats in ``[low, high]``, log-uniform when ``log`` (Optuna's ``suggest_float``)."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True, slots=True)
class Choice:
    """One of ``values`` (None, bool, int, float or str: Optuna's ``suggest_categorical``)."""

    values: tuple[bool | int | float | str | None, ...]


Distribution: TypeAlias = IntRange | FloatRange | Choice


@dataclass(frozen=True, slots=True)
class OptunaSearch:
    """``n_trials`` of an in-process Optuna study (TPE sampler) over ``space`` (name -> distribution).

    The sampler of window ``k`` is seeded with ``seed + k``: the same arguments give the same
    trials. A NaN objective is reported to Optuna as -inf.
    """

    space: Mapping[str, Distribution]
    n_trials: int
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.space:
            raise WalkForwardError("the Optuna search space is empty")
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, int) or self.n_trials < 1:
            raise WalkForwardError(f"n_trials must be an integer >= 1, got {self.n_trials!r}")
        for name, distribution in self.space.items():
            _check_distribution(name, distribution)


@dataclass(frozen=True, slots=True)
class WindowResult:
    """One row of the walk-forward table.

    Timestamps are candle open times in ms: ``*_start_ms`` of the part's first candle, ``*_end_ms``
    of its last (inclusive). Objectives are as ``objective`` returned them, NaN shown as -inf;
    ``out_of_sample_return`` is the test equity's last value over its first, minus 1.
    ``n_trials`` counts the parameter sets tried on the train part.
    """

    window: Window
    train_start_ms: int
    train_end_ms: int
    test_start_ms: int
    test_end_ms: int
    best_params: dict[str, Any]
    in_sample_objective: float
    out_of_sample_objective: float
    out_of_sample_return: float
    n_trials: int


@dataclass(frozen=True, slots=True)
class WalkForwardResult:
    """Per-window results and the stitched out-of-sample equity.

    ``timestamps`` and ``equity`` have one point per test candle, every window in order: window
    ``k``'s test equity rescaled to start where window ``k - 1``'s ended (the first keeps its own
    level), so the curve is continuous and flat across each join. ``returns`` are the per-bar
    returns inside the test segments, joins left out: ``len(equity) - len(windows)`` of them, and
    ``equity[-1] / equity[0] = prod(1 + returns)``.

    With a ``GridSearch``, ``trial_returns`` is the ``T x N`` matrix (``T = len(returns)``,
    ``N = len(trial_params)``): column ``j`` holds the out-of-sample returns, over the same bars as
    ``returns``, of the grid's ``j``-th parameter set (``trial_params[j]``) run on every test
    period, whether it won its window or not: the input of ``metrics.pbo``. ``None`` for an
    ``OptunaSearch``, whose trials differ from window to window. Arrays are read-only.
    """

    windows: tuple[WindowResult, ...]
    timestamps: IntArray
    equity: FloatArray
    returns: FloatArray
    trial_params: tuple[dict[str, Any], ...] | None
    trial_returns: FloatArray | None

    @property
    def total_return(self) -> float:
        """The compounded out-of-sample return over every test period."""
        return float(self.equity[-1] / self.equity[0] - 1.0)

    def table(self) -> list[dict[str, Any]]:
        """The per-window table as plain rows (window number, timestamps, best params, objectives, return)."""
        return [
            {
                "window": row.window.index,
                "train_start_ms": row.train_start_ms,
                "train_end_ms": row.train_end_ms,
                "test_start_ms": row.test_start_ms,
                "test_end_ms": row.test_end_ms,
                "best_params": dict(row.best_params),
                "in_sample_objective": row.in_sample_objective,
                "out_of_sample_objective": row.out_of_sample_objective,
                "out_of_sample_return": row.out_of_sample_return,
                "n_trials": row.n_trials,
            }
            for row in self.windows
        ]


def walk_forward(
    ts: npt.ArrayLike,
    *,
    evaluate: Evaluate,
    objective: Objective,
    search: GridSearch | OptunaSearch,
    train_ms: int,
    test_ms: int,
    step_ms: int,
    anchored: bool,
) -> WalkForwardResult:
    """Optimise on each window's train candles, trade the winner on its test candles, and stitch the tests.

    ``evaluate(start, stop, params)`` returns the equity at each of the candles ``[start, stop)``
    (positive, finite); ``objective(equity)`` scores a curve, higher is better, NaN as -inf (e.g.
    a Sharpe ratio of its returns). Windows are ``walk_forward_windows`` of the same arguments.
    Deterministic: a grid has no randomness, and Optuna's sampler is seeded.
    """
    times = _check_timestamps(ts)
    windows = walk_forward_windows(times, train_ms=train_ms, test_ms=test_ms, step_ms=step_ms, anchored=anchored)
    rows: list[WindowResult] = []
    segments: list[FloatArray] = []
    trial_segments: list[FloatArray] = []
    for window in windows:
        if isinstance(search, GridSearch):
            candidates = search.candidates()
            winner, in_sample, test_curves = _grid_window(window, candidates, evaluate, objective)
            best, test_equity = candidates[winner], test_curves[winner]
            trial_segments.append(np.stack([_inner_returns(curve) for curve in test_curves], axis=1))
            n_trials = len(candidates)
        else:
            best, in_sample = _optuna_window(window, search, evaluate, objective)
            test_equity = _run(evaluate, window.test_start, window.test_stop, best)
            n_trials = search.n_trials
        segments.append(test_equity)
        rows.append(
            WindowResult(
                window=window,
                train_start_ms=int(times[window.train_start]),
                train_end_ms=int(times[window.train_stop - 1]),
                test_start_ms=int(times[window.test_start]),
                test_end_ms=int(times[window.test_stop - 1]),
                best_params=dict(best),
                in_sample_objective=in_sample,
                out_of_sample_objective=_score(objective, test_equity),
                out_of_sample_return=float(test_equity[-1] / test_equity[0] - 1.0),
                n_trials=n_trials,
            )
        )
    returns = np.concatenate([_inner_returns(segment) for segment in segments])
    grid = search.candidates() if isinstance(search, GridSearch) else None
    trial_returns = np.concatenate(trial_segments, axis=0) if trial_segments else None
    return WalkForwardResult(
        windows=tuple(rows),
        timestamps=_read_only(np.concatenate([times[w.test_start : w.test_stop] for w in windows])),
        equity=_read_only(_stitch(segments)),
        returns=_read_only(returns),
        trial_params=grid,
        trial_returns=None if trial_returns is None else _read_only(trial_returns),
    )


def _grid_window(
    window: Window, grid: tuple[dict[str, Any], ...], evaluate: Evaluate, objective: Objective
) -> tuple[int, float, list[FloatArray]]:
    # The best grid point's position on the train candles (first on ties), and every point's test equity.
    scores = [_score(objective, _run(evaluate, window.train_start, window.train_stop, params)) for params in grid]
    best = int(np.argmax(scores))
    test_curves = [_run(evaluate, window.test_start, window.test_stop, params) for params in grid]
    return best, scores[best], test_curves


def _optuna_window(
    window: Window, search: OptunaSearch, evaluate: Evaluate, objective: Objective
) -> tuple[dict[str, Any], float]:
    import optuna  # here, not at the top: importing Optuna costs a third of a second that grids never need

    def trial_score(trial: optuna.Trial) -> float:
        params = {name: _suggest(trial, name, distribution) for name, distribution in search.space.items()}
        return _score(objective, _run(evaluate, window.train_start, window.train_stop, params))

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=search.seed + window.index)
        )
        study.optimize(trial_score, n_trials=search.n_trials)
    finally:
        optuna.logging.set_verbosity(verbosity)
    best = study.best_trial
    return dict(best.params), float(best.value if best.value is not None else -math.inf)


def _suggest(trial: optuna.Trial, name: str, distribution: Distribution) -> Any:
    if isinstance(distribution, IntRange):
        return trial.suggest_int(
            name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
        )
    if isinstance(distribution, FloatRange):
        return trial.suggest_float(name, distribution.low, distribution.high, log=distribution.log)
    return trial.suggest_categorical(name, distribution.values)


def _check_distribution(name: str, distribution: Distribution) -> None:
    if isinstance(distribution, IntRange | FloatRange):
        if not distribution.low <= distribution.high:
            raise WalkForwardError(f"space[{name!r}]: low ({distribution.low}) must be <= high ({distribution.high})")
        if distribution.log and distribution.low <= 0:
            raise WalkForwardError(f"space[{name!r}]: a log range needs low > 0, got {distribution.low}")
    elif isinstance(distribution, Choice):
        if not distribution.values:
            raise WalkForwardError(f"space[{name!r}]: a Choice needs at least one value")
    else:
        raise WalkForwardError(f"space[{name!r}] must be an IntRange, FloatRange or Choice, got {distribution!r}")


def _run(evaluate: Evaluate, start: int, stop: int, params: Mapping[str, Any]) -> FloatArray:
    equity = np.asarray(evaluate(start, stop, params), dtype=np.float64)
    if equity.shape != (stop - start,):
        raise WalkForwardError(
            f"evaluate({start}, {stop}, {dict(params)}) must return {stop - start} equity values, "
            f"got shape {equity.shape}"
        )
    if not (np.all(np.isfinite(equity)) and np.all(equity > 0)):
        raise WalkForwardError(
            f"evaluate({start}, {stop}, {dict(params)}) must return positive finite equity, got min {equity.min()}"
        )
    return equity


def _score(objective: Objective, equity: FloatArray) -> float:
    value = float(objective(equity))
    return -math.inf if math.isnan(value) else value


def _inner_returns(equity: FloatArray) -> FloatArray:
    return np.asarray(equity[1:] / equity[:-1] - 1.0, dtype=np.float64)


def _stitch(segments: list[FloatArray]) -> FloatArray:
    # Each segment rescaled to start at the previous one's last value: the segments' returns chained.
    pieces = []
    level = float(segments[0][0])
    for segment in segments:
        pieces.append(segment * (level / segment[0]))
        level = float(pieces[-1][-1])
    return np.concatenate(pieces)


def _check_timestamps(ts: npt.ArrayLike) -> IntArray:
    times = np.asarray(ts)
    if times.ndim != 1 or times.size == 0:
        raise WalkForwardError(f"ts must be a non-empty one-dimensional array of open times, got shape {times.shape}")
    if not np.issubdtype(times.dtype, np.integer):
        raise WalkForwardError(f"ts must hold integer open times in ms, got dtype {times.dtype}")
    times = times.astype(np.int64)
    if np.any(np.diff(times) <= 0):
        at = int(np.flatnonzero(np.diff(times) <= 0)[0]) + 1
        raise WalkForwardError(f"ts must be strictly increasing: ts[{at}] = {times[at]} follows {times[at - 1]}")
    return times


def _check_length(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise WalkForwardError(f"{name} must be a positive integer number of ms, got {value!r}")
    return int(value)


def _read_only(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.setflags(write=False)
    return array
