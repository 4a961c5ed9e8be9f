"""Bollinger Bands: SMA of the close +/- k population standard deviations, %B and bandwidth.

The batch path is TA-Lib ``BBANDS`` (SMA middle band); the streaming path uses
``rolling.WindowMeanStd``, which repeats TA-Lib 0.8's deviation algorithm step for step.
"""

from __future__ import annotations

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.volatility_channels import channel_position, channel_positions
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN, WindowMeanStd
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["Bollinger"]


def _bandwidth(lower: float, middle: float, upper: float) -> float:
    return NAN if middle == 0.0 else (upper - lower) / middle


class Bollinger(FixedIndicator):
    """Bollinger Bands (``n`` bars, ``k`` deviations): upper, lower, %B and bandwidth.

    %B is the close's position between the bands (0.5 when they coincide); bandwidth is
    ``(upper - lower) / middle`` (a fraction of the middle band; NaN if that is 0).
    """

    def __init__(self, n: int = 20, k: float = 2.0) -> None:
        suffix = f"{n}_{k:g}"
        params = {"period": n, "deviations": k}

        def spec(name: str, description: str) -> FeatureSpec:
            return FeatureSpec(f"{name}_{suffix}", FeatureGroup.VOLATILITY, n - 1, description, params)

        super().__init__(
            (
                spec("bb_upper", f"Upper Bollinger band: SMA {n} + {k:g} population std of the close (price)"),
                spec("bb_lower", f"Lower Bollinger band: SMA {n} - {k:g} population std of the close (price)"),
                spec("bb_pctb", "Bollinger %B: (close - lower) / (upper - lower); 0.5 when the bands coincide"),
                spec("bb_width", "Bollinger bandwidth: (upper - lower) / middle band"),
            )
        )
        self._n = n
        self._k = k

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        k = self._k
        upper, middle, lower = talib.BBANDS(bars.close, timeperiod=self._n, nbdevup=k, nbdevdn=k)  # SMA middle
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.where(middle == 0.0, np.nan, (upper - lower) / middle)
        return upper, lower, channel_positions(bars.close, lower, upper), width

    def streamer(self) -> Streamer:
        return _BollingerStreamer(self._n, self._k)


class _BollingerStreamer(Streamer):
    __slots__ = ("_k", "_moments")

    def __init__(self, n: int, k: float) -> None:
        self._moments = WindowMeanStd(n)
        self._k = k

    def update(self, bar: Bar) -> tuple[float, ...]:
        middle, std = self._moments.update(bar.close)
        offset = std * self._k
        upper = middle + offset
        lower = middle - offset
        return upper, lower, channel_position(bar.close, lower, upper), _bandwidth(lower, middle, upper)
