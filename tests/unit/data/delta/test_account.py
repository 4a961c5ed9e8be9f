"""Account records from the private endpoints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trading_agent.data.delta.account import parse_balance, parse_fill, parse_order, parse_position
from trading_agent.data.errors import ExchangeError
from trading_agent.domain import Side


def test_position_size_is_signed_and_money_is_decimal() -> None:
    position = parse_position(
        {"product_id": 27, "product_symbol": "BTCUSD", "size": -3, "entry_price": "60000.5", "margin": "9"}
    )
    assert position.size == -3
    assert position.entry_price == Decimal("60000.5")
    assert position.liquidation_price is None and position.realized_pnl == 0


def order(**changes: Any) -> dict[str, Any]:
    return {
        "id": 11,
        "product_id": 27,
        "product_symbol": "BTCUSD",
        "side": "sell",
        "size": 5,
        "unfilled_size": 2,
        "order_type": "limit_order",
        "limit_price": "61000",
        "state": "open",
        "client_order_id": None,
    } | changes


def test_order() -> None:
    parsed = parse_order(order())
    assert parsed.side is Side.SELL and parsed.unfilled_size == 2 and parsed.limit_price == Decimal(61000)
    assert parsed.client_order_id is None


def test_bad_side() -> None:
    with pytest.raises(ExchangeError, match="order 11: field 'side' must be buy or sell"):
        parse_order(order(side="long"))


def test_fill_time_and_rebate() -> None:
    fill = parse_fill(
        {
            "id": 1,
            "order_id": "11",
            "product_symbol": "BTCUSD",
            "side": "buy",
            "size": 1,
            "price": "60000",
            "role": "maker",
            "commission": "-0.0012",
            "created_at": "1700000000123456",
        }
    )
    assert fill.commission == Decimal("-0.0012") and fill.ts == 1_700_000_000_123 and fill.order_id == 11
    assert fill.fill_type == "normal"


def test_balance() -> None:
    balance = parse_balance({"asset_symbol": "USD", "balance": "10.5", "available_balance": 7})
    assert (balance.balance, balance.available_balance) == (Decimal("10.5"), Decimal(7))
