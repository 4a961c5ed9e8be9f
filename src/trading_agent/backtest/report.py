"""The HTML backtest report: one self-contained page of plotly charts beside the metrics table.

``render_report`` returns one HTML document with plotly.js embedded inline once (no CDN, no
network: the file opens offline and is safe to mail). Its sections, in order: the metrics
(strategy beside buy-hold), equity with the drawdown below it, the monthly-returns heat map, the
trade PnL distribution, wins and losses by entry hour and by entry weekday (UTC), the rolling
Sharpe ratio and, when a simulation was run, the Monte Carlo fan chart. ``report_figures`` builds
the charts as plotly figures (the page is made from them), so their data can be inspected.
``write_report`` writes the page so it appears only once complete.

Traps: the curves are computed on every bar, but a line chart of more than ``MAX_POINTS_PER_TRACE``
points is thinned to each bucket's first, lowest, highest and last point (its extremes, the
deepest drawdown included, survive; a 1M-candle curve would otherwise weigh tens of MB). A trade
"wins" when ``pnl > 0``, as in ``win_rate``: break-even trades count with the losses.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from trading_agent.backtest.metrics_returns import NEGLIGIBLE_STDEV, drawdown_series
from trading_agent.backtest.montecarlo import MonteCarloResult
from trading_agent.domain import DomainError, Trade

__all__ = [
    "MAX_POINTS_PER_TRACE",
    "SECTION_TITLES",
    "ReportError",
    "default_rolling_window",
    "monthly_returns",
    "render_report",
    "report_figures",
    "rolling_sharpe",
    "write_report",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_POINTS_PER_TRACE = 4_000
SECTION_TITLES: Mapping[str, str] = {
    "metrics": "Metrics",
    "equity": "Equity and drawdown",
    "monthly_returns": "Monthly returns",
    "trade_pnl": "Trade PnL distribution",
    "win_loss_by_hour": "Wins and losses by entry hour (UTC)",
    "win_loss_by_weekday": "Wins and losses by entry weekday (UTC)",
    "rolling_sharpe": "Rolling Sharpe ratio",
    "monte_carlo": "Monte Carlo equity paths",
}
NO_TRADES = "no trades"

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday is 0)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TEMPLATE = "plotly_white"
_WIN_COLOR, _LOSS_COLOR = "#2ca02c", "#d62728"
_STRATEGY_COLOR, _BENCHMARK_COLOR = "#1f77b4", "#7f7f7f"


class ReportError(DomainError):
    """The report was given unusable input (a ``ValueError`` subclass); the message names it."""


def default_rolling_window(periods_per_year: float) -> int:
    """Thirty days of bars on a 24/7 calendar, ``round(30 x periods_per_year / 365)``, at least 2 (1h: 720)."""
    _check_periods_per_year(periods_per_year)
    return max(2, round(30 * periods_per_year / 365))


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Compounded return of each calendar month (UTC): years as rows, months 1-12 as columns, NaN without bars.

    A month's return is its last equity over the previous month's last (the first month's over
    the first bar), i.e. the product of ``1 + r`` of its bars, minus 1.
    """
    curve = _utc_equity(equity)
    index = pd.DatetimeIndex(curve.index)
    month_end = curve.groupby([index.year, index.month]).last()
    previous = month_end.shift(1)
    previous.iloc[0] = curve.iloc[0]
    table = (month_end / previous - 1.0).unstack()
    return table.reindex(columns=range(1, 13))


