from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.testkit.instruments import btcusd, tiered_btcusd
from trading_agent.domain import PositionSide
from trading_agent.engine.margin import (
    LeverageTooHighError,
    MarginInputError,
    bankruptcy_price,
    bankruptcy_price_for_margin,
    increase_position,
    is_liquidated,
    liquidation_price,
    liquidation_price_for_margin,
    maintenance_margin,
    max_allowed_leverage,
    position_margin,
    realized_pnl,
    reduce_position,
    round_to_tick_safe,
    unrealized_pnl,
)

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
D = Decimal


BTC = btcusd()


# --- hand-computed cases: 100 BTCUSD contracts (0.1 BTC) at 60,000 with 10x ---------------------


def test_margin_and_maintenance_by_hand() -> None:
    assert BTC.notional(100, D(60000)) == D(6000)
    assert position_margin(100, D(60000), D(10), BTC) == D(600)
    assert maintenance_margin(100, D(60000), D(60000), BTC) == D(15)  # 6,000 x 0.25%


def test_long_liquidation_price_by_hand() -> None:
    # 600 + 0.1 (P - 60000) = 0.1 P x 0.0025  ->  P = 54000 / 0.9975 = 54135.338...
    exact = liquidation_price(LONG, 100, D(60000), D(10), BTC, round_to_tick=False)
    assert abs(exact - D("54135.33834586466165413533835")) < D("1e-20")
    assert liquidation_price(LONG, 100, D(60000), D(10), BTC) == D("54135.5")  # rounded up: liquidated sooner


def test_short_liquidation_price_by_hand() -> None:
    # 600 + 0.1 (60000 - P) = 0.1 P x 0.0025  ->  P = 66000 / 1.0025 = 65835.411...
    exact = liquidation_price(SHORT, 100, D(60000), D(10), BTC, round_to_tick=False)
    assert abs(exact - D("65835.41147132169576059850374")) < D("1e-20")
    assert liquidation_price(SHORT, 100, D(60000), D(10), BTC) == D("65835.0")  # rounded down: liquidated sooner


def test_bankruptcy_prices_by_hand() -> None:
    assert bankruptcy_price(LONG, D(60000), D(10), BTC) == D(54000)
    assert bankruptcy_price(SHORT, D(60000), D(10), BTC) == D(66000)
    # off-tick case: 60000.5 / 3 = 20000.1666... ; long 40000.333 -> up 40000.5, short 80000.666 -> down 80000.5
    assert bankruptcy_price(LONG, D("60000.5"), D(3), BTC) == D("40000.5")
    assert bankruptcy_price(SHORT, D("60000.5"), D(3), BTC) == D("80000.5")


def test_for_margin_variants_match_the_leverage_forms() -> None:
    for side in (LONG, SHORT):
        assert liquidation_price_for_margin(side, 100, D(60000), D(600), BTC) == liquidation_price(
            side, 100, D(60000), D(10), BTC
        )
        assert bankruptcy_price_for_margin(side, 100, D(60000), D(600), BTC) == bankruptcy_price(
            side, D(60000), D(10), BTC
        )


def test_adding_margin_moves_long_liquidation_away() -> None:
    base = liquidation_price_for_margin(LONG, 100, D(60000), D(600), BTC)
    more = liquidation_price_for_margin(LONG, 100, D(60000), D(1200), BTC)
    assert more < base


def test_fully_margined_long_cannot_be_liquidated() -> None:
    assert liquidation_price(LONG, 100, D(60000), D(1), BTC) == 0
    assert bankruptcy_price(LONG, D(60000), D(1), BTC) == 0
    assert not is_liquidated(LONG, D(0), D("0.5"))
    assert liquidation_price_for_margin(LONG, 100, D(60000), D(7000), BTC) == 0


def test_a_margin_overdrawn_by_funding_puts_the_liquidation_beyond_the_entry() -> None:
    # 100 contracts long at 60,000 whose 6,000 margin paid 8,400 of funding: M = -2,400
    # liquidation (0.1 x 60,000 + 2,400) / (0.1 x 0.9975) = 84,210.53 -> 84,211.0 (up, for a long)
    assert liquidation_price_for_margin(LONG, 100, D(60000), D(-2400), BTC) == D("84211.0")
    assert bankruptcy_price_for_margin(LONG, 100, D(60000), D(-2400), BTC) == D(84000)  # 60,000 + 2,400 / 0.1
    # a short whose margin is gone by more than its notional is liquidated at any price
    assert liquidation_price_for_margin(SHORT, 100, D(60000), D(-6000), BTC) == 0
    assert is_liquidated(SHORT, D(0), D("0.5"))


