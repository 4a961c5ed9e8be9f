"""The paper session's status view: what it shows while the agent runs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from tests.testkit.agent import closed, rule_source, start_agent
from trading_agent.agent import InProcessBus
from trading_agent.cli.paper import status_panel
from trading_agent.data.cache import CandleCache
from trading_agent.data.feeds.replay import ReplayFeed
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe
from trading_agent.engine import MemoryJournal
from trading_agent.services.paper import PaperSession
from trading_agent.storage import open_store


def _rendered(session: PaperSession) -> str:
    console = Console(record=True, width=160)
    console.print(status_panel(session))
    return console.export_text()


def test_the_view_shows_price_pnl_signal_mode_and_breakers(tmp_path: Path) -> None:
    frame = SyntheticMarket(seed=3, timeframe=Timeframe.H1).generate(400)
    agent = start_agent(MemoryJournal(), rule_source("sma-cross", fast=5, slow=20))
    for event in closed(frame):
        agent.on_candle(event)
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    session = PaperSession(
        agent=agent,
        feed=ReplayFeed({agent.series: frame}),
        bus=InProcessBus(),
        market="SYNTHETIC market: test",
        source="built-in sma-cross",
        synthetic=True,
        total=400,
        notes=[],
        cache=CandleCache(store),
    )
    text = _rendered(session)
    status = agent.status()
    assert "SYNTHETIC" in text and "400 / 400" in text
    assert status.last_candle is not None and f"{status.last_candle.close:,.2f}" in text
    assert f"trades {status.trades}" in text and status.trades > 0
    assert status.last_signal is not None and f"confidence {status.last_signal.confidence:.2f}" in text
    assert "as configured, trading" in text and "none tripped" in text
    agent.set_mode("aggressive")
    agent.emergency_stop("view test")
    stopped = _rendered(session)
    assert "aggressive, paused" in stopped and "emergency_stop (view test)" in stopped
