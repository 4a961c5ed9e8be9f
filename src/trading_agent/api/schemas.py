"""The API's request bodies and its health answer (responses are the services' own models).

Validation as the blueprint asks: a symbol of letters, digits and dashes (the service then checks
it is the one the agent trades), side ``buy`` or ``sell``, sizes within bounds, short reasons.
A body the schema refuses is a 422 naming each field, and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "GUARDED_ERRORS",
    "AlertsRequest",
    "ControlRequest",
    "ErrorDetail",
    "Health",
    "ModeRequest",
    "PredictRequest",
    "RiskRequest",
    "SymbolField",
    "TradeRequest",
]

SymbolField = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,32}$", examples=["BTCUSD"])]


def _json_number(value: object) -> object:
    """Only a JSON number may be a count (``198`` or ``198.0``, as JSON Schema's integer; not ``"198"``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return value


Contracts = Annotated[int, BeforeValidator(_json_number), Field(strict=False)]
Reason = Annotated[str, Field(default="", max_length=200, description="why (journaled with the control)")]


class _Strict(BaseModel):
    """No unknown fields and no coercion (``0`` is not ``false``, ``"1"`` not ``1``): what the document says."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorDetail(BaseModel):
    """Why a request was refused, in words."""

    detail: str


GUARDED_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorDetail, "description": "A valid request the service refuses (the reason in words)"},
    401: {"model": ErrorDetail, "description": "No bearer token, or a wrong one"},
    404: {"model": ErrorDetail, "description": "No such job in this process"},
    409: {"model": ErrorDetail, "description": "The job is past the state the request needs (it already runs)"},
    429: {"model": ErrorDetail, "description": "Over the client's rate limit (see Retry-After)"},
    503: {"model": ErrorDetail, "description": "The route needs the agent, which does not run in this process"},
}
"""What any guarded route may answer besides its own response and 422."""


class Health(BaseModel):
    """Whether the process serves, and what it has: the journal, Redis, the agent, its feed and its models."""

    status: Literal["ok", "degraded"]
    version: str
    session: str
    agent: Literal["running", "absent"]
    price: Literal["fresh", "stale", "none"]
    checks: dict[str, str]


class ModeRequest(_Strict):
    """The risk mode to switch to."""

    mode: Literal["conservative", "moderate", "aggressive"]
    reason: Reason = ""


class TradeRequest(_Strict):
    """A manual paper order: market, filled at the next candle's open, through the risk manager."""

    symbol: SymbolField
    side: Literal["buy", "sell"]
    size: Contracts = Field(ge=1, le=100_000, description="contracts")
    reduce_only: bool = False


class PredictRequest(_Strict):
    """Which symbol to predict (default: the one the agent trades)."""

    symbol: SymbolField | None = None


class ControlRequest(_Strict):
    """Why (journaled with the control)."""

    reason: Reason = ""


class RiskRequest(_Strict):
    """Values to override for new entries (each optional; merged into the overrides in force)."""

    method: Literal["kelly_criterion", "fixed_fractional", "volatility_adjusted"] | None = None
    risk_per_trade: float | None = Field(default=None, ge=0.01, le=0.10, description="fixed fractional: 1-10%")
    kelly_fraction: float | None = Field(default=None, gt=0, le=1)
    max_position_size: float | None = Field(default=None, gt=0, le=10_000_000, description="USD")
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    reason: Reason = ""


class AlertsRequest(_Strict):
    """What the agent announces to people (every field; the whole set is replaced)."""

    trades: bool = True
    signals: bool = False
    breakers: bool = True
    controls: bool = True
    daily_summary: bool = True
    min_signal_confidence: float = Field(default=0.0, ge=0, le=1)
    reason: Reason = ""
