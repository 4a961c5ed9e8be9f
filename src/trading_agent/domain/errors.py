"""The root of every exception the project raises on purpose."""

__all__ = ["DomainError", "TradingAgentError"]


class TradingAgentError(Exception):
    """Base class of every error this project raises deliberately (caught by the CLI)."""


class DomainError(TradingAgentError, ValueError):
    """A value object was given a value that breaks its invariants."""
