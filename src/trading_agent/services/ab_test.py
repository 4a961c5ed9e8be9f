"""A/B test of two registered model versions: both replayed over the same candles, costs on, compared paired.

Each version trades the candles through the event engine with the risk manager on, exactly as
``backtest --strategy ensemble`` does; their per-candle returns are compared by
``backtest.ab_test.paired_return_test`` on daily buckets. The result is a report; promoting the
winner is a separate command (``models promote``). Candles inside either model's training window are
counted in the report: a comparison over them is in sample.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from trading_agent.backtest.ab_test import paired_return_test
from trading_agent.domain import SeriesKey, Timeframe
from trading_agent.services.backtest import BacktestService, MarketOptions
from trading_agent.services.ensemble_strategy import model_name
from trading_agent.services.errors import service_errors

__all__ = ["ABReport", "ab_test"]

_SHOWN = ("total_return", "sharpe_ratio", "sortino_ratio", "max_drawdown", "num_trades", "win_rate")


class ABReport(BaseModel):
    """Both versions' metrics over the same candles, and the paired test of ``b`` against ``a``."""

    series: str
    model: str
    a: dict[str, Any]
    b: dict[str, Any]
    test: dict[str, Any]
    candles: int
    verdict: str


def ab_test(
    backtests: BacktestService,
    series: SeriesKey,
    model: str | None,
    version_a: int,
    version_b: int,
    *,
    options: MarketOptions,
    alpha: float = 0.05,
) -> ABReport:
    """Replay versions ``version_a`` and ``version_b`` of ``model`` (default: the series' own) and test them."""
    model = model or model_name(series)
    with service_errors():
        runs = {
            side: backtests.run(series, "ensemble", options=options, model=model, model_version=version)
            for side, version in (("a", version_a), ("b", version_b))
        }
        bucket = max(1, Timeframe.D1.ms // series.timeframe.ms)
        test = paired_return_test(
            runs["a"].returns["return"].to_numpy(), runs["b"].returns["return"].to_numpy(), bucket=bucket, alpha=alpha
        )
        sides = {
            side: {
                "version": version,
                **{key: run.report.metrics[key] for key in _SHOWN},
                **(run.report.model or {}),
            }
            for (side, run), version in zip(runs.items(), (version_a, version_b), strict=True)
        }
        return ABReport(
            series=str(series),
            model=model,
            a=sides["a"],
            b=sides["b"],
            test=test.to_dict(),
            candles=runs["a"].report.candles,
            verdict=_verdict(test.verdict, version_a, version_b, alpha),
        )


def _verdict(winner: str, version_a: int, version_b: int, alpha: float) -> str:
    if winner == "b":
        return f"version {version_b} beats version {version_a} (significant at {alpha:g})"
    if winner == "a":
        return f"version {version_a} beats version {version_b} (significant at {alpha:g})"
    return f"no significant difference between versions {version_a} and {version_b} at {alpha:g}"
