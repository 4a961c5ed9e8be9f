"""Volume flow: OBV and its windowed flow, A/D line and Chaikin oscillator, Chaikin money flow, MFI.

OBV, AD, ADOSC and MFI are TA-Lib in batch, replicated when streaming. Zero volume: a bar without
volume moves none of them; a window without any volume gives ``obv_flow`` and ``cmf`` 0 and, as in
TA-Lib, MFI 0. A bar with high == low adds nothing to AD, ADOSC or CMF (its close location is 0).
Cumulative lines (``obv``, ``ad``) start at the first bar the indicator sees, so their level depends
on where the data starts; prefer the windowed ``obv_flow``/``cmf`` for learning. Windows count bars.
"""

from __future__ import annotations

from collections import deque
from math import isnan

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.momentum_core import is_zero_scaled
from trading_agent.features.groups.volume_core import VolumeWindow, weighted_mean, weighted_mean_array
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["AccumulationDistribution", "ChaikinMoneyFlow", "MoneyFlowIndex", "OnBalanceVolume"]

_GROUP = FeatureGroup.VOLUME


def _close_location_volume(high: float, low: float, close: float, volume: float) -> float:
    """TA-Lib's money-flow volume ((close - low) - (high - close)) / (high - low) * volume; 0 if high <= low."""
    spread = high - low
    return ((close - low) - (high - close)) / spread * volume if spread > 0.0 else 0.0


def _close_location_volume_array(bars: Bars) -> np.ndarray:
    spread = bars.high - bars.low
    location: np.ndarray = np.zeros(len(bars))
    np.divide((bars.close - bars.low) - (bars.high - bars.close), spread, out=location, where=spread > 0.0)
    flow: np.ndarray = location * bars.volume
    return flow


class OnBalanceVolume(FixedIndicator):
    """``obv`` (TA-Lib OBV: starts at the first bar's volume, +/- volume on an up/down close) and
    ``obv_flow_<n>``: the OBV change over ``n`` bars / the volume of those bars, i.e. the
    volume-weighted mean of sign(close change) over the last ``n`` bars, in -1..1 (0 without volume).
    """

    def __init__(self, window: int = 20) -> None:
        super().__init__(
            [
                FeatureSpec("obv", _GROUP, 0, "on-balance volume (TA-Lib OBV)"),
                FeatureSpec(
                    f"obv_flow_{window}", _GROUP, window, "OBV change / volume over the window", {"window": window}
                ),
            ]
        )
        self._window = window

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        close = bars.close
        signed = np.full(len(bars), np.nan)
        signed[1:] = np.sign(close[1:] - close[:-1]) * bars.volume[1:]
        return talib.OBV(close, bars.volume), weighted_mean_array(signed, bars.volume, self._window, 0.0)

    def streamer(self) -> Streamer:
        return _OnBalanceVolumeStreamer(self._window)


class _OnBalanceVolumeStreamer(Streamer):
    __slots__ = ("_flow", "_obv", "_prev_close")

    def __init__(self, window: int) -> None:
        self._flow = VolumeWindow(window)
        self._obv = NAN
        self._prev_close = NAN

    def update(self, bar: Bar) -> tuple[float, ...]:
        close = bar.close
        volume = bar.volume
        prev = self._prev_close
        self._prev_close = close
        if isnan(prev):
            self._obv = volume
            return volume, NAN
        if close > prev:
            signed = volume
            self._obv += volume
        elif close < prev:
            signed = -volume
            self._obv -= volume
        else:
            signed = 0.0
        return self._obv, weighted_mean(*self._flow.update(signed, volume), 0.0)


class AccumulationDistribution(FixedIndicator):
    """``ad`` (TA-Lib AD: cumulative money-flow volume) and ``adosc_<f>_<s>`` (TA-Lib ADOSC: EMA(f) - EMA(s)
    of AD, both EMAs seeded with the first AD value, first output after ``max(f, s) - 1`` bars)."""

    def __init__(self, fast: int = 3, slow: int = 10) -> None:
        if not 1 < fast < slow:
            raise ValueError(f"need 1 < fast < slow, got {fast}, {slow}")
        params = {"fast": fast, "slow": slow}
        super().__init__(
            [
                FeatureSpec("ad", _GROUP, 0, "accumulation/distribution line (TA-Lib AD)"),
                FeatureSpec(f"adosc_{fast}_{slow}", _GROUP, slow - 1, "Chaikin A/D oscillator (TA-Lib ADOSC)", params),
            ]
        )
        self._fast = fast
        self._slow = slow

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        args = (bars.high, bars.low, bars.close, bars.volume)
        return talib.AD(*args), talib.ADOSC(*args, fastperiod=self._fast, slowperiod=self._slow)

    def streamer(self) -> Streamer:
        return _AccumulationDistributionStreamer(self._fast, self._slow)