def rolling_sharpe(equity: pd.Series, *, periods_per_year: float, window: int) -> pd.Series:
    """Sharpe ratio of the last ``window`` bar returns at each bar, ``mean / stdev (ddof=1) x sqrt(periods_per_year)``.

    Indexed by the bar that closes the window (the returns start at the second bar); NaN before
    a full window and where the window's stdev is at most ``NEGLIGIBLE_STDEV`` (flat), as in
    ``sharpe_ratio``.
    """
    _check_periods_per_year(periods_per_year)
    if isinstance(window, bool) or not isinstance(window, int) or window < 2:
        raise ReportError(f"rolling_window must be an integer of at least 2 bars, got {window!r}")
    curve = _utc_equity(equity)
    values = curve.to_numpy()
    returns = pd.Series(values[1:] / values[:-1] - 1.0, index=curve.index[1:])
    rolling = returns.rolling(window, min_periods=window)
    stdev = rolling.std(ddof=1)
    sharpe = rolling.mean() / stdev.where(stdev > NEGLIGIBLE_STDEV) * math.sqrt(periods_per_year)
    return pd.Series(sharpe, name="rolling_sharpe")


def report_figures(
    *,
    equity: pd.Series,
    benchmark_equity: pd.Series | None,
    trades: Sequence[Trade],
    periods_per_year: float,
    monte_carlo: MonteCarloResult | None = None,
    rolling_window: int | None = None,
) -> dict[str, go.Figure]:
    """The report's charts, keyed as ``SECTION_TITLES`` (without ``metrics``; ``monte_carlo`` only when given).

    ``equity`` and ``benchmark_equity`` are per-bar equity in money on a DatetimeIndex (naive
    times are taken as UTC). ``rolling_window`` counts bars (default ``default_rolling_window``).
    The monthly heat map's ``z`` holds ``monthly_returns`` as fractions; the win/loss bars count
    trades by the UTC hour and weekday of ``ts_opened``. With no trades, the three trade charts
    carry a single "no trades" annotation instead of data.
    """
    curve = _utc_equity(equity)
    benchmark = None if benchmark_equity is None else _utc_equity(benchmark_equity, "benchmark_equity")
    window = default_rolling_window(periods_per_year) if rolling_window is None else rolling_window
    figures = {
        "equity": _equity_figure(curve, benchmark),
        "monthly_returns": _monthly_figure(monthly_returns(curve)),
        "trade_pnl": _pnl_figure(trades),
        "win_loss_by_hour": _win_loss_figure(trades, _entry_hours(trades), range(24), "hour of day (UTC)"),
        "win_loss_by_weekday": _win_loss_figure(trades, _entry_weekdays(trades), _WEEKDAYS, "day of week (UTC)"),
        "rolling_sharpe": _rolling_sharpe_figure(
            rolling_sharpe(curve, periods_per_year=periods_per_year, window=window), window
        ),
    }
    if monte_carlo is not None:
        figures["monte_carlo"] = _monte_carlo_figure(monte_carlo)
    for figure in figures.values():
        figure.update_layout(template=_TEMPLATE, margin={"t": 40, "b": 40})
    return figures


