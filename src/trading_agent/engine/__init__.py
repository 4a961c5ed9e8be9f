"""The one trading engine: order simulation, positions, margin, funding, liquidation, exits, the risk gate.

Imports only the domain and the risk manager. ``TradingEngine`` is the entry point (docs/engine.md);
the other modules hold its pure calculations and its parts.
"""

from trading_agent.engine.candle_arrays import CandleArrays
from trading_agent.engine.config import EngineConfig, ExecutionRules
from trading_agent.engine.engine import TradingEngine
from trading_agent.engine.exits import ExitRules, StopMethod
from trading_agent.engine.journal import Journal, MemoryJournal, Publisher

__all__ = [
    "CandleArrays",
    "EngineConfig",
    "ExecutionRules",
    "ExitRules",
    "Journal",
    "MemoryJournal",
    "Publisher",
    "StopMethod",
    "TradingEngine",
]
