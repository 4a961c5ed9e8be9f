"""How irregular recent returns are: Shannon entropy and sample entropy of symbolised log returns.

Both work on symbols rather than raw returns, so that a bar's symbol is fixed when the bar closes
and a window of symbols can be updated in O(1): each log return is standardised by its rolling
z-score (``zscore_logret_20``, which uses only bars up to its own), and the z-score is binned on a
fixed grid. Nothing about a symbol depends on later bars.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque

import numpy as np

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.statistical_kernels import Source, log
from trading_agent.features.groups.statistical_scores import RollingZScore
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["ReturnEntropy"]

_EDGES = (-1.5, -0.5, 0.5, 1.5)  # Shannon bins of z: (-inf, -1.5], (-1.5, -0.5], ..., (1.5, inf)
_BASE = 64  # sample-entropy cells are clipped to [-32, 31] and shifted to 0..63


class ReturnEntropy(FixedIndicator):
    """``zscore_logret_<z>``, and ``entropy_logret_<w>`` and ``sampen_logret_<w>`` of its last ``w`` symbols.

    * The z-score is ``RollingZScore(Source.LOGRET, z)``; the entropies need it, so it is computed
      once here rather than by a second indicator.
    * Shannon entropy of the five z bins above, divided by ln 5: 0 when every return fell in one
      bin, 1 when the bins are equally filled.
    * Sample entropy (Richman & Moorman, m = 2, r = ``tolerance`` standard deviations), coarse-
      grained so that it is O(1) per bar: two returns match when their z-scores fall in the same
      cell floor(z / 2r) (cells as wide as the band |x - y| <= r, so pairs match about as often as
      in the exact definition) instead of when |x_i - x_j| <= r. Over the window's w - 2 template
      starts, B counts pairs of equal 2-templates and A pairs of equal 3-templates, and the value
      is ln(B / A) >= 0; when A = 0 it is ln(C(w - 2, 2)), the largest value a match count allows.
    Exact O(w^2) sample entropy over a million bars does not fit the batch budget, hence the grid.
    """

    def __init__(self, window: int = 50, z_window: int = 20, tolerance: float = 0.2) -> None:
        if window < 4 or tolerance <= 0:
            raise ValueError(f"need window >= 4 and tolerance > 0, got {window} and {tolerance}")
        self.window = window
        self.tolerance = tolerance
        self.zscore = RollingZScore(Source.LOGRET, z_window)
        warmup = self.zscore.specs[0].warmup + window - 1
        params: dict[str, float | int | str] = {"window": window, "z_window": z_window, "source": Source.LOGRET.value}
        super().__init__(
            (
                self.zscore.specs[0],
                FeatureSpec(
                    f"entropy_logret_{window}",
                    FeatureGroup.STATISTICAL,
                    warmup,
                    f"normalised Shannon entropy of the last {window} log returns in 5 bins of their "
                    f"{z_window}-bar z-score",
                    params,
                ),
                FeatureSpec(
                    f"sampen_logret_{window}",
                    FeatureGroup.STATISTICAL,
                    warmup,
                    f"sample entropy (m=2, r={tolerance} std, on a grid of the {z_window}-bar z-score) of the "
                    f"last {window} log returns",
                    {**params, "m": 2, "tolerance": tolerance},
                ),
            )
        )

    @property
    def shannon_terms(self) -> np.ndarray:
        """p ln p for p = count / window, count = 0..window (0 for count 0): the Shannon sum's terms."""
        p = np.arange(self.window + 1) / self.window
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(p > 0, p * np.log(p), 0.0)

    @property
    def cell_width(self) -> float:
        """The width of a sample-entropy cell in z units: 2r, the width of the band |x - y| <= r."""
        return 2 * self.tolerance

    @property
    def sampen_cap(self) -> float:
        """The sample entropy reported when no 3-template pair matches."""
        templates = self.window - 2
        return math.log(templates * (templates - 1) / 2)

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        w, size = self.window, len(bars)
        (z,) = self.zscore.batch(bars)
        first = min(self.zscore.specs[0].warmup, size)  # z is known from here on
        bins = np.zeros(size, dtype="int8")  # the number of edges below z, as bisect_left counts them
        for edge in _EDGES:
            bins += z > edge
        bins[:first] = len(_EDGES) + 1  # not a bin
        shannon = np.zeros(size)
        table = self.shannon_terms
        for b in range(len(_EDGES) + 1):
            seen = np.cumsum(bins == b, dtype="int32")
            count = seen.copy()
            count[w:] -= seen[:-w]
            shannon -= table[count]
        shannon /= math.log(len(_EDGES) + 1)

        cells = np.full(size, -1, dtype="int16")  # -1: no symbol
        cells[first:] = np.clip(np.floor(z[first:] / self.cell_width), -32, 31) + 32
        pairs = np.empty(size, dtype="int16")  # the code of the 2-template ending here, negative: none
        pairs[1:] = cells[:-1] * _BASE + cells[1:]
        pairs[: first + 1] = -np.arange(1, min(first + 1, size) + 1)  # distinct, so they never match
        b_count, a_count = _template_pair_counts(pairs, w - 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            sampen = np.where(a_count > 0, np.log(np.roll(b_count, 1) / a_count), self.sampen_cap)
        shannon[: self.specs[1].warmup] = np.nan
        sampen[: self.specs[2].warmup] = np.nan
        return z, shannon, sampen

    def streamer(self) -> Streamer:
        return _ReturnEntropyStreamer(self)


def _template_pair_counts(pairs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal pairs among the last ``n`` 2-templates, and among the last ``n`` 3-templates, at each index.

    ``pairs[e]`` codes the 2-template ending at e; two 3-templates ending at e and e - lag are equal
    exactly when the 2-templates ending at e and e - 1 both equal theirs. Incrementally, pairs(e) =
    pairs(e - 1) + matches of template e among the n - 1 before it - matches of template e - n among
    the n - 1 after it, each a sum over lags (O(len * n) vectorised).
    """
    size = len(pairs)
    counts = []
    equal = np.empty(size, dtype=bool)
    equal3 = np.empty(size, dtype=bool)
    back2, ahead2, back3, ahead3 = (np.zeros(size, dtype="uint8") for _ in range(4))
    for lag in range(1, min(n, size)):
        np.equal(pairs[lag:], pairs[:-lag], out=equal[lag:])
        np.logical_and(equal[lag + 1 :], equal[lag:-1], out=equal3[lag + 1 :])
        for back, ahead, start, matches in ((back2, ahead2, lag, equal), (back3, ahead3, lag + 1, equal3)):
            hits = matches[start:].view("uint8")
            np.add(back[start:], hits, out=back[start:])
            np.add(ahead[start - lag : size - lag], hits, out=ahead[start - lag : size - lag])
    for back, ahead in ((back2, ahead2), (back3, ahead3)):
        change = back.astype("int32")
        change[n:] -= ahead[: max(size - n, 0)]
        counts.append(np.cumsum(change))
    return counts[0], counts[1]


class _PairCounter:
    """Streaming ``window_pair_counts``."""

    __slots__ = ("_counts", "_n", "_pairs", "_window")

    def __init__(self, n: int) -> None:
        self._n = n
        self._window: deque[int] = deque()
        self._counts: dict[int, int] = {}
        self._pairs = 0

    @property
    def pairs(self) -> int:
        return self._pairs

    def add(self, code: int) -> None:
        counts, window = self._counts, self._window
        if len(window) == self._n:
            old = window.popleft()
            counts[old] -= 1
            self._pairs -= counts[old]
        seen = counts.get(code, 0)
        self._pairs += seen
        counts[code] = seen + 1
        window.append(code)


class _ReturnEntropyStreamer(Streamer):
    __slots__ = (
        "_bins",
        "_cap",
        "_cell_width",
        "_cells",
        "_counts",
        "_log_bins",
        "_pairs",
        "_table",
        "_triples",
        "_w",
        "_z",
    )

    def __init__(self, indicator: ReturnEntropy) -> None:
        self._w = indicator.window
        self._z = indicator.zscore.streamer()
        self._cell_width = indicator.cell_width
        self._cap = indicator.sampen_cap
        self._table: list[float] = indicator.shannon_terms.tolist()
        self._log_bins = math.log(len(_EDGES) + 1)
        self._bins: deque[int] = deque()
        self._counts = [0] * (len(_EDGES) + 1)
        self._cells: deque[int] = deque(maxlen=3)
        self._pairs = _PairCounter(indicator.window - 2)
        self._triples = _PairCounter(indicator.window - 2)

    def update(self, bar: Bar) -> tuple[float, ...]:
        (z,) = self._z.update(bar)
        if math.isnan(z):
            return z, NAN, NAN
        counts, bins = self._counts, self._bins
        b = bisect_left(_EDGES, z)
        counts[b] += 1
        bins.append(b)
        if len(bins) > self._w:
            counts[bins.popleft()] -= 1

        cells = self._cells
        cells.append(min(max(math.floor(z / self._cell_width), -32), 31) + 32)
        b_count = self._pairs.pairs  # 2-templates end one bar earlier than 3-templates
        if len(cells) >= 2:
            self._pairs.add(cells[-2] * _BASE + cells[-1])
        if len(cells) == 3:
            self._triples.add((cells[0] * _BASE + cells[1]) * _BASE + cells[2])
        if len(bins) < self._w:
            return z, NAN, NAN

        shannon = 0.0
        table = self._table
        for count in counts:
            shannon -= table[count]
        a_count = self._triples.pairs
        return z, shannon / self._log_bins, log(b_count / a_count) if a_count else self._cap
