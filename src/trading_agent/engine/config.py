"""The engine's configuration: one frozen value, built from ``config/trading_rules.yaml`` by the services layer.

The engine never reads files or the environment; everything it obeys is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from trading_agent.domain import OrderType, Timeframe
from trading_agent.engine.costs import FeeModel, SlippageModel
from trading_agent.engine.errors import EngineError
from trading_agent.engine.exits import ExitRules
from trading_agent.risk.anomaly import AnomalyRules
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits

__all__ = ["EngineConfig", "ExecutionRules"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionRules:
    """How orders are executed (``execution`` in the trading rules).

    ``max_slippage_percent`` refuses an entry fill worse than that from its reference price
    (``None``: no guard; protective exits are never refused). A refused fill is retried on the next
    candle when ``retry_failed_orders``, at most ``max_retries`` times, then canceled.
    ``entry_order_type``: how a strategy's entries go in (``engine.decisions``): market orders, or
    limit orders at the decision's close, good for ``limit_expiry_candles`` candles.
    """

    max_slippage_percent: Decimal | None = Decimal("0.1")
    retry_failed_orders: bool = True
    max_retries: int = 3
    entry_order_type: OrderType = OrderType.MARKET
    limit_expiry_candles: int = 1

    def __post_init__(self) -> None:
        limit = self.max_slippage_percent
        if limit is not None and not (limit.is_finite() and limit > 0):
            raise EngineError(f"max_slippage_percent must be positive, got {limit}")
        if self.max_retries < 0:
            raise EngineError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.entry_order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise EngineError(f"entry_order_type must be market or limit, got {self.entry_order_type}")
        if self.limit_expiry_candles < 1:
            raise EngineError(f"limit_expiry_candles must be >= 1, got {self.limit_expiry_candles}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """Everything the engine obeys.

    ``session`` prefixes every id the engine makes (events, orders, fills), so two sessions can
    share one journal. ``timeframe`` is the candle length the engine is fed. Funding settles on
    the grid ``funding_anchor_ms + k x interval`` of each instrument; ``default_funding_rate`` (a
    fraction per interval) applies wherever no stored rate exists: no series for the instrument,
    or a settlement its series does not hold (the series' own ``default_rate`` is not used).
    """

    session: str = "default"
    timeframe: Timeframe = Timeframe.H1
    initial_balance: Decimal = Decimal(10_000)
    slippage: SlippageModel = field(default_factory=SlippageModel)
    fees: FeeModel = field(default_factory=FeeModel)
    execution: ExecutionRules = field(default_factory=ExecutionRules)
    exits: ExitRules = field(default_factory=ExitRules)
    limits: RiskLimits = field(default_factory=RiskLimits)
    breakers: BreakerRules = field(default_factory=BreakerRules)
    anomaly: AnomalyRules = field(default_factory=AnomalyRules)
    funding_anchor_ms: int = 0
    default_funding_rate: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if not self.session or ":" in self.session or len(self.session) > 24:
            raise EngineError(f"session must be 1-24 characters without ':', got {self.session!r}")
        if not (self.initial_balance.is_finite() and self.initial_balance > 0):
            raise EngineError(f"initial_balance must be positive, got {self.initial_balance}")
        if not self.default_funding_rate.is_finite():
            raise EngineError(f"default_funding_rate must be finite, got {self.default_funding_rate}")
