"""Value objects and events shared by every layer. Imports only the standard library."""

from trading_agent.domain.errors import DomainError, TradingAgentError
from trading_agent.domain.events import *  # noqa: F403
from trading_agent.domain.events import __all__ as _events_all
from trading_agent.domain.market import (
    Candle,
    FundingRate,
    Instrument,
    InstrumentId,
    SeriesInfo,
    SeriesKey,
    SeriesKind,
)
from trading_agent.domain.timeframes import Timeframe, UnknownTimeframeError
from trading_agent.domain.trading import *  # noqa: F403
from trading_agent.domain.trading import __all__ as _trading_all

__all__ = [  # noqa: PLE0604
    "Candle",
    "DomainError",
    "FundingRate",
    "Instrument",
    "InstrumentId",
    "SeriesInfo",
    "SeriesKey",
    "SeriesKind",
    "Timeframe",
    "TradingAgentError",
    "UnknownTimeframeError",
    *_events_all,
    *_trading_all,
]
