"""Builders for engine tests: an engine on BTCUSD 1h candles, candles by index, intents, event filters."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar
from unittest.mock import patch

from tests.testkit.instruments import BTCUSD_ID, btcusd
from trading_agent.domain import Candle, Event, OrderIntent, Side, Timeframe
from trading_agent.engine.book import ALWAYS
from trading_agent.engine.config import EngineConfig
from trading_agent.engine.engine import TradingEngine
from trading_agent.engine.exits import ExitRules
from trading_agent.engine.journal import MemoryJournal
from trading_agent.engine.state import EngineState
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits

H = 3_600_000
"""One hour in ms: the candle length of the test engine."""

E = TypeVar("E", bound=Event)

OPEN_LIMITS = RiskLimits(
    max_position_fraction=1.0, max_leverage=10, max_trades_per_day=1000, min_time_between_trades_s=0
)
"""Limits that let any sane order through, so a test exercises only what it means to."""

NO_EXITS = ExitRules(trailing_enabled=False, time_exit_enabled=False)


def config(**overrides: Any) -> EngineConfig:
    """A 1h engine config with open limits and no automatic exits, fields overridable."""
    spec: dict[str, Any] = {
        "timeframe": Timeframe.H1,
        "limits": OPEN_LIMITS,
        "exits": NO_EXITS,
        "breakers": BreakerRules(max_consecutive_losses=1000, rapid_fire_max_trades=1000),
        "session": "t",
    }
    return EngineConfig(**(spec | overrides))


def engine(journal: MemoryJournal | None = None, **overrides: Any) -> TradingEngine:
    """An engine on the BTCUSD test instrument."""
    return TradingEngine(config(**overrides), [btcusd()], journal=journal if journal is not None else MemoryJournal())


def candle(index: int, open_: float, high: float, low: float, close: float, volume: float = 1000.0) -> Candle:  # noqa: PLR0917
    """The ``index``-th hourly candle."""
    return Candle(index * H, open_, high, low, close, volume)


def flat(index: int, price: float) -> Candle:
    """A candle that does not move."""
    return candle(index, price, price, price, price)


def buy(contracts: int, **fields: Any) -> OrderIntent:
    """A BTCUSD buy intent (market unless told)."""
    return OrderIntent(instrument=BTCUSD_ID, side=Side.BUY, contracts=contracts, **fields)


def sell(contracts: int, **fields: Any) -> OrderIntent:
    """A BTCUSD sell intent (market unless told)."""
    return OrderIntent(instrument=BTCUSD_ID, side=Side.SELL, contracts=contracts, **fields)


def of_type(events: Iterable[Event], kind: type[E]) -> list[E]:
    """The events of one type, in order."""
    return [event for event in events if isinstance(event, kind)]


def without_ids(event: Event) -> Event:
    """``event`` with the identity fields blanked (to compare what happened, not when it was stamped)."""
    return replace(event, event_id="", ts_init=0)


D = Decimal


def _always_slow(self: EngineState) -> None:
    _REFRESH(self)
    for book in self.books.values():
        book.wake_ts = ALWAYS


_REFRESH = EngineState.refresh


def fast_path_off() -> AbstractContextManager[object]:
    """Within it, every candle takes the engine's slow path (to show the fast path changes nothing)."""
    return patch.object(EngineState, "refresh", _always_slow)