def test_a_position_above_the_threshold_is_liquidated_sooner_by_hand() -> None:
    # 4,000 contracts (4 BTC) at 50,000 = 200,000 USD at 100x: margin 2,000, MM 0.375% (not 0.25%)
    tiered = tiered_btcusd()
    assert max_allowed_leverage(tiered, D(200_000)) < 134  # 100 / 0.75%
    assert maintenance_margin(4000, D(50000), D(50000), tiered) == D(750)  # 200,000 x 0.375%
    # long (200,000 - 2,000) / (4 x 0.99625) = 49,686.32 -> 49,686.5 (flat MM: 198,000 / 3.99 = 49,624.06)
    assert liquidation_price(LONG, 4000, D(50000), D(100), tiered) == D("49686.5")
    assert liquidation_price(LONG, 4000, D(50000), D(100), BTC) == D("49624.5")
    # short (200,000 + 2,000) / (4 x 1.00375) = 50,311.33 -> 50,311.0
    assert liquidation_price(SHORT, 4000, D(50000), D(100), tiered) == D("50311.0")
    # the size counts at entry: 1,000 contracts (50,000 USD) stay on the flat tier
    assert liquidation_price(LONG, 1000, D(50000), D(100), tiered) == liquidation_price(
        LONG, 1000, D(50000), D(100), BTC
    )


def test_round_to_tick_safe_direction() -> None:
    assert round_to_tick_safe(LONG, D("100.1"), BTC) == D("100.5")
    assert round_to_tick_safe(SHORT, D("100.9"), BTC) == D("100.5")
    assert round_to_tick_safe(LONG, D("100.5"), BTC) == D("100.5")
    assert round_to_tick_safe(SHORT, D("100.5"), BTC) == D("100.5")


def test_leverage_checks() -> None:
    assert max_allowed_leverage(BTC) == D(200)
    # max_leverage configured above 1 / IM: the initial margin wins
    assert max_allowed_leverage(btcusd(max_leverage=D(500))) == D(200)
    assert max_allowed_leverage(btcusd(max_leverage=D(100))) == D(100)
    position_margin(1, D(60000), D(200), BTC)
    with pytest.raises(LeverageTooHighError, match="exceeds the maximum 200"):
        position_margin(1, D(60000), D("200.5"), BTC)
    with pytest.raises(LeverageTooHighError):
        liquidation_price(LONG, 1, D(60000), D(201), BTC)
    with pytest.raises(MarginInputError, match="at least 1"):
        position_margin(1, D(60000), D("0.5"), BTC)
    with pytest.raises(MarginInputError):
        bankruptcy_price(SHORT, D(60000), D("NaN"), BTC)
    assert issubclass(LeverageTooHighError, ValueError)


@pytest.mark.parametrize(
    "call",
    [
        lambda: unrealized_pnl(LONG, 0, D(1), D(1), BTC),
        lambda: unrealized_pnl(LONG, -5, D(1), D(1), BTC),
        lambda: unrealized_pnl(LONG, 1, D("NaN"), D(1), BTC),
        lambda: unrealized_pnl(LONG, 1, D(1), D(-1), BTC),
        lambda: unrealized_pnl(LONG, 1, D(1), D("Infinity"), BTC),
        lambda: maintenance_margin(1, D(1), D(0), BTC),
        lambda: liquidation_price_for_margin(LONG, 1, D(1), D("NaN"), BTC),
        lambda: bankruptcy_price_for_margin(SHORT, 1, D(1), D("-Infinity"), BTC),
        lambda: is_liquidated(LONG, D(1), float("nan")),
        lambda: is_liquidated(SHORT, D(1), D("NaN")),
    ],
)
def test_bad_inputs_raise(call: object) -> None:
    with pytest.raises(MarginInputError):
        call()  # type: ignore[operator]


