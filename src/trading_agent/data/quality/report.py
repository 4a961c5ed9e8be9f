"""What the data-quality checks found and did, as immutable, JSON-ready records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pandas as pd

from trading_agent.domain import Timeframe

__all__ = ["CheckResult", "JSONValue", "QualityReport", "QualityResult", "Severity", "utc_iso"]

JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_iso(ts_ms: int) -> str:
    """ISO-8601 text of an epoch-millisecond instant in UTC (``2018-01-04T03:00:00+00:00``)."""
    return (_EPOCH + timedelta(milliseconds=int(ts_ms))).isoformat()


class Severity(StrEnum):
    """How bad a finding is: ``ok`` nothing found; ``warning`` found and handled or flagged;
    ``error`` the output still breaks the candle-frame contract (for example unaligned rows kept)."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Order of badness, for taking the worst of several."""
        return _RANK[self]


_RANK = {Severity.OK: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's findings.

    ``metrics`` are counts and figures; ``examples`` the first few findings in detail (times as
    ISO text); ``action`` says in words what the check did to the frame, and ``rows_removed`` /
    ``rows_added`` / ``rows_changed`` count it. ``flagged_ms`` lists open times of rows that were
    flagged but kept. Values must be plain Python (``int``, ``float``, ``str``...), never numpy.
    """

    name: str
    severity: Severity
    action: str
    metrics: Mapping[str, JSONValue]
    examples: tuple[Mapping[str, JSONValue], ...] = ()
    rows_removed: int = 0
    rows_added: int = 0
    rows_changed: int = 0
    flagged_ms: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the check found nothing at all."""
        return self.severity is Severity.OK

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (flagged times as ISO text)."""
        return {
            "name": self.name,
            "severity": self.severity.value,
            "ok": self.ok,
            "action": self.action,
            "metrics": dict(self.metrics),
            "examples": [dict(example) for example in self.examples],
            "rows_removed": self.rows_removed,
            "rows_added": self.rows_added,
            "rows_changed": self.rows_changed,
            "flagged": [utc_iso(ts) for ts in self.flagged_ms],
        }


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Every check's result, in the order the checks ran, plus row counts in and out."""

    timeframe: Timeframe
    rows_in: int
    rows_out: int
    checks: tuple[CheckResult, ...]

    @property
    def severity(self) -> Severity:
        """The worst severity of any check (``ok`` when there are no checks)."""
        return max((c.severity for c in self.checks), key=lambda s: s.rank, default=Severity.OK)

    @property
    def ok(self) -> bool:
        """Whether no check found anything."""
        return self.severity is Severity.OK

    def check(self, name: str) -> CheckResult:
        """The result of the check called ``name``; ``KeyError`` if it did not run."""
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(f"no check named {name!r} ran; ran: {', '.join(c.name for c in self.checks)}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the whole report."""
        return {
            "timeframe": self.timeframe.value,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "severity": self.severity.value,
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class QualityResult:
    """The pipeline's output: the (possibly cleaned) candle frame and the report on it."""

    frame: pd.DataFrame
    report: QualityReport
