"""The analysis, market and model routes and the run-time risk and alert controls, over a real agent and its journal."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.testkit.agent import rule_source, start_agent, traded_agent
from tests.testkit.api import AUTH, api_client, open_services
from trading_agent.agent import TradingAgent
from trading_agent.domain import AgentControlled
from trading_agent.storage import SqlJournal, create_database_engine

CANDLES = 1500


@pytest.fixture
def agent_and_url(tmp_path: Path) -> tuple[TradingAgent, str]:
    """An agent that has paper-traded 1,500 synthetic hourly candles (about 62 days) into a SQLite journal."""
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    return traded_agent(url, "an", CANDLES), url


@pytest.fixture
async def client(agent_and_url: tuple[TradingAgent, str], tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    agent, url = agent_and_url
    async with api_client(open_services(url, tmp_path, "an", agent)) as http:
        yield http


async def _get(client: httpx.AsyncClient, path: str, **params: object) -> dict[str, object]:
    answer = await client.get(path, params=params, headers=AUTH)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    json.dumps(body, allow_nan=False)  # valid JSON: nothing undefined leaks out as NaN
    return body


async def test_performance_adds_up_to_the_agents_books(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str]
) -> None:
    agent = agent_and_url[0]
    equity_now = float(agent.engine.portfolio_state().equity)
    for period in ("day", "week", "month"):
        report = await _get(client, "/api/v1/performance", period=period)
        periods = report["periods"]
        assert isinstance(periods, list) and periods
        assert report["equity_end"] == pytest.approx(equity_now)
        assert report["trades"] == len(agent.engine.trades) == sum(p["trades"] for p in periods)
        assert sum(p["pnl"] for p in periods) == pytest.approx(float(sum(t.pnl for t in agent.engine.trades)))
        growth = 1.0
        for row in periods:
            growth *= 1 + row["return_pct"] / 100
        assert 100 * (growth - 1) == pytest.approx(report["total_return_pct"])
    daily = await _get(client, "/api/v1/performance", period="day")
    assert len(daily["periods"]) == CANDLES // 24 + 1  # the last candle's close starts a day of its own
    metrics = daily["metrics"]
    assert isinstance(metrics, dict) and metrics["num_trades"] == len(agent.engine.trades)
    assert metrics["total_return"] == pytest.approx(equity_now / 10_000 - 1)


async def test_the_daily_analytics_are_the_days_trades(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str]
) -> None:
    agent = agent_and_url[0]
    by_day = Counter(_day(t.ts_closed) for t in agent.engine.trades)
    busiest = by_day.most_common(1)[0][0]
    trades = [t for t in agent.engine.trades if _day(t.ts_closed) == busiest]
    answer = await _get(client, "/api/v1/analytics/daily", day=busiest.isoformat())
    assert answer["day"] == busiest.isoformat() and answer["trades"] == len(trades) >= 2
    assert answer["wins"] == sum(t.pnl > 0 for t in trades) and answer["losses"] == sum(t.pnl < 0 for t in trades)
    assert answer["pnl"] == pytest.approx(float(sum(t.pnl for t in trades)))
    assert answer["best_trade"] == pytest.approx(float(max(t.pnl for t in trades)))
    assert answer["fees"] == pytest.approx(float(sum(t.fees for t in trades)))
    assert agent.last_candle is not None
    newest = await _get(client, "/api/v1/analytics/daily")
    assert newest["day"] == _day(agent.engine.portfolio_state().ts).isoformat()


def _day(ts_ms: int) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).date()


async def test_risk_market_and_models_describe_the_session(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str]
) -> None:
    agent = agent_and_url[0]
    risk = await _get(client, "/api/v1/risk")
    assert risk["observations"] == CANDLES - 1 and risk["horizon_s"] == 3600  # a snapshot every candle
    assert {v["method"] for v in risk["var"]} == {"historical", "parametric", "cornish_fisher"}
    assert all(v["var"] is not None and v["var"] >= 0 for v in risk["var"])
    assert 0 <= risk["risk_score"] <= 100 and risk["breakers"] == dict(agent.engine.tripped_breakers)
    assert risk["limits"]["max_drawdown_percent"] == 15.0
    market = await _get(client, "/api/v1/market")
    assert market["candles"] == CANDLES and market["close"] == agent.last_candle.close  # type: ignore[union-attr]
    assert market["trend_strength"] in ("none", "trending", "strong") and market["volatility_regime"] != "unknown"
    models = await _get(client, "/api/v1/models", horizon=12)
    accuracy = models["accuracy"]
    assert models["source"] == "sma-cross" and models["registry"] == [] and models["registry_error"] is None
    assert isinstance(accuracy, dict) and accuracy["horizon"] == 12 and 0 < accuracy["scored"] <= accuracy["hits"] * 3


async def test_analyses_are_cached_until_the_journal_changes(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str], tmp_path: Path
) -> None:
    await _get(client, "/api/v1/risk")
    await _get(client, "/api/v1/risk")
    metrics = (await client.get("/metrics")).text
    assert "trading_agent_cache_hits_total 1.0" in metrics and "trading_agent_cache_misses_total 1.0" in metrics
    await client.post("/api/v1/control/pause", headers=AUTH)  # journaled: a new version of the journal
    await _get(client, "/api/v1/risk")
    assert "trading_agent_cache_misses_total 2.0" in (await client.get("/metrics")).text


async def test_data_latest_and_predict_read_the_agents_window_without_trading(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str]
) -> None:
    agent = agent_and_url[0]
    before = agent.engine.sequence
    latest = await _get(client, "/api/v1/data/latest", limit=3)
    candles = latest["candles"]
    assert isinstance(candles, list) and len(candles) == 3 and candles[-1]["close"] == agent.last_candle.close  # type: ignore[union-attr]
    answer = await client.post("/api/v1/predict", json={"symbol": "BTCUSD"}, headers=AUTH)
    prediction = answer.json()
    expected = agent.source.predict(agent.bars())
    assert answer.status_code == 200 and expected is not None
    assert prediction["direction"] == expected.direction.value and prediction["model_votes"] == expected.model_votes
    assert prediction["signal"] in ("buy", "sell", "hold") and prediction["inference_ms"] > 0
    assert not prediction["cached"]
    again = (await client.post("/api/v1/predict", headers=AUTH)).json()
    assert again["cached"] and again | {"cached": False} == prediction  # the models ran once for this candle
    assert agent.engine.sequence == before  # nothing journaled
    other = await client.post("/api/v1/predict", json={"symbol": "ETHUSD"}, headers=AUTH)
    assert other.status_code == 400 and "BTCUSD" in other.json()["detail"]
    inference = (await client.get("/metrics")).text
    assert 'trading_agent_model_inference_seconds_count{kind="predict"} 1.0' in inference


async def test_risk_parameters_and_alerts_are_journaled_and_survive_a_restart(
    client: httpx.AsyncClient, agent_and_url: tuple[TradingAgent, str]
) -> None:
    agent, url = agent_and_url
    changed = await client.post(
        "/api/v1/control/risk", json={"risk_per_trade": 0.05, "min_confidence": 0.7, "reason": "calm"}, headers=AUTH
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["risk_per_trade"] == 0.05 and body["min_confidence"] == 0.7
    assert body["overrides"] == {"risk_per_trade": 0.05, "min_confidence": 0.7}
    more = (await client.post("/api/v1/control/risk", json={"max_position_size": 1500}, headers=AUTH)).json()
    assert more["overrides"]["risk_per_trade"] == 0.05 and Decimal(more["max_position_size"]) == 1500
    too_much = await client.post("/api/v1/control/risk", json={"risk_per_trade": 0.5}, headers=AUTH)
    assert too_much.status_code == 422 and agent.controls.risk.risk_per_trade == 0.05
    alerts = await client.put(
        "/api/v1/control/alerts", json={"signals": True, "min_signal_confidence": 0.8}, headers=AUTH
    )
    assert alerts.json()["signals"] is True and agent.controls.alerts.min_signal_confidence == 0.8

    restarted = start_agent(
        SqlJournal(create_database_engine(url), "an"), rule_source("sma-cross", fast=5, slow=20), session="an"
    )
    assert restarted.controls.risk == agent.controls.risk and restarted.controls.alerts == agent.controls.alerts
    assert restarted.last_signal == agent.last_signal is not None  # the status shows it after a restart too
    assert restarted.entry_rules()[0].risk_per_trade == 0.05
    mode = await client.post("/api/v1/control/mode", json={"mode": "moderate"}, headers=AUTH)
    assert mode.status_code == 200 and agent.controls.risk.empty  # a mode is a preset: it clears the overrides
    journal = SqlJournal(create_database_engine(url), "an").read()
    commands = [e.command.value for e in journal if isinstance(e, AgentControlled)]
    assert commands == ["set_risk", "set_risk", "set_alerts", "set_mode"]
