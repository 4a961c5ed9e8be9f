"""The HTML report: one offline page, and charts whose data match independent computations."""

from __future__ import annotations

import html
import math
import re
import statistics
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from trading_agent.backtest import report
from trading_agent.backtest.montecarlo import MonteCarloResult, bootstrap_trades
from trading_agent.backtest.report import (
    MAX_POINTS_PER_TRACE,
    NO_TRADES,
    SECTION_TITLES,
    ReportError,
    default_rolling_window,
    render_report,
    report_figures,
    write_report,
)
from trading_agent.domain import InstrumentId, PositionSide, Trade, TradeId

HOURLY = 8760.0
TITLE = "sma-cross on BTCUSDT <1h> & friends"


def ms(stamp: str) -> int:
    return int(pd.Timestamp(stamp, tz="UTC").value // 1_000_000)


def make_trade(pnl: str, opened: str, closed: str | None = None, n: int = 0) -> Trade:
    return Trade(
        id=TradeId(f"t{n}"),
        instrument=InstrumentId("delta_india", "BTCUSD"),
        side=PositionSide.LONG,
        contracts=1,
        entry_price=Decimal(100),
        exit_price=Decimal(100),
        pnl=Decimal(pnl),
        pnl_percent=Decimal(0),
        fees=Decimal(0),
        funding=Decimal(0),
        ts_opened=ms(opened),
        ts_closed=ms(closed or opened),
        exit_reason="test",
    )


def random_equity(periods: int, freq: str = "h", start: str = "2024-01-01", seed: int = 7) -> pd.Series:
    index = pd.date_range(start, periods=periods, freq=freq, tz="UTC")
    returns = np.random.default_rng(seed).normal(0.0002, 0.004, periods)
    returns[0] = 0.0
    return pd.Series(10_000 * np.cumprod(1 + returns), index=index)


TRADES = [
    make_trade("12.5", "2024-01-01 00:30", "2024-01-01 02:00", 0),  # Monday 00h, win
    make_trade("-4", "2024-01-01 13:05", "2024-01-01 15:00", 1),  # Monday 13h, loss
    make_trade("3", "2024-01-03 13:59", "2024-01-03 20:00", 2),  # Wednesday 13h, win
    make_trade("0", "2024-01-07 23:00", "2024-01-08 01:00", 3),  # Sunday 23h (closed Monday), break-even: a loss
    make_trade("-1", "2024-01-13 23:10", "2024-01-14 00:10", 4),  # Saturday 23h, loss
]
METRICS: dict[str, Any] = {
    "total_return": 0.1234,
    "sharpe_ratio": 1.5,
    "max_drawdown_duration": 1234,
    "profit_factor": math.inf,
    "win_rate": math.nan,
    "avg_holding_time": 7200.0,
    "pbo": None,
    "classification": {"accuracy": 0.75},
}
BENCHMARK_METRICS: dict[str, Any] = {
    "total_return": -0.05,
    "sharpe_ratio": -0.25,
    "max_drawdown_duration": 12,
    "profit_factor": math.nan,
    "win_rate": 1.0,
    "avg_holding_time": 90.0,
    "pbo": None,
    "classification": None,
}


@pytest.fixture(scope="module")
def monte_carlo() -> MonteCarloResult:
    return bootstrap_trades([0.02, -0.01, 0.015, -0.03, 0.01], n_paths=200, seed=3, start_equity=10_000)


@pytest.fixture(scope="module")
def page(monte_carlo: MonteCarloResult) -> str:
    equity = random_equity(24 * 40)
    return render_report(
        title=TITLE,
        equity=equity,
        benchmark_equity=equity * 0.99,
        trades=TRADES,
        metrics=METRICS,
        benchmark_metrics=BENCHMARK_METRICS,
        periods_per_year=HOURLY,
        monte_carlo=monte_carlo,
    )


def figures(equity: pd.Series, trades: list[Trade] | None = None, **kwargs: Any) -> dict[str, Any]:
    return report_figures(equity=equity, benchmark_equity=None, trades=trades or [], periods_per_year=HOURLY, **kwargs)


def annotations(figure: Any) -> list[str]:
    return [annotation.text for annotation in figure.layout.annotations]


# The page.


def test_page_is_one_html_document(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>\n<html")
    assert page.rstrip().endswith("</html>")
    for tag in ("<html", "</html>", "<head>", "<body>", "</body>"):
        assert page.count(tag) == 1, tag
    assert f"<title>{html.escape(TITLE)}</title>" in page
    assert f"<h1>{html.escape(TITLE)}</h1>" in page


def test_page_embeds_plotly_js_once_and_loads_nothing_remote(page: str) -> None:
    bundle = get_plotlyjs()
    assert page.count(bundle) == 1
    assert page.count("* plotly.js v") == 1
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.IGNORECASE)
    assert "<link" not in page.lower()
    assert "http" not in page.replace(bundle, "")  # no URL at all outside the library itself


def test_page_has_every_section_in_order(page: str) -> None:
    positions = [page.index(f"<h2>{html.escape(title)}</h2>") for title in SECTION_TITLES.values()]
    assert positions == sorted(positions)
    assert page.count('class="plotly-graph-div"') == len(SECTION_TITLES) - 1  # every section but the table


def test_monte_carlo_section_only_when_a_simulation_is_given() -> None:
    equity = random_equity(48)
    assert "monte_carlo" not in figures(equity)
    page = render_report(
        title="t",
        equity=equity,
        benchmark_equity=None,
        trades=[],
        metrics={},
        benchmark_metrics=None,
        periods_per_year=HOURLY,
    )
    assert SECTION_TITLES["monte_carlo"] not in page
    assert "<th>Buy &amp; hold</th>" not in page


def metrics_rows(page: str) -> dict[str, list[str]]:
    table = re.search(r'<table class="metrics">(.*?)</table>', page, flags=re.S)
    assert table is not None
    rows = re.findall(r"<tr><th scope='row'>(.*?)</th>(.*?)</tr>", table.group(1))
    return {label: re.findall(r"<td>(.*?)</td>", cells) for label, cells in rows}


def test_metrics_table_formats_strategy_beside_buy_hold(page: str) -> None:
    assert "<th>Strategy</th><th>Buy &amp; hold</th>" in page
    assert metrics_rows(page) == {
        "Total return": ["12.34%", "-5.00%"],
        "Sharpe ratio": ["1.500", "-0.250"],
        "Max drawdown duration (bars)": ["1,234", "12"],
        "Profit factor": ["∞", "n/a"],
        "Win rate": ["n/a", "100.00%"],
        "Average holding time": ["2.0 h", "1.5 min"],
        "Classification: accuracy": ["0.750", "—"],
    }  # pbo is None on both sides: no row


# The charts' data.


def test_monthly_heat_map_holds_compounded_monthly_returns() -> None:
    equity = random_equity(4 * 430, freq="6h", start="2023-11-20 06:00")  # Nov 2023 to Jan 2025
    heatmap = figures(equity)["monthly_returns"].data[0]
    returns = equity.pct_change().fillna(0.0)
    expected: dict[tuple[int, int], float] = {}
    for stamp, value in returns.items():
        key = (stamp.year, stamp.month)
        expected[key] = (1 + expected.get(key, 0.0)) * (1 + value) - 1
    z = np.asarray(heatmap.z, dtype=float)
    assert list(heatmap.y) == ["2023", "2024", "2025"]
    assert list(heatmap.x) == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    for row, year in enumerate((2023, 2024, 2025)):
        for month in range(1, 13):
            if (year, month) in expected:
                assert z[row, month - 1] == pytest.approx(expected[(year, month)], rel=1e-9, abs=1e-12)
            else:
                assert math.isnan(z[row, month - 1])
    assert len(expected) == 15


def test_rolling_sharpe_matches_a_hand_computation() -> None:
    equity = random_equity(60)
    window = 12
    trace = figures(equity, rolling_window=window)["rolling_sharpe"].data[0]
    bar = 40
    values = equity.to_numpy()
    returns = [values[j] / values[j - 1] - 1 for j in range(bar - window + 1, bar + 1)]
    expected = statistics.fmean(returns) / statistics.stdev(returns) * math.sqrt(HOURLY)
    position = bar - 1  # the rolling Sharpe starts at the first return, on bar 1
    assert pd.Timestamp(trace.x[position]) == equity.index[bar].tz_localize(None)
    assert trace.y[position] == pytest.approx(expected, rel=1e-9)
    assert np.isnan(trace.y[: window - 1]).all()
    assert np.isfinite(trace.y[window - 1 :]).all()


def test_rolling_window_defaults_to_thirty_days_of_bars() -> None:
    assert default_rolling_window(HOURLY) == 720
    assert default_rolling_window(365.0) == 30
    assert default_rolling_window(12.0) == 2
    trace = figures(random_equity(800))["rolling_sharpe"].data[0]
    first = int(np.flatnonzero(np.isfinite(np.asarray(trace.y, dtype=float)))[0])
    assert first == 719


def test_win_loss_counts_by_entry_hour_and_weekday() -> None:
    charts = figures(random_equity(24 * 20), TRADES)
    by_hour = {trace.name: list(trace.y) for trace in charts["win_loss_by_hour"].data}
    wins_by_hour, losses_by_hour = [0] * 24, [0] * 24
    wins_by_hour[0], wins_by_hour[13] = 1, 1
    losses_by_hour[13], losses_by_hour[23] = 1, 2
    assert by_hour == {"wins": wins_by_hour, "losses (pnl ≤ 0)": losses_by_hour}
    assert list(charts["win_loss_by_hour"].data[0].x) == [str(hour) for hour in range(24)]

    by_day = {trace.name: list(trace.y) for trace in charts["win_loss_by_weekday"].data}
    assert list(charts["win_loss_by_weekday"].data[0].x) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert by_day == {"wins": [1, 0, 1, 0, 0, 0, 0], "losses (pnl ≤ 0)": [1, 0, 0, 0, 0, 1, 1]}


def test_trade_pnl_histogram_holds_every_trade() -> None:
    histogram = figures(random_equity(48), TRADES)["trade_pnl"].data[0]
    assert histogram.type == "histogram"
    assert list(histogram.x) == [12.5, -4.0, 3.0, 0.0, -1.0]


def test_equity_chart_has_both_curves_and_their_drawdowns() -> None:
    equity = pd.Series([100.0, 110.0, 99.0, 121.0], index=pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC"))
    chart = report_figures(
        equity=equity, benchmark_equity=equity / 2, trades=[], periods_per_year=365.0, rolling_window=2
    )["equity"]
    names = [trace.name for trace in chart.data]
    assert names == ["strategy", "strategy drawdown", "buy-hold", "buy-hold drawdown"]
    assert list(chart.data[0].y) == [100.0, 110.0, 99.0, 121.0]
    assert list(chart.data[1].y) == pytest.approx([0.0, 0.0, -0.1, 0.0])
    assert list(chart.data[2].y) == [50.0, 55.0, 49.5, 60.5]
    assert chart.data[1].yaxis == "y2"


def test_monte_carlo_fan_shows_the_bands_and_the_median(monte_carlo: MonteCarloResult) -> None:
    chart = figures(random_equity(48), monte_carlo=monte_carlo)["monte_carlo"]
    traces = {trace.name: trace for trace in chart.data}
    for name, percentile in (("5th percentile", 5), ("5–95%", 95), ("25th percentile", 25), ("25–75%", 75)):
        assert np.asarray(traces[name].y) == pytest.approx(monte_carlo.band(percentile))
    assert np.asarray(traces["median"].y) == pytest.approx(monte_carlo.band(50))
    assert traces["5–95%"].fill == "tonexty"
    assert traces["25–75%"].fill == "tonexty"
    assert list(traces["median"].x) == list(range(monte_carlo.steps + 1))


# Edge cases.


def test_zero_trades_say_no_trades() -> None:
    equity = random_equity(72)
    charts = figures(equity)
    for key in ("trade_pnl", "win_loss_by_hour", "win_loss_by_weekday"):
        assert charts[key].data == ()
        assert annotations(charts[key]) == [NO_TRADES]
    page = render_report(
        title="t",
        equity=equity,
        benchmark_equity=equity,
        trades=[],
        metrics={"num_trades": 0, "win_rate": math.nan},
        benchmark_metrics={"num_trades": 0, "win_rate": math.nan},
        periods_per_year=HOURLY,
    )
    assert page.count(f'"text":"{NO_TRADES}"') == 3


def test_flat_equity_renders() -> None:
    flat = pd.Series(10_000.0, index=pd.date_range("2024-01-30", periods=72, freq="h", tz="UTC"))
    charts = figures(flat, rolling_window=24)
    assert np.asarray(charts["equity"].data[1].y) == pytest.approx(np.zeros(72))
    z = np.asarray(charts["monthly_returns"].data[0].z, dtype=float)
    assert z[0, 0] == 0.0
    assert z[0, 1] == 0.0
    assert charts["rolling_sharpe"].data == ()
    assert "no rolling Sharpe" in annotations(charts["rolling_sharpe"])[0]
    page = render_report(
        title="flat",
        equity=flat.iloc[:1],
        benchmark_equity=None,
        trades=[],
        metrics={},
        benchmark_metrics=None,
        periods_per_year=HOURLY,
    )
    assert SECTION_TITLES["rolling_sharpe"] in page


def test_long_curve_is_thinned_but_keeps_its_extremes() -> None:
    equity = random_equity(60_000, freq="min")
    equity.iloc[33_333] = equity.max() * 1.5
    equity.iloc[33_334] = equity.min() * 0.5
    chart = figures(equity, rolling_window=100)["equity"]
    curve, drawdown = chart.data[0], chart.data[1]
    assert len(curve.y) <= MAX_POINTS_PER_TRACE + 1
    assert max(curve.y) == equity.max()
    assert min(curve.y) == equity.min()
    assert curve.y[0] == equity.iloc[0]
    assert curve.y[-1] == equity.iloc[-1]
    worst = float((1 - equity / equity.cummax()).max())
    assert min(drawdown.y) == pytest.approx(-worst)


def test_naive_times_are_taken_as_utc() -> None:
    equity = random_equity(24 * 40)
    naive = equity.copy()
    naive.index = equity.index.tz_localize(None)
    aware_z = np.asarray(figures(equity)["monthly_returns"].data[0].z, dtype=float)
    naive_z = np.asarray(figures(naive)["monthly_returns"].data[0].z, dtype=float)
    np.testing.assert_array_equal(aware_z, naive_z)


@pytest.mark.parametrize(
    ("equity", "kwargs", "message"),
    [
        (pd.Series([], dtype=float, index=pd.DatetimeIndex([], tz="UTC")), {}, "empty"),
        (pd.Series([1.0, 2.0]), {}, "DatetimeIndex"),
        (random_equity(3).where(lambda s: s.index.hour != 1, -1.0), {}, "positive"),
        (random_equity(30), {"rolling_window": 1}, "rolling_window"),
    ],
)
def test_bad_input_raises(equity: pd.Series, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ReportError, match=message):
        figures(equity, **kwargs)


def test_bad_periods_per_year_raises() -> None:
    with pytest.raises(ReportError, match="periods_per_year"):
        report_figures(equity=random_equity(30), benchmark_equity=None, trades=[], periods_per_year=0.0)


# Writing.


def test_write_report_writes_the_whole_file_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "report.html"
    text = "<!DOCTYPE html><p>é ∞</p>" * 1000
    assert write_report(target, text) == target
    assert target.read_text(encoding="utf-8") == text
    assert [path.name for path in target.parent.iterdir()] == ["report.html"]
    write_report(target, "second")
    assert target.read_text(encoding="utf-8") == "second"
    assert [path.name for path in target.parent.iterdir()] == ["report.html"]


@pytest.mark.parametrize("existing", [None, "the previous report"])
def test_failed_write_leaves_no_partial_or_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: str | None
) -> None:
    target = tmp_path / "report.html"
    if existing is not None:
        target.write_text(existing, encoding="utf-8")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_report(target, "<html>" + "x" * 100_000)
    if existing is None:
        assert list(tmp_path.iterdir()) == []
    else:
        assert [path.name for path in tmp_path.iterdir()] == ["report.html"]
        assert target.read_text(encoding="utf-8") == existing
