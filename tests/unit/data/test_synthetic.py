import numpy as np
import pandas as pd
import pytest

from trading_agent.data.frames import OHLCV_COLUMNS, index_ms
from trading_agent.data.quality import default_pipeline
from trading_agent.data.synthetic import MarketParams, Regime, SyntheticMarket
from trading_agent.domain import Timeframe


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return SyntheticMarket(seed=42).generate(20_000)


def log_returns(frame: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(frame["close"].to_numpy()))


def autocorrelation(x: np.ndarray, lag: int) -> float:
    return float(np.corrcoef(x[:-lag], x[lag:])[0, 1])


def test_same_seed_same_candles_other_seed_other_candles() -> None:
    first = SyntheticMarket(seed=7).generate_labelled(2_000)
    again = SyntheticMarket(seed=7).generate_labelled(2_000)
    pd.testing.assert_frame_equal(first.candles, again.candles)
    pd.testing.assert_series_equal(first.regimes, again.regimes)
    market = SyntheticMarket(seed=7)
    pd.testing.assert_frame_equal(market.generate(500), market.generate(500))  # calls do not share state
    assert not np.allclose(SyntheticMarket(seed=8).generate(2_000)["close"], first.candles["close"])


@pytest.mark.parametrize("timeframe", list(Timeframe), ids=str)
def test_ohlc_is_consistent_and_on_a_gapless_grid(timeframe: Timeframe) -> None:
    market = SyntheticMarket(seed=3, timeframe=timeframe, start_price=100.0)
    frame = market.generate(5_000)
    o, h, low, c, v = (frame[name].to_numpy() for name in OHLCV_COLUMNS)
    assert list(frame.columns) == list(OHLCV_COLUMNS) and str(frame.index.tz) == "UTC"
    assert (h >= np.maximum(o, c)).all() and (low <= np.minimum(o, c)).all()
    assert (low > 0).all() and (v > 0).all() and np.isfinite(frame.to_numpy()).all()
    assert o[0] == 100.0 and (o[1:] == c[:-1]).all()
    ts = index_ms(frame)
    assert ts[0] == market.start_ms and timeframe.is_aligned(int(ts[0]))
    assert (np.diff(ts) == timeframe.ms).all()


def test_volatility_scales_with_the_square_root_of_the_bar_length() -> None:
    for timeframe in (Timeframe.M5, Timeframe.H1, Timeframe.D1):
        returns = log_returns(SyntheticMarket(seed=5, timeframe=timeframe).generate(40_000))
        annualised = returns.std() * np.sqrt(365.25 * 86_400_000 / timeframe.ms)
        assert 0.45 < annualised < 0.9, (timeframe, annualised)


def test_volatility_clusters(hourly: pd.DataFrame) -> None:
    returns = log_returns(hourly)
    for lag in range(1, 6):
        assert autocorrelation(np.abs(returns), lag) > 0.1
        assert autocorrelation(returns**2, lag) > 0.05
    assert abs(autocorrelation(returns, 1)) < 0.05  # but returns themselves are not predictable


def test_returns_have_fat_tails(hourly: pd.DataFrame) -> None:
    returns = log_returns(hourly)
    centred = returns - returns.mean()
    excess_kurtosis = (centred**4).mean() / (centred**2).mean() ** 2 - 3
    assert excess_kurtosis > 1


def test_regimes_switch_and_differ_in_drift_and_volatility() -> None:
    sample = SyntheticMarket(seed=9).generate_labelled(50_000)
    labels = sample.regimes
    assert set(labels.cat.categories) == {r.value for r in Regime}
    switches = int((labels.to_numpy()[1:] != labels.to_numpy()[:-1]).sum())
    assert 30 < switches < 130  # mean stay 30 days over ~5.7 years: about 70
    returns = pd.Series(log_returns(sample.candles), index=labels.index[1:])
    by_regime = returns.groupby(labels.iloc[1:], observed=True)
    assert by_regime.mean()["bull"] > 0 > by_regime.mean()["bear"]
    assert by_regime.std()["bear"] > by_regime.std()["bull"] > by_regime.std()["sideways"]


def test_single_regime_never_switches() -> None:
    params = MarketParams.for_timeframe(Timeframe.H1, regimes=MarketParams().regimes[2:])
    labels = SyntheticMarket(seed=1, params=params).generate_labelled(1_000).regimes
    assert set(labels) == {"sideways"}


def test_volume_rises_with_absolute_return(hourly: pd.DataFrame) -> None:
    returns = np.abs(log_returns(hourly))
    log_volume = np.log(hourly["volume"].to_numpy()[1:])
    assert np.corrcoef(returns, log_volume)[0, 1] > 0.3


def test_passes_the_quality_pipeline_clean(hourly: pd.DataFrame) -> None:
    result = default_pipeline().run(hourly, Timeframe.H1)
    report = result.report
    assert report.check("timestamps").ok and report.check("duplicates").ok and report.check("missing_candles").ok
    assert report.check("outliers").metrics["invalid_ohlc"] == 0
    assert report.rows_out == report.rows_in == len(hourly)
    pd.testing.assert_frame_equal(result.frame, hourly)


def test_a_long_1m_market_is_complete_and_finite() -> None:  # its speed: benchmarks/bench_simulation.py
    frame = SyntheticMarket(seed=1, timeframe=Timeframe.M1).generate(200_000)
    assert len(frame) == 200_000 and np.isfinite(frame.to_numpy()).all()


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="not the open time of a 1h candle"):
        SyntheticMarket(seed=1, timeframe=Timeframe.H1, start_ms=1_704_067_200_001)
    with pytest.raises(ValueError, match="start_price must be positive"):
        SyntheticMarket(seed=1, start_price=0.0)
    with pytest.raises(ValueError, match="alpha \\+ beta < 1"):
        MarketParams(garch_alpha=0.2, garch_beta=0.8)
    with pytest.raises(ValueError, match="tail_dof must exceed 2"):
        MarketParams(tail_dof=2.0)
    with pytest.raises(ValueError, match="n_candles must be >= 0"):
        SyntheticMarket(seed=1).generate(-1)


def test_default_start_is_on_the_grid_for_every_timeframe() -> None:
    for timeframe in Timeframe:
        market = SyntheticMarket(seed=1, timeframe=timeframe)
        assert timeframe.is_aligned(market.start_ms) and market.start_ms >= 1_704_067_200_000
    assert SyntheticMarket(seed=1, timeframe=Timeframe.M1).generate(0).empty
