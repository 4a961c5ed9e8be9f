"""SIGKILL the trading session at random moments, restart it, and demand the journal of a run that never died.

The child (``tests.testkit.crash_session``) journals every candle's step in one transaction
(SQLite file or PostgreSQL, both real) and resumes from the journal. The uninterrupted reference
run and the killed-and-restarted run must write identical event streams and projection tables,
with no order submitted twice, and rebuild to the same engine.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.testkit import crash_session
from tests.testkit.instruments import btcusd
from tests.testkit.services import REPO_ROOT, postgres_database
from trading_agent.domain import OrderSubmitted
from trading_agent.engine.engine import TradingEngine
from trading_agent.storage import SqlJournal, create_database_engine

PROJECTIONS = ("orders", "fills", "positions", "trades", "risk_events", "funding_payments", "equity_snapshots")
KILLS = 5
RUN_TIMEOUT_S = 120


def _start(url: str) -> subprocess.Popen[str]:
    env = os.environ | {"PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.testkit.crash_session", url],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=RUN_TIMEOUT_S)
    assert process.returncode == 0, f"session failed ({process.returncode}):\n{err}"
    return out


def _run_with_kills(url: str, rng: random.Random) -> list[int]:
    """Kill the session ``KILLS`` times at random moments, then let it finish; return where each run resumed."""
    resumed: list[int] = []
    for _ in range(KILLS):
        process = _start(url)
        assert process.stdout is not None
        first = process.stdout.readline()  # "resumed N": rebuilt from the journal, now trading
        resumed += [int(first.split()[1])] if first.startswith("resumed") else []
        time.sleep(rng.uniform(0.2, 2.5))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=RUN_TIMEOUT_S)
        if process.returncode == 0:  # it finished before the kill: nothing left to interrupt
            return resumed
        assert process.returncode == -signal.SIGKILL
    out = _finish(_start(url))
    return resumed + [int(line.split()[1]) for line in out.splitlines() if line.startswith("resumed")]


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            tables = {
                "events": connection.execute(
                    text("SELECT session, event_id, event_type, ts_event, ts_init, payload FROM events ORDER BY seq")
                ).all()
            }
            for table in PROJECTIONS:
                columns = [c for c in _columns(connection, table) if c != "id"]
                query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY event_id"
                tables[table] = connection.execute(text(query)).all()
    finally:
        engine.dispose()
    return {name: [tuple(row) for row in rows] for name, rows in tables.items()}


def _columns(connection: Any, table: str) -> list[str]:
    return list(connection.execute(text(f"SELECT * FROM {table} WHERE 1 = 0")).keys())


@contextmanager
def _two_databases(backend: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'reference.db'}", f"sqlite:///{tmp_path / 'killed.db'}"
        return
    with postgres_database() as reference, postgres_database() as killed:
        yield reference, killed


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_session_killed_at_random_moments_writes_the_journal_of_one_that_never_died(
    backend: str, tmp_path: Path
) -> None:
    with _two_databases(backend, tmp_path) as (reference_url, killed_url):
        _finish(_start(reference_url))
        resumed = _run_with_kills(killed_url, random.Random(20261202))
        assert resumed[0] == 0 and resumed[-1] > 0
        assert resumed == sorted(resumed)  # every restart went on from the journal, never from scratch
        assert len(set(resumed)) >= 3  # and the kills really fell in the middle of the session
        reference, killed = _rows(reference_url), _rows(killed_url)
        assert len(reference["events"]) > 5000 and len(reference["fills"]) > 30  # a long session that trades
        for table, rows in reference.items():
            assert killed[table] == rows, f"{table} differs after the kills"
        journals = [
            SqlJournal(create_database_engine(url), session=crash_session.SESSION)
            for url in (reference_url, killed_url)
        ]
        submitted = [e for e in journals[1].read() if isinstance(e, OrderSubmitted)]
        client_ids = [e.order.intent.client_order_id for e in submitted]
        assert len(client_ids) == len(set(client_ids)), "an order was submitted twice"
        rebuilt = [TradingEngine.rebuild(crash_session.CONFIG, [btcusd()], journal=journal) for journal in journals]
        assert rebuilt[0].snapshot() == rebuilt[1].snapshot()
