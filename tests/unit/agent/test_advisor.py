"""The RL advisor in the agent loop: a voter's veto and journaled vote, sizing's factor and refusals, restarts.

The policy is real: PPO trained a few hundred steps in ``TradingEnv`` on real BTC 1h candles with
the scaler fitted on those candles only, wrapped by ``RLPolicy.from_trained`` (as
``services.rl_training`` does); the agent trades the candles after them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.testkit.agent import CONFIG_DIR as REPO_CONFIG
from tests.testkit.agent import SERIES, closed, rule_source, shipped_rules, start_agent, write_candle_csv
from tests.testkit.instruments import btcusd
from trading_agent.agent import Advice, AgentOptions, RLAdvisor, StateFile, TradingAgent
from trading_agent.backtest.filters import EntryFilter, FilterRules
from trading_agent.backtest.rl_env import TradingEnv, TradingEnvConfig, rl_engine_config
from trading_agent.config import AppSettings
from trading_agent.data.files import read_candle_file
from trading_agent.data.frames import candles_from_frame
from trading_agent.domain import (
    Candle,
    Direction,
    Event,
    OrderRole,
    OrderSubmitted,
    SignalFiltered,
    SignalGenerated,
    SizingMethod,
    Timeframe,
)
from trading_agent.engine import EngineConfig, MemoryJournal
from trading_agent.features import Bars, FeatureEngine
from trading_agent.models.base import ModelInputError
from trading_agent.models.rl_policy import Algorithm, FeatureScaler, PositionState, RLPolicy, new_agent
from trading_agent.registry.policy_registry import PolicyRegistry
from trading_agent.risk.sizing import SizingContext, SizingRules, contracts_for_notional, make_sizer
from trading_agent.services.paper import PaperOptions, open_paper_session
from trading_agent.services.trading_setup import agent_modes, engine_config, sizing_rules
from trading_agent.storage import SqlJournal, create_database_engine

pytestmark = [pytest.mark.real_data, pytest.mark.usefixtures("one_torch_thread")]

NAMES = ("rsi_14", "bb_pctb_20_2", "natr_14", "roc_10")
WINDOW = 4
TRAIN = 800
NAME = "rl"


@pytest.fixture(scope="module")
def candles(btc_1h_path: Path) -> pd.DataFrame:
    """The last 2,000 real BTC/USDT 1h candles: 800 to train the policy on, then 1,200 to trade."""
    return read_candle_file(btc_1h_path, Timeframe.H1).iloc[-2000:]


@pytest.fixture(scope="module")
def policy(candles: pd.DataFrame) -> RLPolicy:
    """PPO, 512 steps on the first 800 candles' streaming features (a high learning rate: outputs of both signs)."""
    train = candles.iloc[:TRAIN]
    features = FeatureEngine("default", timeframe=Timeframe.H1)
    raw = np.array(
        [[row[name] for name in NAMES] for row in map(features.update, candles_from_frame(train))], dtype=np.float32
    )
    first = int(np.argmax(np.all(np.isfinite(raw), axis=1)))
    scaler = FeatureScaler.fit(raw[first:])
    env = TradingEnv(
        Bars.from_frame(train.iloc[first:]),
        scaler.transform(raw[first:]),
        instrument=btcusd(),
        engine_config=rl_engine_config(EngineConfig(session="rl")),
        config=TradingEnvConfig(algorithm=Algorithm.PPO, window=WINDOW),
    )
    params = {"n_steps": 128, "batch_size": 64, "n_epochs": 4, "learning_rate": 3e-3}
    agent = new_agent(Algorithm.PPO, env, seed=0, params=params, net_arch=(16,))
    agent.learn(total_timesteps=512)
    return RLPolicy.from_trained(
        agent, scaler, algorithm=Algorithm.PPO, window=WINDOW, feature_names=NAMES, name="tiny-rl"
    )


def _advisor(policy: RLPolicy, role: str) -> RLAdvisor:
    return RLAdvisor(policy, role, FeatureEngine("default", timeframe=Timeframe.H1), name=NAME)


@dataclass
class _Recording:
    """A real advisor whose every advice is kept by candle open time (what the test compares against)."""

    advisor: RLAdvisor
    advices: dict[int, Advice] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.advisor.name

    def warm(self, candle: Candle) -> None:
        self.advisor.warm(candle)

    def advise(self, candle: Candle, entry: int, position: PositionState) -> Advice:
        advice = self.advisor.advise(candle, entry, position)
        self.advices[candle.ts] = advice
        return advice

    def save_state(self) -> bytes:
        return self.advisor.save_state()

    def restore_state(self, blob: bytes) -> None:
        self.advisor.restore_state(blob)


