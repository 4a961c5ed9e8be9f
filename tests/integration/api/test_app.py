"""The REST API over a real agent and its journal: routes, auth from the route table, errors, metrics."""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from pydantic import SecretStr

from tests.testkit.agent import rule_source, start_agent, traded_agent
from tests.testkit.api import AUTH, TOKEN, UNLIMITED, api_client, open_services
from trading_agent.agent import EMERGENCY_BREAKER, InProcessBus, TradingAgent
from trading_agent.api import ApiOptions, create_app
from trading_agent.api.app import PUBLIC_PATHS
from trading_agent.api.auth import check_bind
from trading_agent.api.routes import analytics, control, portfolio
from trading_agent.api.server import serving
from trading_agent.data.feeds.replay import ReplayFeed
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import AgentControlled, Timeframe
from trading_agent.storage import SqlJournal, create_database_engine


@pytest.fixture
def agent_and_url(tmp_path: Path) -> tuple[TradingAgent, str]:
    """An agent that has paper-traded 1,500 synthetic candles into a SQLite journal."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    return traded_agent(url, "api", 1500), url


@pytest.fixture
async def client(agent_and_url: tuple[TradingAgent, str], tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    agent, url = agent_and_url
    async with api_client(open_services(url, tmp_path, "api", agent)) as http:
        yield http


async def test_status_positions_trades_and_signals_are_the_agents(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str]
) -> None:
    agent = agent_and_url[0]
    status = (await client.get("/api/v1/portfolio/status", headers=AUTH)).json()
    assert status["session"] == "api" and status["candles_traded"] == 1500
    assert status["trades"] == len(agent.engine.trades) > 0
    assert status["equity"] == str(agent.engine.portfolio_state().equity)
    positions = (await client.get("/api/v1/positions", headers=AUTH)).json()
    assert len(positions) == (agent.engine.position(agent.instrument.id) is not None)
    trades = (await client.get("/api/v1/trades", params={"limit": 3}, headers=AUTH)).json()
    newest = agent.engine.trades[-1]
    assert len(trades) == 3 and trades[0]["trade_id"] == newest.id and trades[0]["pnl"] == str(newest.pnl)
    signals = (await client.get("/api/v1/signals", params={"limit": 5}, headers=AUTH)).json()
    assert len(signals) == 5 and set(signals[0]["model_votes"]) == {"sma-cross"}


async def test_controls_steer_the_agent_and_are_journaled(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str]
) -> None:
    agent, url = agent_and_url
    paused = await client.post("/api/v1/control/pause", json={"reason": "lunch"}, headers=AUTH)
    assert paused.status_code == 200 and paused.json()["paused"] and agent.controls.paused
    mode = await client.post("/api/v1/control/mode", json={"mode": "conservative"}, headers=AUTH)
    assert mode.json()["mode"] == "conservative" == agent.mode
    stop = await client.post("/api/v1/control/emergency_stop", headers=AUTH)
    assert EMERGENCY_BREAKER in stop.json()["breakers"]
    resumed = await client.post("/api/v1/control/resume", headers=AUTH)
    assert not resumed.json()["paused"] and EMERGENCY_BREAKER not in resumed.json()["breakers"]
    journal = SqlJournal(create_database_engine(url), "api").read()
    controls = [(e.command.value, e.reason) for e in journal if isinstance(e, AgentControlled)]
    assert controls[0] == ("pause", "lunch") and [c for c, _ in controls] == [
        "pause",
        "set_mode",
        "emergency_stop",
        "resume",
    ]


async def test_a_manual_trade_goes_through_the_risk_manager_and_fills_at_the_next_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'manual.db'}"
    agent = start_agent(SqlJournal(create_database_engine(url), "m"), rule_source("sma-cross"), session="m")
    frame = SyntheticMarket(seed=4, timeframe=Timeframe.H1).generate(31)
    candles = [event async for event in ReplayFeed({agent.series: frame}).events()]
    for event in candles[:30]:
        agent.on_candle(event)
    async with api_client(open_services(url, tmp_path, "m", agent)) as client:

        async def trade(**body: object) -> httpx.Response:
            return await client.post("/api/v1/trade", json={"symbol": "BTCUSD", "size": 1} | body, headers=AUTH)

        placed = await trade(side="buy")
        order = placed.json()
        assert placed.status_code == 200 and order["status"] == "accepted", order["reject_reason"]
        assert order["client_order_id"].startswith("manual-")
        agent.on_candle(candles[30])
        assert agent.engine.order(order["order_id"]).status.value == "filled"
        other = await trade(symbol="ETHUSD", side="buy")
        assert other.status_code == 400 and "this agent trades BTCUSD" in other.json()["detail"]
        assert (await trade(side="hold")).status_code == 422
        await client.post("/api/v1/control/emergency_stop", headers=AUTH)
        refused = (await trade(side="buy")).json()
    assert refused["status"] == "rejected" and "circuit" in refused["reject_reason"]


async def test_every_route_but_the_public_ones_needs_the_token(client: httpx.AsyncClient) -> None:
    """Generated from the route table, so a new route cannot be forgotten."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    guarded = [(method.upper(), path) for path, item in paths.items() for method in item if path not in PUBLIC_PATHS]
    assert len(guarded) >= 8
    for method, path in guarded:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            answer = await client.request(method, path, headers=headers)
            assert answer.status_code == 401, (method, path, headers)
            assert answer.headers["www-authenticate"] == "Bearer"
    for path in PUBLIC_PATHS:
        assert (await client.get(path)).status_code == 200


