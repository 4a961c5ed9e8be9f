"""Tables for people: series lists, import summaries and data-quality reports."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from trading_agent.services.market_data import ImportSummary, SeriesSummary

__all__ = ["import_table", "quality_table", "series_table"]


def series_table(series: list[SeriesSummary]) -> Table:
    """One row per stored series."""
    table = Table(title="Stored series")
    for column in ("kind", "exchange", "symbol", "timeframe", "rows", "first", "last"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for s in series:
        table.add_row(s.kind, s.exchange, s.symbol, s.timeframe or "-", f"{s.rows:,}", str(s.first), str(s.last))
    return table


def import_table(summary: ImportSummary) -> Table:
    """What an import did."""
    table = Table(title=f"Imported {summary.series}", show_header=False)
    table.add_row("rows read", f"{summary.rows_read:,}")
    table.add_row("series rows before", f"{summary.rows_before:,}")
    table.add_row("series rows after", f"{summary.rows_after:,}")
    table.add_row("new rows", f"{summary.rows_added:,}")
    table.add_row("range", f"{summary.first} → {summary.last}")
    return table


def _metrics(metrics: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in metrics.items())


def _examples(examples: list[dict[str, Any]], limit: int = 3) -> str:
    lines = [", ".join(f"{k} {v}" for k, v in example.items()) for example in examples[:limit]]
    if len(examples) > limit:
        lines.append(f"… and {len(examples) - limit} more (see --json)")
    return "\n".join(lines)


_SEVERITY_STYLE = {"ok": "green", "warning": "yellow", "error": "red"}


def quality_table(report: dict[str, Any], title: str) -> Table:
    """The data-quality report: per check, what it found and what it did."""
    table = Table(title=f"{title} ({report['rows_in']:,} candles in, {report['rows_out']:,} out)", show_lines=True)
    for column in ("check", "severity", "found", "examples", "action"):
        table.add_column(column)
    for check in report["checks"]:
        style = _SEVERITY_STYLE.get(check["severity"], "white")
        table.add_row(
            check["name"],
            f"[{style}]{check['severity']}[/]",
            _metrics(check["metrics"]),
            _examples(check["examples"]),
            check["action"],
        )
    return table
