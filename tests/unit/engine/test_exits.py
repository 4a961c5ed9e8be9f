import math
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.testkit.instruments import btcusd
from trading_agent.domain import Instrument, PositionSide
from trading_agent.engine.errors import EngineError
from trading_agent.engine.exits import (
    ExitRules,
    StopMethod,
    bracket_prices,
    stop_distance,
    time_exit_deadline,
    trailing_stop,
    trailing_trigger,
)

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
D = Decimal
BTC = btcusd()  # tick 0.5
RULES = ExitRules()  # ATR x 2, target 2R, trailing from +2% at 1% behind, 24 h time exit
VOL_RULES = ExitRules(stop_method=StopMethod.VOLATILITY, volatility_multiplier=2.5)
NO_TRAIL = ExitRules(trailing_enabled=False)


# --- the rules ------------------------------------------------------------------------------------


def test_rules_accept_the_method_as_a_string_and_expose_the_target_ratio() -> None:
    rules = ExitRules(stop_method="volatility")  # type: ignore[arg-type]  # what a loader may pass
    assert rules.stop_method is StopMethod.VOLATILITY
    assert RULES.target_risk_reward == 2.0
    assert ExitRules(take_profit_enabled=False).target_risk_reward is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stop_method": "chandelier"}, r"stop_method must be one of atr, volatility, got 'chandelier'"),
        ({"atr_multiplier": 0.0}, r"atr_multiplier must be finite and positive, got 0\.0"),
        ({"volatility_multiplier": math.nan}, r"volatility_multiplier must be finite and positive, got nan"),
        ({"risk_reward": -1.0}, r"risk_reward must be finite and positive, got -1\.0"),
        ({"trailing_activation_percent": -0.5}, r"trailing_activation_percent must be finite and >= 0, got -0\.5"),
        ({"trailing_percent": 100.0}, r"trailing_percent must be in \(0, 100\), got 100\.0"),
        ({"trailing_percent": 0.0}, r"trailing_percent must be in \(0, 100\), got 0\.0"),
        ({"max_holding_period_s": 0}, r"max_holding_period_s must be at least 1, got 0"),
    ],
)
def test_bad_rules_name_the_field_and_the_value(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(EngineError, match=message):
        ExitRules(**overrides)  # type: ignore[arg-type]


# --- stop_distance --------------------------------------------------------------------------------


def test_atr_stop_distance_by_hand() -> None:
    assert stop_distance(RULES, 60000.0, atr=150.25) == D("300.5")  # 2 x 150.25
    assert stop_distance(RULES, math.nan, atr=150.25) == D("300.5")  # the price plays no part


def test_volatility_stop_distance_by_hand() -> None:
    # 2.5 x 0.4% per candle x 60,000.5 = 600.005 (a price distance, not yet on the tick)
    assert stop_distance(VOL_RULES, 60000.5, volatility=0.004) == D("600.005")
    assert stop_distance(VOL_RULES, 60000.5, atr=150.0) is None  # ATR is not what this method reads


@pytest.mark.parametrize("bad", [None, math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_no_stop_distance_without_a_usable_measure(bad: float | None) -> None:
    assert stop_distance(RULES, 60000.0, atr=bad) is None
    assert stop_distance(VOL_RULES, 60000.0, volatility=bad) is None
    assert stop_distance(VOL_RULES, bad if bad is not None else math.nan, volatility=0.01) is None


def test_a_product_that_underflows_or_overflows_gives_no_distance() -> None:
    assert stop_distance(ExitRules(atr_multiplier=1e-300), 1.0, atr=1e-300) is None
    assert stop_distance(ExitRules(atr_multiplier=1e300), 1.0, atr=1e300) is None


# --- bracket_prices -------------------------------------------------------------------------------


def test_long_bracket_rounds_to_the_nearest_tick() -> None:
    # stop 60000 - 300.3 = 59699.7 -> 59699.5; target 60000 + 600.6 = 60600.6 -> 60600.5
    assert bracket_prices(LONG, D(60000), D("300.3"), BTC, risk_reward=2.0) == (D("59699.5"), D("60600.5"))


def test_short_bracket_rounds_to_the_nearest_tick() -> None:
    # stop 60000 + 300.3 = 60300.3 -> 60300.5; target 60000 - 600.6 = 59399.4 -> 59399.5
    assert bracket_prices(SHORT, D(60000), D("300.3"), BTC, risk_reward=2.0) == (D("60300.5"), D("59399.5"))


def test_no_target_without_a_risk_reward() -> None:
    assert bracket_prices(LONG, D(60000), D(300), BTC, risk_reward=None) == (D(59700), None)


def test_a_distance_under_a_tick_still_gives_a_bracket_one_tick_away() -> None:
    # 59999.8 rounds onto the entry: pushed out to 59999.5; 60000.2 likewise to 60000.5
    assert bracket_prices(LONG, D(60000), D("0.2"), BTC, risk_reward=1.0) == (D("59999.5"), D("60000.5"))
    assert bracket_prices(SHORT, D(60000), D("0.2"), BTC, risk_reward=1.0) == (D("60000.5"), D("59999.5"))


def test_an_off_tick_entry_keeps_a_full_tick_between_entry_and_bracket() -> None:
    # averaged entry 60000.3: stop 60000.2 -> nearest 60000.0 is 0.3 away, so the next tick down
    assert bracket_prices(LONG, D("60000.3"), D("0.1"), BTC, risk_reward=1.0) == (D("59999.5"), D("60001.0"))


def test_prices_that_would_cross_zero_clamp_to_one_tick() -> None:
    assert bracket_prices(LONG, D(100), D(150), BTC, risk_reward=1.0) == (D("0.5"), D(250))
    assert bracket_prices(SHORT, D(100), D(60), BTC, risk_reward=2.0) == (D(160), D("0.5"))


@pytest.mark.parametrize(
    ("entry", "distance", "risk_reward", "message"),
    [
        (D(60000), D(0), 2.0, "distance must be finite and positive, got 0"),
        (D(60000), D("NaN"), 2.0, "distance must be finite and positive, got NaN"),
        (D(-1), D(10), 2.0, "entry must be finite and positive, got -1"),
        (D("0.5"), D(10), 2.0, r"entry must be above one tick \(0\.5\), got 0\.5"),
        (D(60000), D(10), 0.0, "risk_reward must be finite and positive"),
        (D(60000), D(10), math.inf, "risk_reward must be finite and positive"),
    ],
)
def test_bad_bracket_inputs_raise(entry: Decimal, distance: Decimal, risk_reward: float, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        bracket_prices(LONG, entry, distance, BTC, risk_reward=risk_reward)


# --- trailing_stop: entry 60,000, activation +-2% (61,200 / 58,800), trail 1% ---------------------


def test_long_trailing_activates_at_the_activation_price() -> None:
    assert trailing_stop(LONG, D(60000), D(59700), D("61199.5"), RULES, BTC) is None
    assert trailing_stop(LONG, D(60000), D(59700), D(61200), RULES, BTC) == D(60588)  # 61,200 x 0.99
    assert trailing_stop(LONG, D(60000), None, D(61200), RULES, BTC) == D(60588)  # anything beats None


def test_long_trailing_stop_floors_to_the_tick() -> None:
    # 61,250.5 x 0.99 = 60,637.995 -> floor 60,637.5 (away from the price: never a narrower trail)
    assert trailing_stop(LONG, D(60000), D(59700), D("61250.5"), RULES, BTC) == D("60637.5")


def test_long_trailing_stop_never_loosens() -> None:
    assert trailing_stop(LONG, D(60000), D(60588), D(61200), RULES, BTC) is None  # equal is not tighter
    assert trailing_stop(LONG, D(60000), D(60700), D(61300), RULES, BTC) is None  # 60,687 would loosen
    assert trailing_stop(LONG, D(60000), D(60588), D(61300), RULES, BTC) == D(60687)


def test_short_trailing_activates_and_ceils_to_the_tick() -> None:
    assert trailing_stop(SHORT, D(60000), D(60300), D("58800.5"), RULES, BTC) is None
    assert trailing_stop(SHORT, D(60000), D(60300), D(58800), RULES, BTC) == D(59388)  # 58,800 x 1.01
    # 58,750.3 x 1.01 = 59,337.803 -> ceiling 59,338
    assert trailing_stop(SHORT, D(60000), D(60300), D("58750.3"), RULES, BTC) == D(59338)


def test_short_trailing_stop_never_loosens() -> None:
    assert trailing_stop(SHORT, D(60000), D(59300), D(58800), RULES, BTC) is None  # 59,388 would loosen
    assert trailing_stop(SHORT, D(60000), D(59388), D(58800), RULES, BTC) is None


def test_trailing_may_lock_in_profit_beyond_the_entry() -> None:
    assert trailing_stop(LONG, D(60000), D(59700), D(62000), RULES, BTC) == D(61380)


def test_zero_activation_trails_from_the_entry() -> None:
    rules = ExitRules(trailing_activation_percent=0.0)
    assert trailing_stop(LONG, D(60000), None, D(60000), rules, BTC) == D(59400)
    assert trailing_stop(LONG, D(60000), None, D("59999.5"), rules, BTC) is None


def test_a_long_stop_that_floors_to_zero_is_not_placed() -> None:
    cheap = btcusd(tick_size=D(1))
    rules = ExitRules(trailing_activation_percent=0.0, trailing_percent=50.0)
    assert trailing_stop(LONG, D("1.5"), None, D("1.8"), rules, cheap) is None  # 0.9 floors to 0


def test_disabled_trailing_never_moves_the_stop() -> None:
    assert trailing_stop(LONG, D(60000), D(59700), D(70000), NO_TRAIL, BTC) is None
    assert trailing_trigger(LONG, D(60000), D(59700), NO_TRAIL, BTC) == math.inf
    assert trailing_trigger(SHORT, D(60000), D(60300), NO_TRAIL, BTC) == -math.inf


@pytest.mark.parametrize(
    ("entry", "stop", "extreme", "message"),
    [
        (D(0), None, D(61200), "entry must be finite and positive, got 0"),
        (D(60000), D(-1), D(61200), "current_stop must be finite and positive, got -1"),
        (D(60000), None, D("Infinity"), "extreme must be finite and positive, got Infinity"),
    ],
)
def test_bad_trailing_inputs_raise(entry: Decimal, stop: Decimal | None, extreme: Decimal, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        trailing_stop(LONG, entry, stop, extreme, RULES, BTC)


# --- trailing_trigger -----------------------------------------------------------------------------


def test_long_trigger_is_the_activation_price_without_a_stop() -> None:
    trigger = trailing_trigger(LONG, D(60000), None, RULES, BTC)
    assert 61199.9999 < trigger < 61200.0  # one part in a billion early


def test_long_trigger_follows_the_current_stop_by_hand() -> None:
    # the first tighter stop is 60,700.5, reached at 60,700.5 / 0.99 = 61,313.63...
    trigger = trailing_trigger(LONG, D(60000), D(60700), RULES, BTC)
    assert 61313.6 < trigger < 61313.64
    assert trailing_stop(LONG, D(60000), D(60700), D("61313.5"), RULES, BTC) is None  # 60,700.365 -> 60,700
    assert trailing_stop(LONG, D(60000), D(60700), D(61314), RULES, BTC) == D("60700.5")


def test_short_trigger_follows_the_current_stop_by_hand() -> None:
    # the first tighter stop is 59,299.5, reached at 59,299.5 / 1.01 = 58,712.37... (below 58,800)
    trigger = trailing_trigger(SHORT, D(60000), D(59300), RULES, BTC)
    assert 58712.37 < trigger < 58712.38
    assert trailing_stop(SHORT, D(60000), D(59300), D("58712.5"), RULES, BTC) is None  # 59,299.625 -> 59,300
    assert trailing_stop(SHORT, D(60000), D(59300), D(58712), RULES, BTC) == D("59299.5")
    assert 58799.99 < trailing_trigger(SHORT, D(60000), None, RULES, BTC) < 58800.0001


def test_a_short_that_can_never_tighten_has_no_trigger() -> None:
    always_out = ExitRules(trailing_activation_percent=100.0)
    assert trailing_trigger(SHORT, D(60000), None, always_out, BTC) == -math.inf
    assert trailing_trigger(SHORT, D(60000), D("0.5"), RULES, BTC) == -math.inf  # nothing lies below one tick


# --- time_exit_deadline ---------------------------------------------------------------------------


def test_time_exit_deadline_by_hand() -> None:
    assert time_exit_deadline(1_700_000_000_000, RULES) == 1_700_086_400_000
    assert time_exit_deadline(0, ExitRules(max_holding_period_s=90)) == 90_000
    assert time_exit_deadline(1_700_000_000_000, ExitRules(time_exit_enabled=False)) is None


# --- properties -----------------------------------------------------------------------------------

TICKS = st.sampled_from([D("0.01"), D("0.05"), D("0.1"), D("0.5"), D(1), D(5)])
SIDES = st.sampled_from([LONG, SHORT])


def _instrument(tick: Decimal) -> Instrument:
    return replace(BTC, tick_size=tick)


@st.composite
def prices(draw: st.DrawFn, tick: Decimal, min_ticks: int = 3) -> Decimal:
    """A positive price: a whole number of ticks, sometimes nudged off the grid (an averaged entry)."""
    price = draw(st.integers(min_value=min_ticks, max_value=10_000_000)) * tick
    if draw(st.booleans()):
        price += tick * D(draw(st.integers(min_value=1, max_value=99))) / 100
    return price


@st.composite
def trailing_rules(draw: st.DrawFn) -> ExitRules:
    activation = draw(st.floats(min_value=0.0, max_value=50.0))
    trail = draw(st.floats(min_value=0.001, max_value=60.0))
    return ExitRules(trailing_activation_percent=activation, trailing_percent=trail)


def _on_grid(price: Decimal, instrument: Instrument) -> bool:
    return instrument.is_on_tick(price) and price >= instrument.tick_size


@given(data=st.data(), tick=TICKS, side=SIDES, rr=st.none() | st.floats(min_value=0.01, max_value=20.0))
def test_brackets_sit_on_the_tick_on_the_right_side(
    data: st.DataObject, tick: Decimal, side: PositionSide, rr: float | None
) -> None:
    instrument = _instrument(tick)
    entry = data.draw(prices(tick, min_ticks=2))
    distance = D(repr(data.draw(st.floats(min_value=1e-6, max_value=1e8))))
    stop, target = bracket_prices(side, entry, distance, instrument, risk_reward=rr)
    sign = 1 if side is LONG else -1
    assert _on_grid(stop, instrument)
    assert sign * (entry - stop) >= tick  # losing side, at least one tick away
    raw_stop = entry - sign * distance
    if raw_stop > tick and sign * (entry - raw_stop) >= 2 * tick:
        assert abs(stop - raw_stop) <= tick / 2  # nearest tick when nothing pushed it
    assert (target is None) == (rr is None)
    if target is not None:
        assert _on_grid(target, instrument)
        assert sign * (target - entry) >= tick  # winning side, at least one tick away


@given(data=st.data(), tick=TICKS, side=SIDES, rules=trailing_rules())
def test_trailing_stop_moves_only_tighter_along_a_random_path(
    data: st.DataObject, tick: Decimal, side: PositionSide, rules: ExitRules
) -> None:
    instrument = _instrument(tick)
    entry = data.draw(prices(tick))
    stop: Decimal | None = data.draw(
        st.none() | st.just(bracket_prices(side, entry, entry / 50, instrument, risk_reward=None)[0])
    )
    sign = 1 if side is LONG else -1
    moves = data.draw(st.lists(st.floats(min_value=-0.2, max_value=0.2), max_size=30))
    extreme = entry
    for move in moves:
        extreme = max(extreme * D(repr(1 + move)), tick)
        new = trailing_stop(side, entry, stop, extreme, rules, instrument)
        if new is not None:
            assert instrument.is_on_tick(new) and new > 0
            assert stop is None or sign * (new - stop) > 0
            assert sign * (extreme - new) > 0  # behind the extreme it trails
            stop = new


@st.composite
def trigger_cases(draw: st.DrawFn) -> tuple[PositionSide, Decimal, Decimal | None, ExitRules, Instrument]:
    tick = draw(TICKS)
    entry = draw(prices(tick))
    stop = draw(st.none() | prices(tick, min_ticks=1))
    return draw(SIDES), entry, stop, draw(trailing_rules()), _instrument(tick)


def _reaches(side: PositionSide, extreme: float, trigger: float) -> bool:
    return extreme >= trigger if side is LONG else extreme <= trigger


@settings(max_examples=400)
@given(case=trigger_cases(), scale=st.floats(min_value=0.3, max_value=3.0))
def test_trigger_is_conservative_for_any_extreme(
    case: tuple[PositionSide, Decimal, Decimal | None, ExitRules, Instrument], scale: float
) -> None:
    side, entry, stop, rules, instrument = case
    trigger = trailing_trigger(side, entry, stop, rules, instrument)
    extreme = float(entry) * scale
    if not _reaches(side, extreme, trigger):
        assert trailing_stop(side, entry, stop, D(repr(extreme)), rules, instrument) is None


@settings(max_examples=400)
@given(case=trigger_cases())
def test_trigger_is_conservative_and_tight_at_its_edge(
    case: tuple[PositionSide, Decimal, Decimal | None, ExitRules, Instrument],
) -> None:
    side, entry, stop, rules, instrument = case
    trigger = trailing_trigger(side, entry, stop, rules, instrument)
    if math.isinf(trigger):
        assert side is SHORT  # only a short can be unable to tighten (trailing is enabled here)
        return
    outward = -math.inf if side is LONG else math.inf
    just_short = math.nextafter(trigger, outward)  # the closest float that does not reach it
    exact_short = D(trigger).next_minus() if side is LONG else D(trigger).next_plus()  # as a Decimal
    for extreme in (D(repr(just_short)), exact_short):
        if extreme > 0:
            assert trailing_stop(side, entry, stop, extreme, rules, instrument) is None
    beyond = trigger * (1 + 1e-8) if side is LONG else trigger * (1 - 1e-8)  # only slightly early
    assert trailing_stop(side, entry, stop, D(repr(beyond)), rules, instrument) is not None
