"""Trade and position metrics: pure functions over closed ``Trade``s, an equity curve or a position mask.

A trade is anything with a ``pnl`` and a ``holding_period_s`` (``ClosedTrade``: the engine's
``Trade``, or a journal's trade record). A trade's result is its ``pnl`` (money, net of fees and
funding, a ``Decimal``); the sums are exact ``Decimal`` arithmetic, converted to float once. A
trade with ``pnl == 0`` counts in ``num_trades`` and ``expectancy`` but is neither a win nor a
loss. With no trades, every ratio is NaN and ``num_trades`` is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

import numpy as np
import numpy.typing as npt

from trading_agent.backtest.metrics_inputs import as_equity, as_mask, ratio_of_gain_to_loss

__all__ = [
    "ClosedTrade",
    "avg_holding_time",
    "expectancy",
    "exposure",
    "num_trades",
    "profit_factor",
    "recovery_factor",
    "win_rate",
]


class ClosedTrade(Protocol):
    """What the trade metrics read of a closed round trip."""

    @property
    def pnl(self) -> Decimal:
        """Net of fees and funding, in money."""

    @property
    def holding_period_s(self) -> float:
        """From open to close."""


def num_trades(trades: Sequence[ClosedTrade]) -> int:
    """How many round trips closed."""
    return len(trades)


def win_rate(trades: Sequence[ClosedTrade]) -> float:
    """The fraction of trades with ``pnl > 0``, in [0, 1]; NaN with no trades."""
    if not trades:
        return math.nan
    return sum(1 for trade in trades if trade.pnl > 0) / len(trades)


def profit_factor(trades: Sequence[ClosedTrade]) -> float:
    """Gross profit over gross loss: ``sum(winning pnl) / |sum(losing pnl)|``.

    +inf when some trades won and none lost (documented, as empyrical does for ratios over a
    zero denominator); NaN with no trades or only break-even ones.
    """
    gross_profit = sum((trade.pnl for trade in trades if trade.pnl > 0), Decimal(0))
    gross_loss = -sum((trade.pnl for trade in trades if trade.pnl < 0), Decimal(0))
    return ratio_of_gain_to_loss(float(gross_profit), float(gross_loss))


def expectancy(trades: Sequence[ClosedTrade]) -> float:
    """The mean trade PnL in money (the account currency), net of costs; NaN with no trades."""
    if not trades:
        return math.nan
    return float(sum((trade.pnl for trade in trades), Decimal(0)) / len(trades))


def avg_holding_time(trades: Sequence[ClosedTrade]) -> float:
    """The mean time from open to close, in seconds; NaN with no trades."""
    if not trades:
        return math.nan
    return float(np.mean([trade.holding_period_s for trade in trades]))


def exposure(in_position: npt.ArrayLike) -> float:
    """The fraction of bars with an open position, in [0, 1]; NaN for no bars.

    ``in_position`` has one boolean per bar (the same bars as the equity curve); a bar counts as
    exposed when a position is open at its close.
    """
    mask = as_mask(in_position, "in_position")
    if mask.size == 0:
        return math.nan
    return float(mask.mean())


def recovery_factor(equity: npt.ArrayLike) -> float:
    """Net profit over the largest drawdown in money: ``(equity[-1] - equity[0]) / max(cummax - equity)``.

    Both in money, so the worst money drawdown may be a different one from the worst fractional
    ``max_drawdown``. Negative after a loss; +inf with a profit and no drawdown; NaN with neither.
    """
    curve = as_equity(equity)
    worst = float(np.max(np.maximum.accumulate(curve) - curve))
    return ratio_of_gain_to_loss(float(curve[-1] - curve[0]), worst)
