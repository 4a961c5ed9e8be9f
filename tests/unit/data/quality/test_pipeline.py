import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading_agent.data.files import read_candle_file
from trading_agent.data.frames import index_ms
from trading_agent.data.quality import (
    CheckOutcome,
    CheckResult,
    DataQualityPipeline,
    FillPolicy,
    QualityCheck,
    QualityError,
    Severity,
    default_pipeline,
)
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe

H1 = Timeframe.H1

# shared/data/README.md, binance_BTCUSDT_1h: last candle present -> next candle present (missing).
README_GAPS = [
    ("2018-01-04 03:00", "05:00", 1),
    ("2018-02-08 00:00", "2018-02-09 10:00", 33),
    ("2018-06-26 01:00", "12:00", 10),
    ("2018-06-27 12:00", "14:00", 1),
    ("2018-07-04 00:00", "08:00", 7),
    ("2018-10-19 05:00", "09:00", 3),
    ("2018-11-14 01:00", "09:00", 7),
    ("2019-03-12 01:00", "08:00", 6),
    ("2019-05-15 02:00", "13:00", 10),
    ("2019-08-15 01:00", "10:00", 8),
    ("2019-11-13 01:00", "04:00", 2),
    ("2019-11-25 01:00", "04:00", 2),
    ("2020-02-09 01:00", "03:00", 1),
    ("2020-02-19 11:00", "17:00", 5),
    ("2020-03-04 09:00", "11:00", 1),
    ("2020-04-25 01:00", "04:00", 2),
    ("2020-06-28 01:00", "05:00", 3),
    ("2020-11-30 05:00", "07:00", 1),
    ("2020-12-21 13:00", "18:00", 4),
    ("2020-12-25 01:00", "03:00", 1),
    ("2021-02-11 03:00", "05:00", 1),
    ("2021-03-06 01:00", "03:00", 1),
    ("2021-04-20 01:00", "04:00", 2),
    ("2021-04-25 04:00", "08:00", 3),
    ("2021-08-13 01:00", "06:00", 4),
    ("2021-09-29 06:00", "09:00", 2),
    ("2023-03-24 12:00", "14:00", 1),
]
README_ZERO_VOLUME = ["2019-06-07 21:00", "2021-02-11 03:00", "2023-03-24 12:00"]


def iso(text: str) -> str:
    return pd.Timestamp(text, tz="UTC").isoformat()


@pytest.fixture(scope="module")
def real_1h(btc_1h_path: Path) -> pd.DataFrame:
    return read_candle_file(btc_1h_path, H1)


@pytest.mark.real_data
def test_real_btc_1h_report_matches_the_readme(real_1h: pd.DataFrame) -> None:
    result = default_pipeline().run(real_1h, H1)
    report = result.report
    gaps = report.check("missing_candles")
    assert gaps.metrics["gap_events"] == 27 and gaps.metrics["missing_candles"] == 122
    expected = [
        {"last_present": iso(last), "next_present": iso(nxt if len(nxt) > 5 else last[:11] + nxt), "missing": k}
        for last, nxt, k in README_GAPS
    ]
    assert [dict(g) for g in gaps.examples] == expected
    volume = report.check("volume")
    zero = [e["time"] for e in volume.examples if e["kind"] == "zero_volume"]
    assert volume.metrics["zero_volume"] == 3 and zero == [iso(t) for t in README_ZERO_VOLUME]
    assert report.check("duplicates").ok and report.check("duplicates").metrics["duplicate_timestamps"] == 0
    assert report.check("timestamps").ok and report.check("timestamps").metrics["unaligned"] == 0
    assert report.check("outliers").metrics["invalid_ohlc"] == 0
    assert report.rows_in == report.rows_out == len(real_1h) == 56_830
    pd.testing.assert_frame_equal(result.frame, real_1h)  # the defaults flag, they do not change
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


