"""The training report as Markdown (``train --report report.md``, and the tables of docs/TRAINING.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from trading_agent.services.training import TrainingReport

__all__ = ["OUT_OF_SAMPLE_HEADER", "cell", "out_of_sample_rows", "training_markdown"]

_OOS_COLUMNS = (
    ("total_return", "return", "pct"),
    ("sharpe_ratio", "Sharpe", "num"),
    ("sortino_ratio", "Sortino", "num"),
    ("max_drawdown", "max DD", "pct"),
    ("num_trades", "trades", "int"),
    ("win_rate", "win rate", "pct"),
    ("accuracy", "accuracy", "pct"),
    ("roc_auc", "ROC-AUC", "num"),
    ("log_loss", "log-loss", "num"),
)


OUT_OF_SAMPLE_HEADER = ("strategy", *(label for _, label, _ in _OOS_COLUMNS))


def cell(value: Any, kind: str) -> str:
    """One value as a table cell: percentages, numbers, whole numbers; n/a for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "pct":
        return f"{value:.2%}"
    return f"{value:,}" if kind == "int" else f"{value:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def out_of_sample_rows(report: TrainingReport) -> list[list[str]]:
    """One row per model, the ensemble and buy-and-hold, in the columns of ``_OOS_COLUMNS``."""
    return [
        [name] + [cell(metrics.get(key), kind) for key, _, kind in _OOS_COLUMNS]
        for name, metrics in report.out_of_sample.items()
    ]


def training_markdown(report: TrainingReport) -> str:
    """The whole report: headline, out-of-sample table, folds, tuning, reliability and features."""
    parts = [
        f"# Training report: {report.series} as {report.contract}",
        f"{report.rows:,} rows × {report.features} features, candles {report.first_candle:%Y-%m-%d} to "
        f"{report.last_candle:%Y-%m-%d}; models {', '.join(report.models)}, meta {report.meta}, "
        f"calibration {report.calibration}; {len(report.splits)} walk-forward folds; {report.duration_s:,.0f} s.",
        f"Out of sample {report.out_of_sample_start:%Y-%m-%d} to {report.out_of_sample_end:%Y-%m-%d}, costs on "
        f"(fees with GST, slippage, funding). **{report.versus_buy_hold()}** Deflated Sharpe "
        f"over {report.n_trials} configurations tried: {cell(report.deflated_sharpe_ratio, 'num')} "
        "(the probability that the true Sharpe is above zero-skill's best).",
        "## Out of sample",
        _table(OUT_OF_SAMPLE_HEADER, out_of_sample_rows(report)),
        "## Per fold (each fold's whole test window)",
        _table(
            ["fold", "model", "accuracy", "ROC-AUC", "log-loss", "return", "Sharpe", "trades"],
            [
                [
                    str(r["fold"]),
                    r["model"],
                    cell(r["accuracy"], "pct"),
                    cell(r["roc_auc"], "num"),
                    cell(r["log_loss"], "num"),
                    cell(r["total_return"], "pct"),
                    cell(r["sharpe_ratio"], "num"),
                    cell(r["num_trades"], "int"),
                ]
                for r in report.folds
            ],
        ),
        "## Reliability of the ensemble's confidence (out of sample)",
        f"Expected calibration error: {cell(report.expected_calibration_error, 'num')}.",
        _table(
            ["bin", "rows", "mean prediction", "observed up rate"],
            [
                [
                    f"{r['lower']:.1f}–{r['upper']:.1f}",
                    cell(int(r["count"]), "int"),
                    cell(r["mean_predicted"], "num"),
                    cell(r["observed_rate"], "num"),
                ]
                for r in report.reliability
            ],
        ),
    ]
    if report.tuning:
        parts += [
            "## Tuning (Optuna TPE, median pruner; folds before the first test window)",
            _table(
                ["model", "trials", "pruned", "best value", "best parameters"],
                [
                    [
                        m,
                        str(r["trials"]),
                        str(r["pruned"]),
                        cell(r["best_value"], "num"),
                        ", ".join(
                            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["best_params"].items()
                        ),
                    ]
                    for m, r in report.tuning.items()
                ],
            ),
        ]
    parts += [
        "## Feature importances of the deployed model (mean share over the tree models)",
        _table(["feature", "share"], [[name, f"{share:.2%}"] for name, share in report.feature_importances.items()]),
    ]
    if report.anomaly is not None:
        parts += [
            "## Anomaly detector of the deployed model (VAE)",
            f"Threshold {report.anomaly['threshold']:.4g}; it flags "
            f"{cell(report.anomaly['validation_flagged'], 'pct')} of the validation rows it was not fitted on. "
            "While it flags a candle, the anomaly filter of the trading rules halves or blocks new entries.",
        ]
    return "\n\n".join(parts) + "\n"
