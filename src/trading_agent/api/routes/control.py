"""Control: pause, resume, emergency stop, risk mode, risk parameters, alert preferences (all journaled)."""

from __future__ import annotations

from fastapi import APIRouter

from trading_agent.api.routes import V1
from trading_agent.api.schemas import AlertsRequest, ControlRequest, ModeRequest, RiskRequest
from trading_agent.services.agent_views import AlertPreferences, ControlResult, RiskParameters
from trading_agent.services.interfaces import Services

__all__ = ["router"]


def router(services: Services) -> APIRouter:
    """The control routes."""
    agents = services.agents
    routes = APIRouter(prefix=f"{V1}/control", tags=["control"])

    @routes.post("/pause")
    async def pause(body: ControlRequest | None = None) -> ControlResult:
        """No new entries; positions, stops and targets kept."""
        return agents.control("pause", reason=body.reason if body else "")

    @routes.post("/resume")
    async def resume(body: ControlRequest | None = None) -> ControlResult:
        """Entries again (also after an emergency stop)."""
        return agents.control("resume", reason=body.reason if body else "")

    @routes.post("/emergency_stop")
    async def emergency_stop(body: ControlRequest | None = None) -> ControlResult:
        """Close every position at the next open, cancel entries, stop entries until resume."""
        return agents.control("emergency_stop", reason=body.reason if body else "")

    @routes.post("/mode")
    async def set_mode(body: ModeRequest) -> ControlResult:
        """Switch the risk mode (sizing and minimum confidence of new entries; clears the risk overrides)."""
        return agents.control("mode", mode=body.mode, reason=body.reason)

    @routes.get("/risk")
    async def risk_parameters() -> RiskParameters:
        """The sizing and minimum confidence of new entries in force, the overrides, the engine's limits."""
        return agents.risk_parameters()

    @routes.post("/risk")
    async def set_risk(body: RiskRequest) -> RiskParameters:
        """Override sizing values or the minimum confidence of new entries (merged into those in force)."""
        changes = body.model_dump(exclude={"reason"}, exclude_none=True)
        return agents.set_risk(changes, body.reason)

    @routes.get("/alerts")
    async def alerts() -> AlertPreferences:
        """What the agent announces to people."""
        return agents.alerts()

    @routes.put("/alerts")
    async def set_alerts(body: AlertsRequest) -> AlertPreferences:
        """Replace the alert preferences."""
        return agents.set_alerts(AlertPreferences(**body.model_dump(exclude={"reason"})), body.reason)

    return routes
