"""The one exception the service layer raises to its front ends (CLI, API, Telegram)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from trading_agent.domain import TradingAgentError

__all__ = ["ServiceError", "service_errors"]


class ServiceError(TradingAgentError):
    """A user-facing failure: the message is meant to be shown as is."""


@contextmanager
def service_errors() -> Iterator[None]:
    """Re-raise any deliberate project error as a ``ServiceError`` with the same message."""
    try:
        yield
    except ServiceError:
        raise
    except TradingAgentError as exc:
        raise ServiceError(str(exc)) from exc
