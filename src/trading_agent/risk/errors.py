"""The risk package's error: arguments that break a risk rule's own invariants.

Expected outcomes (a rejected intent, a tripped breaker) are results and events, never exceptions.
"""

from trading_agent.domain import DomainError

__all__ = ["RiskError"]


class RiskError(DomainError):
    """A risk rule, sizer or monitor was given an invalid argument; the message names it."""
