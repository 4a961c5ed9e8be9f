"""``trading-agent run`` (what ``make run`` calls) and the global options."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.testkit.cli import cli_env, run_cli
from trading_agent.domain import AgentControlled
from trading_agent.storage import SqlJournal, create_database_engine


def test_offline_run_falls_back_to_a_labelled_synthetic_market(tmp_path: Path) -> None:
    result = run_cli("run", "--days", "30", "--no-api", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "SYNTHETIC market" in result.stdout and "Delta unreachable" in result.stdout
    assert "offline: Delta is unreachable, so this session replays the synthetic market instead" in result.stdout
    assert "Paper session run: 720 candles traded" in result.stdout
    assert (tmp_path / "var" / "trading_agent.db").is_file()  # the embedded default: SQLite under var/


@pytest.mark.real_data
def test_run_replays_a_real_file(btc_1h_path: Path, tmp_path: Path) -> None:
    result = run_cli("run", "--replay", str(btc_1h_path), "--last", "200", "--no-api", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "SYNTHETIC" not in result.stdout
    assert "market: file" in result.stdout and "Paper session run: 200 candles traded" in result.stdout


def test_run_uses_redis_for_the_candle_cache_and_the_event_bus(
    tmp_path: Path, redis_url_and_prefix: tuple[str, str]
) -> None:
    import redis

    url, prefix = redis_url_and_prefix
    env = {"TRADING_AGENT_REDIS_URL": url, "TRADING_AGENT_REDIS_PREFIX": prefix}
    result = run_cli("run", "--days", "3", "--no-api", cwd=tmp_path, env=env)
    assert result.code == 0, result.stderr
    client = redis.Redis.from_url(url)
    keys = sorted(k.decode() for k in client.scan_iter(match=f"{prefix}*"))
    assert keys == [f"{prefix}candles:synthetic:BTCUSD:1h", f"{prefix}events"]
    assert client.zcard(f"{prefix}candles:synthetic:BTCUSD:1h") == 72
    database = create_database_engine(f"sqlite:///{tmp_path / 'var' / 'trading_agent.db'}")
    journaled = list(SqlJournal(database, "run").read())
    assert len(journaled) >= 72 and client.xlen(f"{prefix}events") == len(journaled)  # all journaled, all announced


def test_run_serves_the_api_beside_the_agent_and_takes_its_controls(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = cli_env() | {"TRADING_AGENT_API_PORT": str(port), "TRADING_AGENT_API_TOKEN": "t0ken"}
    command = [sys.executable, "-m", "trading_agent", "run", "--days", "30", "--speed", "7200"]  # 2 candles/s
    child = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": "Bearer t0ken"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).json()["agent"] == "running":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and child.poll() is None, child.stderr.read() if child.stderr else ""
            time.sleep(0.3)
        assert httpx.get(f"{base}/api/v1/portfolio/status", timeout=5).status_code == 401
        status = httpx.get(f"{base}/api/v1/portfolio/status", headers=auth, timeout=5).json()
        assert status["session"] == "run" and status["series"] == "synthetic:BTCUSD:1h"
        paused = httpx.post(f"{base}/api/v1/control/pause", headers=auth, json={"reason": "e2e"}, timeout=5)
        assert paused.json()["paused"] is True
    finally:
        child.terminate()
        child.wait(timeout=30)
    database = create_database_engine(f"sqlite:///{tmp_path / 'var' / 'trading_agent.db'}")
    controls = [e for e in SqlJournal(database, "run").read() if isinstance(e, AgentControlled)]
    assert [(c.command.value, c.reason) for c in controls] == [("pause", "e2e")]


def test_help_and_version(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.code == 0
    for command in ("run", "data", "config"):
        assert command in result.stdout
    data_help = run_cli("data", "--help", cwd=tmp_path)
    for command in ("import", "download", "list", "check", "resample"):
        assert command in data_help.stdout
    assert run_cli("--version", cwd=tmp_path).stdout.startswith("trading-agent ")


def test_config_validate_show_and_secret_masking(tmp_path: Path) -> None:
    assert run_cli("config", "validate", cwd=tmp_path).code == 0
    shown = run_cli(
        "config",
        "show",
        "--json",
        "--profile",
        "swing_trader",
        cwd=tmp_path,
        env={"TRADING_AGENT_DELTA__API_SECRET": "hunter2"},
    )
    assert shown.code == 0, shown.stderr
    assert "hunter2" not in shown.stdout
    assert shown.json()["trading_rules"]["signal_filters"]["min_confidence"] == 0.65


def test_unknown_setting_is_an_error(tmp_path: Path) -> None:
    result = run_cli("data", "list", cwd=tmp_path, env={"TRADING_AGENT_DATABSE_URL": "x"})
    assert result.code == 1
    assert "TRADING_AGENT_DATABSE_URL" in result.stderr
