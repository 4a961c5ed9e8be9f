"""A local fake of Delta Exchange India speaking its documented REST and WebSocket protocol on 127.0.0.1.

What it serves (see /work/shared/DELTA_EXCHANGE.md): ``/v2/products`` (cursor pages),
``/v2/products/{symbol}``, ``/v2/tickers/{symbol}``, ``/v2/history/candles`` (at most 2000 candles
per answer, the most recent ones when a range is longer, newest first), signed private endpoints
(HMAC-SHA256 over ``METHOD + TIMESTAMP + PATH + ?QUERY + BODY``, 5 s window, both documented error
shapes) and a WebSocket (``enable_heartbeat``, ``subscribe``, ``candlestick_<res>`` updates in the
new compact or the legacy format, heartbeats).

Market data is a deterministic random walk per (symbol, timeframe), bars from ``ORIGIN_MS``. The
fake keeps a market clock: candle ``live_index`` of the live timeframe is in progress and receives
``updates_per_candle`` updates (the last one is its final value) before the next candle opens.
REST serves only what exists at that clock: closed candles, plus the in-progress one as it stands.

Failure injection: ``rate_limit_next``, ``fail_next``, ``malformed_next``, ``delay_next`` (REST);
``stall_connections``, ``drop_connections`` and ``garbage_next`` (WebSocket: text that is not JSON,
JSON that is not an object, a candle with a non-numeric price, a candle from the past). Every REST
request is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from aiohttp import WSMsgType, web

from trading_agent.config import DeltaEnvironment, DeltaSettings
from trading_agent.domain import Candle, Timeframe

__all__ = [
    "API_KEY",
    "API_SECRET",
    "MAX_CANDLES",
    "ORIGIN_MS",
    "FakeDelta",
    "Garbage",
    "RecordedRequest",
    "prehash",
    "random_walk",
    "sign",
]

API_KEY = "fake-api-key"
API_SECRET = "fake-api-secret"
MAX_CANDLES = 2000
ORIGIN_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
SIGNATURE_WINDOW_S = 5
_PRIVATE_PREFIXES = ("/v2/wallet", "/v2/positions", "/v2/orders", "/v2/fills")
_RESOLUTIONS = {tf.value: tf for tf in Timeframe if tf is not Timeframe.D3}

Garbage = Literal["not_json", "not_object", "bad_price", "past_candle"]
"""What ``FakeDelta.garbage_next`` sends: see there."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Injected = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def prehash(method: str, timestamp: str, path: str, query: str, body: str) -> str:
    """Delta's signature payload: ``METHOD + TIMESTAMP + PATH + ?QUERY + BODY`` (``?`` only with a query)."""
    return method + timestamp + path + (f"?{query}" if query else "") + body


