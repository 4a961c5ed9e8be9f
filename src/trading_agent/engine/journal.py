"""Where the engine's events go: journaled first (one transaction per step), announced second.

The engine depends only on these two protocols; ``storage.SqlJournal`` is the durable journal
and ``MemoryJournal`` the in-process one for backtests and tests. A journal must append a batch
atomically (all or nothing) and give the events back in the order they were appended.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from trading_agent.domain import Event
from trading_agent.engine.errors import EngineError

__all__ = ["EngineFailedError", "Journal", "JournalWriteError", "MemoryJournal", "Publisher"]


class Journal(Protocol):
    """An append-only, ordered store of events."""

    def append(self, events: Sequence[Event]) -> int:
        """Store ``events`` in one transaction (all or none); return how many were stored."""
        ...

    def read(self) -> Iterator[Event]:
        """Every stored event, in the order it was appended."""
        ...


class Publisher(Protocol):
    """Announces journaled events (the event bus, a test's list)."""

    def publish(self, events: Sequence[Event]) -> None:
        """Announce ``events``; called only after they are journaled."""
        ...


class JournalWriteError(EngineError):
    """The journal refused a step; nothing of it was announced and the engine stops."""


class EngineFailedError(EngineError):
    """The engine stopped after a journal failure: rebuild it from the journal to go on."""


class MemoryJournal:
    """A journal held in a list: for backtests (nothing to survive) and tests."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def append(self, events: Sequence[Event]) -> int:
        """Append ``events`` (a list extend cannot half-fail)."""
        self.events.extend(events)
        return len(events)

    def read(self) -> Iterator[Event]:
        """The events in order."""
        return iter(list(self.events))
