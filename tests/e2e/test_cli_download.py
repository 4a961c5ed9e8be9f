"""``trading-agent data download`` end to end against the local fake Delta Exchange India."""

import asyncio
import json
import os
import sys
from pathlib import Path

import numpy as np

from tests.testkit.cli import run_cli
from tests.testkit.fake_delta import FakeDelta
from tests.testkit.services import REPO_ROOT
from trading_agent.data.frames import index_ms
from trading_agent.domain import SeriesKey, Timeframe
from trading_agent.storage import open_store


async def test_download_through_the_real_command(tmp_path: Path) -> None:
    async with FakeDelta(bars=3000) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_AGENT_")} | {
            "TRADING_AGENT_CONFIG_DIR": str(REPO_ROOT / "config"),
            "TRADING_AGENT_DELTA__REST_URL": fake.rest_url,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "trading_agent", "data", "download", "--symbol", "BTCUSD", "--timeframe", "1h",
            "--days", "1100", "--json", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, stderr.decode()
    summary = json.loads(stdout)
    # The fake's market starts 2024-01-01 and its clock stands 150 h later: 1100 days back reaches it,
    # in ceil(1100 * 24 / 2000) = 14 windows of at most 2000 candles.
    assert summary["series"] == "delta_india:BTCUSD:1h"
    assert summary["rows_read"] == summary["rows_after"] >= 150
    assert sum(r.path.endswith("/v2/history/candles") for r in fake.requests) == 14
    stored = open_store(f"sqlite:///{tmp_path / 'var' / 'trading_agent.db'}").load_candles(
        SeriesKey.of("delta_india", "BTCUSD", "1h")
    )
    truth = fake.series("BTCUSD", Timeframe.H1)[: len(stored)]
    np.testing.assert_array_equal(index_ms(stored), [c.ts for c in truth])
    np.testing.assert_array_equal(stored["close"].to_numpy(), [c.close for c in truth])
    listing = run_cli("data", "list", "--json", cwd=tmp_path)
    assert listing.json()[0]["rows"] == summary["rows_after"]