@pytest.fixture(scope="module")
def dirty() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clean 1h candles, the same with one of every problem injected)."""
    clean = SyntheticMarket(seed=21).generate(2_000)
    frame = clean.copy()
    frame.iloc[500, frame.columns.get_loc("volume")] = 0.0
    frame.iloc[700, [1, 3]] = frame.iloc[700, 3] * 1.5  # a bad tick: close and high 50% up
    frame = frame.drop(frame.index[1_000:1_005])  # a 5-candle gap
    off_grid = frame.iloc[[100]].set_axis(frame.index[[100]] + pd.Timedelta(minutes=17))
    identical = frame.iloc[[200, 201]]
    conflicting = frame.iloc[[300]] * 1.01
    frame = pd.concat([frame, off_grid, identical, conflicting])
    shuffled = frame.sample(frac=1.0, random_state=1)
    shuffled.index.name = "time"
    return clean, shuffled


def test_every_injected_problem_is_found_and_counted(dirty: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    clean, frame = dirty
    result = default_pipeline().run(frame, H1)
    report = result.report
    assert report.severity is Severity.WARNING and not report.ok
    timestamps = report.check("timestamps").metrics
    assert (
        timestamps["unaligned"] == 1 and timestamps["repeated_timestamps"] == 3 and timestamps["rows_reordered"] > 1_900
    )
    assert report.check("timestamps").rows_removed == 1
    duplicates = report.check("duplicates").metrics
    assert duplicates == {
        "duplicate_timestamps": 3,
        "identical_rows_dropped": 2,
        "conflicting_timestamps": 1,
        "conflicting_rows_dropped": 1,
    }
    outliers = report.check("outliers")
    spike = int(index_ms(clean)[700])
    assert spike in outliers.flagged_ms and outliers.metrics["invalid_ohlc"] == 0
    volume = report.check("volume")
    assert volume.metrics["zero_volume"] == 1 and int(index_ms(clean)[500]) in volume.flagged_ms
    gaps = report.check("missing_candles")
    assert gaps.metrics == {"gap_events": 1, "missing_candles": 5, "largest_gap": 5, "filled": 0}
    assert report.rows_in == len(frame) == 2_000 - 5 + 4
    assert report.rows_out == 2_000 - 5
    assert sum(c.rows_removed for c in report.checks) == report.rows_in - report.rows_out
    kept = result.frame
    assert kept.index.is_monotonic_increasing and kept.index.is_unique and str(kept.index.tz) == "UTC"
    conflict_time = clean.index[300]
    pd.testing.assert_series_equal(kept.loc[conflict_time], clean.loc[conflict_time] * 1.01)  # keep-last
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


def test_forward_fill_fills_exactly_the_missing_candles() -> None:
    clean = SyntheticMarket(seed=22).generate(300)
    holes = clean.drop(clean.index[[10, 11, 12, 150, 200, 201]])
    result = default_pipeline(fill=FillPolicy.FORWARD_FILL).run(holes, H1)
    gaps = result.report.check("missing_candles")
    assert gaps.metrics["filled"] == gaps.rows_added == 6 and gaps.metrics["gap_events"] == 3
    assert result.frame.index.equals(clean.index)
    filled = result.frame.loc[~result.frame.index.isin(holes.index)]
    assert (filled["volume"] == 0).all()
    assert (filled[["open", "high", "low"]].to_numpy() == filled[["close"]].to_numpy()).all()
    np.testing.assert_array_equal(filled["close"], clean["close"].iloc[[9, 9, 9, 149, 199, 199]])
    pd.testing.assert_frame_equal(result.frame.loc[holes.index], holes)


def test_leave_policy_changes_nothing() -> None:
    clean = SyntheticMarket(seed=23).generate(300)
    holes = clean.drop(clean.index[[10, 11, 150]])
    result = default_pipeline().run(holes, H1)
    pd.testing.assert_frame_equal(result.frame, holes)
    assert result.report.check("missing_candles").action == "left 2 gaps unfilled"
    assert sum(c.rows_added + c.rows_removed + c.rows_changed for c in result.report.checks) == 0


def test_input_frame_is_not_modified(dirty: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, frame = dirty
    before = frame.copy()
    default_pipeline(fill=FillPolicy.FORWARD_FILL).run(frame, H1)
    pd.testing.assert_frame_equal(frame, before)


def test_not_a_candle_frame_is_refused() -> None:
    frame = SyntheticMarket(seed=24).generate(10)
    pipeline = default_pipeline()
    with pytest.raises(QualityError, match="not a DatetimeIndex"):
        pipeline.run(frame.reset_index(), H1)
    with pytest.raises(QualityError, match="expected exactly"):
        pipeline.run(frame.assign(symbol="BTC"), H1)
    with pytest.raises(QualityError, match="expected exactly"):
        pipeline.run(frame.drop(columns="volume"), H1)
    with pytest.raises(QualityError, match="NaT"):
        pipeline.run(frame.set_axis(frame.index.insert(0, pd.NaT)[:-1]), H1)


class _SilentDropper(QualityCheck):
    name = "silent"

    def apply(self, frame: pd.DataFrame, timeframe: Timeframe) -> CheckOutcome:
        return CheckOutcome(frame.iloc[1:], CheckResult(self.name, Severity.OK, "none", {}))


def test_a_check_that_drops_rows_without_saying_so_is_caught() -> None:
    with pytest.raises(QualityError, match="'silent' returned 9 rows from 10 but reported 0 removed"):
        DataQualityPipeline([_SilentDropper()]).run(SyntheticMarket(seed=25).generate(10), H1)


def test_check_names_must_be_unique_and_lookup_names_the_ran_checks() -> None:
    with pytest.raises(ValueError, match="repeated: silent"):
        DataQualityPipeline([_SilentDropper(), _SilentDropper()])
    report = DataQualityPipeline([]).run(SyntheticMarket(seed=26).generate(5), H1).report
    assert report.ok and report.severity is Severity.OK
    with pytest.raises(KeyError, match="no check named 'volume'"):
        report.check("volume")
