"""``services.performance``: returns by day, week and month, trades by closing period, daily metrics, a day's analytics.

Every expected number is computed by hand in the test from hand-made equity points and trades.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from trading_agent.backtest.metrics import compute_metrics
from trading_agent.services.errors import ServiceError
from trading_agent.services.journal_queries import EquityPoint, SignalRecord, TradeRecord
from trading_agent.services.performance import daily_analytics, performance

SESSION = "paper"


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Epoch milliseconds of a UTC wall-clock time."""
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def point(ts: int, equity: str | float, in_position: bool = False) -> EquityPoint:
    return EquityPoint(ts=ts, equity=Decimal(str(equity)), in_position=in_position)


def trade(
    closed: int, pnl: str | float, fees: str | float = "0", funding: str | float = "0", *, opened: int | None = None
) -> TradeRecord:
    opened_ts = closed - 3_600_000 if opened is None else opened
    return TradeRecord(
        session=SESSION,
        event_id=f"e-{closed}-{pnl}",
        trade_id=f"t-{closed}-{pnl}",
        exchange="binance",
        symbol="BTCUSD",
        side="long",
        contracts=1,
        entry_price=Decimal(40000),
        exit_price=Decimal(40100),
        pnl=Decimal(str(pnl)),
        pnl_percent=Decimal("0.1"),
        fees=Decimal(str(fees)),
        funding=Decimal(str(funding)),
        ts_opened=opened_ts,
        ts_closed=closed,
        holding_period_s=(closed - opened_ts) / 1000,
        exit_reason="signal",
        event_type="closed",
        signal_confidence=0.7,
        model_predictions={},
        market_conditions={},
    )


def signal(ts: int, direction: str = "long", filtered_by: tuple[str, ...] = ()) -> SignalRecord:
    return SignalRecord(
        session=SESSION,
        event_id=f"s-{ts}",
        exchange="binance",
        symbol="BTCUSD",
        ts=ts,
        direction=direction,
        strength=0.5,
        confidence=0.7,
        model_votes={"sma-cross": 1.0},
        regime=None,
        anomaly=False,
        filtered_by=filtered_by,
    )


def newest_first(trades: list[TradeRecord]) -> list[TradeRecord]:
    """Trades as the journal lists them: newest ``ts_closed`` first."""
    return sorted(trades, key=lambda t: t.ts_closed, reverse=True)


# Three days with snapshots (Jan 3rd has none): daily ends 1010, 990, 1030 after a first snapshot of 1000.
DAY_POINTS = [
    point(ms(2024, 1, 1, 6), 1000),
    point(ms(2024, 1, 1, 18), 1010, in_position=True),
    point(ms(2024, 1, 2, 12), 990),
    point(ms(2024, 1, 4, 0), 1020, in_position=True),
    point(ms(2024, 1, 4, 23), 1030, in_position=True),
]
DAY_TRADES = [
    trade(ms(2024, 1, 1, 10), "5", fees="1", funding="0.25"),
    trade(ms(2024, 1, 2, 3), "-3", fees="1"),
    trade(ms(2024, 1, 2, 9), "2", fees="0.5", funding="-0.1"),
    trade(ms(2024, 1, 4, 20), "1", fees="0.2"),
]


def test_daily_periods_measure_each_day_from_the_previous_days_last_equity() -> None:
    report = performance(SESSION, DAY_POINTS, newest_first(DAY_TRADES), "day")
    starts = [p.start for p in report.periods]
    assert starts == [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3, 4)]  # Jan 3rd: no snapshot, equity kept
    assert [(p.equity_start, p.equity_end) for p in report.periods] == [
        (1000, 1010),
        (1010, 990),
        (990, 990),
        (990, 1030),
    ]
    expected = [100 * (1010 / 1000 - 1), 100 * (990 / 1010 - 1), 0.0, 100 * (1030 / 990 - 1)]
    assert [p.return_pct for p in report.periods] == pytest.approx(expected, rel=1e-12)
    assert report.equity_start == 1000 and report.equity_end == 1030
    assert report.total_return_pct == pytest.approx(3.0, rel=1e-12)
    assert report.first == datetime(2024, 1, 1, 6, tzinfo=UTC) and report.last == datetime(2024, 1, 4, 23, tzinfo=UTC)


def test_the_first_period_is_measured_from_the_first_snapshot_not_from_zero() -> None:
    points = [point(ms(2024, 1, 1, 12), 500), point(ms(2024, 1, 1, 13), 550)]
    [only] = performance(SESSION, points, [], "day").periods
    assert only.equity_start == 500 and only.return_pct == pytest.approx(10.0, rel=1e-12)


