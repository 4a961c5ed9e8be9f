"""Serial dependence of log returns: rolling autocorrelation and partial autocorrelation."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.statistical_kernels import (
    EqualRun,
    Source,
    SourceReader,
    flat_windows,
    log_returns,
    running_sum,
)
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["AutoCorrelation"]

_PACF_LAGS = (2, 3)  # the lag-1 partial autocorrelation is the lag-1 autocorrelation itself


class AutoCorrelation(FixedIndicator):
    """``acf_lag<k>_<w>`` and ``pacf_lag<k>_<w>`` of the last ``w`` log returns r_1..r_w.

    The textbook sample autocorrelation of the window (statsmodels ``acf``, unadjusted), with m the
    window mean: rho_k = sum_{s=k+1..w} (r_s - m)(r_s-k - m) / sum_{s=1..w} (r_s - m)^2.
    It is expanded into running sums (of r, r^2, r_s * r_s-k over the window's pairs) and the sums
    of the window's first and last k returns, so each bar costs O(max lag). The partial
    autocorrelations at lags 2 and 3 come from rho_1..rho_3 by Durbin-Levinson (lag 1 would repeat
    ``acf_lag1``). All are 0 when the window's returns are all equal or have no positive spread,
    and a partial autocorrelation is 0 where Durbin-Levinson divides by a non-positive variance.
    """

    def __init__(self, window: int = 100, lags: tuple[int, ...] = (1, 2, 5, 10)) -> None:
        self.window = window
        self.lags = lags
        self.needed = tuple(sorted(set(lags) | {1, 2, 3}))
        if self.needed[0] < 1 or self.needed[-1] >= window - 1:
            raise ValueError(f"lags must be in 1..{window - 2}, got {lags}")
        params: dict[str, float | int | str] = {"window": window, "source": Source.LOGRET.value}
        acf = (
            FeatureSpec(
                f"acf_lag{k}_{window}",
                FeatureGroup.STATISTICAL,
                window,
                f"lag-{k} autocorrelation of the last {window} log returns",
                {**params, "lag": k},
            )
            for k in lags
        )
        pacf = (
            FeatureSpec(
                f"pacf_lag{k}_{window}",
                FeatureGroup.STATISTICAL,
                window,
                f"lag-{k} partial autocorrelation (Durbin-Levinson) of the last {window} log returns",
                {**params, "lag": k},
            )
            for k in _PACF_LAGS
        )
        super().__init__((*acf, *pacf))

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        w, size = self.window, len(bars)
        r = log_returns(bars.close)
        total, total_sq = running_sum(r, w), running_sum(r * r, w)
        mean = total / w
        mean_sq = mean * mean
        spread = total_sq - total * mean
        unknown = np.isnan(spread)
        flat = flat_windows(r, w) | ~(spread > 0)
        last = r.copy()  # the sum of the last k returns, newest first, for k = 1, 2, ...
        products = np.full(size, np.nan)
        lead, lag = np.empty(size), np.empty(size)
        rho = {}
        for k in range(1, self.needed[-1] + 1):
            if k > 1:
                last[k - 1 :] += r[: max(size - k + 1, 0)]
                last[: k - 1] = np.nan
            if k not in self.needed:
                continue
            products[:k] = np.nan
            np.multiply(r[k:], r[:-k], out=products[k:])
            numerator = running_sum(products, w - k)
            # numerator = P_k - mean * ((total - first_k) + (total - last_k)) + (w - k) * mean^2, where the
            # window's first k returns are the last k returns of bar t - w + k
            shifted = max(size - w + k, 0)
            lead[: size - shifted] = np.nan
            np.subtract(total[size - shifted :], last[:shifted], out=lead[size - shifted :])
            np.subtract(total, last, out=lag)
            lead += lag
            lead *= mean
            numerator -= lead
            np.multiply(w - k, mean_sq, out=lag)
            numerator += lag
            with np.errstate(invalid="ignore", divide="ignore"):
                numerator /= spread
            numerator[flat] = 0.0
            rho[k] = numerator
        columns = [rho[k] for k in self.lags]
        columns.extend(_durbin_levinson(rho[1], rho[2], rho[3]))
        for column in columns:
            column[unknown] = np.nan
        return tuple(columns)

    def streamer(self) -> Streamer:
        return _AutoCorrelationStreamer(self.window, self.lags, self.needed)


def _durbin_levinson(rho1: np.ndarray, rho2: np.ndarray, rho3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        v1 = 1.0 - rho1 * rho1
        phi22 = np.where(v1 > 0, (rho2 - rho1 * rho1) / v1, 0.0)
        phi21 = rho1 - phi22 * rho1
        v2 = v1 * (1.0 - phi22 * phi22)
        phi33 = np.where(v2 > 0, (rho3 - phi21 * rho2 - phi22 * rho1) / v2, 0.0)
    return phi22, phi33


class _AutoCorrelationStreamer(Streamer):
    """A ring of the last w + 1 returns; running sums rolled in TA-Lib's order (subtract oldest, add newest).

    ``_lasts[k]`` keeps the sums of the last k returns of the last w - k + 1 bars: its oldest entry is
    the sum of the window's first k returns, as in the batch path.
    """

    __slots__ = (
        "_count",
        "_lags",
        "_lasts",
        "_needed",
        "_products",
        "_reader",
        "_returns",
        "_run",
        "_total",
        "_total_sq",
        "_w",
    )

    def __init__(self, window: int, lags: tuple[int, ...], needed: tuple[int, ...]) -> None:
        self._w = window
        self._lags = lags
        self._needed = needed
        self._reader = SourceReader(Source.LOGRET)
        self._run = EqualRun()
        self._returns: deque[float] = deque(maxlen=window + 1)
        self._count = 0
        self._total = self._total_sq = 0.0
        self._products = dict.fromkeys(needed, 0.0)
        self._lasts: dict[int, deque[float]] = {k: deque(maxlen=window - k + 1) for k in needed}

    def update(self, bar: Bar) -> tuple[float, ...]:
        r = self._reader.read(bar)
        if math.isnan(r):
            return (NAN,) * (len(self._lags) + len(_PACF_LAGS))
        run = self._run.update(r)
        ring = self._returns
        ring.append(r)  # ring[j] is r_{t-w+j} once full
        self._count += 1
        w, count, products = self._w, self._count, self._products
        if count > w:
            oldest = ring[0]
            self._total = self._total - oldest + r
            self._total_sq = self._total_sq - oldest * oldest + r * r
            for k in self._needed:
                products[k] = products[k] - ring[k] * oldest + r * ring[-1 - k]
        else:
            self._total += r
            self._total_sq += r * r
            for k in self._needed:
                if count > k:
                    products[k] += r * ring[-1 - k]
        lasts, last = self._lasts, 0.0
        for k in range(1, min(self._needed[-1], count) + 1):
            last += ring[-k]  # newest first
            if k in lasts:
                lasts[k].append(last)
        if count < w:
            return (NAN,) * (len(self._lags) + len(_PACF_LAGS))
        total = self._total
        mean = total / w
        spread = self._total_sq - total * mean
        if run >= w or not spread > 0:
            return (0.0,) * (len(self._lags) + len(_PACF_LAGS))
        rho = {}
        for k, sums in lasts.items():
            numerator = products[k] - mean * ((total - sums[0]) + (total - sums[-1])) + (w - k) * (mean * mean)
            rho[k] = numerator / spread
        values = [rho[k] for k in self._lags]
        values.extend(_durbin_levinson_scalar(rho[1], rho[2], rho[3]))
        return tuple(values)


def _durbin_levinson_scalar(rho1: float, rho2: float, rho3: float) -> tuple[float, float]:
    v1 = 1.0 - rho1 * rho1
    phi22 = (rho2 - rho1 * rho1) / v1 if v1 > 0 else 0.0
    phi21 = rho1 - phi22 * rho1
    v2 = v1 * (1.0 - phi22 * phi22)
    phi33 = (rho3 - phi21 * rho2 - phi22 * rho1) / v2 if v2 > 0 else 0.0
    return phi22, phi33
