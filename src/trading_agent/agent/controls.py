"""What people steer at run time: pause, resume, the risk mode and risk parameters, alerts, the emergency stop.

The controls are journaled (``AgentControlled``) and this fold rebuilds them from the journal, so a
restarted agent is still paused, still in the mode it was put in, with the same overrides. Modes
are the blueprint's conservative / moderate / aggressive: each sets the sizing and the minimum
confidence of new entries (``risk.modes.ModeRules``); no mode means the trading rules as loaded.
``RiskOverrides`` change single values of that on top of the mode (a mode switch clears them: a
mode is a preset). ``AlertPreferences`` say what the agent announces to people (the Telegram bot
reads them); they change nothing the agent decides.

The engine's limits and circuit breakers (daily loss, drawdown, losing streak, ...) are not run-time
controls: the breakers' state is derived from them, so they change in ``trading_rules.yaml`` with a
restart.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal
from typing import Any, Self

from trading_agent.domain import AgentCommand, AgentControlled, Event
from trading_agent.domain.trading import SizingMethod
from trading_agent.risk.errors import RiskError
from trading_agent.risk.sizing import SizingRules

__all__ = ["AgentControls", "AlertPreferences", "RiskOverrides"]


def _from_json(cls: type[Any], text: str | None) -> Any:
    """An instance of the dataclass ``cls`` from its JSON (``RiskError`` naming an unknown or bad field)."""
    values = json.loads(text) if text else {}
    if not isinstance(values, dict):
        raise RiskError(f"{cls.__name__} must be a JSON object, got {text!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise RiskError(f"unknown {cls.__name__} field(s) {', '.join(unknown)}: choose from {', '.join(sorted(known))}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # a value of the wrong type or outside its enum
        raise RiskError(f"bad {cls.__name__} {values}: {exc}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskOverrides:
    """Run-time changes to the sizing and the minimum confidence of new entries (None keeps the value)."""

    method: SizingMethod | None = None
    risk_per_trade: float | None = None
    kelly_fraction: float | None = None
    max_position_size: Decimal | None = None
    min_confidence: float | None = None

    def __post_init__(self) -> None:
        if self.method is not None:
            object.__setattr__(self, "method", SizingMethod(self.method))
        if self.max_position_size is not None:
            object.__setattr__(self, "max_position_size", Decimal(str(self.max_position_size)))
        confidence = self.min_confidence
        if confidence is not None and not (isinstance(confidence, int | float) and 0 <= confidence <= 1):
            raise RiskError(f"min_confidence must be in [0, 1], got {confidence}")

    @property
    def empty(self) -> bool:
        """Whether nothing is overridden."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def changes(self) -> dict[str, Any]:
        """The overridden values only."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def merged(self, other: RiskOverrides) -> RiskOverrides:
        """These overrides with ``other``'s values on top."""
        return replace(self, **other.changes())

    def apply(self, sizing: SizingRules, min_confidence: float) -> tuple[SizingRules, float]:
        """``sizing`` and ``min_confidence`` with the overrides (``RiskError`` when the result is invalid)."""
        sizing_changes = {k: v for k, v in self.changes().items() if k != "min_confidence"}
        chosen = replace(sizing, **sizing_changes) if sizing_changes else sizing
        return chosen, min_confidence if self.min_confidence is None else self.min_confidence

    def to_json(self) -> str:
        """The overridden values as JSON (what the journal stores)."""
        return json.dumps({k: str(v) if isinstance(v, Decimal) else v for k, v in self.changes().items()})

    @classmethod
    def from_json(cls, text: str | None) -> Self:
        """The overrides of ``to_json`` output."""
        overrides: Self = _from_json(cls, text)
        return overrides


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertPreferences:
    """What the agent announces to people: each kind on or off, and the confidence a signal alert needs."""

    trades: bool = True
    signals: bool = False
    breakers: bool = True
    controls: bool = True
    daily_summary: bool = True
    min_signal_confidence: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_signal_confidence <= 1:
            raise RiskError(f"min_signal_confidence must be in [0, 1], got {self.min_signal_confidence}")

    def to_json(self) -> str:
        """Every preference as JSON (what the journal stores)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Self:
        """The preferences of ``to_json`` output."""
        preferences: Self = _from_json(cls, text)
        return preferences


class AgentControls:
    """The fold of ``AgentControlled`` events: paused or not, the mode, the risk overrides, the alerts."""

    def __init__(self) -> None:
        self.paused = False
        self.mode: str | None = None
        self.risk = RiskOverrides()
        self.alerts = AlertPreferences()
        self.reason = ""

    def observe(self, event: Event) -> None:
        """Apply one journaled event (others are ignored)."""
        if not isinstance(event, AgentControlled):
            return
        match event.command:
            case AgentCommand.PAUSE | AgentCommand.EMERGENCY_STOP:
                self.paused = True
            case AgentCommand.RESUME:
                self.paused = False
            case AgentCommand.SET_MODE:
                self.mode = event.value
                self.risk = RiskOverrides()
            case AgentCommand.SET_RISK:
                self.risk = RiskOverrides.from_json(event.value)
            case AgentCommand.SET_ALERTS:
                self.alerts = AlertPreferences.from_json(event.value)
        self.reason = event.reason
