import numpy as np
import pandas as pd

from trading_agent.data.frames import index_ms
from trading_agent.data.quality import Severity, TimestampValidator, UnalignedAction
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe

H1 = Timeframe.H1


def candles(n: int = 50) -> pd.DataFrame:
    return SyntheticMarket(seed=31).generate(n)


def with_off_grid_row(frame: pd.DataFrame, position: int, shift: pd.Timedelta) -> pd.DataFrame:
    """``frame`` plus a copy of row ``position`` moved by ``shift`` (in nanosecond precision)."""
    extra = frame.iloc[[position]].set_axis(frame.index[[position]].as_unit("ns") + shift)
    return pd.concat([frame.set_axis(frame.index.as_unit("ns")), extra])


def test_clean_frame_passes_untouched() -> None:
    frame = candles()
    outcome = TimestampValidator().apply(frame, H1)
    assert outcome.result.ok and outcome.result.action == "none"
    pd.testing.assert_frame_equal(outcome.frame, frame)


def test_unsorted_rows_are_sorted_and_counted() -> None:
    frame = candles()
    swapped = frame.iloc[[1, 0, *range(2, 50)]]
    outcome = TimestampValidator().apply(swapped, H1)
    assert outcome.result.metrics["rows_reordered"] == 2
    assert outcome.result.severity is Severity.WARNING and outcome.result.action == "sorted 2 rows into time order"
    pd.testing.assert_frame_equal(outcome.frame, frame)


def test_unaligned_row_is_dropped_by_default_and_reported() -> None:
    frame = with_off_grid_row(candles(), 10, pd.Timedelta(minutes=30))
    outcome = TimestampValidator().apply(frame, H1)
    result = outcome.result
    assert result.metrics["unaligned"] == 1 and result.rows_removed == 1
    pd.testing.assert_frame_equal(outcome.frame, candles())
    assert result.examples == ({"time": "2024-01-01T10:30:00+00:00", "grid_time": "2024-01-01T10:00:00+00:00"},)
    assert "1 rows off the 1h grid dropped" in result.action


def test_unaligned_row_can_be_floored_or_kept() -> None:
    frame = with_off_grid_row(candles(), 10, pd.Timedelta(minutes=30))
    floored = TimestampValidator(UnalignedAction.FLOOR).apply(frame, H1)
    assert floored.result.rows_changed == 1 and floored.result.metrics["repeated_timestamps"] == 1
    assert (index_ms(floored.frame) % H1.ms == 0).all()
    kept = TimestampValidator(UnalignedAction.KEEP).apply(frame, H1)
    assert kept.result.severity is Severity.ERROR and len(kept.frame) == 51


def test_sub_millisecond_open_time_counts_as_unaligned() -> None:
    frame = with_off_grid_row(candles(), 3, pd.Timedelta(nanoseconds=1))
    outcome = TimestampValidator(UnalignedAction.KEEP).apply(frame, H1)
    assert outcome.result.metrics["unaligned"] == 1
    assert outcome.frame.index[4].nanosecond == 1 and outcome.frame.index.unit == "ns"


def test_other_time_zones_become_utc() -> None:
    frame = candles()
    for shifted, zone in ((frame.tz_convert("Asia/Kolkata"), "Asia/Kolkata"), (frame.tz_localize(None), "naive")):
        outcome = TimestampValidator().apply(shifted, H1)
        assert str(outcome.frame.index.tz) == "UTC"
        np.testing.assert_array_equal(index_ms(outcome.frame), index_ms(frame))
        assert outcome.result.metrics["timezone"].startswith(zone)
        assert outcome.result.metrics["unaligned"] == 0


def test_weeks_are_checked_against_monday() -> None:
    weekly = SyntheticMarket(seed=32, timeframe=Timeframe.W1).generate(5)
    thursdays = weekly.set_axis(weekly.index + pd.Timedelta(days=3))
    assert TimestampValidator().apply(weekly, Timeframe.W1).result.ok
    assert TimestampValidator().apply(thursdays, Timeframe.W1).result.metrics["unaligned"] == 5
