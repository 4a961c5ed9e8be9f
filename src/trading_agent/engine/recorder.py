"""Stamps the engine's events, applies each to the state and holds them until the step is committed.

Ids are the session plus a counter (``s:000000000001``) and ``ts_init`` is market time (the
event's own ``ts_event``) unless a clock is given: two runs over the same candles write identical
journals. Replaying a journal advances the counter once per event, so ids continue where the
journal stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from trading_agent.domain import Event

__all__ = ["Recorder"]

UNSTAMPED: Mapping[str, Any] = {"event_id": "", "ts_init": 0}  # a dict (typed read-only): ``**`` unpacks it fastest
"""Identity fields of an event not stamped (yet): a stand-in built only to compute a state, or a
derived event (a position event the fold returns) that ``emit`` stamps before recording it. Passing
them explicitly spares the ``Event`` defaults (a fresh UUID and a clock reading) thrown away at once."""


class Recorder:
    """The step's events: stamped, applied through ``apply`` (the fold) and buffered."""

    def __init__(
        self, session: str, apply: Callable[[Event], tuple[Event, ...]], clock: Callable[[], int] | None = None
    ) -> None:
        self._session = session
        self._apply = apply
        self._clock = clock
        self.seq = 0
        self.pending: list[Event] = []

    def ids(self, ts_event: int) -> dict[str, Any]:
        """``event_id`` and ``ts_init`` for the next event (consumes one number of the sequence)."""
        self.seq += 1
        return {
            "event_id": f"{self._session}:{self.seq:012d}",
            "ts_init": self._clock() if self._clock is not None else ts_event,
        }

    def emit(self, event: Event) -> None:
        """Record a stamped event: apply it, then record the position events it implies."""
        self.pending.append(event)
        for derived in self._apply(event):
            self.pending.append(replace(derived, **self.ids(derived.ts_event)))

    def replay(self, event: Event) -> None:
        """Apply an event read back from the journal (its derived events are in the journal too)."""
        self.seq += 1
        self._apply(event)

    def take(self) -> list[Event]:
        """The buffered events, leaving the buffer empty."""
        events, self.pending = self.pending, []
        return events
