"""Structured logging (structlog) for every process: console for people, JSON for shippers."""

from __future__ import annotations

import logging
import sys

import structlog

from trading_agent.config.settings import LogFormat, LogLevel

__all__ = ["configure_logging"]


def configure_logging(level: LogLevel = LogLevel.INFO, fmt: LogFormat = LogFormat.CONSOLE) -> None:
    """Route structlog and stdlib logging to stderr at ``level``."""
    numeric = logging.getLevelNamesMapping()[level.value]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if fmt is LogFormat.JSON else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s", force=True)
    # Libraries' routine INFO chatter (migrations, HTTP sessions) only at DEBUG.
    for name in ("alembic", "aiohttp", "websockets", "ccxt"):
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING) if numeric > logging.DEBUG else numeric)
