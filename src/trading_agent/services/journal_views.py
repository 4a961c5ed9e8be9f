"""The journal's records as the interfaces show them: typed, so the OpenAPI document names every field.

Money and prices are exact decimal strings (``"10001.82"``); times are epoch milliseconds with an
ISO-8601 UTC twin. The fields are those of ``TradeRecord.to_dict`` and ``SignalRecord.to_dict``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from trading_agent.services.journal_queries import SignalRecord, TradeRecord

__all__ = ["SignalLogEntry", "TradeLogEntry"]


class TradeLogEntry(BaseModel):
    """A closed round trip: the blueprint's trade-log fields (``pnl`` net of fees and funding)."""

    session: str
    event_id: str
    trade_id: str
    exchange: str
    symbol: str
    side: str
    contracts: int
    entry_price: str
    exit_price: str
    pnl: str
    pnl_percent: str
    fees: str
    funding: str
    ts_opened: int
    ts_opened_iso: str
    ts_closed: int
    ts_closed_iso: str
    holding_period_s: float
    exit_reason: str
    event_type: Literal["closed", "liquidated"]
    signal_confidence: float | None
    model_predictions: dict[str, Any]
    market_conditions: dict[str, Any]

    @classmethod
    def of(cls, record: TradeRecord) -> TradeLogEntry:
        """The entry of ``record``."""
        return cls.model_validate(record.to_dict())


class SignalLogEntry(BaseModel):
    """A generated signal with every model's vote; ``filtered_by`` names the filters that refused it."""

    session: str
    event_id: str
    exchange: str
    symbol: str
    ts: int
    ts_iso: str
    direction: str
    strength: float
    confidence: float
    model_votes: dict[str, float]
    regime: str | None
    anomaly: bool
    status: Literal["generated", "filtered"]
    filtered_by: list[str]

    @classmethod
    def of(cls, record: SignalRecord) -> SignalLogEntry:
        """The entry of ``record``."""
        return cls.model_validate(record.to_dict())
