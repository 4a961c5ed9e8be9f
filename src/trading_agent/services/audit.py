"""The audit log: one structured line per thing a person did through an interface (trades, controls, jobs).

Written through structlog under the logger ``trading_agent.audit`` (JSON with
``TRADING_AGENT_LOG_FORMAT=json``), with whatever the interface bound to the context: the API binds
the request id and the client's address. The journal holds what the agent did about it (the
control, the order and its fate); this log says who asked, and when.
"""

from __future__ import annotations

from typing import Any

import structlog

__all__ = ["audit"]

_log = structlog.get_logger("trading_agent.audit")


def audit(action: str, **details: Any) -> None:
    """Record that ``action`` was asked for, with its ``details``."""
    _log.info("audit", action=action, **details)
