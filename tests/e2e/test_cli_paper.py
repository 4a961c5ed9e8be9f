"""``trading-agent paper``: crash safety under SIGKILL, the journal commands, bad input."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.testkit.agent import write_candle_csv
from tests.testkit.cli import UNREACHABLE_DELTA, run_cli
from tests.testkit.services import REPO_ROOT
from trading_agent.data.files import read_candle_file
from trading_agent.domain import OrderFilled, OrderSubmitted, Timeframe
from trading_agent.storage import SqlJournal, create_database_engine

PAPER = ("paper", "--strategy", "sma-cross", "--fast", "5", "--slow", "20", "--session", "crash")


def _env(tmp_path: Path, db: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_AGENT_")}
    return base | {
        "TRADING_AGENT_CONFIG_DIR": str(REPO_ROOT / "config"),
        "TRADING_AGENT_DATABASE_URL": f"sqlite:///{tmp_path / db}",
        "TRADING_AGENT_DELTA__REST_URL": UNREACHABLE_DELTA,
    }


def _count(tmp_path: Path, db: str) -> int:
    """Events journaled so far (0 before the database exists)."""
    path = tmp_path / db
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=5) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0


def _events(tmp_path: Path, db: str) -> list[object]:
    return list(SqlJournal(create_database_engine(f"sqlite:///{tmp_path / db}"), "crash").read())


@pytest.mark.real_data
def test_a_replay_killed_at_random_moments_ends_with_the_journal_of_an_uninterrupted_run(
    btc_1h_path: Path, tmp_path: Path
) -> None:
    candles = read_candle_file(btc_1h_path, Timeframe.H1).iloc[-2500:]
    replay = str(write_candle_csv(candles, tmp_path))
    args = [sys.executable, "-m", "trading_agent", *PAPER, "--replay", replay]
    whole = subprocess.run(
        [*args, "--state-dir", str(tmp_path / "whole")],
        env=_env(tmp_path, "whole.db"),
        capture_output=True,
        check=False,
    )
    assert whole.returncode == 0, whole.stderr
    reference = _events(tmp_path, "whole.db")

    rng = random.Random(8)
    targets = sorted(rng.sample(range(len(reference) // 10, len(reference) * 9 // 10), 4))
    command = [*args, "--state-dir", str(tmp_path / "killed")]
    env, journaled = _env(tmp_path, "killed.db"), []
    for target in targets:  # kill it once its journal has grown past each target, whatever the machine's speed
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while child.poll() is None and _count(tmp_path, "killed.db") < target:
            time.sleep(rng.uniform(0.005, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        journaled.append(_count(tmp_path, "killed.db"))
    last = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert last.returncode == 0, last.stderr
    killed = _events(tmp_path, "killed.db")
    assert all(0 < n < len(reference) for n in journaled), f"kills must land inside the replay: {journaled}"
    assert killed == reference  # same events, ids and market-time stamps: nothing lost, nothing twice
    entries = [e.order.intent.client_order_id for e in killed if isinstance(e, OrderSubmitted)]
    fills = [e.fill.trade_id for e in killed if isinstance(e, OrderFilled)]
    assert entries and len(set(entries)) == len(entries) and len(set(fills)) == len(fills)


def test_the_journal_commands_read_what_a_paper_session_journaled(tmp_path: Path) -> None:
    env = {"TRADING_AGENT_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    ran = run_cli("paper", "--synthetic", "--days", "60", "--session", "demo", cwd=tmp_path, env=env)
    assert ran.code == 0, ran.stderr
    assert "SYNTHETIC" in ran.stdout and "Paper session demo: 1,440 candles traded" in ran.stdout
    trades = run_cli("trades", "list", "--session", "demo", "--json", cwd=tmp_path, env=env)
    signals = run_cli("signals", "list", "--session", "demo", "--json", "--limit", "500", cwd=tmp_path, env=env)
    assert trades.code == 0 and signals.code == 0, trades.stderr + signals.stderr
    assert trades.json() and {"entry_price", "exit_price", "pnl", "holding_period_s"} <= set(trades.json()[0])
    statuses = {row["status"] for row in signals.json()}
    assert statuses == {"generated", "filtered"}  # the shipped filters refuse some of the rule's entries
    again = run_cli("paper", "--synthetic", "--days", "60", "--session", "demo", cwd=tmp_path, env=env)
    assert again.code == 0 and "resumed session 'demo'" in again.stdout
    assert "0 candles traded" in again.stdout  # everything was traded already: nothing is done twice


def test_a_history_shorter_than_the_warm_up_is_said(tmp_path: Path) -> None:
    env = {"TRADING_AGENT_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    ran = run_cli("paper", "--synthetic", "--days", "10", "--strategy", "sma-cross", cwd=tmp_path, env=env)
    assert ran.code == 0, ran.stderr
    # the 1d trend of the shipped filters needs 21 closed days of 1h candles: 505 before the first entry
    assert "warm-up: built-in sma-cross" in ran.stdout and "need 505 candles" in ran.stdout
    assert "the history has 240" in ran.stdout and "0 trades" in ran.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "moon"], "unknown strategy 'moon'"),
        (["--strategy", "sma-cross", "--period", "3"], "unknown parameter(s) period"),
        (["--speed", "fast"], "--speed 'fast' is neither a number nor max"),
        (["--speed", "-2"], "--speed must be positive"),
        (["--timeframes", "4h,1h"], "must be the shortest"),
        (["--timeframes", "1h,7q"], "--timeframes '1h,7q'"),
        (["--mode", "yolo"], "unknown mode 'yolo'"),
        (["--session", "x" * 30], "session"),
        (["--replay", "missing.csv"], "missing.csv"),
    ],
)
def test_bad_input_is_one_clear_line_exit_1_and_no_write(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_cli("paper", "--synthetic", *args, cwd=tmp_path, env={"TRADING_AGENT_DATABASE_URL": "sqlite:///p.db"})
    assert result.code == 1, result.stdout
    assert message in result.stderr
    assert not (tmp_path / "p.db").exists() or args[0] == "--replay"
