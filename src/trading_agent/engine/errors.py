"""The engine's errors: invalid arguments to its calculations (the message names the argument).

Expected outcomes (an order that does not fill, a fill refused for slippage) are results, never
exceptions.
"""

from trading_agent.domain import DomainError

__all__ = ["EngineError", "FundingInputError", "LeverageTooHighError", "MarginInputError"]


class EngineError(DomainError):
    """An engine calculation was given an invalid argument."""


class MarginInputError(EngineError):
    """Invalid input to a margin, PnL or liquidation calculation."""


class LeverageTooHighError(MarginInputError):
    """Leverage above the instrument's (or its margin's) maximum."""


class FundingInputError(EngineError):
    """Invalid input to a funding calculation."""
