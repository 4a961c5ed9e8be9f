"""Whether and at what price an order fills on the next candle: pure functions, no state.

The order was placed at or before the candle's open. Rules (all conservative):

- **Tick grid.** The candle's open/high/low are first snapped to the instrument's tick grid
  (nearest tick); every rule below works on that snapped candle. Trap: candles from another venue
  (finer ticks) may sit half a tick away from the snapped range; for on-tick candles the snapped
  range *is* the candle's range. Order prices must already be on the tick grid (else refused).
- **Market**: taker at the open plus slippage.
- **Limit**: buy fills when ``low <= limit``, sell when ``high >= limit`` (a touch counts; trap:
  that assumes front-of-queue), at the limit, as maker. A limit already marketable at the open
  (buy limit >= open) fills at the open plus slippage, never worse than the limit, as taker.
- **Stop-market**: a buy stop triggers when ``high >= stop``, a sell stop when ``low <= stop``; it
  fills at the stop, or at the open when the open gapped through it, plus slippage, as taker.
- **Stop-limit**: triggers like a stop. Gapped at the open: then behaves as a limit on the whole
  candle (marketable at the open: taker; else maker at the limit if the range reaches it).
  Triggered intrabar: fills only if the limit is marketable at the stop price (taker, capped at
  the limit); a limit beyond the trigger is NOT filled in the same candle (the extreme may have
  come before the trigger) and the decision says ``triggered`` so the caller rests it as a limit.
- **Slippage and the range.** A slipped price is rounded adversely to the tick (buys up, sells
  down) and then clipped into the snapped ``[low, high]``: no fill outside the candle, and no buy
  below (sell above) its un-slipped reference price.
- **Price band.** With an instrument ``price_band``, a taker fill also stays within the band
  around its reference price (the mark at that moment): a buy at most ``reference x (1 + band)``,
  a sell at least ``reference x (1 - band)``, each rounded inward to the tick. Trap: the exchange
  would leave unfilled what the book cannot fill inside the band; candles have no book, so the
  whole order fills at the edge.
- **Max slippage guard.** A taker fill worse than ``max_slippage_percent`` from its reference
  price is refused (``refused=True`` with a reason), not raised. Trap: this also refuses a
  protective stop that gapped; pass ``None`` for exits that must go through.
- **Intrabar exits.** When a stop-loss and a take-profit both fill in one candle, the worse one is
  assumed to have happened first (``resolve_intrabar``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Protocol, TypeVar

from trading_agent.domain import Candle, Instrument, Liquidity, OrderType, Side
from trading_agent.engine.costs import SlippageModel, slipped_price
from trading_agent.engine.errors import EngineError

__all__ = ["FillDecision", "FillReason", "OrderSpec", "resolve_intrabar", "simulate_fill"]

_K = TypeVar("_K")


class OrderSpec(Protocol):
    """What the fill simulator reads from an order (``OrderIntent`` satisfies it)."""

    @property
    def side(self) -> Side: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def contracts(self) -> int: ...
    @property
    def limit_price(self) -> Decimal | None: ...
    @property
    def stop_price(self) -> Decimal | None: ...


class FillReason(StrEnum):
    """Why a fill decision came out the way it did."""

    MARKET_AT_OPEN = "market_at_open"
    LIMIT_MARKETABLE_AT_OPEN = "limit_marketable_at_open"
    LIMIT_TOUCHED = "limit_touched"
    LIMIT_NOT_TOUCHED = "limit_not_touched"
    STOP_TRIGGERED = "stop_triggered"
    STOP_GAPPED = "stop_gapped"
    STOP_NOT_TRIGGERED = "stop_not_triggered"
    STOP_LIMIT_MARKETABLE = "stop_limit_marketable"
    STOP_LIMIT_RESTING = "stop_limit_resting"
    SLIPPAGE_EXCEEDED = "slippage_exceeded"
    PRICE_OFF_TICK = "price_off_tick"
    INVALID_ORDER = "invalid_order"


_STOP_REASONS = frozenset({FillReason.STOP_TRIGGERED, FillReason.STOP_GAPPED, FillReason.STOP_LIMIT_MARKETABLE})


@dataclass(frozen=True, slots=True, kw_only=True)
class FillDecision:
    """The outcome for one order on one candle.

    ``filled`` implies ``price`` and ``liquidity``; ``reference_price`` is the un-slipped price the
    fill was measured from (open, stop or limit). ``triggered`` marks a stop that fired without a
    fill (rest it as a limit); ``refused`` marks a fill the guard or the validation rejected.
    """

    filled: bool
    price: Decimal | None
    liquidity: Liquidity | None
    reason: FillReason
    reference_price: Decimal | None = None
    triggered: bool = False
    refused: bool = False
    detail: str = ""

    def __post_init__(self) -> None:
        if self.filled != (self.price is not None) or self.filled != (self.liquidity is not None):
            raise EngineError("FillDecision: price and liquidity are set exactly when filled")
        if self.filled and self.refused:
            raise EngineError("FillDecision: a refused decision cannot be filled")

    @classmethod
    def no_fill(
        cls, reason: FillReason, *, triggered: bool = False, refused: bool = False, detail: str = ""
    ) -> FillDecision:
        """A decision without a fill."""
        return cls(
            filled=False, price=None, liquidity=None, reason=reason, triggered=triggered, refused=refused, detail=detail
        )


@dataclass(frozen=True, slots=True)
class _TickBar:
    open: Decimal
    high: Decimal
    low: Decimal
    instrument: Instrument

    @classmethod
    def of(cls, candle: Candle, instrument: Instrument) -> _TickBar:
        snap = instrument.round_price
        return cls(
            open=snap(Decimal(repr(candle.open))),
            high=snap(Decimal(repr(candle.high))),
            low=snap(Decimal(repr(candle.low))),
            instrument=instrument,
        )

    def taker_price(self, side: Side, reference: Decimal, fraction: float) -> Decimal:
        """``reference`` slipped by ``fraction`` against ``side``, on the tick, inside the price band."""
        buy = side is Side.BUY
        round_price = self.instrument.round_price
        price = round_price(slipped_price(reference, side, fraction), ROUND_CEILING if buy else ROUND_FLOOR)
        band = self.instrument.price_band
        if band is None:
            return price
        if buy:
            return min(price, round_price(reference * (1 + band), ROUND_FLOOR))
        return max(price, round_price(reference * (1 - band), ROUND_CEILING))


def _marketable(side: Side, price: Decimal, limit: Decimal) -> bool:
    return price <= limit if side is Side.BUY else price >= limit


def _limit_touched(bar: _TickBar, side: Side, limit: Decimal) -> bool:
    return bar.low <= limit if side is Side.BUY else bar.high >= limit


def _stop_trigger(bar: _TickBar, side: Side, stop: Decimal) -> tuple[Decimal, bool] | None:
    """(reference price, gapped) when the stop fires in this candle, else None."""
    if side is Side.BUY:
        if bar.open >= stop:
            return bar.open, True
        return (stop, False) if bar.high >= stop else None
    if bar.open <= stop:
        return bar.open, True
    return (stop, False) if bar.low <= stop else None


def _taker_fill(
    bar: _TickBar, side: Side, reference: Decimal, fraction: float, reason: FillReason, *, limit: Decimal | None = None
) -> FillDecision:
    price = bar.taker_price(side, reference, fraction)
    if side is Side.BUY:
        price = min(price, bar.high) if limit is None else min(price, bar.high, limit)
    else:
        price = max(price, bar.low) if limit is None else max(price, bar.low, limit)
    return FillDecision(filled=True, price=price, liquidity=Liquidity.TAKER, reason=reason, reference_price=reference)


def _maker_fill(limit: Decimal, reason: FillReason) -> FillDecision:
    return FillDecision(filled=True, price=limit, liquidity=Liquidity.MAKER, reason=reason, reference_price=limit)


def _limit(bar: _TickBar, side: Side, limit: Decimal, fraction: float) -> FillDecision:
    if _marketable(side, bar.open, limit):
        return _taker_fill(bar, side, bar.open, fraction, FillReason.LIMIT_MARKETABLE_AT_OPEN, limit=limit)
    if _limit_touched(bar, side, limit):
        return _maker_fill(limit, FillReason.LIMIT_TOUCHED)
    return FillDecision.no_fill(FillReason.LIMIT_NOT_TOUCHED)


def _stop_market(bar: _TickBar, side: Side, stop: Decimal, fraction: float) -> FillDecision:
    trigger = _stop_trigger(bar, side, stop)
    if trigger is None:
        return FillDecision.no_fill(FillReason.STOP_NOT_TRIGGERED)
    reference, gapped = trigger
    reason = FillReason.STOP_GAPPED if gapped else FillReason.STOP_TRIGGERED
    return _taker_fill(bar, side, reference, fraction, reason)


def _stop_limit(bar: _TickBar, side: Side, stop: Decimal, limit: Decimal, fraction: float) -> FillDecision:
    trigger = _stop_trigger(bar, side, stop)
    if trigger is None:
        return FillDecision.no_fill(FillReason.STOP_NOT_TRIGGERED)
    reference, gapped = trigger
    if _marketable(side, reference, limit):
        return _taker_fill(bar, side, reference, fraction, FillReason.STOP_LIMIT_MARKETABLE, limit=limit)
    if gapped and _limit_touched(bar, side, limit):
        return _maker_fill(limit, FillReason.LIMIT_TOUCHED)
    return FillDecision.no_fill(FillReason.STOP_LIMIT_RESTING, triggered=True)


def _off_tick(order: OrderSpec, instrument: Instrument) -> FillDecision | None:
    for name, value in (("limit_price", order.limit_price), ("stop_price", order.stop_price)):
        if value is not None and not instrument.is_on_tick(value):
            detail = f"{name} {value} is not a multiple of tick {instrument.tick_size}"
            return FillDecision.no_fill(FillReason.PRICE_OFF_TICK, refused=True, detail=detail)
    return None


def _guard(decision: FillDecision, side: Side, max_slippage_percent: Decimal | None) -> FillDecision:
    if max_slippage_percent is None or decision.price is None or decision.reference_price is None:
        return decision
    adverse_percent = side.sign * (decision.price - decision.reference_price) / decision.reference_price * 100
    if adverse_percent <= max_slippage_percent:
        return decision
    detail = (
        f"fill {decision.price} is {adverse_percent:.4f}% worse than reference {decision.reference_price} "
        f"(max {max_slippage_percent}%)"
    )
    return FillDecision.no_fill(
        FillReason.SLIPPAGE_EXCEEDED,
        triggered=decision.reason in _STOP_REASONS,
        refused=True,
        detail=detail,
    )


def simulate_fill(
    order: OrderSpec,
    candle: Candle,
    instrument: Instrument,
    slippage: SlippageModel,
    *,
    max_slippage_percent: Decimal | None = None,
    volatility: float | None = None,
) -> FillDecision:
    """Decide whether ``order`` fills on ``candle`` (the first candle opening after it was placed).

    See the module docstring for the rules. ``volatility`` (e.g. ATR / price known at decision
    time) feeds the slippage model; without it the candle's own range is used. Expected outcomes
    (no touch, refused, off-tick price) are returned, never raised.
    """
    rejected = _off_tick(order, instrument)
    if rejected is not None:
        return rejected
    bar = _TickBar.of(candle, instrument)
    quantity = order.contracts * float(instrument.contract_value)
    fraction = slippage.fraction(quantity, candle, volatility)
    side, limit, stop = order.side, order.limit_price, order.stop_price
    if order.order_type is OrderType.MARKET:
        decision = _taker_fill(bar, side, bar.open, fraction, FillReason.MARKET_AT_OPEN)
    elif order.order_type is OrderType.LIMIT and limit is not None:
        decision = _limit(bar, side, limit, fraction)
    elif order.order_type is OrderType.STOP_MARKET and stop is not None:
        decision = _stop_market(bar, side, stop, fraction)
    elif order.order_type is OrderType.STOP_LIMIT and stop is not None and limit is not None:
        decision = _stop_limit(bar, side, stop, limit, fraction)
    else:
        detail = f"{order.order_type} order without the prices it needs"
        return FillDecision.no_fill(FillReason.INVALID_ORDER, refused=True, detail=detail)
    return _guard(decision, side, max_slippage_percent)


def resolve_intrabar(exit_side: Side, candidates: Mapping[_K, FillDecision]) -> tuple[_K, FillDecision] | None:
    """Pick the exit that happened first when several fill in one candle: the WORSE one.

    ``exit_side`` is the side of the closing orders (SELL closes a long). For a sell the worse
    fill is the lower price, for a buy the higher; on a price tie a taker fill beats a maker fill
    (higher fee). Unfilled candidates are ignored; returns ``None`` when none filled.
    """
    filled = [(key, d) for key, d in candidates.items() if d.filled and d.price is not None]
    if not filled:
        return None

    def badness(item: tuple[_K, FillDecision]) -> tuple[Decimal, bool]:
        decision = item[1]
        price = decision.price if decision.price is not None else Decimal(0)
        return exit_side.sign * price, decision.liquidity is Liquidity.TAKER

    return max(filled, key=badness)
