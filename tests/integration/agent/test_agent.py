"""The paper-trading agent on real candles: backtest parity, identical replays, controls, restarts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.testkit.agent import (
    CONFIG_DIR,
    SERIES,
    closed,
    economics,
    rule_source,
    shipped_rules,
    start_agent,
    write_candle_csv,
)
from tests.testkit.models import tiny_sequence_model
from trading_agent.agent import EMERGENCY_BREAKER, AgentOptions, EnsembleSource, StateFile
from trading_agent.config import AppSettings
from trading_agent.data.files import read_candle_file
from trading_agent.domain import (
    AgentControlled,
    Event,
    InstrumentId,
    OrderRole,
    OrderSubmitted,
    SeriesKey,
    SignalFiltered,
    SignalGenerated,
    SizingMethod,
    Timeframe,
)
from trading_agent.engine import MemoryJournal
from trading_agent.models.bundle import save_ensemble
from trading_agent.models.signal_engine import SignalEngine
from trading_agent.models.signals import SignalThresholds
from trading_agent.models.trees import make_tree_model
from trading_agent.services.backtest import BacktestService, MarketOptions
from trading_agent.services.market_data import MarketDataService
from trading_agent.services.paper import PaperOptions, open_paper_session
from trading_agent.storage import SqlJournal, create_database_engine
from trading_agent.training.dataset import build_training_set
from trading_agent.training.oof import FoldSetup, fit_ensemble

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def candles(btc_1h_path: Path) -> pd.DataFrame:
    """The last 4,000 real BTC/USDT 1h candles (to 2024-06-30)."""
    return read_candle_file(btc_1h_path, Timeframe.H1).iloc[-4000:]


def _settings(tmp_path: Path, name: str = "paper.db") -> AppSettings:
    return AppSettings(
        database_url=f"sqlite:///{tmp_path / name}",
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        config_dir=CONFIG_DIR,
    )


def _entries(events: list[Event]) -> list[OrderSubmitted]:
    return [e for e in events if isinstance(e, OrderSubmitted) and e.order.intent.role is OrderRole.ENTRY]


@pytest.mark.parametrize(
    ("strategy", "params"),
    [("sma-cross", {"fast": 10, "slow": 30}), ("rsi-reversion", {"period": 7, "lower": 35, "upper": 65})],
)
def test_a_paper_replay_makes_exactly_the_trades_of_the_event_backtest(
    candles: pd.DataFrame, tmp_path: Path, strategy: str, params: dict[str, float]
) -> None:
    """The shipped rules, signal filters on: ``paper --replay`` and ``backtest`` agree to the cent."""
    settings = _settings(tmp_path)
    path = write_candle_csv(candles, tmp_path)
    options = PaperOptions(replay=path, strategy=strategy, params=params, state_dir=tmp_path / "state")
    session = open_paper_session(settings, options)
    asyncio.run(session.agent.run(session.feed))
    service = BacktestService(MarketDataService.from_settings(settings), shipped_rules(), CONFIG_DIR, None)
    outcome = service.run(SERIES, strategy, params, options=MarketOptions())
    paper = session.agent.engine.trades
    assert len(paper) >= 3
    assert economics(paper) == economics(outcome.closed_trades)
    journal = list(SqlJournal(create_database_engine(settings.database_url), "paper").read())
    filtered = sum(isinstance(e, SignalFiltered) for e in journal)
    assert outcome.report.filtered_entries == filtered > 0  # the filters refused the same entries in both


def test_two_replays_of_the_same_candles_write_identical_journals(candles: pd.DataFrame, tmp_path: Path) -> None:
    journals = []
    for name in ("one.db", "two.db"):
        settings = _settings(tmp_path, name)
        path = write_candle_csv(candles.iloc[-1500:], tmp_path)
        session = open_paper_session(settings, PaperOptions(replay=path, strategy="sma-cross", state_dir=tmp_path))
        asyncio.run(session.agent.run(session.feed))
        journals.append(list(SqlJournal(create_database_engine(settings.database_url), "paper").read()))
    assert len(journals[0]) > 1500
    assert journals[0] == journals[1]  # ids and timestamps included: market time, not the wall clock


def test_duplicate_past_and_foreign_candles_are_skipped(candles: pd.DataFrame) -> None:
    events = closed(candles.iloc[-800:])
    clean, noisy = MemoryJournal(), MemoryJournal()
    reference = start_agent(clean, rule_source("sma-cross", fast=5, slow=20))
    for event in events:
        reference.on_candle(event)
    agent = start_agent(noisy, rule_source("sma-cross", fast=5, slow=20))
    other = replace(events[0], series=SeriesKey(InstrumentId("binance", "ETHUSDT"), Timeframe.H1))
    for i, event in enumerate(events):
        agent.on_candle(event)
        if i in (100, 400):
            agent.on_candle(event)  # a duplicate
            agent.on_candle(events[i - 50])  # a candle from the past
            agent.on_candle(other)  # another series
    assert agent.skipped == 6
    assert list(noisy.events) == list(clean.events)


def test_a_paused_agent_opens_nothing_and_resumes_on_request(candles: pd.DataFrame) -> None:
    events = closed(candles.iloc[-2000:])
    agent = start_agent(
        MemoryJournal(), rule_source("sma-cross", fast=5, slow=20), sizing=SizingMethod.FIXED_FRACTIONAL
    )
    for event in events[:600]:
        agent.on_candle(event)
    assert agent.engine.trades, "the rule should have traded before the pause"
    agent.pause("test: pause")
    paused: list[Event] = []
    for event in events[600:1000]:
        paused += agent.on_candle(event)
    refused = [e for e in paused if isinstance(e, SignalFiltered)]
    assert refused and all(e.reasons == ("paused",) for e in refused)
    assert not _entries(paused)  # stops, targets and exits still work while paused
    agent.resume("test: resume")
    resumed: list[Event] = []
    for event in events[1000:]:
        resumed += agent.on_candle(event)
    assert _entries(resumed) and not any(isinstance(e, SignalFiltered) for e in resumed)


def test_an_emergency_stop_flattens_and_holds_across_a_restart(candles: pd.DataFrame, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'controls.db'}"
    events = closed(candles.iloc[-2000:])
    agent = start_agent(SqlJournal(create_database_engine(url), "ctl"), rule_source("sma-cross", fast=5, slow=20))
    at = 0
    while agent.engine.position(agent.instrument.id) is None:
        agent.on_candle(events[at])
        at += 1
    agent.set_mode("conservative", "test: mode")
    agent.emergency_stop("test: emergency")
    agent.on_candle(events[at])  # the flattening order fills at this candle's open
    assert agent.engine.position(agent.instrument.id) is None
    assert agent.controls.paused and EMERGENCY_BREAKER in agent.engine.tripped_breakers

    restarted = start_agent(SqlJournal(create_database_engine(url), "ctl"), rule_source("sma-cross", fast=5, slow=20))
    assert restarted.controls.paused and restarted.mode == "conservative"
    assert restarted.engine.snapshot() == agent.engine.snapshot()
    later: list[Event] = []
    for event in events:  # the traded candles only warm the window, then trading goes on
        later += restarted.on_candle(event)
    refused = [e for e in later if isinstance(e, SignalFiltered)]
    assert refused and not _entries(later)
    restarted.resume("test: resume")
    assert EMERGENCY_BREAKER not in restarted.engine.tripped_breakers and not restarted.controls.paused
    journal = SqlJournal(create_database_engine(url), "ctl").read()
    assert [e.command.value for e in journal if isinstance(e, AgentControlled)] == [
        "set_mode",
        "emergency_stop",
        "resume",
    ]


def test_a_riskier_mode_sizes_entries_bigger(candles: pd.DataFrame) -> None:
    events = closed(candles.iloc[-1500:])
    sizes = {}
    for mode in (None, "aggressive"):
        agent = start_agent(MemoryJournal(), rule_source("sma-cross", fast=5, slow=20))
        if mode is not None:
            agent.set_mode(mode)
        submitted: list[Event] = []
        for event in events:
            submitted += agent.on_candle(event)
            if _entries(submitted):
                break
        sizes[mode] = _entries(submitted)[0].order.intent.contracts
    # Kelly falls back to the risk per trade until 30 trades: 2% as configured, 7.5% in aggressive mode
    assert sizes["aggressive"] == pytest.approx(sizes[None] * 7.5 / 2, rel=0.2)


def _ensemble_source(bundle: Path) -> EnsembleSource:
    thresholds = SignalThresholds(buy_prediction=0.5, buy_confidence=0.5, sell_prediction=0.499, sell_confidence=0.5)
    engine = SignalEngine.from_bundle(bundle, Timeframe.H1, thresholds)
    return EnsembleSource(engine, thresholds, InstrumentId("delta_india", "BTCUSD"))


def test_a_restarted_ensemble_agent_resumes_from_its_saved_state_exactly(candles: pd.DataFrame, tmp_path: Path) -> None:
    frame = candles.iloc[-2400:]
    data = build_training_set(frame.iloc[:1200], Timeframe.H1)
    setup = FoldSetup({"lgbm": lambda: make_tree_model("lgbm", n_estimators=20),
                       "gru": lambda: tiny_sequence_model("gru", window=6)})  # fmt: skip
    rows = np.arange(len(data))
    save_ensemble(fit_ensemble(data, rows[:800], rows[800:], setup), tmp_path / "bundle", info={})
    events = closed(frame.iloc[1200:])

    whole = MemoryJournal()
    uninterrupted = start_agent(whole, _ensemble_source(tmp_path / "bundle"))
    for event in events:
        uninterrupted.on_candle(event)
    assert sum(isinstance(e, SignalGenerated) for e in whole.events) > 500

    state = StateFile(tmp_path / "agent.state")
    options = AgentOptions(state=state, checkpoint_every=100)
    journal = MemoryJournal()
    first = start_agent(journal, _ensemble_source(tmp_path / "bundle"), options=options)
    for event in events[:537]:  # "killed" 37 candles after its last saved state
        first.on_candle(event)
    second = start_agent(journal, _ensemble_source(tmp_path / "bundle"), options=options)
    assert second.restored_ts == events[499].candle.ts and second.resume_ts == events[536].candle.ts
    for event in events:  # the same command again: the replay starts from the first candle
        second.on_candle(event)
    assert list(journal.events) == list(whole.events)
