"""Circuit breakers: one-method rules that halt new entries, and the board that tracks them.

A breaker trips once and stays tripped until it is reset, either by its own condition (see each
rule's ``cleared``) or by a person through ``BreakerBoard.reset``. While any breaker is tripped the
board refuses new entries; whether open positions are also flattened is ``flatten_on_trip``, which
the engine acts on. Timestamps are UTC epoch milliseconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from trading_agent.domain.events import CircuitBreakerReset, CircuitBreakerTripped
from trading_agent.domain.trading import PortfolioState
from trading_agent.risk.errors import RiskError

__all__ = [
    "BreakerBoard",
    "BreakerRules",
    "CircuitBreaker",
    "ConsecutiveLossBreaker",
    "DailyLossBreaker",
    "DrawdownBreaker",
    "EmergencyStopBreaker",
    "ManualBreaker",
    "Observation",
    "RapidFireBreaker",
    "VolatilityBreaker",
    "default_breakers",
]

_MS_PER_DAY = 86_400_000
_E = TypeVar("_E", CircuitBreakerReset, CircuitBreakerTripped, CircuitBreakerReset | CircuitBreakerTripped)
_SNAPSHOT_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerRules:
    """Breaker limits, named as in ``risk_management`` of ``config/trading_rules.yaml``."""

    max_daily_loss_percent: float = 5.0
    max_drawdown_percent: float = 15.0
    max_consecutive_losses: int = 5
    volatility_breaker_multiple: float = 3.0
    rapid_fire_max_trades: int = 5
    rapid_fire_window_s: int = 3600
    auto_reset_after_s: int | None = None
    """Seconds after a trip when the breakers that wait for a person (drawdown, losing streak) reset
    by themselves; ``None`` (the default): only a person resets them."""
    flatten_on_trip: bool = False

    def __post_init__(self) -> None:
        for name in ("max_daily_loss_percent", "max_drawdown_percent"):
            value = getattr(self, name)
            if not 0 < value <= 100:
                raise RiskError(f"{name} must be in (0, 100], got {value}")
        if self.volatility_breaker_multiple <= 1:
            raise RiskError(f"volatility_breaker_multiple must exceed 1, got {self.volatility_breaker_multiple}")
        for name in ("max_consecutive_losses", "rapid_fire_max_trades", "rapid_fire_window_s"):
            if getattr(self, name) < 1:
                raise RiskError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.auto_reset_after_s is not None and self.auto_reset_after_s < 1:
            raise RiskError(f"auto_reset_after_s must be at least 1 (or None), got {self.auto_reset_after_s}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """What the breakers look at: the account, volatility and recent trade times.

    Volatilities are in any one unit (e.g. ATR or stdev of returns); ``None`` means unknown, and the
    volatility breaker then neither trips nor clears. ``trade_timestamps`` are entry times in ms.
    The account's ``state.ts`` is the clock for the rapid-fire window.
    """

    state: PortfolioState
    current_volatility: float | None = None
    average_volatility: float | None = None
    trade_timestamps: tuple[int, ...] = ()


class CircuitBreaker(ABC):
    """A rule that says why trading must halt, or ``None`` when it need not."""

    name: ClassVar[str]

    @abstractmethod
    def check(self, observation: Observation) -> str | None:
        """The trip reason, or ``None`` when the condition does not hold."""

    def cleared(self, observation: Observation, tripped_at_ms: int, now_ms: int) -> str | None:
        """The automatic-reset reason, or ``None``; by default only a person resets a breaker."""
        return None

    def reset_due_ms(self, tripped_at_ms: int) -> int | None:
        """When a breaker tripped at ``tripped_at_ms`` resets by the clock alone (``None``: not by the clock)."""
        return None


class ManualBreaker(CircuitBreaker):
    """A breaker that waits for a person, or resets ``reset_after_s`` after its trip when that is set."""

    def __init__(self, reset_after_s: int | None) -> None:
        self._reset_after_s = reset_after_s

    def reset_due_ms(self, tripped_at_ms: int) -> int | None:
        return None if self._reset_after_s is None else tripped_at_ms + self._reset_after_s * 1000

    def cleared(self, observation: Observation, tripped_at_ms: int, now_ms: int) -> str | None:
        due = self.reset_due_ms(tripped_at_ms)
        if due is not None and now_ms >= due:
            return f"{self._reset_after_s}s passed since the trip (auto_reset_after_s)"
        return None


class DailyLossBreaker(CircuitBreaker):
    """Trips when today's PnL is at or below ``-max_daily_loss_percent`` of the day's start equity.

    Resets by itself at the first evaluation in a later UTC day than the trip. The caller must roll
    ``day_start_equity`` at midnight, or the stale loss trips the breaker again.
    """

    name = "daily_loss"

    def __init__(self, max_daily_loss_percent: float) -> None:
        self._percent = max_daily_loss_percent
        self._limit = -Decimal(str(max_daily_loss_percent)) / 100

    def check(self, observation: Observation) -> str | None:
        pnl = observation.state.daily_pnl_fraction
        if pnl <= self._limit:
            return f"daily PnL {float(pnl):.2%} reached the -{self._percent}% limit"
        return None

    def cleared(self, observation: Observation, tripped_at_ms: int, now_ms: int) -> str | None:
        if now_ms // _MS_PER_DAY > tripped_at_ms // _MS_PER_DAY:
            return "a new UTC day started"
        return None


class DrawdownBreaker(ManualBreaker):
    """Trips when equity is ``max_drawdown_percent`` or more below its peak; see ``ManualBreaker`` for the reset."""

    name = "drawdown"

    def __init__(self, max_drawdown_percent: float, reset_after_s: int | None = None) -> None:
        super().__init__(reset_after_s)
        self._percent = max_drawdown_percent
        self._limit = Decimal(str(max_drawdown_percent)) / 100

    def check(self, observation: Observation) -> str | None:
        drawdown = observation.state.drawdown
        if drawdown >= self._limit:
            return f"drawdown {float(drawdown):.2%} reached the {self._percent}% limit"
        return None


class VolatilityBreaker(CircuitBreaker):
    """Trips when current volatility is at least ``multiple`` times the average.

    Resets by itself once current volatility falls back below ``multiple`` times the average.
    """

    name = "volatility"

    def __init__(self, multiple: float) -> None:
        self._multiple = multiple

    def _ratio(self, observation: Observation) -> float | None:
        current, average = observation.current_volatility, observation.average_volatility
        if current is None or average is None or average <= 0:
            return None
        return current / average

    def check(self, observation: Observation) -> str | None:
        ratio = self._ratio(observation)
        if ratio is not None and ratio >= self._multiple:
            return f"volatility is {ratio:.2f}x its average (limit {self._multiple}x)"
        return None

    def cleared(self, observation: Observation, tripped_at_ms: int, now_ms: int) -> str | None:
        ratio = self._ratio(observation)
        if ratio is not None and ratio < self._multiple:
            return f"volatility fell back to {ratio:.2f}x its average"
        return None


class ConsecutiveLossBreaker(ManualBreaker):
    """Trips after ``max_losses`` losing trades in a row; see ``ManualBreaker`` for the reset."""

    name = "consecutive_losses"

    def __init__(self, max_losses: int, reset_after_s: int | None = None) -> None:
        super().__init__(reset_after_s)
        self._max = max_losses

    def check(self, observation: Observation) -> str | None:
        losses = observation.state.consecutive_losses
        if losses >= self._max:
            return f"{losses} consecutive losses (limit {self._max})"
        return None


class RapidFireBreaker(CircuitBreaker):
    """Trips when ``max_trades`` or more trades fall in the trailing window ``(ts - window, ts]``.

    Resets by itself once fewer than ``max_trades`` remain in the window.
    """

    name = "rapid_fire"

    def __init__(self, max_trades: int, window_s: int) -> None:
        self._max = max_trades
        self._window_s = window_s
        self._window_ms = window_s * 1000

    def _count(self, observation: Observation) -> int:
        now = observation.state.ts
        return sum(1 for ts in observation.trade_timestamps if now - self._window_ms < ts <= now)

    def check(self, observation: Observation) -> str | None:
        count = self._count(observation)
        if count >= self._max:
            return f"{count} trades in the last {self._window_s}s (limit {self._max})"
        return None

    def cleared(self, observation: Observation, tripped_at_ms: int, now_ms: int) -> str | None:
        count = self._count(observation)
        if count < self._max:
            return f"only {count} trades left in the last {self._window_s}s"
        return None


class EmergencyStopBreaker(CircuitBreaker):
    """Tripped only by a person's emergency stop (``BreakerBoard.trip``); reset only by a person."""

    name = "emergency_stop"

    def check(self, observation: Observation) -> str | None:
        return None


