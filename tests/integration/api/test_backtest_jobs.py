"""Backtest and walk-forward jobs through the API: submitted, run in a worker process, polled by id."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.testkit.api import AUTH, api_client, api_settings, open_services
from trading_agent.domain import SeriesKey
from trading_agent.services.backtest import BacktestService, MarketOptions
from trading_agent.services.report_values import json_safe

RANGE = {"start": "2024-01-01T00:00:00Z", "end": "2024-03-01T00:00:00Z"}


def _ms(moment: str) -> int:
    return int(pd.Timestamp(moment).timestamp() * 1000)


async def _finished(
    client: httpx.AsyncClient, job_id: str, timeout_s: float = 120, until: tuple[str, ...] = ("succeeded", "failed")
) -> dict[str, Any]:
    for _ in range(int(timeout_s / 0.25)):
        job: dict[str, Any] = (await client.get(f"/api/v1/backtests/{job_id}", headers=AUTH)).json()
        if job["status"] in until:
            return job
        await asyncio.sleep(0.25)
    raise AssertionError(f"job {job_id} did not reach {until} in {timeout_s} s")


@pytest.mark.real_data
async def test_a_backtest_job_reports_what_the_backtest_command_reports(btc_1h_store_url: str, tmp_path: Path) -> None:
    async with api_client(open_services(btc_1h_store_url, tmp_path, "jobs")) as client:
        body = {"symbol": "BTCUSDT", "strategy": "sma-cross", "params": {"fast": 10, "slow": 30}} | RANGE
        submitted = await client.post("/api/v1/backtests", json=body, headers=AUTH)
        assert submitted.status_code == 202 and submitted.json()["status"] in ("queued", "running")
        behind = (await client.post("/api/v1/backtests", json=body, headers=AUTH)).json()  # queued behind the first
        canceled = await client.delete(f"/api/v1/backtests/{behind['id']}", headers=AUTH)
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        await _finished(client, submitted.json()["id"], until=("running", "succeeded", "failed"))
        running = await client.delete(f"/api/v1/backtests/{submitted.json()['id']}", headers=AUTH)
        assert running.status_code == 409 and "only a queued job" in running.json()["detail"]
        job = await _finished(client, submitted.json()["id"])
        failing = await client.post("/api/v1/backtests", json=body | {"strategy": "no-such"}, headers=AUTH)
        failed = await _finished(client, failing.json()["id"])
        listed = (await client.get("/api/v1/backtests", headers=AUTH)).json()
        missing = await client.get(f"/api/v1/backtests/{'0' * 32}", headers=AUTH)
    assert job["status"] == "succeeded", job["error"]
    settings = api_settings(btc_1h_store_url, tmp_path)
    options = MarketOptions(start_ms=_ms(RANGE["start"]), end_ms=_ms(RANGE["end"]))
    expected = BacktestService.from_settings(settings).run(
        SeriesKey.of("binance", "BTCUSDT", "1h"), "sma-cross", {"fast": 10, "slow": 30}, options=options
    )
    report = job["result"]
    assert report["metrics"] == json_safe(expected.report.model_dump(mode="json"))["metrics"]
    assert report["candles"] == 24 * 60 and report["metrics"]["num_trades"] > 0
    assert failed["status"] == "failed" and "no-such" in failed["error"]
    assert [j["id"] for j in listed] == [failed["id"], behind["id"], job["id"]]  # newest first
    assert listed[1]["status"] == "canceled" and listed[1]["result"] is None
    assert missing.status_code == 404 and "no job" in missing.json()["detail"]


@pytest.mark.real_data
async def test_a_walk_forward_job_optimises_out_of_sample(btc_1h_store_url: str, tmp_path: Path) -> None:
    async with api_client(open_services(btc_1h_store_url, tmp_path, "jobs")) as client:
        body = {
            "kind": "walk_forward",
            "symbol": "BTCUSDT",
            "strategy": "sma-cross",
            "grid": {"fast": [5, 10], "slow": [30, 50]},
            "train": "30d",
            "test": "10d",
        } | RANGE
        job = await _finished(client, (await client.post("/api/v1/backtests", json=body, headers=AUTH)).json()["id"])
        no_grid = await client.post("/api/v1/backtests", json=body | {"grid": {}}, headers=AUTH)
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert result["trials"] == 4 and len(result["windows"]) >= 2
    grid = [{"fast": f, "slow": s} for f in (5, 10) for s in (30, 50)]
    assert all(window["best_params"] in grid for window in result["windows"])
    assert result["out_of_sample"]["total_return"] is not None
    assert no_grid.status_code == 400 and "grid" in no_grid.json()["detail"]
