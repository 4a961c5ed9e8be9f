"""The session's performance from its journal: by day, week or month with the backtest's metrics; one day's analytics.

The equity curve is the journal's equity snapshots (the engine takes one at the end of every
candle's step), with the running agent's equity now as the newest point. A period's return is its
last equity over the previous period's (the first period's over the session's first snapshot; a
period without a snapshot keeps the equity before it); its trades are those that closed in it.
The metrics are ``backtest.metrics.compute_metrics`` on the daily curve (each UTC day's last
equity, after the session's first), annualised over 365 days (crypto trades 24/7); with fewer than
two days most of them are undefined (None). Periods are in market time: a replay's days are its
candles' days. Undefined values (NaN, infinities) are None, so every answer is valid JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from trading_agent.backtest.metrics import compute_metrics
from trading_agent.backtest.metrics_inputs import MetricsInputError
from trading_agent.services.errors import ServiceError
from trading_agent.services.journal_queries import EquityPoint, SignalRecord, TradeRecord
from trading_agent.services.report_values import finite

__all__ = ["DailyAnalytics", "PerformanceReport", "Period", "PeriodPerformance", "daily_analytics", "performance"]

Period = Literal["day", "week", "month"]
_FREQUENCY: dict[str, str] = {"day": "D", "week": "W-MON", "month": "MS"}
_DAYS_PER_YEAR = 365.0


class PeriodPerformance(BaseModel):
    """One day, week (from Monday) or month of the session."""

    start: datetime
    equity_start: float
    equity_end: float
    return_pct: float
    pnl: float
    fees: float
    trades: int
    wins: int
    win_rate: float | None


class PerformanceReport(BaseModel):
    """The session's performance by period, and its metrics on the daily equity curve."""

    session: str
    period: Period
    first: datetime | None
    last: datetime | None
    equity_start: float | None
    equity_end: float | None
    total_return_pct: float | None
    trades: int
    periods: list[PeriodPerformance]
    metrics: dict[str, Any]
    metrics_basis: str


class DailyAnalytics(BaseModel):
    """One UTC day of the session: trades, PnL, costs, signals."""

    session: str
    day: date
    equity_start: float | None
    equity_end: float | None
    return_pct: float | None
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    pnl: float
    fees: float
    funding: float
    best_trade: float | None
    worst_trade: float | None
    signals: int
    filtered_signals: int


def _frame(points: Sequence[EquityPoint]) -> pd.DataFrame:
    index = pd.to_datetime([p.ts for p in points], unit="ms", utc=True)
    return pd.DataFrame(
        {"equity": [float(p.equity) for p in points], "in_position": [p.in_position for p in points]}, index=index
    )


def _trades_frame(trades: Sequence[TradeRecord]) -> pd.DataFrame:
    return pd.DataFrame(
        {"pnl": [float(t.pnl) for t in trades], "fees": [float(t.fees) for t in trades]},
        index=pd.to_datetime([t.ts_closed for t in trades], unit="ms", utc=True),
    )


def _periods(curve: pd.DataFrame, trades: pd.DataFrame, period: Period) -> list[PeriodPerformance]:
    frequency = _FREQUENCY[period]
    ends = curve["equity"].resample(frequency, label="left", closed="left").last()
    closed = trades.assign(win=trades["pnl"] > 0, n=1).resample(frequency, label="left", closed="left")
    table = pd.DataFrame({"equity_end": ends}).join(closed[["pnl", "fees", "win", "n"]].sum(), how="outer")
    first = curve["equity"].iloc[0]
    table["equity_end"] = table["equity_end"].ffill().fillna(first)  # a period without a snapshot kept its equity
    table = table.fillna(0.0)
    table["equity_start"] = table["equity_end"].shift(1).fillna(first)
    return [_period_row(start, row) for start, row in zip(table.index, table.to_dict("records"), strict=True)]


def _period_row(start: Any, row: dict[Any, Any]) -> PeriodPerformance:
    trades, wins = int(row["n"]), int(row["win"])
    return PeriodPerformance(
        start=pd.Timestamp(start).to_pydatetime(),
        equity_start=float(row["equity_start"]),
        equity_end=float(row["equity_end"]),
        return_pct=100.0 * (float(row["equity_end"]) / float(row["equity_start"]) - 1.0),
        pnl=float(row["pnl"]),
        fees=float(row["fees"]),
        trades=trades,
        wins=wins,
        win_rate=wins / trades if trades else None,
    )