def render_report(
    *,
    title: str,
    equity: pd.Series,
    benchmark_equity: pd.Series | None,
    trades: Sequence[Trade],
    metrics: Mapping[str, Any],
    benchmark_metrics: Mapping[str, Any] | None,
    periods_per_year: float,
    monte_carlo: MonteCarloResult | None = None,
    rolling_window: int | None = None,
) -> str:
    """One self-contained HTML document: the metrics table, then every chart of ``report_figures``.

    ``metrics`` and ``benchmark_metrics`` are ``BacktestMetrics.to_dict()`` values (other keys
    are shown as they come; a nested mapping becomes one row per entry). plotly.js is embedded
    once in the head; the page loads nothing from the network.
    """
    figures = report_figures(
        equity=equity,
        benchmark_equity=benchmark_equity,
        trades=trades,
        periods_per_year=periods_per_year,
        monte_carlo=monte_carlo,
        rolling_window=rolling_window,
    )
    sections = [_section("metrics", _metrics_table(metrics, benchmark_metrics))]
    for key, figure in figures.items():
        chart = figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        sections.append(_section(key, chart))
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n"
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        f"</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def write_report(path: str | os.PathLike[str], html_text: str) -> Path:
    """Write ``html_text`` to ``path`` (UTF-8) so that the file appears only complete.

    The text goes to a temporary file beside ``path``, is flushed to disk, then renamed over it
    (atomic on one file system). On any failure the temporary file is removed and an existing
    report at ``path`` is left as it was. Missing parent folders are created. Returns the path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, before the rename)
        "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
    )
    temporary = Path(handle.name)
    try:
        with handle:
            handle.write(html_text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


# Inputs.


def _check_periods_per_year(periods_per_year: float) -> None:
    if isinstance(periods_per_year, bool) or not (
        isinstance(periods_per_year, int | float) and math.isfinite(periods_per_year) and periods_per_year > 0
    ):
        raise ReportError(f"periods_per_year must be a positive finite number, got {periods_per_year!r}")


def _utc_equity(equity: pd.Series, name: str = "equity") -> pd.Series:
    if not isinstance(equity, pd.Series) or not isinstance(equity.index, pd.DatetimeIndex):
        raise ReportError(f"{name} must be a pandas Series on a DatetimeIndex")
    if equity.empty:
        raise ReportError(f"{name} is empty: there is nothing to report")
    values = equity.to_numpy(dtype=np.float64)
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ReportError(f"{name} must be positive and finite on every bar")
    index = equity.index
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return pd.Series(values, index=index, name=name)


def _entry_hours(trades: Sequence[Trade]) -> IntArray:
    opened = np.array([trade.ts_opened for trade in trades], dtype=np.int64)
    return np.asarray(opened // _HOUR_MS % 24, dtype=np.int64)


def _entry_weekdays(trades: Sequence[Trade]) -> IntArray:
    opened = np.array([trade.ts_opened for trade in trades], dtype=np.int64)
    return np.asarray((opened // _DAY_MS + _EPOCH_WEEKDAY) % 7, dtype=np.int64)


def _thinned(values: FloatArray) -> IntArray:
    """Indices to plot: all of them, or each bucket's first, lowest, highest and last (NaN ignored)."""
    n = values.size
    if n <= MAX_POINTS_PER_TRACE:
        return np.arange(n, dtype=np.int64)
    buckets = MAX_POINTS_PER_TRACE // 4
    size = -(-n // buckets)
    padded = np.concatenate((values, np.full(size * buckets - n, np.nan)))
    grid = padded.reshape(buckets, size)
    offsets = np.arange(buckets, dtype=np.int64) * size
    lowest = np.where(np.isnan(grid), np.inf, grid).argmin(axis=1) + offsets
    highest = np.where(np.isnan(grid), -np.inf, grid).argmax(axis=1) + offsets
    picked = np.concatenate((offsets, lowest, highest, offsets + size - 1, [n - 1]))
    return np.unique(np.minimum(picked, n - 1)).astype(np.int64)


def _line(series: pd.Series, **trace: Any) -> go.Scatter:
    values = series.to_numpy(dtype=np.float64)
    keep = _thinned(values)
    times = pd.DatetimeIndex(series.index).tz_localize(None).to_numpy()  # naive UTC: plotly.js has no time zones
    return go.Scatter(x=times[keep], y=values[keep], mode="lines", **trace)


# Figures.


def _message_figure(text: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5, font={"size": 18})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def _equity_figure(curve: pd.Series, benchmark: pd.Series | None) -> go.Figure:
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    curves = [("strategy", curve, _STRATEGY_COLOR)]
    if benchmark is not None:
        curves.append(("buy-hold", benchmark, _BENCHMARK_COLOR))
    for name, series, color in curves:
        line = {"color": color, "width": 1.5}
        figure.add_trace(_line(series, name=name, legendgroup=name, line=line), row=1, col=1)
        drawdown = pd.Series(-drawdown_series(series.to_numpy()), index=series.index)
        figure.add_trace(
            _line(drawdown, name=f"{name} drawdown", legendgroup=name, showlegend=False, line=line), row=2, col=1
        )
    figure.update_yaxes(title_text="equity", row=1, col=1)
    figure.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    figure.update_layout(height=600, hovermode="x unified")
    return figure


def _monthly_figure(table: pd.DataFrame) -> go.Figure:
    z = table.to_numpy(dtype=np.float64)
    text = [["" if math.isnan(value) else f"{value:.1%}" for value in row] for row in z]
    limit = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.0
    heatmap = go.Heatmap(
        z=z,
        x=list(_MONTHS),
        y=[str(year) for year in table.index],
        text=text,
        texttemplate="%{text}",
        hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
        colorscale="RdYlGn",
        zmid=0.0,
        zmin=-limit or -0.01,
        zmax=limit or 0.01,
        colorbar={"tickformat": ".0%"},
    )
    figure = go.Figure(heatmap)
    figure.update_yaxes(type="category", autorange="reversed", title_text="year")
    figure.update_layout(height=max(260, 60 + 40 * len(table.index)))
    return figure


def _pnl_figure(trades: Sequence[Trade]) -> go.Figure:
    if not trades:
        return _message_figure(NO_TRADES)
    pnl = [float(trade.pnl) for trade in trades]
    figure = go.Figure(go.Histogram(x=pnl, name="trades", marker_color=_STRATEGY_COLOR))
    figure.add_vline(x=0.0, line_dash="dash", line_color="black")
    figure.update_xaxes(title_text="PnL per trade (account currency, net of costs)")
    figure.update_yaxes(title_text="trades")
    figure.update_layout(height=400, bargap=0.05)
    return figure


def _win_loss_figure(trades: Sequence[Trade], buckets: IntArray, labels: Sequence[object], axis: str) -> go.Figure:
    if not trades:
        return _message_figure(NO_TRADES)
    wins = np.array([trade.pnl > 0 for trade in trades], dtype=bool)
    n = len(labels)
    x = [str(label) for label in labels]
    figure = go.Figure()
    figure.add_trace(go.Bar(x=x, y=np.bincount(buckets[wins], minlength=n), name="wins", marker_color=_WIN_COLOR))
    figure.add_trace(
        go.Bar(x=x, y=np.bincount(buckets[~wins], minlength=n), name="losses (pnl ≤ 0)", marker_color=_LOSS_COLOR)
    )
    figure.update_xaxes(title_text=axis, type="category")
    figure.update_yaxes(title_text="trades")
    figure.update_layout(height=380, barmode="group")
    return figure


def _rolling_sharpe_figure(sharpe: pd.Series, window: int) -> go.Figure:
    if not sharpe.notna().any():
        return _message_figure(f"no rolling Sharpe: fewer than {window} returns, or flat over every window")
    figure = go.Figure(_line(sharpe, name=f"Sharpe over {window} bars", line={"color": _STRATEGY_COLOR}))
    figure.add_hline(y=0.0, line_dash="dash", line_color="black")
    figure.update_yaxes(title_text=f"annualised Sharpe ({window}-bar window)")
    figure.update_layout(height=380)
    return figure


def _monte_carlo_figure(result: MonteCarloResult) -> go.Figure:
    steps = np.arange(result.steps + 1)
    if steps.size > MAX_POINTS_PER_TRACE:
        steps = np.unique(np.linspace(0, result.steps, MAX_POINTS_PER_TRACE).round().astype(np.int64))
    low, q25, median, q75, high = (result.band(p)[steps] for p in (5, 25, 50, 75, 95))
    outer, inner = "rgba(31, 119, 180, 0.15)", "rgba(31, 119, 180, 0.35)"
    clear = {"width": 0}
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=steps, y=low, mode="lines", line=clear, name="5th percentile", showlegend=False))
    figure.add_trace(
        go.Scatter(x=steps, y=high, mode="lines", line=clear, fill="tonexty", fillcolor=outer, name="5–95%")
    )
    figure.add_trace(go.Scatter(x=steps, y=q25, mode="lines", line=clear, name="25th percentile", showlegend=False))
    figure.add_trace(
        go.Scatter(x=steps, y=q75, mode="lines", line=clear, fill="tonexty", fillcolor=inner, name="25–75%")
    )
    figure.add_trace(go.Scatter(x=steps, y=median, mode="lines", line={"color": _STRATEGY_COLOR}, name="median"))
    figure.update_xaxes(title_text="step (trade or bar drawn)")
    figure.update_yaxes(title_text="equity")
    figure.update_layout(height=420, title_text=f"{result.n_paths:,} paths")
    return figure