async def test_bad_requests_are_422_and_change_nothing(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str]
) -> None:
    agent = agent_and_url[0]
    bad_mode = await client.post("/api/v1/control/mode", json={"mode": "yolo"}, headers=AUTH)
    assert bad_mode.status_code == 422 and bad_mode.json()["detail"][0]["loc"] == ["body", "mode"]
    assert (await client.get("/api/v1/trades", params={"limit": 0}, headers=AUTH)).status_code == 422
    assert (await client.get("/api/v1/trades", params={"symbol": "B;DROP"}, headers=AUTH)).status_code == 422
    assert agent.mode is None and not agent.controls.paused


async def test_metrics_and_health_report_the_agent(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str]
) -> None:
    agent = agent_and_url[0]
    await client.get("/api/v1/portfolio/status", headers=AUTH)
    text = (await client.get("/metrics")).text
    assert f"trading_agent_trades_total {float(len(agent.engine.trades))}" in text
    timed = 'trading_agent_api_request_duration_seconds_count{method="GET",route="/api/v1/portfolio/status",'
    assert f'{timed}status="200"}} 1.0' in text
    health = (await client.get("/health")).json()
    assert health["agent"] == "running" and health["price"] == "fresh"


async def test_without_the_agent_the_journal_routes_answer_and_the_rest_is_503(
    agent_and_url: tuple[TradingAgent, str], tmp_path: Path
) -> None:
    agent = agent_and_url[0]
    async with api_client(open_services(agent_and_url[1], tmp_path, "api"), token=None) as http:
        assert (await http.get("/api/v1/trades")).status_code == 200
        absent = await http.get("/api/v1/portfolio/status")
        assert absent.status_code == 503 and "trading-agent run" in absent.json()["detail"]
        assert (await http.get("/health")).json()["agent"] == "absent"
        performance = (await http.get("/api/v1/performance")).json()  # from the journal alone
        assert performance["trades"] == len(agent.engine.trades)
        assert performance["equity_end"] == float(agent.engine.portfolio_state().equity)
        risk = (await http.get("/api/v1/risk")).json()
        assert risk["observations"] > 0 and risk["breakers"] is None  # breakers and limits are the agent's
        assert (await http.get("/api/v1/models")).json()["accuracy"] is None
        for path in ("/api/v1/market", "/api/v1/data/latest", "/api/v1/control/risk"):
            assert (await http.get(path)).status_code == 503, path
        assert (await http.post("/api/v1/predict")).status_code == 503


def test_a_token_is_required_to_serve_beyond_loopback() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", SecretStr(TOKEN))
    with pytest.raises(ValueError, match="TRADING_AGENT_API_TOKEN"):
        check_bind("0.0.0.0", None)


async def test_the_stream_sends_each_announced_event_to_an_authenticated_client(tmp_path: Path) -> None:
    """A real server (uvicorn in this event loop) and a real WebSocket client, as in `trading-agent run`."""
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    bus = InProcessBus()
    journal = SqlJournal(create_database_engine(url), "ws")
    agent = start_agent(journal, rule_source("sma-cross"), session="ws", publishers=[bus])
    services = open_services(url, tmp_path, "ws", agent, bus)
    app = create_app(services, ApiOptions(token=SecretStr(TOKEN), rate=UNLIMITED))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    frame = SyntheticMarket(seed=2, timeframe=Timeframe.H1).generate(30)
    candles = [event async for event in ReplayFeed({agent.series: frame}).events()]
    async with serving(app, "127.0.0.1", port):
        endpoint = f"ws://127.0.0.1:{port}/api/v1/stream"
        async with websockets.connect(endpoint) as refused:
            await refused.send(json.dumps({"token": "wrong"}))
            with pytest.raises(websockets.ConnectionClosed) as closed_by:
                await refused.recv()
            assert closed_by.value.rcvd is not None and closed_by.value.rcvd.code == 1008
        async with websockets.connect(endpoint, additional_headers=AUTH) as client:
            await asyncio.sleep(0.2)  # the server subscribes to the bus
            committed = [event for candle in candles for event in agent.on_candle(candle)]
            received = [json.loads(await asyncio.wait_for(client.recv(), 5)) for _ in committed]
    assert [r["type"] for r in received] == [type(e).__name__ for e in committed]
    assert [r["event"]["event_id"] for r in received] == [e.event_id for e in committed]


def test_routes_that_touch_the_agent_run_on_its_event_loop(
    agent_and_url: tuple[TradingAgent, str], tmp_path: Path
) -> None:
    """A plain ``def`` route would run in FastAPI's thread pool, beside the agent's candle step."""
    agent, url = agent_and_url
    services = open_services(url, tmp_path, "api", agent)
    try:
        for module in (portfolio, analytics, control):
            for route in module.router(services).routes:
                assert inspect.iscoroutinefunction(getattr(route, "endpoint", None)), getattr(route, "path", route)
    finally:
        services.close()
