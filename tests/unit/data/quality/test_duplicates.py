import numpy as np
import pandas as pd
import pytest

from trading_agent.data.quality import DuplicateRemover, QualityError, Severity
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe

H1 = Timeframe.H1


def candles(n: int = 20) -> pd.DataFrame:
    return SyntheticMarket(seed=41).generate(n)


def test_no_duplicates_no_change() -> None:
    frame = candles()
    outcome = DuplicateRemover().apply(frame, H1)
    assert outcome.result.ok and outcome.result.rows_removed == 0
    pd.testing.assert_frame_equal(outcome.frame, frame)


def test_identical_copies_are_dropped_and_counted() -> None:
    frame = candles()
    doubled = pd.concat([frame, frame.iloc[[3, 3, 7]]]).sort_index(kind="stable")
    outcome = DuplicateRemover().apply(doubled, H1)
    assert outcome.result.metrics == {
        "duplicate_timestamps": 2,
        "identical_rows_dropped": 3,
        "conflicting_timestamps": 0,
        "conflicting_rows_dropped": 0,
    }
    assert outcome.result.examples == () and outcome.result.severity is Severity.WARNING
    pd.testing.assert_frame_equal(outcome.frame, frame)


def test_conflicting_versions_keep_the_last_and_are_listed() -> None:
    frame = candles()
    first, second = frame.iloc[[5]] * 1.1, frame.iloc[[5]] * 1.2
    conflicted = pd.concat([frame.iloc[:5], first, frame.iloc[5:6], second, frame.iloc[6:]])
    outcome = DuplicateRemover().apply(conflicted, H1)
    result = outcome.result
    assert result.metrics["conflicting_timestamps"] == 1 and result.metrics["conflicting_rows_dropped"] == 2
    assert result.rows_removed == 2
    [example] = result.examples
    assert example["time"] == "2024-01-01T05:00:00+00:00" and example["kept"] == "last"
    assert [v["close"] for v in example["versions"]] == pytest.approx(
        [first["close"].iloc[0], frame["close"].iloc[5], second["close"].iloc[0]]
    )
    pd.testing.assert_series_equal(outcome.frame.iloc[5], second.iloc[0])


def test_nan_rows_count_as_identical() -> None:
    frame = candles()
    frame.iloc[4, 4] = np.nan
    outcome = DuplicateRemover().apply(pd.concat([frame.iloc[:5], frame.iloc[4:]]), H1)
    assert outcome.result.metrics["identical_rows_dropped"] == 1


def test_unsorted_input_is_refused() -> None:
    with pytest.raises(QualityError, match="run TimestampValidator first"):
        DuplicateRemover().apply(candles().iloc[::-1], H1)