# The page.


def _pct(value: float) -> str:
    return f"{value:.2%}"


def _ratio(value: float) -> str:
    return f"{value:,.3f}"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _count(value: float) -> str:
    return f"{round(value):,}"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86_400.0), ("h", 3_600.0), ("min", 60.0)):
        if abs(seconds) >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.0f} s"


_ROWS: Mapping[str, tuple[str, Callable[[float], str]]] = {
    "total_return": ("Total return", _pct),
    "annual_return": ("Annual return (CAGR)", _pct),
    "annual_volatility": ("Annual volatility", _pct),
    "sharpe_ratio": ("Sharpe ratio", _ratio),
    "sortino_ratio": ("Sortino ratio", _ratio),
    "calmar_ratio": ("Calmar ratio", _ratio),
    "max_drawdown": ("Max drawdown", _pct),
    "max_drawdown_duration": ("Max drawdown duration (bars)", _count),
    "win_rate": ("Win rate", _pct),
    "profit_factor": ("Profit factor", _ratio),
    "expectancy": ("Expectancy (per trade, account currency)", _money),
    "recovery_factor": ("Recovery factor", _ratio),
    "exposure": ("Exposure", _pct),
    "num_trades": ("Trades", _count),
    "avg_holding_time": ("Average holding time", _duration),
    "var_95": ("VaR 95 (per bar)", _pct),
    "cvar_95": ("CVaR 95 (per bar)", _pct),
    "ulcer_index": ("Ulcer index", _pct),
    "omega_ratio": ("Omega ratio", _ratio),
    "tail_ratio": ("Tail ratio", _ratio),
    "deflated_sharpe_ratio": ("Deflated Sharpe ratio (probability)", _ratio),
    "pbo": ("Probability of backtest overfitting", _pct),
}


