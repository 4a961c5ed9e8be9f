"""Rate limits (in process and in the real Redis), CORS, the request id and the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from tests.testkit.agent import closed, rule_source, start_agent
from tests.testkit.api import AUTH, TOKEN, api_client, open_services
from trading_agent.agent import TradingAgent
from trading_agent.api.limits import RateLimit
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe
from trading_agent.storage import SqlJournal, create_database_engine


@pytest.fixture
def agent_and_url(tmp_path: Path) -> tuple[TradingAgent, str]:
    url = f"sqlite:///{tmp_path / 'security.db'}"
    agent = start_agent(SqlJournal(create_database_engine(url), "sec"), rule_source("sma-cross"), session="sec")
    for event in closed(SyntheticMarket(seed=5, timeframe=Timeframe.H1).generate(60)):
        agent.on_candle(event)
    return agent, url


async def test_a_client_over_its_limit_gets_429_with_retry_after_and_changes_nothing(
    agent_and_url: tuple[TradingAgent, str], tmp_path: Path
) -> None:
    agent, url = agent_and_url
    async with api_client(open_services(url, tmp_path, "sec", agent), rate=RateLimit(limit="3/minute")) as client:
        answers = [await client.get(path, headers=AUTH) for path in ("/api/v1/positions", "/api/v1/trades")]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1"]
        assert answers[0].headers["x-ratelimit-limit"] == "3"
        await client.get("/api/v1/signals", headers=AUTH)
        refused = await client.post("/api/v1/control/pause", headers=AUTH)
        assert refused.status_code == 429 and "3/minute" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert not agent.controls.paused  # the refused control never reached the agent
        unauthenticated = await client.get("/api/v1/positions")
        assert unauthenticated.status_code == 429  # counted before auth: guessing tokens costs the same
        assert (await client.get("/health")).status_code == 200 and (await client.get("/metrics")).status_code == 200


async def test_in_redis_the_count_is_shared_by_every_process_on_it(
    agent_and_url: tuple[TradingAgent, str], tmp_path: Path, redis_url_and_prefix: tuple[str, str]
) -> None:
    agent, url = agent_and_url
    redis_url, prefix = redis_url_and_prefix
    rate = RateLimit(limit="4/minute", storage_uri=redis_url, key_prefix=f"{prefix}ratelimit")
    async with (
        api_client(open_services(url, tmp_path, "sec", agent), rate=rate) as first,
        api_client(open_services(url, tmp_path, "sec", agent), rate=rate) as second,
    ):
        statuses = [(await client.get("/api/v1/positions", headers=AUTH)).status_code for client in [first, second] * 3]
    assert statuses == [200, 200, 200, 200, 429, 429]
    import redis

    keys = redis.Redis.from_url(redis_url).keys(f"{prefix}ratelimit*")
    assert keys, "the count lives in Redis under the configured prefix"


async def test_cors_allows_only_the_configured_origins(agent_and_url: tuple[TradingAgent, str], tmp_path: Path) -> None:
    agent, url = agent_and_url
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    async with api_client(open_services(url, tmp_path, "sec", agent), cors=("http://dash.local",)) as client:
        allowed = await client.options("/api/v1/positions", headers=preflight | {"Origin": "http://dash.local"})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://dash.local"
        other = await client.options("/api/v1/positions", headers=preflight | {"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        simple = await client.get("/api/v1/positions", headers=AUTH | {"Origin": "http://dash.local"})
        assert simple.headers["access-control-allow-origin"] == "http://dash.local"
    async with api_client(open_services(url, tmp_path, "sec", agent)) as client:  # no origins: no CORS at all
        answer = await client.get("/api/v1/positions", headers=AUTH | {"Origin": "http://dash.local"})
        assert "access-control-allow-origin" not in answer.headers


async def test_every_answer_has_a_request_id_and_the_audit_log_carries_it(
    agent_and_url: tuple[TradingAgent, str], tmp_path: Path
) -> None:
    agent, url = agent_and_url
    async with api_client(open_services(url, tmp_path, "sec", agent)) as client:
        fresh = await client.get("/api/v1/positions", headers=AUTH)
        assert len(fresh.headers["x-request-id"]) == 32
        insane = await client.get("/api/v1/positions", headers=AUTH | {"X-Request-ID": "a b\nc"})
        assert insane.headers["x-request-id"] != "a b\nc"
        with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            given = {"X-Request-ID": "order-42"}
            traded = await client.post(
                "/api/v1/trade", json={"symbol": "BTCUSD", "side": "buy", "size": 1}, headers=AUTH | given
            )
            paused = await client.post("/api/v1/control/pause", json={"reason": "lunch"}, headers=AUTH)
    assert traded.status_code == 200 and traded.headers["x-request-id"] == "order-42"
    audits = [entry for entry in logs if entry["event"] == "audit"]
    assert [(a["action"], a["request_id"]) for a in audits] == [
        ("trade", "order-42"),
        ("control", paused.headers["x-request-id"]),
    ]
    assert audits[0]["side"] == "buy" and audits[0]["status"] == traded.json()["status"]
    assert all(a["client"] == "127.0.0.1" for a in audits)
    assert TOKEN not in repr(logs)  # the bearer token is never logged
