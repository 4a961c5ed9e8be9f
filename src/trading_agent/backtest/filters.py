"""The signal filters: which entries may become orders (``signal_filters`` and ``trading_hours`` of the rules).

A filter looks only at candles up to the decision's close and at the signal behind the entry; it
never touches exits. Each refusal is named (the names ``SignalFiltered`` journals):

- ``min_confidence``: the signal's calibrated confidence is below the minimum. A built-in rule has
  no model and no confidence, so this filter does not apply to it.
- ``timeframes``: with ``require_multiple_timeframes``, every higher timeframe's trend must agree
  with the entry. A timeframe's trend is the side of the close of its last closed candle relative
  to the mean close of its last ``TREND_CANDLES`` closed candles (above: up, below: down, equal or
  too few candles yet: no trend, which agrees with nothing). Higher candles are built from the base
  candles by their open-time buckets; one counts as closed once its whole span is over.
- ``volume``: the candle's volume is below ``min_volume_ratio`` x the mean volume of the candles of
  the last 24 h (the candle included).
- ``model_sharpe``: the model's out-of-sample Sharpe (its training report's) is below
  ``min_sharpe_ratio``. Not applied to built-in rules, which have none.
- ``trading_hours``: with trading hours enabled, the candle closes outside ``[start_hour, end_hour)``
  in the configured time zone.

Every value is computed from plain slices of the candles (no running sums), so it is the same
whichever earlier candles a caller keeps: the agent's rolling window and a backtest's whole
history give the same answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from trading_agent.backtest.strategies import Signals
from trading_agent.domain import Timeframe
from trading_agent.features import Bars

__all__ = ["TREND_CANDLES", "EntryFilter", "FilterRules", "TradingWindow", "describe_filters", "filter_entries"]

TREND_CANDLES = 20
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class TradingWindow:
    """Entries only when a candle closes in ``[start_hour, end_hour)`` of ``timezone``."""

    start_hour: int
    end_hour: int
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class FilterRules:
    """The filters in force; the defaults filter nothing."""

    min_confidence: float = 0.0
    higher_timeframes: tuple[Timeframe, ...] = ()
    min_volume_ratio: float = 0.0
    min_model_sharpe: float | None = None
    trading_hours: TradingWindow | None = None


class EntryFilter:
    """The filters of ``rules`` for candles of ``timeframe``, for a model with ``model_sharpe`` (None: a rule)."""

    def __init__(self, rules: FilterRules, timeframe: Timeframe, model_sharpe: float | None = None) -> None:
        for higher in rules.higher_timeframes:
            if higher == timeframe or not timeframe.divides(higher):
                raise ValueError(f"{higher} is not a higher timeframe made of whole {timeframe} candles")
        self.rules = rules
        self._timeframe = timeframe
        self._model_sharpe = model_sharpe
        self._zone = None if rules.trading_hours is None else ZoneInfo(rules.trading_hours.timezone)
        self._day_candles = max(1, _DAY_MS // timeframe.ms)

    @property
    def lookback(self) -> int:
        """Candles of history the filters read at most: a day's, and enough for every higher trend."""
        longest = max((tf.ms for tf in self.rules.higher_timeframes), default=0)
        return max(self._day_candles, (TREND_CANDLES + 1) * longest // self._timeframe.ms + 1)

    def with_rules(self, rules: FilterRules) -> EntryFilter:
        """The same filter with other ``rules`` (a risk mode's minimum confidence, say)."""
        return EntryFilter(rules, self._timeframe, self._model_sharpe)

    def refusals(self, bars: Bars, direction: int, confidence: float | None) -> tuple[str, ...]:
        """The filters refusing an entry in ``direction`` (+1, -1) at the close of ``bars``' last candle."""
        rules, found = self.rules, []
        if confidence is not None and confidence < rules.min_confidence:
            found.append("min_confidence")
        if any(self.trend(bars, higher) != direction for higher in rules.higher_timeframes):
            found.append("timeframes")
        if rules.min_volume_ratio > 0 and not self._volume_ok(bars):
            found.append("volume")
        minimum, sharpe = rules.min_model_sharpe, self._model_sharpe
        if confidence is not None and minimum is not None and (sharpe is None or not sharpe >= minimum):
            found.append("model_sharpe")
        if not self._in_hours(int(bars.ts[-1]) + self._timeframe.ms):
            found.append("trading_hours")
        return tuple(found)

    def trend(self, bars: Bars, higher: Timeframe) -> int:
        """+1, -1 or 0: the trend of ``higher`` as known at the close of ``bars``' last candle."""
        ts = bars.ts
        buckets = ts - (ts - higher.offset_ms) % higher.ms
        last_of_bucket = np.flatnonzero(np.diff(buckets, append=np.iinfo(np.int64).max))
        closed = buckets[last_of_bucket] + higher.ms <= ts[-1] + self._timeframe.ms
        closes = bars.close[last_of_bucket[closed]][-TREND_CANDLES:]
        if len(closes) < TREND_CANDLES:
            return 0
        return int(np.sign(closes[-1] - closes.mean()))

    def _volume_ok(self, bars: Bars) -> bool:
        recent = bars.volume[-self._day_candles :]
        return bool(recent[-1] >= self.rules.min_volume_ratio * recent.mean())

    def _in_hours(self, close_ms: int) -> bool:
        window = self.rules.trading_hours
        if window is None or self._zone is None:
            return True
        hour = dt.datetime.fromtimestamp(close_ms / 1000, tz=self._zone).hour
        return window.start_hour <= hour < window.end_hour


def filter_entries(signals: Signals, bars: Bars, entry_filter: EntryFilter) -> tuple[Signals, int]:
    """``signals`` without the entries the filters refuse (exits kept), and how many were refused.

    The backtest's view of what the agent does at each close: the same refusals, from the same
    candles and the signal's confidence (``signals.confidence``; None for a rule).
    """
    entries = signals.entries.copy()
    confidence = signals.confidence
    lookback = entry_filter.lookback
    refused = 0
    for i in np.flatnonzero(entries):
        known = None if confidence is None or np.isnan(confidence[i]) else float(confidence[i])
        if entry_filter.refusals(bars.window(max(0, int(i) + 1 - lookback), int(i) + 1), int(entries[i]), known):
            entries[i] = 0
            refused += 1
    return Signals(entries, signals.exits, signals.anomaly, confidence), refused


def describe_filters(entry_filter: EntryFilter | None) -> str:
    """The filters in force, in words (``none`` when nothing is filtered)."""
    if entry_filter is None:
        return "none"
    rules, parts = entry_filter.rules, []
    if rules.min_confidence > 0:
        parts.append(f"confidence >= {rules.min_confidence:g} (models)")
    if rules.higher_timeframes:
        parts.append(f"trend agreement of {', '.join(str(tf) for tf in rules.higher_timeframes)}")
    if rules.min_volume_ratio > 0:
        parts.append(f"volume >= {rules.min_volume_ratio:g} x its 24 h mean")
    if rules.min_model_sharpe is not None:
        parts.append(f"model out-of-sample Sharpe >= {rules.min_model_sharpe:g} (models)")
    if rules.trading_hours is not None:
        hours = rules.trading_hours
        parts.append(f"trading hours {hours.start_hour}-{hours.end_hour} {hours.timezone}")
    return "; ".join(parts) or "none"