def sign(secret: str, message: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``message`` keyed with ``secret``."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def random_walk(symbol: str, timeframe: Timeframe, count: int, seed: int) -> list[Candle]:
    """``count`` deterministic candles from ``ORIGIN_MS``, prices on a 0.5 tick."""
    rng = np.random.default_rng([seed, zlib.crc32(f"{symbol}/{timeframe}".encode())])
    closes = np.round(2 * 50_000 * np.exp(np.cumsum(rng.normal(0, 0.002, count)))) / 2
    opens = np.concatenate(([50_000.0], closes[:-1]))
    wicks = np.round(2 * np.abs(rng.normal(0, 20, (2, count)))) / 2
    highs = np.maximum(opens, closes) + wicks[0]
    lows = np.minimum(opens, closes) - wicks[1]
    volumes = np.round(rng.uniform(1, 500, count))
    return [
        Candle(ORIGIN_MS + i * timeframe.ms, *map(float, row))
        for i, row in enumerate(zip(opens, highs, lows, closes, volumes, strict=True))
    ]


def _partial(candle: Candle, fraction: float) -> Candle:
    """The candle as it stood ``fraction`` of the way through (1.0: final)."""
    if fraction >= 1:
        return candle
    close = round(2 * (candle.open + (candle.close - candle.open) * fraction)) / 2
    return Candle(
        candle.ts, candle.open, max(candle.open, close), min(candle.open, close), close, round(candle.volume * fraction)
    )


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request as the fake received it."""

    method: str
    path: str
    query: Mapping[str, str]
    raw_query: str
    headers: Mapping[str, str]
    body: str


@dataclass(eq=False)
class _Client:
    ws: web.WebSocketResponse
    symbols: set[str] = field(default_factory=set)
    heartbeat: bool = False
    stalled: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: Mapping[str, Any] | str) -> None:
        """Send ``message`` as JSON (a str as it is)."""
        if self.stalled or self.ws.closed:
            return
        async with self.lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))


def _ok(result: Any, after: str | None = None) -> web.Response:
    return web.json_response({"success": True, "result": result, "meta": {"after": after, "before": None}})


def _error(status: int, code: str, context: Mapping[str, Any] | None = None) -> web.Response:
    error: dict[str, Any] = {"code": code}
    if context:
        error["context"] = dict(context)
    return web.json_response({"success": False, "error": error}, status=status)


def _product(pid: int, symbol: str, contract_value: str, tick: str, contract_type: str = "perpetual_futures") -> dict:
    usd = {"id": 14, "symbol": "USD", "precision": 8}
    return {
        "id": pid,
        "symbol": symbol,
        "description": f"{symbol} perpetual, quoted, settled & margined in INR",
        "contract_type": contract_type,
        "notional_type": "vanilla",
        "contract_value": contract_value,
        "contract_unit_currency": symbol[:3],
        "tick_size": tick,
        "initial_margin": "0.5",
        "maintenance_margin": "0.25",
        "max_leverage_notional": "100000",
        "initial_margin_scaling_factor": "0.0000025",
        "maintenance_margin_scaling_factor": "0.00000125",
        "default_leverage": "200",
        "taker_commission_rate": "0.0005",
        "maker_commission_rate": "0.0002",
        "position_size_limit": 229167,
        "price_band": "2.5",
        "state": "live",
        "trading_status": "operational",
        "underlying_asset": {"id": 13, "symbol": symbol[:3], "precision": 8},
        "quoting_asset": usd,
        "settling_asset": usd,
    }


class FakeDelta:
    """The fake exchange. ``async with FakeDelta() as fake:`` then point ``fake.settings()`` at it."""

    def __init__(
        self,
        *,
        seed: int = 7,
        bars: int = 10_000,
        live_timeframe: Timeframe = Timeframe.M1,
        live_index: int = 9_000,
        updates_per_candle: int = 3,
        ws_format: str = "compact",
        heartbeat_interval_s: float = 0.05,
    ) -> None:
        self.seed = seed
        self.bars = bars
        self.live_timeframe = live_timeframe
        self.live_index = live_index
        self.live_update = 0
        self.updates_per_candle = updates_per_candle
        self.ws_format = ws_format
        self.heartbeat_interval_s = heartbeat_interval_s
        self.max_page_size = 100
        self.clock_skew_s = 0.0
        self.requests: list[RecordedRequest] = []
        self.ws_connections = 0
        self.products = [
            _product(27, "BTCUSD", "0.001", "0.5"),
            _product(3136, "ETHUSD", "0.01", "0.05"),
            _product(9001, "BTC_31Dec", "0.001", "0.5", contract_type="futures"),
        ]
        self.orders: dict[int, dict[str, Any]] = {}
        self.fills: list[dict[str, Any]] = []
        self._series: dict[tuple[str, Timeframe], list[Candle]] = {}
        self._injected: deque[Injected] = deque()
        self._garbage: deque[Garbage] = deque()
        self._clients: set[_Client] = set()
        self._refuse_until = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> FakeDelta:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/v2/products", self._products)
        app.router.add_get("/v2/products/{symbol}", self._product_by_symbol)
        app.router.add_get("/v2/tickers/{symbol}", self._ticker)
        app.router.add_get("/v2/history/candles", self._candles)
        app.router.add_get("/v2/wallet/balances", self._balances)
        app.router.add_get("/v2/positions/margined", self._positions)
        app.router.add_get("/v2/orders", self._open_orders)
        app.router.add_post("/v2/orders", self._create_order)
        app.router.add_delete("/v2/orders", self._cancel_order)
        app.router.add_get("/v2/fills", self._fills)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for client in list(self._clients):
            await client.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rest_url(self) -> str:
        """REST base without ``/v2``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """WebSocket URL."""
        return f"ws://127.0.0.1:{self.port}/ws"

    def settings(self, *, signed: bool = False, **overrides: Any) -> DeltaSettings:
        """Settings pointing at this fake (India testnet, 2 s timeout); ``signed`` adds the fake's key."""
        values: dict[str, Any] = {
            "environment": DeltaEnvironment.INDIA_TESTNET,
            "rest_url": self.rest_url,
            "ws_url": self.ws_url,
            "timeout_s": 2.0,
        }
        if signed:
            values |= {"api_key": API_KEY, "api_secret": API_SECRET}
        return DeltaSettings(**(values | overrides))

    def series(self, symbol: str, timeframe: Timeframe) -> list[Candle]:
        """The full deterministic series (final values) of ``symbol`` at ``timeframe``."""
        key = (symbol, timeframe)
        if key not in self._series:
            self._series[key] = random_walk(symbol, timeframe, self.bars, self.seed)
        return self._series[key]

    def now_ms(self) -> int:
        """The market clock: inside the in-progress candle, after its ``live_update`` updates."""
        tf_ms = self.live_timeframe.ms
        return ORIGIN_MS + self.live_index * tf_ms + self.live_update * tf_ms // (self.updates_per_candle + 1)

    def current_candle(self, symbol: str) -> Candle | None:
        """The in-progress live candle as it stands (None before its first update)."""
        if self.live_update == 0:
            return None
        final = self.series(symbol, self.live_timeframe)[self.live_index]
        return _partial(final, self.live_update / self.updates_per_candle)

    def _available(self, symbol: str, timeframe: Timeframe) -> list[Candle]:
        now = self.now_ms()
        candles = [c for c in self.series(symbol, timeframe) if c.close_time(timeframe) <= now]
        if timeframe is self.live_timeframe and (current := self.current_candle(symbol)) is not None:
            candles.append(current)
        return candles

    async def advance(self, updates: int = 1) -> None:
        """Move the market on by ``updates`` candle updates, pushing each to the subscribers."""
        for _ in range(updates):
            self.live_update += 1
            if self.live_update > self.updates_per_candle:
                self.live_index += 1
                self.live_update = 1
            if self.live_index >= self.bars:
                raise RuntimeError("the fake market ran out of bars")
            garbage = list(self._garbage)
            self._garbage.clear()
            for client in list(self._clients):
                for symbol in sorted(client.symbols):
                    for kind in garbage:
                        await client.send(self._garbage_message(kind, symbol))
                    await client.send(self._candle_message(symbol))

    def run_market(self, interval_s: float) -> None:
        """Advance the market by one update every ``interval_s`` in the background."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                await self.advance()

        task = asyncio.create_task(loop())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_for_subscribers(self, count: int = 1, timeout_s: float = 5.0) -> None:
        """Wait until ``count`` WebSocket connections have subscribed to the live candles."""
        async with asyncio.timeout(timeout_s):
            while sum(1 for client in self._clients if client.symbols) < count:
                await asyncio.sleep(0.005)

    def _candle_message(self, symbol: str, candle: Candle | None = None) -> dict[str, Any]:
        """The update of ``candle`` (default: the one in progress, now; else at its last millisecond)."""
        now_us = self.now_ms() * 1000
        if candle is None:
            candle = self.current_candle(symbol)
            if candle is None:
                raise RuntimeError("no candle is in progress yet")
        else:
            now_us = (candle.close_time(self.live_timeframe) - 1) * 1000
        resolution = self.live_timeframe.value
        channel = f"candlestick_{resolution}"
        if self.ws_format == "legacy":
            legacy = {
                "type": channel,
                "symbol": symbol,
                "resolution": resolution,
                "candle_start_time": candle.ts * 1000,
            }
            legacy |= {name: getattr(candle, name) for name in ("open", "high", "low", "close", "volume")}
            return legacy | {"timestamp": now_us}
        message = {"type": channel, "sy": symbol, "res": resolution, "o": candle.open, "h": candle.high}
        message |= {"l": candle.low, "c": candle.close, "ts": now_us}
        if not symbol.startswith("MARK:"):
            message["v"] = candle.volume
        return message

    def garbage_next(self, *kinds: Garbage) -> None:
        """Send one frame of each of ``kinds`` per subscribed symbol just before the next update.

        ``not_json``: text that does not parse; ``not_object``: a JSON array; ``bad_price``: the
        coming update with a non-numeric close; ``past_candle``: the final values of the candle
        three before the coming one (older than any the feed has emitted by then).
        """
        self._garbage.extend(kinds)

    def _garbage_message(self, kind: Garbage, symbol: str) -> Mapping[str, Any] | str:
        if kind == "not_json":
            return '{"type": "candlestick_'
        if kind == "not_object":
            return json.dumps([self._candle_message(symbol)])
        if kind == "bad_price":
            message = dict(self._candle_message(symbol))
            message["c" if self.ws_format == "compact" else "close"] = "not-a-number"
            return message
        past = self.series(symbol, self.live_timeframe)[self.live_index - 3]
        return self._candle_message(symbol, past)

    def rate_limit_next(self, times: int, reset_ms: int | None = 200) -> None:
        """Answer the next ``times`` REST calls with 429 and ``X-RATE-LIMIT-RESET: reset_ms``."""
        headers = {} if reset_ms is None else {"X-RATE-LIMIT-RESET": str(reset_ms)}
        self.fail_next(429, {"success": False, "error": {"code": "rate_limit_exceeded"}}, times, headers)

    def fail_next(
        self, status: int, body: Any = None, times: int = 1, headers: Mapping[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` REST calls with ``status`` and a JSON ``body`` (text if a str)."""

        async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
            if isinstance(body, str):
                return web.Response(status=status, text=body, headers=headers)
            return web.json_response(body, status=status, headers=headers)

        self._injected.extend([answer] * times)

    def malformed_next(self) -> None:
        """Answer the next REST call with a 200 whose JSON body is cut short."""

        async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
            return web.Response(text='{"success": true, "resu', content_type="application/json")

        self._injected.append(answer)

    def delay_next(self, seconds: float) -> None:
        """Answer the next REST call normally, but only after ``seconds``."""

        async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
            await asyncio.sleep(seconds)
            return await handler(request)

        self._injected.append(answer)

    def stall_connections(self) -> None:
        """Current WebSocket connections stay open but receive nothing more (no data, no heartbeat)."""
        for client in self._clients:
            client.stalled = True

    async def drop_connections(self, refuse_s: float = 0.0) -> None:
        """Close every WebSocket connection and refuse new ones (HTTP 503) for ``refuse_s``."""
        self._refuse_until = time.monotonic() + refuse_s
        await asyncio.gather(*(client.ws.close() for client in list(self._clients)))

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/ws":
            return await handler(request)
        body = await request.text()
        self.requests.append(
            RecordedRequest(
                request.method,
                request.path,
                dict(request.query),
                request.rel_url.raw_query_string,
                dict(request.headers),
                body,
            )
        )
        if self._injected:
            return await self._injected.popleft()(request, handler)
        if request.path.startswith(_PRIVATE_PREFIXES) and (refusal := self._check_signature(request, body)):
            return refusal
        return await handler(request)

    def _check_signature(self, request: web.Request, body: str) -> web.Response | None:
        if not request.headers.get("User-Agent"):
            return web.json_response({"error": "Forbidden", "message": "Request blocked by CDN"}, status=403)
        if request.headers.get("api-key") != API_KEY:
            return _error(401, "invalid_api_key")
        timestamp = request.headers.get("timestamp", "")
        if not timestamp.isdigit() or abs(time.time() + self.clock_skew_s - int(timestamp)) > SIGNATURE_WINDOW_S:
            return web.json_response({"error": "SignatureExpired", "message": "your signature has expired"}, status=401)
        payload = prehash(request.method, timestamp, request.rel_url.raw_path, request.rel_url.raw_query_string, body)
        if not hmac.compare_digest(sign(API_SECRET, payload), request.headers.get("signature", "")):
            return _error(401, "invalid_signature")
        return None

    def _page(self, request: web.Request, items: list[Any]) -> web.Response:
        size = min(int(request.query.get("page_size", "100")), self.max_page_size)
        start = int(request.query.get("after") or 0)
        end = start + size
        return _ok(items[start:end], str(end) if end < len(items) else None)

    async def _products(self, request: web.Request) -> web.Response:
        types = set(request.query.get("contract_types", "").split(",")) - {""}
        states = set(request.query.get("states", "").split(",")) - {""}
        chosen = [
            p
            for p in self.products
            if (not types or p["contract_type"] in types) and (not states or p["state"] in states)
        ]
        return self._page(request, chosen)

    async def _product_by_symbol(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        found = [p for p in self.products if p["symbol"] == symbol]
        return _ok(found[0]) if found else _error(404, "invalid_contract")

    async def _ticker(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        if not any(p["symbol"] == symbol for p in self.products):
            return _error(404, "invalid_contract")
        last = self._available(symbol, self.live_timeframe)[-1]
        return _ok(
            {
                "symbol": symbol,
                "product_id": next(p["id"] for p in self.products if p["symbol"] == symbol),
                "contract_type": "perpetual_futures",
                "timestamp": self.now_ms() * 1000,
                "open": last.open,
                "high": last.high,
                "low": last.low,
                "close": last.close,
                "mark_price": f"{last.close + 0.5}",
                "spot_price": f"{last.close - 1.0}",
                "funding_rate": "0.01",
                "mark_basis": "0.0001",
                "quotes": {"best_bid": f"{last.close - 0.5}", "best_ask": f"{last.close + 0.5}"},
            }
        )

    async def _candles(self, request: web.Request) -> web.Response:
        query = request.query
        missing = [name for name in ("resolution", "symbol", "start", "end") if name not in query]
        if missing or query["resolution"] not in _RESOLUTIONS:
            return _error(400, "bad_schema", {"missing": missing, "resolution": query.get("resolution")})
        timeframe = _RESOLUTIONS[query["resolution"]]
        start_ms, end_ms = int(query["start"]) * 1000, int(query["end"]) * 1000
        chosen = [c for c in self._available(query["symbol"], timeframe) if start_ms <= c.ts <= end_ms]
        rows = [
            {"time": c.ts // 1000, "open": c.open, "high": c.high, "low": c.low, "close": c.close}
            | ({} if query["symbol"].startswith("MARK:") else {"volume": c.volume})
            for c in chosen[-MAX_CANDLES:]
        ]
        return _ok(rows[::-1])

    async def _balances(self, request: web.Request) -> web.Response:
        return _ok([{"asset_id": 14, "asset_symbol": "USD", "balance": "1000.5", "available_balance": "900.25"}])

    async def _positions(self, request: web.Request) -> web.Response:
        position = {"product_id": 27, "product_symbol": "BTCUSD", "size": -3, "entry_price": "60000.5"}
        position |= {"margin": "9.0", "liquidation_price": "79000", "realized_pnl": "1.5", "realized_funding": "-0.2"}
        return _ok([position])

    async def _open_orders(self, request: web.Request) -> web.Response:
        return self._page(request, [o for o in self.orders.values() if o["state"] in ("open", "pending")])

    async def _fills(self, request: web.Request) -> web.Response:
        start = int(request.query.get("start_time", "0"))
        end = int(request.query.get("end_time", str(2**63)))
        return self._page(request, [f for f in self.fills if start <= int(f["created_at"]) <= end])

    async def _create_order(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        product = next((p for p in self.products if p["symbol"] == body.get("product_symbol")), None)
        errors = []
        if product is None:
            errors.append("product_symbol is unknown")
        if not isinstance(body.get("size"), int) or body["size"] < 1:
            errors.append("size must be an integer >= 1")
        if body.get("side") not in ("buy", "sell"):
            errors.append("side must be buy or sell")
        if body.get("order_type") == "limit_order" and not isinstance(body.get("limit_price"), str):
            errors.append("limit_price is required for limit orders")
        if errors or product is None:
            return _error(400, "bad_schema", {"schema_errors": errors})
        order_id = len(self.orders) + 1
        is_limit = body["order_type"] == "limit_order"
        order = {
            "id": order_id,
            "product_id": product["id"],
            "product_symbol": product["symbol"],
            "size": body["size"],
            "unfilled_size": body["size"] if is_limit else 0,
            "side": body["side"],
            "order_type": body["order_type"],
            "limit_price": body.get("limit_price"),
            "state": "open" if is_limit else "closed",
            "client_order_id": body.get("client_order_id"),
            "created_at": str(time.time_ns() // 1000),
        }
        self.orders[order_id] = order
        if not is_limit:
            self.fills.append(self._fill_of(order))
        return _ok(order)

    def _fill_of(self, order: Mapping[str, Any]) -> dict[str, Any]:
        price = self._available(order["product_symbol"], self.live_timeframe)[-1].close
        return {
            "id": len(self.fills) + 1,
            "order_id": order["id"],
            "product_id": order["product_id"],
            "product_symbol": order["product_symbol"],
            "side": order["side"],
            "size": order["size"],
            "price": f"{price}",
            "role": "taker",
            "commission": f"{price * order['size'] * 0.001 * 0.0005:.8f}",
            "fill_type": "normal",
            "created_at": order["created_at"],
            "settling_asset_symbol": "USD",
        }

    async def _cancel_order(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        order = self.orders.get(body.get("id"))
        if order is None or order["state"] != "open" or order["product_id"] != body.get("product_id"):
            return _error(400, "open_order_not_found")
        order["state"] = "cancelled"
        return _ok(order)

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if time.monotonic() < self._refuse_until:
            return web.Response(status=503, text="maintenance")
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        client = _Client(ws)
        self._clients.add(client)
        self.ws_connections += 1
        beats = asyncio.create_task(self._heartbeats(client))
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._on_message(client, json.loads(message.data))
        finally:
            beats.cancel()
            self._clients.discard(client)
        return ws

    async def _heartbeats(self, client: _Client) -> None:
        while not client.ws.closed:
            await asyncio.sleep(self.heartbeat_interval_s)
            if client.heartbeat:
                await client.send({"type": "heartbeat"})

    async def _on_message(self, client: _Client, message: Mapping[str, Any]) -> None:
        if message.get("type") == "enable_heartbeat":
            client.heartbeat = True
        elif message.get("type") == "subscribe":
            replies = []
            for channel in message.get("payload", {}).get("channels", []):
                name, symbols = channel.get("name", ""), list(channel.get("symbols") or [])
                reply = {"name": name, "symbols": symbols}
                known = {p["symbol"] for p in self.products} | {f"MARK:{p['symbol']}" for p in self.products}
                if not (name.startswith("candlestick_") and name.removeprefix("candlestick_") in _RESOLUTIONS):
                    reply["error"] = "invalid channel name"
                elif unknown := sorted(set(symbols) - known):
                    reply["error"] = f"invalid symbols: {', '.join(unknown)}"
                elif name == f"candlestick_{self.live_timeframe.value}":
                    client.symbols.update(symbols)
                replies.append(reply)
            await client.send({"type": "subscriptions", "channels": replies})
            if self.live_update:
                for symbol in sorted(client.symbols):
                    await client.send(self._candle_message(symbol))
