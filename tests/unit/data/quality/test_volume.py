import pandas as pd

from trading_agent.data.quality import VolumeAnomalyDetector
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe


def test_zero_spike_and_invalid_volumes_are_flagged_not_changed() -> None:
    frame = SyntheticMarket(seed=71).generate(2_000)
    frame.iloc[[100, 101], 4] = 0.0
    frame.iloc[500, 4] = frame["volume"].median() * 1_000
    frame.iloc[600, 4] = -5.0
    outcome = VolumeAnomalyDetector().apply(frame, Timeframe.H1)
    result = outcome.result
    assert result.metrics["zero_volume"] == 2 and result.metrics["invalid_volume"] == 1
    assert result.metrics["volume_spikes"] == 1
    assert [e["kind"] for e in result.examples] == ["zero_volume", "zero_volume", "invalid_volume", "spike"]
    assert len(result.flagged_ms) == 4 and result.rows_removed == 0
    pd.testing.assert_frame_equal(outcome.frame, frame)


def test_ordinary_volume_is_ok() -> None:
    frame = SyntheticMarket(seed=72).generate(2_000)
    assert VolumeAnomalyDetector().apply(frame, Timeframe.H1).result.ok
