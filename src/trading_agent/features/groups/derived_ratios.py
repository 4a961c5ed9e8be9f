"""Price / moving-average ratios: scale-free trend position features (1.0 = on the average).

The averages are computed here (TA-Lib ``SMA``/``EMA`` in batch, ``RollingMean``/``Ema`` when
streaming): features do not depend on each other. Prices are positive (``Bars`` and ``Candle`` check it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import Ema, RollingMean
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["MovingAverageRatios"]

_GROUP = FeatureGroup.DERIVED


class MovingAverageRatios(FixedIndicator):
    """``close_sma_ratio_<n>`` = close / SMA(n) for each ``n`` of ``close_sma``, ``sma_ratio_<f>_<s>`` =
    SMA(f) / SMA(s) and ``ema_ratio_<f>_<s>`` = EMA(f) / EMA(s) (TA-Lib EMA: seeded with the SMA of the
    first ``f``/``s`` closes, so it matches TA-Lib to ~1 ulp; see ``momentum_core``)."""

    def __init__(
        self,
        close_sma: Sequence[int] = (20, 50, 200),
        sma_cross: tuple[int, int] = (20, 50),
        ema_cross: tuple[int, int] = (12, 26),
    ) -> None:
        if not sma_cross[0] < sma_cross[1] or not ema_cross[0] < ema_cross[1]:
            raise ValueError(f"cross ratios need fast < slow, got {sma_cross} and {ema_cross}")
        fast_sma, slow_sma = sma_cross
        fast_ema, slow_ema = ema_cross
        specs = [
            FeatureSpec(f"close_sma_ratio_{n}", _GROUP, n - 1, f"close / SMA({n}) of the close", {"period": n})
            for n in close_sma
        ]
        specs.append(
            FeatureSpec(
                f"sma_ratio_{fast_sma}_{slow_sma}",
                _GROUP,
                slow_sma - 1,
                "fast SMA / slow SMA of the close",
                {"fast": fast_sma, "slow": slow_sma},
            )
        )
        specs.append(
            FeatureSpec(
                f"ema_ratio_{fast_ema}_{slow_ema}",
                _GROUP,
                slow_ema - 1,
                "fast EMA / slow EMA of the close",
                {"fast": fast_ema, "slow": slow_ema},
            )
        )
        super().__init__(specs)
        self._sma_periods = tuple(sorted({*close_sma, *sma_cross}))
        self._close_sma = tuple(self._sma_periods.index(n) for n in close_sma)
        self._sma_cross = (self._sma_periods.index(fast_sma), self._sma_periods.index(slow_sma))
        self._ema_cross = ema_cross

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        close = bars.close
        smas = [talib.SMA(close, n) for n in self._sma_periods]
        fast_ema, slow_ema = (talib.EMA(close, n) for n in self._ema_cross)
        fast_sma, slow_sma = (smas[i] for i in self._sma_cross)
        return (
            *(close / smas[i] for i in self._close_sma),
            fast_sma / slow_sma,
            fast_ema / slow_ema,
        )

    def streamer(self) -> Streamer:
        return _MovingAverageRatiosStreamer(self._sma_periods, self._close_sma, self._sma_cross, self._ema_cross)


class _MovingAverageRatiosStreamer(Streamer):
    __slots__ = ("_close_sma", "_emas", "_sma_cross", "_smas")

    def __init__(
        self,
        sma_periods: tuple[int, ...],
        close_sma: tuple[int, ...],
        sma_cross: tuple[int, int],
        ema_cross: tuple[int, int],
    ) -> None:
        self._smas = tuple(RollingMean(n) for n in sma_periods)
        self._emas = (Ema(ema_cross[0]), Ema(ema_cross[1]))
        self._close_sma = close_sma
        self._sma_cross = sma_cross

    def update(self, bar: Bar) -> tuple[float, ...]:
        close = bar.close
        smas = [sma.update(close) for sma in self._smas]
        fast_ema, slow_ema = self._emas
        fast, slow = self._sma_cross
        return (
            *(close / smas[i] for i in self._close_sma),
            smas[fast] / smas[slow],
            fast_ema.update(close) / slow_ema.update(close),
        )
