"""The live loop: feed -> features and signals -> filters -> risk manager -> engine -> journal -> bus."""

from trading_agent.agent.advisor import Advice, Advisor, RLAdvisor
from trading_agent.agent.agent import EMERGENCY_BREAKER, AgentOptions, InferenceObserver, StepCallback, TradingAgent
from trading_agent.agent.bus import BestEffortPublisher, EventBus, InProcessBus
from trading_agent.agent.checkpoint import StateFile
from trading_agent.agent.controls import AgentControls, AlertPreferences, RiskOverrides
from trading_agent.agent.sources import EnsembleSource, RuleSource, SignalSource, SourceOutput
from trading_agent.agent.status import AgentStatus
from trading_agent.agent.window import CandleWindow

__all__ = [
    "EMERGENCY_BREAKER",
    "Advice",
    "Advisor",
    "AgentControls",
    "AgentOptions",
    "AgentStatus",
    "AlertPreferences",
    "BestEffortPublisher",
    "CandleWindow",
    "EnsembleSource",
    "EventBus",
    "InProcessBus",
    "InferenceObserver",
    "RLAdvisor",
    "RiskOverrides",
    "RuleSource",
    "SignalSource",
    "SourceOutput",
    "StateFile",
    "StepCallback",
    "TradingAgent",
]