def _cell(value: object, fmt: Callable[[float], str]) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return html.escape(str(value))
    number = float(value)
    if math.isnan(number):
        return "n/a"
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    return fmt(number)


def _flattened(metrics: Mapping[str, Any] | None) -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, Mapping):
            flat.update({f"{key}.{inner}": inner_value for inner, inner_value in value.items()})
        else:
            flat[key] = value
    return flat


def _metrics_table(metrics: Mapping[str, Any], benchmark_metrics: Mapping[str, Any] | None) -> str:
    strategy, benchmark = _flattened(metrics), _flattened(benchmark_metrics)
    columns = [strategy] if benchmark_metrics is None else [strategy, benchmark]
    header = "<th>Metric</th><th>Strategy</th>" + ("" if benchmark_metrics is None else "<th>Buy &amp; hold</th>")
    rows = []
    for key in dict.fromkeys([*strategy, *benchmark]):
        if all(column.get(key) is None for column in columns):
            continue
        label, fmt = _ROWS.get(key, (key.replace(".", ": ").replace("_", " ").capitalize(), _ratio))
        cells = "".join(f"<td>{_cell(column.get(key), fmt)}</td>" for column in columns)
        rows.append(f"<tr><th scope='row'>{html.escape(label)}</th>{cells}</tr>")
    return f'<table class="metrics"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _section(key: str, content: str) -> str:
    return f'<section id="{key}">\n<h2>{html.escape(SECTION_TITLES[key])}</h2>\n{content}\n</section>'


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222}"
    "h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}"
    "table.metrics{border-collapse:collapse;font-size:.9rem}"
    "table.metrics th,table.metrics td{padding:.25rem .8rem;border-bottom:1px solid #eee;text-align:right}"
    "table.metrics th[scope=row]{text-align:left;font-weight:normal}"
)
