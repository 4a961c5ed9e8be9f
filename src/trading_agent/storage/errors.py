"""Errors of the storage layer. Every message names the database URL with its password masked."""

from __future__ import annotations

from trading_agent.domain import TradingAgentError

__all__ = [
    "DatabaseUnavailableError",
    "InvalidDatabaseUrlError",
    "InvalidFrameError",
    "MigrationError",
    "StorageError",
]


class StorageError(TradingAgentError):
    """The database could not be reached, migrated, read or written."""


class InvalidDatabaseUrlError(StorageError, ValueError):
    """The database URL is malformed or names an unsupported database or driver."""


class DatabaseUnavailableError(StorageError):
    """The database could not be opened (server down, wrong credentials, unwritable file)."""


class MigrationError(StorageError):
    """The schema could not be brought to the expected revision."""


class InvalidFrameError(StorageError, ValueError):
    """A DataFrame handed to the store does not have the candle/funding frame shape."""