def _fixed_sizing() -> SizingRules:
    """The shipped sizing, fixed-fractional at 10% of equity (enough contracts to see a factor)."""
    return replace(sizing_rules(shipped_rules()), method=SizingMethod.FIXED_FRACTIONAL, risk_per_trade=0.10)


def _fixed_sizing_agent(journal: MemoryJournal, options: AgentOptions) -> TradingAgent:
    rules = shipped_rules()
    return TradingAgent.start(
        engine_config(rules, timeframe=SERIES.timeframe, session="paper"),
        btcusd(),
        SERIES,
        rule_source(),
        journal=journal,
        sizing=_fixed_sizing(),
        filters=EntryFilter(FilterRules(), SERIES.timeframe),
        options=replace(options, modes=agent_modes(rules)),
    )


def _entries(events: list[Event]) -> dict[int, OrderSubmitted]:
    return {
        int(e.order.intent.client_order_id.split("-")[-1]): e
        for e in events
        if isinstance(e, OrderSubmitted) and e.order.intent.role is OrderRole.ENTRY
    }


def test_a_voter_vetoes_the_entries_it_disagrees_with_and_its_vote_is_journaled(
    candles: pd.DataFrame, policy: RLPolicy
) -> None:
    journal = MemoryJournal()
    agent = start_agent(journal, options=AgentOptions(advisor=_advisor(policy, "voter")))
    for event in closed(candles.iloc[TRAIN:]):
        agent.on_candle(event)
    events = list(journal.events)
    generated = [e.signal for e in events if isinstance(e, SignalGenerated)]
    refused = {e.signal.ts: e.reasons for e in events if isinstance(e, SignalFiltered)}
    assert len(generated) >= 10
    disagreements = []
    for signal in generated:
        vote = signal.model_votes[NAME]
        assert 0.0 <= vote <= 1.0 and "sma-cross" in signal.model_votes  # the rule's own vote is kept
        disagrees = (signal.direction is Direction.LONG and vote < 0.5) or (
            signal.direction is Direction.SHORT and vote > 0.5
        )
        assert ("rl_vote" in refused.get(signal.ts, ())) == disagrees
        disagreements.append(disagrees)
    assert any(disagreements) and not all(disagreements)  # it vetoed some entries and let others through
    filtered_ts = {ts for ts, reasons in refused.items() if "rl_vote" in reasons}
    assert filtered_ts and not filtered_ts & set(_entries(events))  # a vetoed entry never becomes an order


def test_sizing_scales_the_entry_by_the_policy_exposure_and_refuses_against_its_sign(
    candles: pd.DataFrame, policy: RLPolicy
) -> None:
    events = closed(candles.iloc[TRAIN:])
    recording = _Recording(_advisor(policy, "sizing"))
    journal = MemoryJournal()
    advised = _fixed_sizing_agent(journal, AgentOptions(advisor=recording))
    for event in events:
        advised.on_candle(event)
    entries = _entries(list(journal.events))
    refused = {e.signal.ts: e.reasons for e in journal.events if isinstance(e, SignalFiltered)}
    sized = {ts: a for ts, a in recording.advices.items() if a.refusal is None and a.size_factor != 1.0}
    against = {ts for ts, a in recording.advices.items() if a.refusal == "rl_sizing"}
    assert sized and against
    assert all("rl_sizing" in refused[ts] and ts not in entries for ts in against)
    assert all(0 < a.size_factor < 1 for a in sized.values())

    # The first advised entry against the same agent without an advisor, kept flat (paused) until then.
    first = min(entries)
    factor = recording.advices[first].size_factor
    baseline_journal = MemoryJournal()
    baseline = _fixed_sizing_agent(baseline_journal, AgentOptions())
    baseline.pause("flat until the advised agent's first entry")
    for event in events:
        if event.candle.ts == first:
            baseline.resume("the advised agent enters here")
        baseline.on_candle(event)
        if event.candle.ts == first:
            break
    base = _entries(list(baseline_journal.events))[first].order.intent.contracts
    contracts = entries[first].order.intent.contracts
    close = Decimal(repr(next(e.candle.close for e in events if e.candle.ts == first)))
    notional = make_sizer(_fixed_sizing()).size(Decimal(10_000), SizingContext(trades=()))
    assert base == contracts_for_notional(notional, btcusd(), close) >= 10
    scaled = (notional * Decimal(repr(factor))).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    assert contracts == contracts_for_notional(scaled, btcusd(), close)
    assert abs(contracts - factor * base) <= 1 and contracts < base  # contracts ~ factor x base


