"""Agents for tests: the real TradingAgent on real candles, with the shipped trading rules."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from tests.testkit.instruments import btcusd
from tests.testkit.services import REPO_ROOT
from trading_agent.agent import AgentOptions, RuleSource, SignalSource, TradingAgent
from trading_agent.backtest.filters import EntryFilter, FilterRules
from trading_agent.backtest.strategies import make_strategy
from trading_agent.config.trading_rules import TradingRules, load_trading_rules
from trading_agent.data.feeds.replay import ReplayFeed
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import CandleClosed, InstrumentId, SeriesKey, SizingMethod, Timeframe, Trade
from trading_agent.engine.journal import Journal, Publisher
from trading_agent.services.trading_setup import agent_modes, engine_config, sizing_rules
from trading_agent.storage import SqlJournal, create_database_engine

SERIES = SeriesKey(InstrumentId("binance", "BTCUSDT"), Timeframe.H1)
CONFIG_DIR = REPO_ROOT / "config"


def shipped_rules() -> TradingRules:
    """The repository's trading rules, as a fresh clone has them."""
    return load_trading_rules(CONFIG_DIR)


def rule_source(name: str = "sma-cross", **params: float) -> RuleSource:
    """A built-in strategy as the agent's source, trading BTCUSD."""
    return RuleSource(make_strategy(name, params), btcusd().id)


def start_agent(
    journal: Journal,
    source: SignalSource | None = None,
    *,
    filters: FilterRules | None = None,
    options: AgentOptions | None = None,
    session: str = "paper",
    sizing: SizingMethod | None = None,
    publishers: Sequence[Publisher] = (),
) -> TradingAgent:
    """``TradingAgent.start`` on ``journal`` with the shipped rules (and their modes), no filters by default.

    ``sizing`` replaces the rules' method (Kelly stops sizing a rule without an edge after 30 trades).
    """
    rules = shipped_rules()
    base = sizing_rules(rules)
    config = engine_config(rules, timeframe=SERIES.timeframe, session=session)
    chosen = options or AgentOptions()
    return TradingAgent.start(
        config,
        btcusd(),
        SERIES,
        source or rule_source(),
        journal=journal,
        sizing=base if sizing is None else replace(base, method=sizing),
        filters=EntryFilter(filters or FilterRules(), SERIES.timeframe),
        options=replace(chosen, modes=chosen.modes or agent_modes(rules)),
        publishers=publishers,
    )


def traded_agent(url: str, session: str, candles: int, *, seed: int = 11) -> TradingAgent:
    """An agent that has paper-traded ``candles`` synthetic hourly candles into the journal at ``url``.

    SMA(5)/SMA(20) with fixed-fractional sizing (it trades every few dozen candles).
    """
    agent = start_agent(
        SqlJournal(create_database_engine(url), session),
        rule_source("sma-cross", fast=5, slow=20),
        session=session,
        sizing=SizingMethod.FIXED_FRACTIONAL,
    )
    for event in closed(SyntheticMarket(seed=seed, timeframe=Timeframe.H1).generate(candles)):
        agent.on_candle(event)
    return agent


def closed(frame: pd.DataFrame) -> list[CandleClosed]:
    """The candles of ``frame`` as the replay feed delivers them."""

    async def collect() -> list[CandleClosed]:
        return [event async for event in ReplayFeed({SERIES: frame}).events()]

    return asyncio.run(collect())


def economics(trades: tuple[Trade, ...] | list[Trade]) -> list[tuple[object, ...]]:
    """What a trade did, without the ids (which carry the session's name)."""
    return [
        (
            t.side,
            t.contracts,
            t.entry_price,
            t.exit_price,
            t.pnl,
            t.fees,
            t.funding,
            t.ts_opened,
            t.ts_closed,
            t.exit_reason,
        )
        for t in trades
    ]


def write_candle_csv(frame: pd.DataFrame, directory: Path, name: str = "binance_BTCUSDT_1h.csv") -> Path:
    """``frame`` as a candle file the importer reads (``timestamp`` in epoch ms, OHLCV)."""
    path = directory / name
    out = frame.reset_index(drop=True)
    out.insert(0, "timestamp", pd.DatetimeIndex(frame.index).as_unit("ms").asi8)
    out.to_csv(path, index=False)
    return path