def test_is_liquidated_uses_the_adverse_side() -> None:
    liq_long, liq_short = D("54135.5"), D("65835.0")
    assert is_liquidated(LONG, liq_long, D("54135.5"))
    assert is_liquidated(LONG, liq_long, 54000.0)
    assert not is_liquidated(LONG, liq_long, D(54136))
    assert is_liquidated(SHORT, liq_short, D("65835.0"))
    assert is_liquidated(SHORT, liq_short, 70000.0)
    assert not is_liquidated(SHORT, liq_short, D("65834.5"))


def test_pnl_long_and_short() -> None:
    # 100 contracts = 0.1 BTC; +1,000 USD move -> 100 USD
    assert unrealized_pnl(LONG, 100, D(60000), D(61000), BTC) == D(100)
    assert unrealized_pnl(LONG, 100, D(60000), D(59000), BTC) == D(-100)
    assert unrealized_pnl(SHORT, 100, D(60000), D(61000), BTC) == D(-100)
    assert unrealized_pnl(SHORT, 100, D(60000), D(59000), BTC) == D(100)
    assert realized_pnl(SHORT, 3, D("60000.5"), D(60000), BTC) == D("0.0015")


def test_average_entry_on_adds() -> None:
    added = increase_position(100, D(60000), 50, D(63000))
    assert added.contracts == 150
    assert added.entry_price == D(61000)  # (100 x 60000 + 50 x 63000) / 150
    again = increase_position(added.contracts, added.entry_price, 150, D(59000))
    assert again.entry_price == D(60000)
    with pytest.raises(MarginInputError):
        increase_position(100, D(60000), 0, D(60000))


def test_partial_and_full_close() -> None:
    part = reduce_position(LONG, 100, D(60000), D(600), closed=40, exit_price=D(62000), instrument=BTC)
    assert part.contracts == 60
    assert part.realized_pnl == D(80)  # 40 x 0.001 x 2000
    assert part.released_margin == D(240)  # 600 x 40 / 100
    full = reduce_position(SHORT, 100, D(60000), D(600), closed=100, exit_price=D(62000), instrument=BTC)
    assert full.contracts == 0
    assert full.realized_pnl == D(-200)
    assert full.released_margin == D(600)
    with pytest.raises(MarginInputError, match="cannot close 101"):
        reduce_position(LONG, 100, D(60000), D(600), closed=101, exit_price=D(1), instrument=BTC)


def test_partial_closes_sum_to_a_full_close() -> None:
    first = reduce_position(LONG, 100, D(60000), D(600), closed=30, exit_price=D(61000), instrument=BTC)
    second = reduce_position(LONG, 70, D(60000), D(420), closed=70, exit_price=D(61000), instrument=BTC)
    whole = reduce_position(LONG, 100, D(60000), D(600), closed=100, exit_price=D(61000), instrument=BTC)
    assert first.realized_pnl + second.realized_pnl == whole.realized_pnl
    assert first.released_margin + second.released_margin == whole.released_margin


# --- properties ---------------------------------------------------------------------------------

_entries = st.decimals(min_value=D(100), max_value=D(200000), places=1).map(BTC.round_price)
_leverages = st.decimals(min_value=D(1), max_value=D(200), places=2)
_contracts = st.integers(min_value=1, max_value=229_167)
_sides = st.sampled_from([LONG, SHORT])


@given(entry=_entries, leverage=_leverages)
def test_long_liquidation_between_bankruptcy_and_entry(entry: Decimal, leverage: Decimal) -> None:
    liq = liquidation_price(LONG, 1, entry, leverage, BTC, round_to_tick=False)
    bankrupt = bankruptcy_price(LONG, entry, leverage, BTC, round_to_tick=False)
    assert liq < entry
    assert liq > bankrupt or (leverage == 1 and liq == bankrupt == 0)
    rounded_liq = liquidation_price(LONG, 1, entry, leverage, BTC)
    assert bankruptcy_price(LONG, entry, leverage, BTC) <= rounded_liq <= entry
    assert BTC.is_on_tick(rounded_liq)


