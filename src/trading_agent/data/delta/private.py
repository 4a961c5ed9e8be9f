"""Signed (private) REST client for Delta Exchange India, for a later testnet mode.

ccxt signs every request (see ``transport.py``); the endpoint calls and the parsing are hand-written
(``account.py``). Paper trading is the product: ``create_order`` and ``cancel_order`` refuse to run
unless the settings name the India testnet AND the REST host is not a production host, so no real
order can ever leave this client. Reading (balances, positions, orders, fills) works everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from trading_agent.config import DeltaEnvironment, DeltaSettings
from trading_agent.data.delta.account import (
    DeltaBalance,
    DeltaFill,
    DeltaOrder,
    DeltaPosition,
    parse_balance,
    parse_fill,
    parse_order,
    parse_position,
)
from trading_agent.data.delta.errors import LiveOrderRefusedError
from trading_agent.data.delta.transport import DeltaClient, DeltaTransport, RetryPolicy
from trading_agent.domain import Side

__all__ = ["PRODUCTION_HOSTS", "DeltaPrivateClient"]

PRODUCTION_HOSTS = frozenset({"api.india.delta.exchange", "api.delta.exchange"})
"""REST hosts where orders are real money: orders are refused there whatever the environment says."""

_MAX_CLIENT_ORDER_ID = 32
_FILLS_PAGE_SIZE = 50  # Delta's maximum for /v2/fills since 28 Jan 2026


class DeltaPrivateClient(DeltaClient):
    """Account data and (testnet-only) orders. Needs ``api_key`` and ``api_secret`` in the settings."""

    def __init__(self, settings: DeltaSettings, *, retry: RetryPolicy | None = None) -> None:
        self._settings = settings
        self._transport = DeltaTransport(settings, signed=True, retry=retry)

    async def fetch_balances(self) -> list[DeltaBalance]:
        """Every wallet asset."""
        rows, _ = await self._transport.get_list("wallet/balances", signed=True)
        return [parse_balance(row) for row in rows]

    async def fetch_positions(self) -> list[DeltaPosition]:
        """Every open position, with margin and liquidation price (may lag up to 10 s)."""
        rows, _ = await self._transport.get_list("positions/margined", signed=True)
        return [parse_position(row) for row in rows]

    async def fetch_open_orders(self, product_ids: Iterable[int] = ()) -> list[DeltaOrder]:
        """Open and pending orders, optionally of some products only (all pages)."""
        params = _csv_filter("product_ids", product_ids)
        rows = await self._transport.get_all("orders", params, signed=True)
        return [parse_order(row) for row in rows]

    async def fetch_fills(
        self, start_ms: int | None = None, end_ms: int | None = None, product_ids: Iterable[int] = ()
    ) -> list[DeltaFill]:
        """Fills between ``start_ms`` and ``end_ms`` (epoch ms; Delta takes µs), all pages."""
        params = _csv_filter("product_ids", product_ids)
        if start_ms is not None:
            params["start_time"] = start_ms * 1000
        if end_ms is not None:
            params["end_time"] = end_ms * 1000
        rows = await self._transport.get_all("fills", params, signed=True, page_size=_FILLS_PAGE_SIZE)
        return [parse_fill(row) for row in rows]

    async def create_order(
        self,
        product_symbol: str,
        side: Side,
        size: int,
        *,
        limit_price: Decimal | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        client_order_id: str | None = None,
    ) -> DeltaOrder:
        """Place a limit order (``limit_price`` given) or a market order, ON THE INDIA TESTNET ONLY.

        Raises ``LiveOrderRefusedError`` anywhere else. ``size`` is whole contracts. Never retried:
        after a timeout, look the order up by ``client_order_id`` before sending it again.
        """
        self._require_testnet("create an order")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a whole number of contracts >= 1, got {size!r}")
        if limit_price is not None and limit_price <= 0:
            raise ValueError(f"limit_price must be positive, got {limit_price}")
        if client_order_id is not None and not 0 < len(client_order_id) <= _MAX_CLIENT_ORDER_ID:
            raise ValueError(f"client_order_id must have 1 to {_MAX_CLIENT_ORDER_ID} characters")
        body: dict[str, Any] = {
            "product_symbol": product_symbol,
            "size": size,
            "side": Side(side).value,
            "order_type": "market_order" if limit_price is None else "limit_order",
            "reduce_only": reduce_only,
            "post_only": post_only,
        }
        if limit_price is not None:
            body["limit_price"] = str(limit_price)
        if client_order_id is not None:
            body["client_order_id"] = client_order_id
        reply = await self._transport.send("POST", "orders", body)
        return parse_order(reply.result)

    async def cancel_order(self, order_id: int, product_id: int) -> DeltaOrder:
        """Cancel an open order, ON THE INDIA TESTNET ONLY (``LiveOrderRefusedError`` elsewhere)."""
        self._require_testnet("cancel an order")
        reply = await self._transport.send("DELETE", "orders", {"id": order_id, "product_id": product_id})
        return parse_order(reply.result)

    def _require_testnet(self, action: str) -> None:
        environment = self._settings.environment
        if environment is not DeltaEnvironment.INDIA_TESTNET:
            raise LiveOrderRefusedError(
                f"refusing to {action} in Delta environment {environment.value}: "
                "orders go to the India testnet only (paper trading is the product)"
            )
        hostname = (urlsplit(self._settings.resolved_rest_url).hostname or "").lower()
        if hostname in PRODUCTION_HOSTS:
            raise LiveOrderRefusedError(
                f"refusing to {action} on {hostname}: a production host, although the environment says testnet"
            )


def _csv_filter(name: str, ids: Iterable[int]) -> dict[str, Any]:
    values = ",".join(str(int(i)) for i in ids)
    return {name: values} if values else {}
