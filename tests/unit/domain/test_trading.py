from decimal import Decimal

import pytest

from trading_agent.domain import (
    Direction,
    DomainError,
    InstrumentId,
    OrderIntent,
    OrderType,
    PortfolioState,
    PositionSide,
    Side,
    Signal,
    Trade,
    TradeId,
)

BTC = InstrumentId("delta_india", "BTCUSD")


def test_signal_bounds_and_votes_are_frozen() -> None:
    votes = {"lightgbm": 0.7}
    signal = Signal(instrument=BTC, ts=0, direction=Direction.LONG, strength=0.5, confidence=0.7, model_votes=votes)
    votes["lightgbm"] = 0.1
    assert signal.model_votes["lightgbm"] == 0.7
    with pytest.raises(TypeError):
        signal.model_votes["x"] = 1.0  # type: ignore[index]
    with pytest.raises(DomainError, match="confidence"):
        Signal(instrument=BTC, ts=0, direction=Direction.LONG, strength=0.5, confidence=1.2)


def test_order_intent_validates_size_and_prices() -> None:
    with pytest.raises(DomainError, match="positive number of contracts"):
        OrderIntent(instrument=BTC, side=Side.BUY, contracts=0)
    with pytest.raises(DomainError, match="limit_price is required"):
        OrderIntent(instrument=BTC, side=Side.BUY, contracts=1, order_type=OrderType.LIMIT)
    with pytest.raises(DomainError, match="stop_price is not allowed"):
        OrderIntent(instrument=BTC, side=Side.BUY, contracts=1, stop_price=Decimal(1))
    with pytest.raises(DomainError, match="positive finite"):
        OrderIntent(instrument=BTC, side=Side.SELL, contracts=1, order_type=OrderType.LIMIT, limit_price=Decimal("NaN"))
    intent = OrderIntent(
        instrument=BTC, side=Side.SELL, contracts=3, order_type=OrderType.LIMIT, limit_price=Decimal(5)
    )
    assert intent.side.sign == -1


def test_trade_holding_period_and_ordering() -> None:
    trade = Trade(
        id=TradeId("t1"),
        instrument=BTC,
        side=PositionSide.LONG,
        contracts=1,
        entry_price=Decimal(100),
        exit_price=Decimal(110),
        pnl=Decimal(10),
        pnl_percent=Decimal("0.1"),
        fees=Decimal(0),
        funding=Decimal(0),
        ts_opened=0,
        ts_closed=90_000,
        exit_reason="take_profit",
    )
    assert trade.holding_period_s == 90.0
    with pytest.raises(DomainError, match="closed before"):
        Trade(**{**{f: getattr(trade, f) for f in trade.__dataclass_fields__}, "ts_closed": -1})


def test_portfolio_drawdown_and_daily_pnl() -> None:
    state = PortfolioState(
        ts=0,
        cash=Decimal(9000),
        equity=Decimal(9000),
        unrealized_pnl=Decimal(0),
        realized_pnl=Decimal(-1000),
        peak_equity=Decimal(10000),
        day_start_equity=Decimal(9500),
    )
    assert state.drawdown == Decimal("0.1")
    assert state.daily_pnl_fraction == Decimal(-500) / Decimal(9500)