def default_breakers(rules: BreakerRules) -> tuple[CircuitBreaker, ...]:
    """The five blueprint breakers, built from ``rules``, and the emergency stop."""
    return (
        DailyLossBreaker(rules.max_daily_loss_percent),
        DrawdownBreaker(rules.max_drawdown_percent, rules.auto_reset_after_s),
        VolatilityBreaker(rules.volatility_breaker_multiple),
        ConsecutiveLossBreaker(rules.max_consecutive_losses, rules.auto_reset_after_s),
        RapidFireBreaker(rules.rapid_fire_max_trades, rules.rapid_fire_window_s),
        EmergencyStopBreaker(),
    )


@dataclass(frozen=True, slots=True)
class _Trip:
    ts: int
    reason: str


class BreakerBoard:
    """The breakers and which of them are tripped.

    Call ``auto_reset`` then ``evaluate`` on each observation (``update`` does both). Journal the
    events they return; persist ``snapshot()``, or replay the journaled events with ``apply``, so a
    restart keeps tripped breakers tripped. ``check`` says what ``update`` would do without doing it.
    """

    def __init__(self, breakers: Sequence[CircuitBreaker], *, flatten_on_trip: bool = False) -> None:
        names = [breaker.name for breaker in breakers]
        if len(set(names)) != len(names):
            raise RiskError(f"breaker names must be unique, got {names}")
        self._breakers = {breaker.name: breaker for breaker in breakers}
        self._tripped: dict[str, _Trip] = {}
        self.flatten_on_trip = flatten_on_trip

    @classmethod
    def from_rules(cls, rules: BreakerRules) -> BreakerBoard:
        """A board with the default breakers and nothing tripped."""
        return cls(default_breakers(rules), flatten_on_trip=rules.flatten_on_trip)

    @property
    def names(self) -> tuple[str, ...]:
        """Every breaker's name, in evaluation order."""
        return tuple(self._breakers)

    @property
    def tripped(self) -> Mapping[str, str]:
        """Tripped breaker name to its trip reason."""
        return {name: trip.reason for name, trip in self._tripped.items()}

    def next_reset_due_ms(self) -> int | None:
        """The earliest time a tripped breaker resets by the clock alone (``None``: none will)."""
        due = (self._breakers[name].reset_due_ms(trip.ts) for name, trip in self._tripped.items())
        return min((ts for ts in due if ts is not None), default=None)

    @property
    def allows_entries(self) -> bool:
        """False while any breaker is tripped."""
        return not self._tripped

    def check(self, observation: Observation, now_ms: int) -> list[CircuitBreakerReset | CircuitBreakerTripped]:
        """What ``update`` would do, without doing it: the resets, then the trips of the untripped breakers.

        A breaker reset here is not judged again on the same observation: its measure restarts with
        the reset (the engine's losing streak, its equity peak), so the next observation judges it.
        """
        events: list[CircuitBreakerReset | CircuitBreakerTripped] = []
        untripped: Collection[str]
        if self._tripped:
            resets = self._resets(observation, now_ms)
            untripped = set(self._breakers) - set(self._tripped)
            events.extend(resets)
        else:  # the usual case: nothing to reset, every breaker to check, no set arithmetic
            untripped = self._breakers.keys()
        events.extend(self._trips(observation, now_ms, untripped))
        return events

    def apply(self, event: CircuitBreakerReset | CircuitBreakerTripped) -> None:
        """Record one trip or reset: how ``update`` changes the board, and how a journal is replayed.

        Tripping a tripped breaker, resetting an untripped one or naming an unknown one raises.
        """
        if event.breaker not in self._breakers:
            raise RiskError(f"unknown breaker {event.breaker!r}; known: {', '.join(self._breakers)}")
        if isinstance(event, CircuitBreakerTripped):
            if event.breaker in self._tripped:
                raise RiskError(f"breaker {event.breaker!r} is already tripped")
            self._tripped[event.breaker] = _Trip(event.ts_event, event.reason)
            return
        if event.breaker not in self._tripped:
            raise RiskError(f"breaker {event.breaker!r} is not tripped")
        del self._tripped[event.breaker]

    def evaluate(self, observation: Observation, now_ms: int) -> list[CircuitBreakerTripped]:
        """Trip every untripped breaker whose condition holds; return only these new trips."""
        untripped = set(self._breakers) - set(self._tripped)
        return self._apply_all(self._trips(observation, now_ms, untripped))

    def auto_reset(self, observation: Observation, now_ms: int) -> list[CircuitBreakerReset]:
        """Reset every tripped breaker whose own reset condition now holds."""
        return self._apply_all(self._resets(observation, now_ms))

    def update(self, observation: Observation, now_ms: int) -> list[CircuitBreakerReset | CircuitBreakerTripped]:
        """``auto_reset`` then ``evaluate``, in that order (``check`` applied)."""
        return self._apply_all(self.check(observation, now_ms))

    def reset(self, name: str, reason: str, now_ms: int) -> CircuitBreakerReset:
        """Reset one tripped breaker by hand; unknown or untripped names raise ``DomainError``."""
        if name not in self._breakers:
            raise RiskError(f"unknown breaker {name!r}; known: {', '.join(self._breakers)}")
        if name not in self._tripped:
            raise RiskError(f"breaker {name!r} is not tripped")
        event = CircuitBreakerReset(ts_event=now_ms, breaker=name, reason=reason)
        self.apply(event)
        return event

    def trip(self, name: str, reason: str, now_ms: int) -> CircuitBreakerTripped:
        """Trip one breaker by hand (an emergency stop); unknown or tripped names raise ``RiskError``."""
        if name not in self._breakers:
            raise RiskError(f"unknown breaker {name!r}; known: {', '.join(self._breakers)}")
        event = CircuitBreakerTripped(ts_event=now_ms, breaker=name, reason=reason)
        self.apply(event)
        return event

    def _trips(self, observation: Observation, now_ms: int, untripped: Collection[str]) -> list[CircuitBreakerTripped]:
        events: list[CircuitBreakerTripped] = []
        for name, breaker in self._breakers.items():
            if name in untripped and (reason := breaker.check(observation)) is not None:
                events.append(CircuitBreakerTripped(ts_event=now_ms, breaker=name, reason=reason))
        return events

    def _resets(self, observation: Observation, now_ms: int) -> list[CircuitBreakerReset]:
        events: list[CircuitBreakerReset] = []
        for name, trip in self._tripped.items():
            if (reason := self._breakers[name].cleared(observation, trip.ts, now_ms)) is not None:
                events.append(CircuitBreakerReset(ts_event=now_ms, breaker=name, reason=reason))
        return events

    def _apply_all(self, events: list[_E]) -> list[_E]:
        for event in events:
            self.apply(event)
        return events

    def snapshot(self) -> dict[str, Any]:
        """The tripped state as JSON-serialisable data."""
        return {
            "version": _SNAPSHOT_VERSION,
            "tripped": {name: {"ts": trip.ts, "reason": trip.reason} for name, trip in self._tripped.items()},
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any], rules: BreakerRules) -> BreakerBoard:
        """A board built from ``rules`` with the tripped breakers of ``snapshot`` still tripped."""
        if snapshot.get("version") != _SNAPSHOT_VERSION:
            raise RiskError(f"unsupported breaker snapshot version {snapshot.get('version')!r}")
        board = cls.from_rules(rules)
        tripped = snapshot.get("tripped")
        if not isinstance(tripped, Mapping):
            raise RiskError("breaker snapshot has no 'tripped' mapping")
        for name, trip in tripped.items():
            if name not in board._breakers:
                raise RiskError(f"breaker snapshot names unknown breaker {name!r}")
            if not (
                isinstance(trip, Mapping) and isinstance(trip.get("ts"), int) and isinstance(trip.get("reason"), str)
            ):
                raise RiskError(f"breaker snapshot entry {name!r} needs an int 'ts' and a str 'reason'")
            board._tripped[name] = _Trip(trip["ts"], trip["reason"])
        return board
