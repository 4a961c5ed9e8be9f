"""Records of a Delta account (balances, positions, orders, fills), parsed by hand from the private endpoints.

Money is ``Decimal``; sizes are whole contracts (a position's size is signed: + long, - short);
times are epoch ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trading_agent.data.delta.fields import Record
from trading_agent.domain import Side

__all__ = [
    "DeltaBalance",
    "DeltaFill",
    "DeltaOrder",
    "DeltaPosition",
    "parse_balance",
    "parse_fill",
    "parse_order",
    "parse_position",
]


@dataclass(frozen=True, slots=True)
class DeltaBalance:
    """One wallet asset (``/v2/wallet/balances``)."""

    asset_symbol: str
    balance: Decimal
    available_balance: Decimal


@dataclass(frozen=True, slots=True)
class DeltaPosition:
    """One open position (``/v2/positions/margined``); ``size`` is signed contracts."""

    product_id: int
    product_symbol: str
    size: int
    entry_price: Decimal | None
    margin: Decimal
    liquidation_price: Decimal | None
    realized_pnl: Decimal
    realized_funding: Decimal


@dataclass(frozen=True, slots=True)
class DeltaOrder:
    """An order as Delta reports it; ``state`` is open | pending | closed | cancelled."""

    id: int
    product_id: int
    product_symbol: str
    side: Side
    size: int
    unfilled_size: int
    order_type: str
    limit_price: Decimal | None
    state: str
    client_order_id: str | None


@dataclass(frozen=True, slots=True)
class DeltaFill:
    """One execution (``/v2/fills``); a negative ``commission`` is a rebate."""

    id: int
    order_id: int
    product_symbol: str
    side: Side
    size: int
    price: Decimal
    role: str
    commission: Decimal
    fill_type: str
    ts: int


def _side(record: Record) -> Side:
    text = record.text("side")
    try:
        return Side(text)
    except ValueError:
        raise record.fail("side", "must be buy or sell") from None


def parse_balance(raw: Any) -> DeltaBalance:
    """A wallet balance from its JSON object."""
    record = Record.named(raw, "balance", "asset_symbol")
    return DeltaBalance(
        asset_symbol=record.text("asset_symbol"),
        balance=record.decimal("balance"),
        available_balance=record.decimal("available_balance"),
    )


def parse_position(raw: Any) -> DeltaPosition:
    """A margined position from its JSON object."""
    record = Record.named(raw, "position", "product_symbol")
    return DeltaPosition(
        product_id=record.integer("product_id"),
        product_symbol=record.text("product_symbol"),
        size=record.integer("size"),
        entry_price=record.optional_decimal("entry_price"),
        margin=record.optional_decimal("margin") or Decimal(0),
        liquidation_price=record.optional_decimal("liquidation_price"),
        realized_pnl=record.optional_decimal("realized_pnl") or Decimal(0),
        realized_funding=record.optional_decimal("realized_funding") or Decimal(0),
    )


def parse_order(raw: Any) -> DeltaOrder:
    """An order from its JSON object."""
    record = Record.named(raw, "order", "id")
    return DeltaOrder(
        id=record.integer("id"),
        product_id=record.integer("product_id"),
        product_symbol=record.text("product_symbol"),
        side=_side(record),
        size=record.integer("size"),
        unfilled_size=record.integer("unfilled_size"),
        order_type=record.text("order_type"),
        limit_price=record.optional_decimal("limit_price"),
        state=record.text("state"),
        client_order_id=record.optional_text("client_order_id"),
    )


def parse_fill(raw: Any) -> DeltaFill:
    """A fill from its JSON object."""
    record = Record.named(raw, "fill", "id")
    return DeltaFill(
        id=record.integer("id"),
        order_id=record.integer("order_id"),
        product_symbol=record.text("product_symbol"),
        side=_side(record),
        size=record.integer("size"),
        price=record.decimal("price"),
        role=record.text("role"),
        commission=record.decimal("commission"),
        fill_type=record.optional_text("fill_type") or "normal",
        ts=record.time_ms("created_at"),
    )
