"""Keys of the status view steer the agent through its journaled controls."""

from __future__ import annotations

from tests.testkit.agent import closed, rule_source, start_agent
from trading_agent.agent import EMERGENCY_BREAKER
from trading_agent.cli.keys import apply_key
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import AgentControlled, Timeframe
from trading_agent.engine import MemoryJournal


def test_each_key_is_a_journaled_control_and_other_keys_do_nothing() -> None:
    journal = MemoryJournal()
    agent = start_agent(journal, rule_source("sma-cross", fast=5, slow=20))
    for event in closed(SyntheticMarket(seed=5, timeframe=Timeframe.H1).generate(60)):
        agent.on_candle(event)
    assert apply_key(agent, "x") is None and apply_key(agent, "e") is None  # lower-case e is not the stop
    assert apply_key(agent, "p") == "paused" and agent.controls.paused
    assert apply_key(agent, "3") == "mode aggressive" and agent.mode == "aggressive"
    assert apply_key(agent, "r") == "resumed" and not agent.controls.paused
    assert apply_key(agent, "E").startswith("emergency stop")
    assert EMERGENCY_BREAKER in agent.engine.tripped_breakers and agent.controls.paused
    assert apply_key(agent, "r") == "resumed" and EMERGENCY_BREAKER not in agent.engine.tripped_breakers
    commands = [e.command.value for e in journal.events if isinstance(e, AgentControlled)]
    assert commands == ["pause", "set_mode", "resume", "emergency_stop", "resume"]
