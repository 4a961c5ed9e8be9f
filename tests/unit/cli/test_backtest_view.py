"""What ``trading-agent backtest`` says about the circuit breakers of a run."""

from __future__ import annotations

import pandas as pd

from trading_agent.cli.backtest import breaker_lines
from trading_agent.services.backtest import BreakerTrip


def _spell(breaker: str, tripped: str, reset: str | None, reason: str = "why") -> BreakerTrip:
    at = pd.Timestamp(tripped, tz="UTC").to_pydatetime()
    back = None if reset is None else pd.Timestamp(reset, tz="UTC").to_pydatetime()
    return BreakerTrip(breaker=breaker, reason=reason, tripped=at, reset=back)


def test_a_breaker_still_tripped_at_the_end_is_said_with_when_and_why() -> None:
    lines = breaker_lines(
        [
            _spell("volatility", "2024-01-01 10:00", "2024-01-01 11:00"),
            _spell("consecutive_losses", "2024-01-02 08:30", None, "5 consecutive losses (limit 5)"),
            _spell("volatility", "2024-01-03 10:00", "2024-01-03 12:00"),
        ]
    )
    assert lines == [
        "circuit breaker volatility tripped 2 time(s) and reset each time",
        "[bold yellow]circuit breaker consecutive_losses[/] tripped at 2024-01-02 08:30 UTC "
        "(5 consecutive losses (limit 5)), and was still tripped at the end: no entry was taken after it",
    ]


def test_a_breaker_that_tripped_again_at_the_end_counts_every_trip() -> None:
    (line,) = breaker_lines(
        [_spell("rapid_fire", "2024-01-01 10:00", "2024-01-01 11:00"), _spell("rapid_fire", "2024-01-05 09:00", None)]
    )
    assert "tripped 2 times, the last at 2024-01-05 09:00 UTC (why), and was still tripped at the end" in line


def test_no_trips_no_lines() -> None:
    assert breaker_lines([]) == []
