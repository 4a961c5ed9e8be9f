"""Derived features: the definitions of ratios, divergences, the volatility regime and the trend score."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib

from tests.testkit.features import batch_and_stream, make_bars, random_bars
from trading_agent.features.groups import derived
from trading_agent.features.groups.derived_divergence import (
    MacdDivergence,
    RsiDivergence,
    divergence,
    divergence_array,
)
from trading_agent.features.groups.derived_ratios import MovingAverageRatios
from trading_agent.features.groups.derived_regime import VolatilityRegime, regime, regime_array
from trading_agent.features.groups.derived_trend import TaDirectionalMovement, TrendStrength

NAN = math.nan


def test_the_group_registers_13_uniquely_named_derived_features() -> None:
    names = [spec.name for indicator in derived.default_indicators() for spec in indicator.specs]
    assert names == [
        "close_sma_ratio_20",
        "close_sma_ratio_50",
        "close_sma_ratio_200",
        "sma_ratio_20_50",
        "ema_ratio_12_26",
        "rsi_divergence_14_14",
        "macd_divergence_12_26_9_14",
        "natr_rel_14_100",
        "vol_regime_14_100",
        "adx_14",
        "plus_di_14",
        "minus_di_14",
        "trend_score_14",
    ]
    assert {spec.group for indicator in derived.default_indicators() for spec in indicator.specs} == {"derived"}


def test_moving_average_ratios_by_hand() -> None:
    bars = make_bars([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    close_2, close_4, sma_2_4, ema_2_3 = batch_and_stream(
        MovingAverageRatios(close_sma=(2, 4), sma_cross=(2, 4), ema_cross=(2, 3)), bars, rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(close_2, [NAN, 2 / 1.5, 3 / 2.5, 4 / 3.5, 5 / 4.5, 6 / 5.5])
    np.testing.assert_allclose(close_4[3:], [4 / 2.5, 5 / 3.5, 6 / 4.5])
    np.testing.assert_allclose(sma_2_4[3:], [3.5 / 2.5, 4.5 / 3.5, 5.5 / 4.5])
    expected_ema = talib.EMA(bars.close, 2) / talib.EMA(bars.close, 3)
    np.testing.assert_allclose(ema_2_3, expected_ema, rtol=1e-12)
    with pytest.raises(ValueError):
        MovingAverageRatios(sma_cross=(50, 20))


@pytest.mark.parametrize(
    ("price_change", "oscillator_change", "expected"),
    [(-1.0, 2.0, 1.0), (1.0, -2.0, -1.0), (1.0, 2.0, 0.0), (-1.0, -2.0, 0.0), (0.0, 2.0, 0.0), (-1.0, 0.0, 0.0)],
)
def test_divergence_sign_rule(price_change: float, oscillator_change: float, expected: float) -> None:
    assert divergence(price_change, oscillator_change) == expected
    assert divergence_array(np.array([price_change]), np.array([oscillator_change]))[0] == expected
    assert math.isnan(divergence(price_change, NAN))


def test_rsi_divergence_compares_14_bar_changes_of_close_and_rsi() -> None:
    bars = random_bars(400, seed=11)
    (values,) = batch_and_stream(RsiDivergence(14, 14), bars, rtol=1e-12, atol=1e-12)
    rsi = talib.RSI(bars.close, 14)
    t = np.arange(28, len(bars))
    price_change = bars.close[t] - bars.close[t - 14]
    rsi_change = rsi[t] - rsi[t - 14]
    expected = np.where(
        (price_change < 0) & (rsi_change > 0), 1.0, np.where((price_change > 0) & (rsi_change < 0), -1.0, 0.0)
    )
    assert np.isnan(values[:28]).all()
    np.testing.assert_array_equal(values[28:], expected)
    assert {-1.0, 0.0, 1.0} <= set(values[28:])


def test_macd_divergence_uses_the_histogram_and_warms_up_after_47_bars() -> None:
    bars = random_bars(400, seed=11)
    (values,) = batch_and_stream(MacdDivergence(12, 26, 9, 14), bars, rtol=1e-12, atol=1e-12)
    hist = talib.MACD(bars.close, 12, 26, 9)[2]
    assert np.isnan(values[:47]).all() and not np.isnan(values[47])
    t = np.arange(47, len(bars))
    np.testing.assert_array_equal(
        values[47:], divergence_array(bars.close[t] - bars.close[t - 14], hist[t] - hist[t - 14])
    )


def test_regime_thresholds() -> None:
    assert [regime(x, 0.8, 1.25) for x in (0.79, 0.8, 1.0, 1.25, 1.26)] == [0.0, 1.0, 1.0, 1.0, 2.0]
    np.testing.assert_array_equal(regime_array(np.array([0.5, 1.0, 2.0, NAN]), 0.8, 1.25), [0.0, 1.0, 2.0, NAN])
    with pytest.raises(ValueError):
        VolatilityRegime(low=1.2, high=1.5)


def test_volatility_regime_is_natr_over_its_rolling_mean() -> None:
    bars = random_bars(300, seed=11)
    relative, label = batch_and_stream(VolatilityRegime(14, 100), bars, rtol=1e-12, atol=1e-12)
    natr = pd.Series(talib.NATR(bars.high, bars.low, bars.close, 14))
    expected = natr / natr.rolling(100).mean()
    assert np.isnan(relative[:113]).all() and not np.isnan(relative[113])
    np.testing.assert_allclose(relative[113:], expected[113:], rtol=1e-9)
    np.testing.assert_array_equal(label, regime_array(relative, 0.8, 1.25))


def test_volatility_regime_of_a_market_that_never_moved_is_normal() -> None:
    relative, label = batch_and_stream(VolatilityRegime(3, 5), make_bars([10.0] * 20), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(relative[7:], 1.0)
    np.testing.assert_array_equal(label[7:], 1.0)


def test_trend_score_is_signed_adx() -> None:
    bars = random_bars(400, seed=11)
    adx, plus_di, minus_di, score = batch_and_stream(TrendStrength(14), bars, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adx, talib.ADX(bars.high, bars.low, bars.close, 14), rtol=1e-12)
    valid = slice(27, None)
    np.testing.assert_allclose(np.abs(score[valid]), adx[valid] / 100, rtol=1e-12)
    np.testing.assert_array_equal(np.sign(score[valid]), np.sign(plus_di[valid] - minus_di[valid]))
    assert np.isnan(score[:27]).all() and np.isnan(plus_di[:14]).all() and not np.isnan(plus_di[14])


def test_trend_strength_of_flat_prices_is_zero() -> None:
    adx, plus_di, minus_di, score = batch_and_stream(TrendStrength(3), make_bars([4.0] * 12), rtol=1e-12, atol=1e-12)
    for values, start in ((adx, 5), (plus_di, 3), (minus_di, 3), (score, 5)):
        np.testing.assert_array_equal(values[start:], 0.0)


def test_a_steady_rise_has_a_strong_up_trend() -> None:
    close = [100.0 + i for i in range(40)]
    adx, plus_di, minus_di, score = batch_and_stream(
        TrendStrength(5), make_bars(close, [c + 0.5 for c in close], [c - 0.5 for c in close]), rtol=1e-12, atol=1e-12
    )
    assert adx[-1] == pytest.approx(100.0)
    assert minus_di[-1] == 0.0 < plus_di[-1]
    assert score[-1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        TaDirectionalMovement(1)
