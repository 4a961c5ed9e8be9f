"""Position sizers: hand-computed cases and properties."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.testkit.instruments import btcusd
from trading_agent.domain import SizingMethod
from trading_agent.domain.errors import DomainError
from trading_agent.domain.market import Instrument, InstrumentId
from trading_agent.domain.trading import PositionSide, Trade, TradeId
from trading_agent.risk.sizing import (
    FixedFractionalSizer,
    KellySizer,
    SizingContext,
    SizingRules,
    VolatilitySizer,
    contracts_for_notional,
    kelly_fraction,
    make_sizer,
)

BTC = InstrumentId("delta_india", "BTCUSD")
INSTRUMENT = btcusd(max_leverage=Decimal(100), initial_margin=Decimal("0.01"), maintenance_margin=Decimal("0.005"))
WIDE = SizingRules(min_position_size=Decimal(0), max_position_size=Decimal(1_000_000))


def trade(pnl: str, n: int = 0) -> Trade:
    return Trade(
        id=TradeId(f"t{n}"),
        instrument=BTC,
        side=PositionSide.LONG,
        contracts=1,
        entry_price=Decimal(100),
        exit_price=Decimal(100),
        pnl=Decimal(pnl),
        pnl_percent=Decimal(0),
        fees=Decimal(0),
        funding=Decimal(0),
        ts_opened=0,
        ts_closed=1,
        exit_reason="test",
    )


def history(wins: int, win_pnl: str, losses: int, loss_pnl: str) -> tuple[Trade, ...]:
    return tuple(trade(win_pnl, i) for i in range(wins)) + tuple(trade(loss_pnl, wins + i) for i in range(losses))


class TestKellyFraction:
    def test_half_kelly_hand_computed(self) -> None:
        # b = 2, p = 0.5: full Kelly = 0.5 - 0.5 / 2 = 0.25; half = 0.125
        assert kelly_fraction(0.5, 2.0, 1.0) == pytest.approx(0.125)

    def test_loss_sign_is_ignored(self) -> None:
        assert kelly_fraction(0.5, 2.0, -1.0) == kelly_fraction(0.5, 2.0, 1.0)

    def test_capped(self) -> None:
        # full Kelly = 0.9 - 0.1 / 3 = 0.8667; half = 0.433 > cap
        assert kelly_fraction(0.9, 3.0, 1.0) == 0.25
        assert kelly_fraction(0.9, 3.0, 1.0, fraction=1.0, cap=1.0) == pytest.approx(0.9 - 0.1 / 3)

    def test_negative_edge_is_zero(self) -> None:
        assert kelly_fraction(0.3, 1.0, 1.0) == 0.0

    def test_zero_loss_or_zero_win_is_zero(self) -> None:
        assert kelly_fraction(0.6, 1.0, 0.0) == 0.0
        assert kelly_fraction(0.6, 0.0, 1.0) == 0.0

    @pytest.mark.parametrize(
        ("kwargs", "name"),
        [
            ({"win_rate": 1.5}, "win_rate"),
            ({"win_rate": math.nan}, "win_rate"),
            ({"avg_win": -1.0}, "avg_win"),
            ({"avg_loss": math.inf}, "avg_loss"),
            ({"fraction": 0.0}, "fraction"),
            ({"cap": 1.5}, "cap"),
        ],
    )
    def test_validation_names_the_argument(self, kwargs: dict[str, float], name: str) -> None:
        args: dict[str, float] = {"win_rate": 0.5, "avg_win": 1.0, "avg_loss": 1.0} | kwargs
        with pytest.raises(DomainError, match=name):
            kelly_fraction(**args)

    @given(
        st.floats(0, 1),
        st.floats(0, 1),
        st.floats(0.01, 100),
        st.floats(0.01, 100),
    )
    def test_monotone_in_win_rate(self, p1: float, p2: float, avg_win: float, avg_loss: float) -> None:
        low, high = sorted((p1, p2))
        assert kelly_fraction(low, avg_win, avg_loss) <= kelly_fraction(high, avg_win, avg_loss)


class TestSizingRules:
    def test_defaults_match_config(self) -> None:
        rules = SizingRules()
        assert rules.method is SizingMethod.KELLY_CRITERION
        assert (rules.kelly_fraction, rules.kelly_cap, rules.kelly_min_trades) == (0.5, 0.25, 30)
        assert (rules.min_position_size, rules.max_position_size) == (Decimal(100), Decimal(2500))

    def test_method_accepts_plain_string(self) -> None:
        assert SizingRules(method="fixed_fractional").method is SizingMethod.FIXED_FRACTIONAL  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("kwargs", "name"),
        [
            ({"risk_per_trade": 0.2}, "risk_per_trade"),
            ({"base_risk": 0.001}, "base_risk"),
            ({"kelly_min_trades": 0}, "kelly_min_trades"),
            ({"volatility_cap": 0.0}, "volatility_cap"),
            ({"min_position_size": Decimal(3000)}, "min_position_size"),
            ({"max_position_size": Decimal(0)}, "max_position_size"),
        ],
    )
    def test_invalid(self, kwargs: dict[str, object], name: str) -> None:
        with pytest.raises(DomainError, match=name):
            SizingRules(**kwargs)  # type: ignore[arg-type]


class TestFixedFractional:
    def test_fraction_of_equity(self) -> None:
        assert FixedFractionalSizer(SizingRules(risk_per_trade=0.05)).size(Decimal(10_000), SizingContext()) == Decimal(
            500
        )

    def test_clamped_up_to_min_and_down_to_max(self) -> None:
        sizer = FixedFractionalSizer(SizingRules(risk_per_trade=0.02))
        assert sizer.size(Decimal(1000), SizingContext()) == Decimal(100)  # 20 -> min 100
        assert sizer.size(Decimal(1_000_000), SizingContext()) == Decimal(2500)  # 20,000 -> max

    def test_no_equity_no_trade(self) -> None:
        assert FixedFractionalSizer(SizingRules()).size(Decimal(-5), SizingContext()) == 0

    def test_rounds_down_to_cents(self) -> None:
        rules = SizingRules(risk_per_trade=0.03, min_position_size=Decimal(0))
        assert FixedFractionalSizer(rules).size(Decimal("333.33"), SizingContext()) == Decimal("9.99")


class TestKellySizer:
    def test_fallback_until_min_trades(self) -> None:
        rules = SizingRules(kelly_min_trades=10, risk_per_trade=0.03, max_position_size=Decimal(1_000_000))
        context = SizingContext(trades=history(5, "200", 4, "-100"))
        assert KellySizer(rules).size(Decimal(10_000), context) == Decimal(300)

    def test_kelly_from_history(self) -> None:
        # 6 wins of 200, 4 losses of 100: p = 0.6, b = 2, full = 0.6 - 0.4 / 2 = 0.4, half = 0.2
        rules = SizingRules(kelly_min_trades=10, max_position_size=Decimal(1_000_000))
        context = SizingContext(trades=history(6, "200", 4, "-100"))
        assert KellySizer(rules).fraction(context.trades) == pytest.approx(0.2)
        assert KellySizer(rules).size(Decimal(10_000), context) == Decimal(2000)

    def test_losing_history_gives_zero(self) -> None:
        rules = SizingRules(kelly_min_trades=10)
        context = SizingContext(trades=history(3, "100", 7, "-100"))
        assert KellySizer(rules).size(Decimal(10_000), context) == 0

    def test_break_even_counts_as_loss(self) -> None:
        # 5 wins of 100, 5 trades of 0 pnl -> avg loss 0 -> Kelly 0
        rules = SizingRules(kelly_min_trades=10)
        assert KellySizer(rules).fraction(history(5, "100", 5, "0")) == 0.0

    def test_no_losses_gives_cap(self) -> None:
        rules = SizingRules(kelly_min_trades=10, kelly_cap=0.1)
        assert KellySizer(rules).fraction(history(10, "100", 0, "0")) == 0.1


class TestVolatilitySizer:
    @pytest.mark.parametrize(
        ("current", "average", "ratio"),
        [
            (2.0, 1.0, 0.5),
            (1.0, 1.5, 1.5),
            (1.0, 5.0, 2.0),  # capped
            (0.0, 1.0, 2.0),  # zero current vol: cap
            (math.nan, 1.0, 1.0),
            (1.0, math.nan, 1.0),
            (None, 1.0, 1.0),
            (1.0, 0.0, 1.0),
            (-1.0, 1.0, 1.0),
            (math.inf, 1.0, 1.0),
        ],
    )
    def test_ratio(self, current: float | None, average: float | None, ratio: float) -> None:
        assert VolatilitySizer(SizingRules()).ratio(current, average) == pytest.approx(ratio)

    def test_size_hand_computed(self) -> None:
        # 2% of 50,000 = 1,000; x 1.5 = 1,500
        context = SizingContext(current_volatility=0.02, average_volatility=0.03)
        assert VolatilitySizer(SizingRules(base_risk=0.02)).size(Decimal(50_000), context) == Decimal(1500)


class TestMakeSizer:
    @pytest.mark.parametrize(
        ("method", "kind"),
        [
            (SizingMethod.KELLY_CRITERION, KellySizer),
            (SizingMethod.FIXED_FRACTIONAL, FixedFractionalSizer),
            (SizingMethod.VOLATILITY_ADJUSTED, VolatilitySizer),
        ],
    )
    def test_picks_by_method(self, method: SizingMethod, kind: type) -> None:
        assert isinstance(make_sizer(SizingRules(method=method)), kind)


class TestContractsForNotional:
    def test_rounds_down(self) -> None:
        # one contract = 0.001 x 50,000 = 50 USD; 1,234 USD -> 24.68 -> 24
        assert contracts_for_notional(Decimal(1234), INSTRUMENT, Decimal(50_000)) == 24

    def test_below_min_size_is_zero(self) -> None:
        big_min = Instrument(**{**{f: getattr(INSTRUMENT, f) for f in INSTRUMENT.__dataclass_fields__}, "min_size": 30})
        assert contracts_for_notional(Decimal(1234), big_min, Decimal(50_000)) == 0
        assert contracts_for_notional(Decimal(49), INSTRUMENT, Decimal(50_000)) == 0

    def test_zero_notional(self) -> None:
        assert contracts_for_notional(Decimal(0), INSTRUMENT, Decimal(50_000)) == 0

    @pytest.mark.parametrize("price", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
    def test_bad_price(self, price: Decimal) -> None:
        with pytest.raises(DomainError, match="price"):
            contracts_for_notional(Decimal(100), INSTRUMENT, price)


_rules = st.builds(
    SizingRules,
    method=st.sampled_from(SizingMethod),
    kelly_min_trades=st.integers(1, 5),
    risk_per_trade=st.floats(0.01, 0.10),
    base_risk=st.floats(0.01, 0.10),
    min_position_size=st.decimals(0, 500, places=2),
    max_position_size=st.decimals(500, 5000, places=2),
)
_vol = st.none() | st.floats(allow_nan=True, allow_infinity=True)


@given(
    _rules,
    st.decimals(-1000, 10_000_000, places=2),
    st.lists(st.decimals(-500, 500, places=2), max_size=8),
    _vol,
    _vol,
)
def test_sized_notional_is_zero_or_within_bounds(
    rules: SizingRules, equity: Decimal, pnls: list[Decimal], current: float | None, average: float | None
) -> None:
    context = SizingContext(
        trades=tuple(trade(str(p), i) for i, p in enumerate(pnls)),
        current_volatility=current,
        average_volatility=average,
    )
    notional = make_sizer(rules).size(equity, context)
    assert notional == 0 or rules.min_position_size <= notional <= rules.max_position_size
