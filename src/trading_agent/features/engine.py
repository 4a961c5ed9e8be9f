"""The streaming path: one closed candle in, one row of every feature out, in O(1).

The live agent keeps one ``FeatureEngine`` per series. Its state (every indicator's streamer and
the higher-timeframe aggregators) is saved with ``save()`` and restored with
``FeatureEngine.restore(blob)``, so a restart needs no long warm-up. The row for a candle equals
the batch row of ``compute_features`` for that candle (tested on real data).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Sequence

from trading_agent.domain import Candle, Timeframe
from trading_agent.features.bars import Bar, FeatureInputError
from trading_agent.features.indicator import Streamer
from trading_agent.features.registry import build_indicators, feature_specs
from trading_agent.features.timeframes import HigherTimeframe, check_higher, suffixed

__all__ = ["FeatureEngine", "FeatureStateError"]

_STATE_VERSION = 1


class FeatureStateError(ValueError):
    """A saved engine state that does not fit this code (other version or other features)."""


class _Layer:
    """The streamers of one timeframe and their latest values."""

    __slots__ = ("names", "streamers", "values")

    def __init__(self, feature_set: str, timeframe: Timeframe | None, *, suffix: bool) -> None:
        indicators = build_indicators(feature_set, timeframe)
        self.streamers: list[Streamer] = [indicator.streamer() for indicator in indicators]
        names = [spec.name for indicator in indicators for spec in indicator.specs]
        self.names = [suffixed(name, timeframe) for name in names] if suffix and timeframe else names
        self.values: list[float] = [math.nan] * len(names)

    def update(self, bar: Bar) -> list[float]:
        values: list[float] = []
        for streamer in self.streamers:
            values.extend(streamer.update(bar))
        self.values = values
        return values


class FeatureEngine:
    """Streaming features of one candle series.

    ``timeframe`` is the series' candle length (needed for ``higher_timeframes``). Candles must come
    in strictly increasing time order; a repeated or older candle is refused.
    """

    def __init__(
        self,
        feature_set: str = "default",
        *,
        timeframe: Timeframe | str | None = None,
        higher_timeframes: Sequence[Timeframe | str] = (),
    ) -> None:
        higher = tuple(tf if isinstance(tf, Timeframe) else Timeframe.parse(tf) for tf in higher_timeframes)
        base = Timeframe.parse(timeframe) if isinstance(timeframe, str) else timeframe
        if higher:
            if base is None:
                raise FeatureInputError("higher_timeframes need the series' own timeframe")
            check_higher(base, higher)
        self.feature_set = feature_set
        self._base = _Layer(feature_set, base, suffix=False)
        self._higher = (
            [(HigherTimeframe(base, tf), _Layer(feature_set, tf, suffix=True)) for tf in higher] if base else []
        )
        self._last_ts: int | None = None
        self._warmup = max((spec.warmup for spec in feature_specs(feature_set, base)), default=0)
        if base is not None:
            for higher_tf in higher:  # its warm-up in its own candles, plus the bucket in progress and a partial first
                slowest = max((spec.warmup for spec in feature_specs(feature_set, higher_tf)), default=0)
                self._warmup = max(self._warmup, (slowest + 2) * (higher_tf.ms // base.ms))

    @property
    def warmup(self) -> int:
        """Candles of this series until every feature is known (the slowest higher timeframe included)."""
        return self._warmup

    @property
    def base_columns(self) -> list[str]:
        """Names of the series' own features (without higher timeframes)."""
        return list(self._base.names)

    @property
    def columns(self) -> list[str]:
        """Feature names in row order."""
        return [*self._base.names, *(name for _, layer in self._higher for name in layer.names)]

    def update(self, candle: Candle | Bar) -> dict[str, float]:
        """Consume the next closed candle; its features by name (NaN during warm-up)."""
        bar = candle if isinstance(candle, Bar) else Bar.of(candle)
        if self._last_ts is not None and bar.ts <= self._last_ts:
            raise FeatureInputError(f"candle at {bar.ts} is not after the previous one at {self._last_ts}")
        self._last_ts = bar.ts
        values = list(self._base.update(bar))
        for aggregator, layer in self._higher:
            for higher_bar in aggregator.update(bar):
                layer.update(higher_bar)
            values.extend(layer.values)
        return dict(zip(self.columns, values, strict=True))

    def save(self) -> bytes:
        """The engine's whole state, to ``restore`` after a restart."""
        return pickle.dumps((_STATE_VERSION, self), protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def restore(cls, blob: bytes, feature_set: str = "default") -> FeatureEngine:
        """An engine from ``save()`` output; refuses a state made by other code or for other features.

        Only restore blobs this process or a trusted one saved (pickle runs code on load).
        """
        try:
            version, engine = pickle.loads(blob)
        except Exception as exc:
            raise FeatureStateError(f"not a saved feature-engine state: {exc}") from None
        if version != _STATE_VERSION or not isinstance(engine, cls):
            raise FeatureStateError(f"saved state version {version} does not match {_STATE_VERSION}")
        current = [spec.name for spec in feature_specs(feature_set)]
        if engine.feature_set != feature_set or engine.base_columns != current:
            raise FeatureStateError(
                f"the saved state was made for other features than the current {feature_set!r} set; start a new engine"
            )
        return engine
