"""Errors of the data layer."""

from __future__ import annotations

from trading_agent.domain import TradingAgentError

__all__ = ["DataError", "DataFileError", "ExchangeError", "ExchangeUnavailableError", "RateLimitedError"]


class DataError(TradingAgentError):
    """Market data could not be read, validated or stored."""


class DataFileError(DataError):
    """A data file is malformed; the message names the file and the line (or column)."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class ExchangeError(DataError):
    """The exchange answered with an error."""


class ExchangeUnavailableError(ExchangeError):
    """The exchange could not be reached (no network, DNS failure, timeout, maintenance)."""


class RateLimitedError(ExchangeError):
    """The exchange kept answering 429 after the allowed retries."""
