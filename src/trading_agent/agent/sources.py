"""Where the agent's opinions come from: a built-in rule over the candle window, or the trained ensemble.

A source sees each closed candle once, in order, and answers with a ``SourceOutput``: the entry
(+1, -1, 0) and exit it wants at that close, the domain ``Signal`` to journal (None when it has
nothing to say), the model's signal behind an entry (None for a rule, whose trades carry no model
confidence, as in the backtest) and the anomaly score of the candle.

- ``RuleSource``: a built-in strategy (``backtest.strategies``) recomputed over the window; its
  signal is journaled when it fires, with confidence 1 (the rule fired: not a probability).
- ``EnsembleSource``: the ``SignalEngine`` (streaming features, ONNX ensemble); every prediction is
  journaled with each model's vote, and the trading rules' mapping turns it into the entry. Its
  state (features and rows) is saved with ``save_state`` so a restart resumes without a warm-up.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from trading_agent.backtest.strategies import Strategy
from trading_agent.domain import Candle, Direction, InstrumentId, Signal
from trading_agent.features import Bars
from trading_agent.models.signal_engine import Signal as EngineSignal
from trading_agent.models.signal_engine import SignalEngine
from trading_agent.models.signals import SignalThresholds, signal_directions

__all__ = ["EnsembleSource", "RuleSource", "SignalSource", "SourceOutput"]

_STATE_VERSION = 1


def _direction(entry: int) -> Direction:
    return Direction.LONG if entry > 0 else Direction.SHORT if entry < 0 else Direction.FLAT


@dataclass(frozen=True, slots=True)
class SourceOutput:
    """A source's answer at one close (see the module docstring)."""

    entry: int = 0
    exit: bool = False
    signal: Signal | None = None
    model_signal: Signal | None = None
    anomaly_score: float | None = None
    anomaly_threshold: float | None = None


class SignalSource(Protocol):
    """One opinion per closed candle."""

    name: str
    all_in: bool

    @property
    def warmup(self) -> int:
        """Candles the source needs before its first answer."""

    def warm(self, candle: Candle) -> None:
        """Consume a candle already traded before a restart (state only, no answer)."""

    def on_candle(self, candle: Candle, bars: Bars) -> SourceOutput:
        """The answer at the close of ``candle``, the newest of ``bars``."""

    def predict(self, bars: Bars) -> Signal | None:
        """The opinion at the newest close of ``bars``, asked again: nothing taken in (None: none yet)."""

    def save_state(self) -> bytes | None:
        """The state to resume from (None: the source rebuilds itself from the candle window)."""

    def restore_state(self, blob: bytes) -> None:
        """Resume from ``save_state`` output."""


class RuleSource:
    """A built-in strategy, recomputed over the window at every close."""

    def __init__(self, strategy: Strategy, instrument: InstrumentId) -> None:
        self.strategy = strategy
        self.name = strategy.name
        self.all_in = strategy.all_in
        self._instrument = instrument

    @property
    def warmup(self) -> int:
        """The rule's warm-up."""
        return self.strategy.warmup

    def warm(self, candle: Candle) -> None:
        """Nothing to do: the window holds the candles."""

    def on_candle(self, candle: Candle, bars: Bars) -> SourceOutput:
        """The rule's entry and exit at this close (nothing during its warm-up)."""
        if len(bars) <= self.strategy.warmup:
            return SourceOutput()
        entry, exit_now = self._verdict(bars)
        if not entry and not exit_now:
            return SourceOutput()
        return SourceOutput(entry=entry, exit=exit_now, signal=self._signal(candle.ts, entry))

    def predict(self, bars: Bars) -> Signal | None:
        """The rule at the newest close: long or short when it enters there, else flat (None in its warm-up)."""
        if len(bars) <= self.strategy.warmup:
            return None
        entry, _ = self._verdict(bars)
        return self._signal(int(bars.ts[-1]), entry)

    def _verdict(self, bars: Bars) -> tuple[int, bool]:
        signals = self.strategy.signals(bars)
        return int(signals.entries[-1]), bool(signals.exits[-1])

    def _signal(self, ts: int, entry: int) -> Signal:
        """The rule's signal: confidence 1 (the rule's verdict, not a probability)."""
        return Signal(
            instrument=self._instrument,
            ts=ts,
            direction=_direction(entry),
            strength=float(entry),
            confidence=1.0,
            model_votes={self.name: float(entry)},
        )

    def save_state(self) -> bytes | None:
        """None: the window is the state."""
        return None

    def restore_state(self, blob: bytes) -> None:
        """Nothing to restore."""


class EnsembleSource:
    """The trained ensemble through its streaming signal engine."""

    all_in = False

    def __init__(
        self, engine: SignalEngine, thresholds: SignalThresholds, instrument: InstrumentId, name: str = "ensemble"
    ) -> None:
        self.name = name
        self._engine = engine
        self._thresholds = thresholds
        self._instrument = instrument

    @property
    def warmup(self) -> int:
        """The signal engine's warm-up (features of every timeframe, then the longest window)."""
        return self._engine.warmup

    def warm(self, candle: Candle) -> None:
        """Advance the features and the rows without predicting."""
        self._engine.update(candle)

    def on_candle(self, candle: Candle, bars: Bars) -> SourceOutput:
        """The ensemble's signal at this close and the entry the rules' mapping makes of it."""
        predicted = self._engine.on_candle(candle)
        if predicted is None:
            return SourceOutput()
        entry, signal = self._signal(predicted)
        return SourceOutput(
            entry=entry,
            signal=signal,
            model_signal=signal if entry else None,
            anomaly_score=predicted.anomaly_score,
            anomaly_threshold=self._engine.anomaly_threshold,
        )

    def predict(self, bars: Bars) -> Signal | None:
        """The ensemble run again on the rows up to the newest close (None until its window is full)."""
        predicted = self._engine.predict_latest(int(bars.ts[-1])) if len(bars) else None
        return None if predicted is None else self._signal(predicted)[1]

    def _signal(self, predicted: EngineSignal) -> tuple[int, Signal]:
        """The entry the rules' mapping makes of ``predicted``, and its domain signal."""
        entry = int(
            signal_directions(np.array([predicted.prediction]), np.array([predicted.confidence]), self._thresholds)[0]
        )
        signal = Signal(
            instrument=self._instrument,
            ts=predicted.ts,
            direction=_direction(entry),
            strength=float(np.clip(2 * predicted.prediction - 1, -1, 1)),
            confidence=float(np.clip(predicted.confidence, 0, 1)),
            model_votes=predicted.votes,
            anomaly=predicted.anomaly,
        )
        return entry, signal

    def save_state(self) -> bytes | None:
        """The signal engine's features and rows."""
        return pickle.dumps((_STATE_VERSION, self._engine.save_state()), protocol=pickle.HIGHEST_PROTOCOL)

    def restore_state(self, blob: bytes) -> None:
        """Resume the signal engine from ``save_state`` output (a blob this agent wrote)."""
        version, state = pickle.loads(blob)
        if version != _STATE_VERSION:
            raise ValueError(f"saved source state version {version} does not match {_STATE_VERSION}")
        self._engine.restore_state(state)
