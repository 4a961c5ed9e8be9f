"""``trading-agent trades list`` and ``signals list`` end to end, on a SQLite journal a real engine wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testkit.cli import run_cli
from tests.testkit.engine import H
from tests.testkit.journal import journal_signals, signal, trade_session
from trading_agent.domain import InstrumentId
from trading_agent.storage import create_database_engine

BTCUSD = InstrumentId("delta_india", "BTCUSD")
ETHUSD = InstrumentId("delta_india", "ETHUSD")


@pytest.fixture(scope="module")
def journal_db(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``--database-url`` of a journal: paper (3 BTCUSD trades, 3 signals, 1 filtered), backtest (1 ETHUSD trade)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('journal') / 'journal.db'}"
    db = create_database_engine(url)
    try:
        trade_session(db, "paper", BTCUSD, [60_000, 60_300, 60_300, 60_100, 60_100, 60_150])
        trade_session(db, "backtest", ETHUSD, [3_000, 3_060], first_candle=10)
        journal_signals(
            db,
            "paper",
            [(signal(BTCUSD, H), ()), (signal(BTCUSD, 2 * H, 0.3), ("min_confidence",)), (signal(BTCUSD, 3 * H), ())],
        )
    finally:
        db.dispose()
    return ["--database-url", url]


def test_trades_list_json_is_the_trade_log_newest_first(journal_db: list[str], tmp_path: Path) -> None:
    everything = run_cli(*journal_db, "trades", "list", "--json", cwd=tmp_path)
    assert everything.code == 0, everything.stderr
    trades = everything.json()
    assert [(t["session"], t["symbol"], t["ts_closed"]) for t in trades] == [
        ("backtest", "ETHUSD", 12 * H),
        ("paper", "BTCUSD", 6 * H),
        ("paper", "BTCUSD", 4 * H),
        ("paper", "BTCUSD", 2 * H),
    ]
    keys = {"ts_opened", "ts_closed", "symbol", "side", "contracts", "entry_price", "exit_price", "pnl", "pnl_percent"}
    keys |= {"fees", "funding", "holding_period_s", "exit_reason", "event_type", "signal_confidence", "session"}
    assert keys | {"model_predictions", "market_conditions"} <= set(trades[0])
    assert (trades[-1]["entry_price"], trades[-1]["exit_price"], trades[-1]["event_type"]) == (
        "60000",
        "60300",
        "closed",
    )

    paper = run_cli(*journal_db, "trades", "list", "-S", "paper", "--limit", "2", "--json", cwd=tmp_path)
    assert paper.code == 0, paper.stderr
    assert [t["ts_closed"] for t in paper.json()] == [6 * H, 4 * H]
    eth = run_cli(*journal_db, "trades", "list", "--symbol", "ETHUSD", "--json", cwd=tmp_path)
    assert [t["session"] for t in eth.json()] == ["backtest"]


def test_trades_list_prints_a_table_naming_its_columns(journal_db: list[str], tmp_path: Path) -> None:
    result = run_cli(*journal_db, "trades", "list", "--session", "paper", cwd=tmp_path)
    assert result.code == 0, result.stderr
    for column in ("closed", "symbol", "side", "entry", "exit", "pnl", "fees", "funding", "held", "exit reason"):
        assert column in result.stdout
    assert "Trades (session paper)" in result.stdout
    assert result.stdout.count("BTCUSD") == 3 and "1970-01-01 06:00 UTC" in result.stdout


def test_an_unknown_session_exits_1_naming_the_sessions(journal_db: list[str], tmp_path: Path) -> None:
    result = run_cli(*journal_db, "trades", "list", "--session", "nope", cwd=tmp_path)
    assert result.code == 1
    assert "no journal session 'nope'; sessions: backtest, paper" in result.stderr
    assert result.stdout == ""


def test_an_empty_journal_says_so_in_one_line(tmp_path: Path) -> None:
    db = ["--database-url", f"sqlite:///{tmp_path / 'empty.db'}"]
    trades = run_cli(*db, "trades", "list", cwd=tmp_path)
    assert (trades.code, trades.stdout.strip()) == (0, "no trades journaled yet (any session)")
    as_json = run_cli(*db, "signals", "list", "--json", cwd=tmp_path)
    assert (as_json.code, as_json.json()) == (0, [])
    refused = run_cli(*db, "trades", "list", "--limit", "0", cwd=tmp_path)
    assert refused.code == 2 and "--limit" in refused.stderr


def test_signals_list_shows_each_signal_once_with_its_filters(journal_db: list[str], tmp_path: Path) -> None:
    result = run_cli(*journal_db, "signals", "list", "-S", "paper", "--json", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert [(s["ts"], s["status"], s["filtered_by"]) for s in result.json()] == [
        (3 * H, "generated", []),
        (2 * H, "filtered", ["min_confidence"]),
        (1 * H, "generated", []),
    ]
    passed = run_cli(*journal_db, "signals", "list", "--no-filtered", "--json", cwd=tmp_path)
    assert [s["ts"] for s in passed.json()] == [3 * H, 1 * H]
    table = run_cli(*journal_db, "signals", "list", cwd=tmp_path)
    assert table.code == 0, table.stderr
    for column in ("direction", "strength", "confidence", "model votes", "status", "filtered by", "min_confidence"):
        assert column in table.stdout