@pytest.mark.parametrize("role", ["voter", "sizing"])
def test_a_restarted_advised_agent_resumes_from_its_saved_state_exactly(
    candles: pd.DataFrame, policy: RLPolicy, tmp_path: Path, role: str
) -> None:
    events = closed(candles.iloc[TRAIN:])
    whole = MemoryJournal()
    uninterrupted = start_agent(whole, options=AgentOptions(advisor=_advisor(policy, role)))
    for event in events:
        uninterrupted.on_candle(event)
    reason = {"voter": "rl_vote", "sizing": "rl_sizing"}[role]
    assert any(isinstance(e, SignalFiltered) and reason in e.reasons for e in whole.events)

    state = StateFile(tmp_path / "agent.state")
    journal = MemoryJournal()
    first = start_agent(journal, options=AgentOptions(state=state, advisor=_advisor(policy, role)))
    for event in events[:537]:  # "killed" 37 candles after its last saved state
        first.on_candle(event)
    second = start_agent(journal, options=AgentOptions(state=state, advisor=_advisor(policy, role)))
    assert second.advisor_restored_ts == events[499].candle.ts and second.resume_ts == events[536].candle.ts
    assert second.restored_ts is None  # a rule has no state of its own
    for event in events:  # the same command again: the replay starts from the first candle
        second.on_candle(event)
    assert list(journal.events) == list(whole.events)


def test_a_state_saved_without_an_advisor_is_not_restored_into_one(
    candles: pd.DataFrame, policy: RLPolicy, tmp_path: Path
) -> None:
    state = StateFile(tmp_path / "agent.state")
    state.save(int(candles.index[TRAIN].value // 1_000_000), b"not the agent's tuple")
    journal = MemoryJournal()
    agent = start_agent(journal, options=AgentOptions(state=state))
    events = closed(candles.iloc[TRAIN : TRAIN + 50])
    for event in events:
        agent.on_candle(event)
    restarted = start_agent(journal, options=AgentOptions(state=state, advisor=_advisor(policy, "voter")))
    assert restarted.advisor_restored_ts is None  # it warms up from the candles instead
    for event in events:
        restarted.on_candle(event)


def test_an_advisor_refuses_a_feature_engine_without_the_policy_features_and_the_role_off(policy: RLPolicy) -> None:
    renamed = RLPolicy.from_trained(
        policy.agent, policy.scaler, algorithm=Algorithm.PPO, window=WINDOW, feature_names=(*NAMES[:-1], "nope")
    )
    with pytest.raises(ModelInputError, match="lacks: nope"):
        RLAdvisor(renamed, "voter", FeatureEngine("default", timeframe=Timeframe.H1))
    with pytest.raises(ModelInputError, match="role"):
        RLAdvisor(policy, "off", FeatureEngine("default", timeframe=Timeframe.H1))


def test_the_paper_session_loads_the_production_policy_and_says_so(
    candles: pd.DataFrame, policy: RLPolicy, tmp_path: Path
) -> None:
    settings = AppSettings(
        database_url=f"sqlite:///{tmp_path / 'paper.db'}",
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        config_dir=REPO_CONFIG,
    )
    path = write_candle_csv(candles.iloc[TRAIN : TRAIN + 300], tmp_path)
    options = PaperOptions(replay=path, strategy="sma-cross", state_dir=tmp_path / "state", session="one")
    assert any(note.startswith("no RL policy registered") for note in open_paper_session(settings, options).notes)

    name = "binance-BTCUSDT-1h-rl-ppo"  # rl.yaml: algorithm ppo, role voter
    policy.save(tmp_path / "policy")
    registry = PolicyRegistry(settings.mlflow_tracking_uri)
    version = registry.register_policy(
        tmp_path / "policy", name=name, params={}, metrics={}, fold_metrics=[], tags={}
    ).version
    registry.promote(name, version)
    session = open_paper_session(settings, replace(options, session="two"))
    assert f"RL advisor: {name} v{version} as voter (window {WINDOW})" in session.notes
    asyncio.run(session.agent.run(session.feed))
    journal = SqlJournal(create_database_engine(settings.database_url), "two").read()
    votes = [e.signal.model_votes for e in journal if isinstance(e, SignalGenerated)]
    assert votes and all(f"{name}-v{version}" in v for v in votes)