@given(entry=_entries, leverage=_leverages)
def test_short_liquidation_between_entry_and_bankruptcy(entry: Decimal, leverage: Decimal) -> None:
    liq = liquidation_price(SHORT, 1, entry, leverage, BTC, round_to_tick=False)
    bankrupt = bankruptcy_price(SHORT, entry, leverage, BTC, round_to_tick=False)
    assert entry < liq < bankrupt
    rounded_liq = liquidation_price(SHORT, 1, entry, leverage, BTC)
    assert entry <= rounded_liq <= bankruptcy_price(SHORT, entry, leverage, BTC)
    assert BTC.is_on_tick(rounded_liq)


@given(side=_sides, contracts=_contracts, entry=_entries, leverage=_leverages.filter(lambda lev: lev > 1))
def test_margin_plus_upnl_equals_maintenance_at_liquidation(
    side: PositionSide, contracts: int, entry: Decimal, leverage: Decimal
) -> None:
    margin = position_margin(contracts, entry, leverage, BTC)
    exact = liquidation_price(side, contracts, entry, leverage, BTC, round_to_tick=False)
    equity = margin + unrealized_pnl(side, contracts, entry, exact, BTC)
    assert abs(equity - maintenance_margin(contracts, entry, exact, BTC)) < D("1e-15")
    # after rounding, the gap stays within one tick's worth of PnL and maintenance change
    rounded = liquidation_price(side, contracts, entry, leverage, BTC)
    gap = (
        margin
        + unrealized_pnl(side, contracts, entry, rounded, BTC)
        - maintenance_margin(contracts, entry, rounded, BTC)
    )
    one_tick = contracts * BTC.contract_value * BTC.tick_size * (1 + BTC.maintenance_margin)
    assert D(0) <= gap <= one_tick  # rounded in the safe direction: equity still covers maintenance


@given(
    side=_sides,
    contracts=_contracts,
    entry=_entries,
    share=st.decimals(min_value=D(0), max_value=D(1), places=3),
)
def test_margin_plus_upnl_equals_the_grown_maintenance_at_liquidation(
    side: PositionSide, contracts: int, entry: Decimal, share: Decimal
) -> None:
    tiered = tiered_btcusd()
    notional = tiered.notional(contracts, entry)
    highest = max_allowed_leverage(tiered, notional)
    assume(highest > 1)  # the largest positions need more than their notional in margin
    leverage = 1 + share * (highest - 1)  # any leverage the tier allows
    margin = position_margin(contracts, entry, leverage, tiered)
    exact = liquidation_price(side, contracts, entry, leverage, tiered, round_to_tick=False)
    assume(exact > 0)
    equity = margin + unrealized_pnl(side, contracts, entry, exact, tiered)
    assert abs(equity - maintenance_margin(contracts, entry, exact, tiered)) < D("1e-12")
    assert maintenance_margin(contracts, entry, exact, tiered) >= maintenance_margin(contracts, entry, exact, BTC)
    flat = liquidation_price(side, contracts, entry, leverage, BTC, round_to_tick=False)
    assert (exact >= flat) if side is LONG else (exact <= flat)  # a larger MM is reached no later


@given(side=_sides, contracts=_contracts, entry=_entries, leverage=_leverages)
def test_loss_at_bankruptcy_never_exceeds_margin(
    side: PositionSide, contracts: int, entry: Decimal, leverage: Decimal
) -> None:
    margin = position_margin(contracts, entry, leverage, BTC)
    price = bankruptcy_price(side, entry, leverage, BTC)
    if price > 0:
        loss = -unrealized_pnl(side, contracts, entry, price, BTC)
        assert loss <= margin
        assert margin - loss <= contracts * BTC.contract_value * BTC.tick_size


@given(
    side=_sides,
    first=_contracts,
    second=_contracts,
    prices=st.tuples(_entries, _entries, _entries),
)
def test_average_entry_keeps_upnl_additive(
    side: PositionSide, first: int, second: int, prices: tuple[Decimal, Decimal, Decimal]
) -> None:
    p1, p2, mark = prices
    merged = increase_position(first, p1, second, p2)
    separate = unrealized_pnl(side, first, p1, mark, BTC) + unrealized_pnl(side, second, p2, mark, BTC)
    assert abs(unrealized_pnl(side, merged.contracts, merged.entry_price, mark, BTC) - separate) < D("1e-12")
