"""Circuit breakers: trip, stay tripped, reset (automatic and by hand), and survive a restart."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from trading_agent.domain.errors import DomainError
from trading_agent.domain.events import CircuitBreakerReset, CircuitBreakerTripped
from trading_agent.domain.trading import PortfolioState
from trading_agent.risk.breakers import (
    BreakerBoard,
    BreakerRules,
    ConsecutiveLossBreaker,
    DailyLossBreaker,
    Observation,
    RapidFireBreaker,
    VolatilityBreaker,
)

DAY = 86_400_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % DAY + 12 * 3_600_000  # noon UTC
RULES = BreakerRules()


def _observe(
    *,
    ts: int = T0,
    equity: str = "10000",
    peak: str = "10000",
    day_start: str = "10000",
    losses: int = 0,
    volatility: tuple[float, float] | None = None,
    trades: tuple[int, ...] = (),
) -> Observation:
    state = PortfolioState(
        ts=ts,
        cash=Decimal(equity),
        equity=Decimal(equity),
        unrealized_pnl=Decimal(0),
        realized_pnl=Decimal(0),
        peak_equity=Decimal(peak),
        day_start_equity=Decimal(day_start),
        consecutive_losses=losses,
    )
    current, average = volatility if volatility else (None, None)
    return Observation(state=state, current_volatility=current, average_volatility=average, trade_timestamps=trades)


CALM = _observe()


def test_a_calm_account_trips_nothing() -> None:
    board = BreakerBoard.from_rules(RULES)
    assert board.evaluate(CALM, T0) == []
    assert board.allows_entries
    assert board.names == (
        "daily_loss",
        "drawdown",
        "volatility",
        "consecutive_losses",
        "rapid_fire",
        "emergency_stop",
    )


def test_the_emergency_stop_trips_only_by_hand_and_stays_until_reset() -> None:
    board = BreakerBoard.from_rules(RULES)
    tripped = board.trip("emergency_stop", "person pressed stop", T0)
    assert (tripped.breaker, tripped.reason) == ("emergency_stop", "person pressed stop")
    assert not board.allows_entries
    assert board.update(CALM, T0 + 86_400_000 * 3) == []  # no condition clears it
    with pytest.raises(DomainError, match="already tripped"):
        board.trip("emergency_stop", "again", T0)
    board.reset("emergency_stop", "person resumed", T0 + 1)
    assert board.allows_entries
    with pytest.raises(DomainError, match="unknown breaker"):
        board.trip("panic", "x", T0)


def test_daily_loss_trips_at_the_limit_once_and_resets_next_utc_day() -> None:
    board = BreakerBoard.from_rules(RULES)
    assert board.evaluate(_observe(equity="9501", peak="9501", day_start="10000"), T0) == []  # -4.99%
    hit = _observe(equity="9500", peak="9500", day_start="10000")  # exactly -5%
    (event,) = board.evaluate(hit, T0)
    assert isinstance(event, CircuitBreakerTripped)
    assert (event.breaker, event.ts_event) == ("daily_loss", T0)
    assert "-5.00%" in event.reason
    assert not board.allows_entries
    assert board.evaluate(hit, T0 + 1000) == []  # stays tripped, no repeat event
    assert board.auto_reset(hit, T0 + 11 * 3_600_000) == []  # still the same UTC day
    (reset,) = board.auto_reset(_observe(ts=T0 + DAY, equity="9500", peak="9500", day_start="9500"), T0 + DAY // 2)
    assert isinstance(reset, CircuitBreakerReset)
    assert (reset.breaker, reset.ts_event, reset.reason) == ("daily_loss", T0 + DAY // 2, "a new UTC day started")
    assert board.allows_entries


def test_drawdown_trips_at_the_limit_and_needs_an_explicit_reset() -> None:
    board = BreakerBoard.from_rules(RULES)
    assert board.evaluate(_observe(equity="8501", peak="10000", day_start="8501"), T0) == []
    deep = _observe(equity="8500", peak="10000", day_start="8500")  # 15% down
    (event,) = board.evaluate(deep, T0)
    assert event.breaker == "drawdown"
    assert board.auto_reset(_observe(ts=T0 + 3 * DAY), T0 + 3 * DAY) == []  # recovered, still tripped
    assert not board.allows_entries
    reset = board.reset("drawdown", "reviewed by operator", T0 + 3 * DAY)
    assert (reset.breaker, reset.reason, reset.ts_event) == ("drawdown", "reviewed by operator", T0 + 3 * DAY)
    assert board.allows_entries


def test_volatility_trips_at_the_multiple_and_resets_below_it() -> None:
    board = BreakerBoard.from_rules(RULES)
    assert board.evaluate(_observe(volatility=(2.99, 1.0)), T0) == []
    (event,) = board.evaluate(_observe(volatility=(3.0, 1.0)), T0)
    assert event.breaker == "volatility"
    assert "3.00x" in event.reason
    assert board.auto_reset(_observe(volatility=(3.5, 1.0)), T0 + 1) == []
    assert board.auto_reset(_observe(), T0 + 2) == []  # unknown volatility never clears
    (reset,) = board.auto_reset(_observe(volatility=(2.0, 1.0)), T0 + 3)
    assert reset.breaker == "volatility"
    assert board.allows_entries


def test_volatility_with_unknown_or_zero_average_never_trips() -> None:
    breaker = VolatilityBreaker(3.0)
    assert breaker.check(_observe()) is None
    assert breaker.check(_observe(volatility=(5.0, 0.0))) is None


def test_consecutive_losses_trip_at_the_count_and_need_an_explicit_reset() -> None:
    breaker = ConsecutiveLossBreaker(5)
    assert breaker.check(_observe(losses=4)) is None
    assert breaker.check(_observe(losses=5)) == "5 consecutive losses (limit 5)"
    board = BreakerBoard.from_rules(RULES)
    (event,) = board.evaluate(_observe(losses=5), T0)
    assert event.breaker == "consecutive_losses"
    assert board.auto_reset(_observe(losses=0), T0 + DAY) == []
    board.reset("consecutive_losses", "manual", T0 + DAY)
    assert board.allows_entries


@pytest.mark.parametrize(
    ("name", "observed"), [("drawdown", {"equity": "8000", "day_start": "8000"}), ("consecutive_losses", {"losses": 6})]
)
def test_the_breakers_that_wait_for_a_person_reset_by_the_clock_when_told_to(
    name: str, observed: dict[str, object]
) -> None:
    hours = 3 * 3_600_000
    board = BreakerBoard.from_rules(BreakerRules(auto_reset_after_s=3 * 3600))
    (event,) = board.evaluate(_observe(**observed), T0)  # type: ignore[arg-type]
    assert event.breaker == name and board.next_reset_due_ms() == T0 + hours
    assert board.auto_reset(_observe(ts=T0 + hours - 1), T0 + hours - 1) == []
    still_bad = _observe(ts=T0 + hours, **observed)  # type: ignore[arg-type]
    (reset,) = board.update(still_bad, T0 + hours)  # reset, and not judged again on the same observation
    assert reset.reason == "10800s passed since the trip (auto_reset_after_s)"
    assert board.allows_entries and board.next_reset_due_ms() is None
    assert BreakerBoard.from_rules(RULES).next_reset_due_ms() is None  # the default: only a person resets


def test_rapid_fire_counts_the_trailing_window_and_resets_when_it_clears() -> None:
    breaker = RapidFireBreaker(max_trades=3, window_s=60)
    edge = (T0 - 60_000, T0 - 30_000, T0)  # the first sits exactly on the open end of the window
    assert breaker.check(_observe(trades=edge)) is None
    assert breaker.check(_observe(trades=(T0 + 1, T0 - 1, T0 - 2))) is None  # future trades do not count
    board = BreakerBoard([breaker])
    trades = (T0 - 50_000, T0 - 20_000, T0)
    (event,) = board.evaluate(_observe(trades=trades), T0)
    assert event.reason == "3 trades in the last 60s (limit 3)"
    assert board.auto_reset(_observe(ts=T0 + 9_999, trades=trades), T0 + 9_999) == []
    (reset,) = board.auto_reset(_observe(ts=T0 + 10_000, trades=trades), T0 + 10_000)
    assert reset.reason == "only 2 trades left in the last 60s"


def test_several_breakers_trip_together_and_update_resets_before_evaluating() -> None:
    board = BreakerBoard.from_rules(RULES)
    events = board.evaluate(_observe(equity="8000", peak="10000", day_start="10000", losses=6), T0)
    assert [e.breaker for e in events] == ["daily_loss", "drawdown", "consecutive_losses"]
    assert set(board.tripped) == {"daily_loss", "drawdown", "consecutive_losses"}
    next_day = _observe(ts=T0 + DAY, equity="8000", peak="10000", day_start="8000", losses=6)
    (reset,) = board.update(next_day, T0 + DAY)
    assert isinstance(reset, CircuitBreakerReset)
    assert reset.breaker == "daily_loss"


def test_manual_reset_rejects_unknown_and_untripped_names() -> None:
    board = BreakerBoard.from_rules(RULES)
    with pytest.raises(DomainError, match="unknown breaker 'nope'"):
        board.reset("nope", "x", T0)
    with pytest.raises(DomainError, match="not tripped"):
        board.reset("drawdown", "x", T0)


def test_a_tripped_breaker_stays_tripped_after_a_restart() -> None:
    rules = BreakerRules(flatten_on_trip=True)
    board = BreakerBoard.from_rules(rules)
    board.evaluate(_observe(losses=9), T0)
    saved = json.loads(json.dumps(board.snapshot()))
    restored = BreakerBoard.restore(saved, rules)
    assert restored.flatten_on_trip
    assert not restored.allows_entries
    assert restored.tripped == {"consecutive_losses": "9 consecutive losses (limit 5)"}
    assert restored.evaluate(_observe(losses=9), T0 + 1) == []
    restored.reset("consecutive_losses", "manual", T0 + 2)
    assert restored.allows_entries


def test_restore_keeps_the_trip_time_for_automatic_resets() -> None:
    board = BreakerBoard.from_rules(RULES)
    board.evaluate(_observe(equity="9000", peak="10000"), T0)
    restored = BreakerBoard.restore(board.snapshot(), RULES)
    assert [e.breaker for e in restored.auto_reset(CALM, T0 + 1)] == []
    assert [e.breaker for e in restored.auto_reset(CALM, T0 + DAY)] == ["daily_loss"]


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        ({"version": 99, "tripped": {}}, "version"),
        ({"version": 1}, "'tripped' mapping"),
        ({"version": 1, "tripped": {"ghost": {"ts": 1, "reason": "x"}}}, "unknown breaker 'ghost'"),
        ({"version": 1, "tripped": {"drawdown": {"ts": "1", "reason": "x"}}}, "int 'ts'"),
    ],
)
def test_restore_rejects_a_malformed_snapshot(snapshot: dict[str, object], message: str) -> None:
    with pytest.raises(DomainError, match=message):
        BreakerBoard.restore(snapshot, RULES)


def test_rules_and_board_validate_their_inputs() -> None:
    with pytest.raises(DomainError, match="max_daily_loss_percent"):
        BreakerRules(max_daily_loss_percent=0)
    with pytest.raises(DomainError, match="volatility_breaker_multiple"):
        BreakerRules(volatility_breaker_multiple=1.0)
    with pytest.raises(DomainError, match="rapid_fire_window_s"):
        BreakerRules(rapid_fire_window_s=0)
    with pytest.raises(DomainError, match="auto_reset_after_s must be at least 1"):
        BreakerRules(auto_reset_after_s=0)
    with pytest.raises(DomainError, match="unique"):
        BreakerBoard([DailyLossBreaker(5), DailyLossBreaker(4)])
