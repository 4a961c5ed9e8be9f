import numpy as np
import pandas as pd
import pytest

from trading_agent.data.frames import index_ms
from trading_agent.data.quality import OutlierAction, OutlierDetector, Severity
from trading_agent.data.synthetic import MarketParams, SyntheticMarket
from trading_agent.domain import Timeframe

H1 = Timeframe.H1


@pytest.fixture
def market() -> pd.DataFrame:
    """Calm synthetic candles (thin tails, no clustering) so that only injected problems stand out."""
    params = MarketParams.for_timeframe(H1, tail_dof=50.0, garch_alpha=0.0)
    return SyntheticMarket(seed=61, params=params).generate(3_000)


def test_calm_market_has_no_outliers(market: pd.DataFrame) -> None:
    result = OutlierDetector().apply(market, H1).result
    assert result.ok and result.flagged_ms == ()


def test_bad_tick_is_flagged_on_its_row_and_the_next(market: pd.DataFrame) -> None:
    frame = market.copy()
    frame.iloc[1_000, [1, 3]] = frame["close"].iloc[1_000] * 1.3
    result = OutlierDetector().apply(frame, H1).result
    assert result.metrics["return_outliers"] == 2 and result.metrics["flagged_rows"] == 2
    assert list(result.flagged_ms) == list(index_ms(frame)[[1_000, 1_001]])
    assert result.severity is Severity.WARNING and result.rows_removed == 0


def test_long_wick_is_flagged(market: pd.DataFrame) -> None:
    frame = market.copy()
    frame.iloc[2_000, 2] = frame["low"].iloc[2_000] * 0.8
    result = OutlierDetector().apply(frame, H1).result
    assert result.metrics["wick_outliers"] == 1 and result.metrics["return_outliers"] == 0
    assert result.examples[0]["time"] == frame.index[2_000].isoformat()


def test_impossible_candles_are_flagged(market: pd.DataFrame) -> None:
    frame = market.copy()
    frame.iloc[10, 1] = frame["low"].iloc[10] * 0.5  # high below low
    frame.iloc[20, 3] = -1.0
    frame.iloc[30, 0] = np.nan
    result = OutlierDetector().apply(frame, H1).result
    assert result.metrics["invalid_ohlc"] == 3
    assert {10, 20, 30} <= {int(np.searchsorted(index_ms(frame), t)) for t in result.flagged_ms}


def test_drop_action_removes_and_counts(market: pd.DataFrame) -> None:
    frame = market.copy()
    frame.iloc[1_000, [1, 3]] = frame["close"].iloc[1_000] * 1.3
    outcome = OutlierDetector(action=OutlierAction.DROP).apply(frame, H1)
    assert outcome.result.rows_removed == 2 and len(outcome.frame) == len(frame) - 2
    assert outcome.result.action == "dropped 2 outlier rows"


def test_thresholds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        OutlierDetector(return_z_threshold=0)