def test_trades_count_in_the_day_they_closed_with_their_pnl_fees_and_win_rate() -> None:
    report = performance(SESSION, DAY_POINTS, newest_first(DAY_TRADES), "day")
    by_day = {p.start.date(): p for p in report.periods}
    assert [by_day[date(2024, 1, d)].trades for d in (1, 2, 4)] == [1, 2, 1]
    assert [by_day[date(2024, 1, d)].wins for d in (1, 2, 4)] == [1, 1, 1]
    assert [by_day[date(2024, 1, d)].win_rate for d in (1, 2, 4)] == [1.0, 0.5, 1.0]
    assert by_day[date(2024, 1, 2)].pnl == pytest.approx(-1.0) and by_day[date(2024, 1, 2)].fees == pytest.approx(1.5)
    assert report.trades == 4


def test_a_period_without_trades_has_no_win_rate() -> None:
    report = performance(SESSION, DAY_POINTS, [], "day")
    assert all(p.trades == 0 and p.wins == 0 and p.win_rate is None and p.pnl == 0 for p in report.periods)


def test_a_trade_closed_on_a_day_without_a_snapshot_is_still_counted_in_a_period() -> None:
    """Every closed trade is in some period's count: the period breakdown adds up to the report's trades.

    Jan 3rd has no equity snapshot (the agent snapshots every ``checkpoint_every`` candles, and a
    replay can skip days), but a trade closed on it.
    """
    trades = [*DAY_TRADES, trade(ms(2024, 1, 3, 12), "4")]
    report = performance(SESSION, DAY_POINTS, newest_first(trades), "day")
    assert sum(p.trades for p in report.periods) == report.trades == 5


def test_weeks_start_on_monday_and_are_labelled_by_their_start() -> None:
    # 2024-01-03 is a Wednesday; the weeks are those of Mon Jan 1st, Mon Jan 8th and Mon Jan 15th.
    points = [
        point(ms(2024, 1, 3, 9), 2000),
        point(ms(2024, 1, 7, 23, 59), 2100),  # Sunday: still the first week
        point(ms(2024, 1, 8, 0), 2050),  # Monday 00:00: the second week
        point(ms(2024, 1, 12), 1900),
        point(ms(2024, 1, 16, 8), 2090),
    ]
    trades = [
        trade(ms(2024, 1, 7, 22), "10"),
        trade(ms(2024, 1, 8, 1), "-4", opened=ms(2024, 1, 5)),  # opened in week 1, closed in week 2
        trade(ms(2024, 1, 10), "-6"),
        trade(ms(2024, 1, 16, 7), "3"),
    ]
    report = performance(SESSION, points, newest_first(trades), "week")
    assert [p.start for p in report.periods] == [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 8, 15)]
    assert all(p.start.weekday() == 0 for p in report.periods)
    assert [(p.equity_start, p.equity_end) for p in report.periods] == [(2000, 2100), (2100, 1900), (1900, 2090)]
    expected = [100 * (2100 / 2000 - 1), 100 * (1900 / 2100 - 1), 100 * (2090 / 1900 - 1)]
    assert [p.return_pct for p in report.periods] == pytest.approx(expected, rel=1e-12)
    assert [(p.trades, p.wins) for p in report.periods] == [(1, 1), (2, 0), (1, 1)]
    assert [p.win_rate for p in report.periods] == [1.0, 0.0, 1.0]
    assert report.periods[1].pnl == pytest.approx(-10.0)


def test_months_are_calendar_months_labelled_by_their_first_day() -> None:
    points = [
        point(ms(2024, 1, 15), 100),
        point(ms(2024, 1, 31, 23), 120),
        point(ms(2024, 2, 1, 0), 118),
        point(ms(2024, 2, 29, 12), 90),
        point(ms(2024, 3, 5), 99),
    ]
    trades = [trade(ms(2024, 1, 31, 23, 30), "7"), trade(ms(2024, 2, 1, 0, 30), "-2"), trade(ms(2024, 3, 1), "1")]
    report = performance(SESSION, points, newest_first(trades), "month")
    assert [p.start for p in report.periods] == [datetime(2024, m, 1, tzinfo=UTC) for m in (1, 2, 3)]
    assert [(p.equity_start, p.equity_end) for p in report.periods] == [(100, 120), (120, 90), (90, 99)]
    assert [p.return_pct for p in report.periods] == pytest.approx([20.0, -25.0, 10.0], rel=1e-12)
    assert [p.trades for p in report.periods] == [1, 1, 1]
    assert report.total_return_pct == pytest.approx(-1.0, rel=1e-12)


def test_an_empty_journal_has_no_periods_and_no_metrics() -> None:
    report = performance(SESSION, [], [], "week")
    assert report.periods == [] and report.metrics == {}
    assert report.first is None and report.last is None
    assert report.equity_start is None and report.equity_end is None and report.total_return_pct is None
    assert report.trades == 0
    json.dumps(report.model_dump(mode="json"), allow_nan=False)


def test_one_point_leaves_the_metrics_undefined_as_none_never_nan() -> None:
    report = performance(SESSION, [point(ms(2024, 5, 1, 3), 10_000)], [], "day")
    assert report.total_return_pct == 0.0 and len(report.periods) == 1
    metrics = report.metrics
    for name in ("sharpe_ratio", "sortino_ratio", "annual_volatility", "win_rate", "var_95", "cvar_95"):
        assert metrics[name] is None, name
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in metrics.values())
    json.dumps(report.model_dump(mode="json"), allow_nan=False)  # raises on NaN or infinity


