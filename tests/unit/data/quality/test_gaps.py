import pandas as pd
import pytest

from trading_agent.data.quality import FillPolicy, MissingCandleHandler, QualityError, Severity
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe


def test_gaps_are_listed_with_their_bounds_and_missing_counts() -> None:
    frame = SyntheticMarket(seed=51).generate(100)
    holes = frame.drop(frame.index[[5, 40, 41, 42]])
    result = MissingCandleHandler().apply(holes, Timeframe.H1).result
    assert result.severity is Severity.WARNING
    assert result.metrics == {"gap_events": 2, "missing_candles": 4, "largest_gap": 3, "filled": 0}
    assert result.examples == (
        {"last_present": "2024-01-01T04:00:00+00:00", "next_present": "2024-01-01T06:00:00+00:00", "missing": 1},
        {"last_present": "2024-01-02T15:00:00+00:00", "next_present": "2024-01-02T19:00:00+00:00", "missing": 3},
    )


def test_examples_are_capped_but_counts_are_not() -> None:
    frame = SyntheticMarket(seed=52).generate(100)
    holes = frame.iloc[::2]
    result = MissingCandleHandler(max_examples=3).apply(holes, Timeframe.H1).result
    assert result.metrics["gap_events"] == 49 and len(result.examples) == 3


def test_forward_fill_on_weeks_uses_the_week_grid() -> None:
    weekly = SyntheticMarket(seed=53, timeframe=Timeframe.W1).generate(10)
    holes = weekly.drop(weekly.index[[3, 4]])
    outcome = MissingCandleHandler(FillPolicy.FORWARD_FILL).apply(holes, Timeframe.W1)
    assert outcome.frame.index.equals(weekly.index) and outcome.result.rows_added == 2
    assert (outcome.frame.index.day_of_week == 0).all()


def test_no_gap_no_change() -> None:
    frame = SyntheticMarket(seed=54).generate(10)
    outcome = MissingCandleHandler(FillPolicy.FORWARD_FILL).apply(frame, Timeframe.H1)
    assert outcome.result.ok and outcome.result.action == "none" and outcome.frame is frame


def test_duplicates_must_be_resolved_first() -> None:
    frame = SyntheticMarket(seed=55).generate(10)
    with pytest.raises(QualityError, match="TimestampValidator and DuplicateRemover"):
        MissingCandleHandler().apply(pd.concat([frame, frame.iloc[[9]]]), Timeframe.H1)