def _daily_metrics(curve: pd.DataFrame, trades: Sequence[TradeRecord]) -> dict[str, Any]:
    daily = curve.resample("D").last().dropna()
    equity = np.concatenate(([curve["equity"].iloc[0]], daily["equity"].to_numpy()))
    in_position = np.concatenate(([bool(curve["in_position"].iloc[0])], daily["in_position"].to_numpy(dtype=bool)))
    try:
        metrics = compute_metrics(equity, trades=trades, in_position=in_position, periods_per_year=_DAYS_PER_YEAR)
    except MetricsInputError as exc:
        raise ServiceError(f"the journal's equity curve cannot be measured: {exc}") from exc
    return {name: finite(value) for name, value in metrics.to_dict().items()}


def performance(
    session: str, points: Sequence[EquityPoint], trades: Sequence[TradeRecord], period: Period
) -> PerformanceReport:
    """The report of ``session`` from its equity points (oldest first) and closed trades."""
    if period not in _FREQUENCY:
        raise ServiceError(f"unknown period {period!r}: day, week or month")
    basis = "daily equity (UTC days, market time), 365 days a year"
    if not points:
        return PerformanceReport(
            session=session,
            period=period,
            first=None,
            last=None,
            equity_start=None,
            equity_end=None,
            total_return_pct=None,
            trades=len(trades),
            periods=[],
            metrics={},
            metrics_basis=basis,
        )
    curve = _frame(points)
    first, last = float(curve["equity"].iloc[0]), float(curve["equity"].iloc[-1])
    return PerformanceReport(
        session=session,
        period=period,
        first=curve.index[0].to_pydatetime(),
        last=curve.index[-1].to_pydatetime(),
        equity_start=first,
        equity_end=last,
        total_return_pct=100.0 * (last / first - 1.0),
        trades=len(trades),
        periods=_periods(curve, _trades_frame(trades), period),
        metrics=_daily_metrics(curve, trades),
        metrics_basis=basis,
    )


def _day_of(ts_ms: int) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).date()


def daily_analytics(
    session: str,
    points: Sequence[EquityPoint],
    trades: Sequence[TradeRecord],
    signals: Sequence[SignalRecord],
    day: date | None = None,
) -> DailyAnalytics:
    """``day`` (default: the journal's newest) of ``session``; trades and signals newest first, as journaled."""
    if day is None:
        newest = [p.ts for p in points[-1:]] + [t.ts_closed for t in trades[:1]] + [s.ts for s in signals[:1]]
        day = _day_of(max(newest)) if newest else datetime.now(UTC).date()
    before = [p for p in points if _day_of(p.ts) < day]
    within = [p for p in points if _day_of(p.ts) == day]
    opening = before[-1] if before else (within[0] if within else None)
    closing = within[-1] if within else None
    today = [t for t in trades if _day_of(t.ts_closed) == day]
    pnls = [t.pnl for t in today]
    wins, losses = sum(1 for p in pnls if p > 0), sum(1 for p in pnls if p < 0)
    day_signals = [s for s in signals if _day_of(s.ts) == day]
    start = None if opening is None else float(opening.equity)
    end = None if closing is None else float(closing.equity)
    return DailyAnalytics(
        session=session,
        day=day,
        equity_start=start,
        equity_end=end,
        return_pct=None if start is None or end is None else 100.0 * (end / start - 1.0),
        trades=len(today),
        wins=wins,
        losses=losses,
        win_rate=wins / len(today) if today else None,
        pnl=float(sum(pnls, Decimal(0))),
        fees=float(sum((t.fees for t in today), Decimal(0))),
        funding=float(sum((t.funding for t in today), Decimal(0))),
        best_trade=float(max(pnls)) if pnls else None,
        worst_trade=float(min(pnls)) if pnls else None,
        signals=len(day_signals),
        filtered_signals=sum(1 for s in day_signals if s.filtered_by),
    )