def test_undefined_trade_metrics_are_none_when_every_trade_wins() -> None:
    # profit_factor is +inf with no losing trade: it must come out as None, not Infinity.
    report = performance(SESSION, DAY_POINTS, newest_first([trade(ms(2024, 1, 2, 3), "5")]), "day")
    assert report.metrics["profit_factor"] is None
    json.dumps(report.model_dump(mode="json"), allow_nan=False)


def test_an_unknown_period_is_a_service_error() -> None:
    with pytest.raises(ServiceError, match="unknown period 'year'"):
        performance(SESSION, DAY_POINTS, [], "year")  # type: ignore[arg-type]


def test_metrics_are_those_of_the_daily_curve_computed_by_hand() -> None:
    trades = newest_first(DAY_TRADES)
    report = performance(SESSION, DAY_POINTS, trades, "day")
    # The daily curve by hand: the first snapshot, then each UTC day's last equity (Jan 1st, 2nd and 4th).
    daily = np.array([1000.0, 1010.0, 990.0, 1030.0])
    in_position = np.array([False, True, False, True])
    metrics = report.metrics
    assert metrics["total_return"] == pytest.approx(0.03, rel=1e-12)
    assert metrics["max_drawdown"] == pytest.approx(1 - 990 / 1010, rel=1e-12)
    assert metrics["num_trades"] == 4
    assert metrics["win_rate"] == pytest.approx(0.75)
    assert metrics["exposure"] == pytest.approx(0.5)
    reference = compute_metrics(daily, trades=trades, in_position=in_position, periods_per_year=365.0).to_dict()
    assert set(metrics) == set(reference)
    for name, value in reference.items():
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            assert metrics[name] is None, name
        else:
            assert metrics[name] == pytest.approx(value, rel=1e-12, nan_ok=False), name
    assert "365" in report.metrics_basis


def test_daily_analytics_of_a_given_day_starts_from_the_previous_days_last_equity() -> None:
    signals = [
        signal(ms(2024, 1, 2, 1)),
        signal(ms(2024, 1, 2, 5), "short", filtered_by=("min_confidence",)),
        signal(ms(2024, 1, 2, 7), filtered_by=("cooldown", "max_trades_per_day")),
        signal(ms(2024, 1, 4, 2)),
    ]
    day = daily_analytics(SESSION, DAY_POINTS, newest_first(DAY_TRADES), signals[::-1], date(2024, 1, 2))
    assert day.day == date(2024, 1, 2)
    assert day.equity_start == 1010 and day.equity_end == 990  # Jan 1st's last snapshot, Jan 2nd's last
    assert day.return_pct == pytest.approx(100 * (990 / 1010 - 1), rel=1e-12)
    assert (day.trades, day.wins, day.losses, day.win_rate) == (2, 1, 1, 0.5)
    assert day.pnl == pytest.approx(-1.0) and day.fees == pytest.approx(1.5) and day.funding == pytest.approx(-0.1)
    assert day.best_trade == 2.0 and day.worst_trade == -3.0
    assert day.signals == 3 and day.filtered_signals == 2


def test_daily_analytics_of_the_first_day_starts_from_its_first_snapshot() -> None:
    day = daily_analytics(SESSION, DAY_POINTS, newest_first(DAY_TRADES), [], date(2024, 1, 1))
    assert day.equity_start == 1000 and day.equity_end == 1010
    assert day.best_trade == day.worst_trade == 5.0 and day.funding == pytest.approx(0.25)


def test_daily_analytics_defaults_to_the_newest_day() -> None:
    day = daily_analytics(SESSION, DAY_POINTS, newest_first(DAY_TRADES), [signal(ms(2024, 1, 4, 2))])
    assert day.day == date(2024, 1, 4)
    assert day.equity_start == 990 and day.equity_end == 1030  # Jan 2nd's last (no snapshot on Jan 3rd)
    assert day.return_pct == pytest.approx(100 * (1030 / 990 - 1), rel=1e-12)
    assert (day.trades, day.wins, day.losses) == (1, 1, 0) and day.signals == 1 and day.filtered_signals == 0


def test_daily_analytics_of_a_day_without_activity_has_no_trades_and_no_end_equity() -> None:
    day = daily_analytics(SESSION, DAY_POINTS, newest_first(DAY_TRADES), [], date(2024, 1, 3))
    assert day.equity_start == 990 and day.equity_end is None and day.return_pct is None
    assert (day.trades, day.win_rate, day.best_trade, day.worst_trade, day.pnl) == (0, None, None, None, 0.0)
    json.dumps(day.model_dump(mode="json"), allow_nan=False)


def test_daily_analytics_of_an_empty_journal_is_all_empty() -> None:
    day = daily_analytics(SESSION, [], [], [], date(2024, 1, 3))
    assert day.equity_start is None and day.equity_end is None and day.trades == 0 and day.signals == 0