class _AccumulationDistributionStreamer(Streamer):
    """TA-Lib 0.8 fuses each EMA step into an fma: ``adosc`` agrees to ~1e-14 of its scale, not bitwise."""

    __slots__ = ("_ad", "_bars", "_fast", "_fast_k", "_slow", "_slow_k", "_warmup")

    def __init__(self, fast: int, slow: int) -> None:
        self._fast_k = 2.0 / (fast + 1.0)
        self._slow_k = 2.0 / (slow + 1.0)
        self._warmup = slow - 1
        self._ad = 0.0
        self._fast = 0.0
        self._slow = 0.0
        self._bars = 0

    def update(self, bar: Bar) -> tuple[float, ...]:
        self._ad += _close_location_volume(bar.high, bar.low, bar.close, bar.volume)
        ad = self._ad
        if self._bars:
            fast_k = self._fast_k
            slow_k = self._slow_k
            self._fast = fast_k * ad + (1.0 - fast_k) * self._fast
            self._slow = slow_k * ad + (1.0 - slow_k) * self._slow
        else:
            self._fast = self._slow = ad
        self._bars += 1
        return ad, (self._fast - self._slow if self._bars > self._warmup else NAN)


class ChaikinMoneyFlow(FixedIndicator):
    """``cmf_<n>``: sum of money-flow volume / sum of volume over ``n`` bars, -1..1 (0 without volume)."""

    def __init__(self, window: int = 20) -> None:
        super().__init__(
            [
                FeatureSpec(
                    f"cmf_{window}", _GROUP, window - 1, f"Chaikin money flow over {window} bars", {"window": window}
                )
            ]
        )
        self._window = window

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        return (weighted_mean_array(_close_location_volume_array(bars), bars.volume, self._window, 0.0),)

    def streamer(self) -> Streamer:
        return _ChaikinMoneyFlowStreamer(self._window)


class _ChaikinMoneyFlowStreamer(Streamer):
    __slots__ = ("_flow",)

    def __init__(self, window: int) -> None:
        self._flow = VolumeWindow(window)

    def update(self, bar: Bar) -> tuple[float, ...]:
        volume = bar.volume
        flow = _close_location_volume(bar.high, bar.low, bar.close, volume)
        return (weighted_mean(*self._flow.update(flow, volume), 0.0),)


class MoneyFlowIndex(FixedIndicator):
    """``mfi_<n>``: TA-Lib MFI, 100 * up money flow / total money flow over ``n`` bars of typical-price
    changes (money flow = typical price * volume); 0 when the total is 0 (no volume or flat prices)."""

    def __init__(self, period: int = 14) -> None:
        super().__init__(
            [FeatureSpec(f"mfi_{period}", _GROUP, period, f"money flow index over {period} bars", {"period": period})]
        )
        self._period = period

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        return (talib.MFI(bars.high, bars.low, bars.close, bars.volume, timeperiod=self._period),)

    def streamer(self) -> Streamer:
        return _MoneyFlowIndexStreamer(self._period)


class _MoneyFlowIndexStreamer(Streamer):
    """TA-Lib 0.8's MFI step, bit-exact: drop the oldest flow, add the new one, then read.

    A typical-price change within 1e-14 of the prices carries no flow; after ``period`` bars without
    flow the sums are reset to exactly 0 (dropping rounding residue); the up flow is clamped into
    [0, total] so the index stays in 0..100.
    """

    __slots__ = ("_flows", "_idle", "_negative", "_period", "_positive", "_prev")

    def __init__(self, period: int) -> None:
        self._period = period
        self._flows: deque[tuple[float, float]] = deque()
        self._positive = 0.0
        self._negative = 0.0
        self._idle = 0
        self._prev = NAN

    def update(self, bar: Bar) -> tuple[float, ...]:
        typical = (bar.high + bar.low + bar.close) / 3.0
        prev = self._prev
        self._prev = typical
        if isnan(prev):
            return (NAN,)
        flows = self._flows
        period = self._period
        positive = self._positive
        negative = self._negative
        if len(flows) == period:
            old_positive, old_negative = flows.popleft()
            positive -= old_positive
            negative -= old_negative
        change = typical - prev
        flow = 0.0 if is_zero_scaled(change, typical, prev) else typical * bar.volume
        if change < 0.0:
            flows.append((0.0, flow))
            negative += flow
        else:
            flows.append((flow, 0.0))
            positive += flow
        self._idle = min(self._idle + 1, period) if flow == 0.0 else 0
        if self._idle == period:
            positive = negative = 0.0
        self._positive = positive
        self._negative = negative
        if len(flows) < period:
            return (NAN,)
        total = positive + negative
        if total <= 0.0:
            return (0.0,)
        up = 0.0 if positive < 0.0 else total if positive > total else positive
        return (100.0 * (up / total),)
