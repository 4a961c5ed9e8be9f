"""The blueprint's integration flow against a running app: data/latest -> predict -> trade -> portfolio/status.

A real server (uvicorn in the agent's event loop, as ``trading-agent run`` serves it) and a real HTTP
client over loopback, while the agent trades a replay feed at 100 candles a second. One difference
from the blueprint's sketch: a market order fills at the next candle's open, so ``trade`` answers
``accepted`` and the fill follows with the next candle (checked here in the journal).
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
from pydantic import SecretStr

from tests.testkit.agent import rule_source, start_agent
from tests.testkit.api import AUTH, TOKEN, UNLIMITED, open_services
from trading_agent.api import ApiOptions, create_app
from trading_agent.api.server import serving
from trading_agent.data.feeds.replay import ReplayFeed
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import OrderFilled, Timeframe
from trading_agent.storage import SqlJournal, create_database_engine

CANDLES_PER_SECOND = 100


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _until(condition: object, client: httpx.AsyncClient, path: str, timeout_s: float = 20) -> httpx.Response:
    for _ in range(int(timeout_s / 0.05)):
        answer = await client.get(path, headers=AUTH)
        if answer.status_code == 200 and callable(condition) and condition(answer.json()):
            return answer
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never answered as expected")


async def test_the_full_trading_cycle_over_http_while_the_agent_trades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'flow.db'}"
    agent = start_agent(SqlJournal(create_database_engine(url), "flow"), rule_source("sma-cross"), session="flow")
    frame = SyntheticMarket(seed=8, timeframe=Timeframe.H1).generate(1200)
    feed = ReplayFeed({agent.series: frame}, speed=3600 * CANDLES_PER_SECOND)
    services = open_services(url, tmp_path, "flow", agent)
    app = create_app(services, ApiOptions(token=SecretStr(TOKEN), rate=UNLIMITED))
    port = _free_port()
    trading = asyncio.create_task(agent.run(feed))
    try:
        async with (
            serving(app, "127.0.0.1", port),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
        ):
            warm = agent.source.warmup + 1
            latest = await _until(lambda body: len(body["candles"]) == 1, client, "/api/v1/data/latest")
            assert latest.json()["symbol"] == "BTCUSD" and not latest.json()["stale"]
            await _until(lambda body: body["candles_traded"] > warm, client, "/api/v1/portfolio/status")

            predicted = await client.post("/api/v1/predict", headers=AUTH)
            assert predicted.status_code == 200, predicted.text
            prediction = predicted.json()
            assert prediction["signal"] in ("buy", "sell", "hold") and prediction["confidence"] > 0.6
            side = "buy" if prediction["signal"] == "hold" else prediction["signal"]

            order = await client.post("/api/v1/trade", json={"symbol": "BTCUSD", "side": side, "size": 1}, headers=AUTH)
            assert order.status_code == 200 and order.json()["status"] == "accepted", order.text
            order_id = order.json()["order_id"]
            candles = (await client.get("/api/v1/portfolio/status", headers=AUTH)).json()["candles_traded"]
            status = await _until(lambda body: body["candles_traded"] > candles + 1, client, "/api/v1/portfolio/status")
            assert status.json()["session"] == "flow" and status.json()["last_price"] is not None
    finally:
        trading.cancel()
        await asyncio.gather(trading, return_exceptions=True)
        services.close()
    fills = [e for e in SqlJournal(create_database_engine(url), "flow").read() if isinstance(e, OrderFilled)]
    manual = [e for e in fills if e.order.id == order_id]
    assert len(manual) == 1 and manual[0].fill.contracts == 1  # filled once, at the next candle's open
