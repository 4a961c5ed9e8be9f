"""What people steer at run time: pause, resume, the risk mode, the emergency stop.

The controls are journaled (``AgentControlled``) and this fold rebuilds them from the journal, so a
restarted agent is still paused, still in the mode it was put in. Modes are the blueprint's
conservative / moderate / aggressive: each sets the sizing and the minimum confidence of new
entries (``risk.modes.ModeRules``); no mode means the trading rules as loaded.
"""

from __future__ import annotations

from trading_agent.domain import AgentCommand, AgentControlled, Event

__all__ = ["AgentControls"]


class AgentControls:
    """The fold of ``AgentControlled`` events: paused or not, and the mode."""

    def __init__(self) -> None:
        self.paused = False
        self.mode: str | None = None
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
        self.reason = event.reason
