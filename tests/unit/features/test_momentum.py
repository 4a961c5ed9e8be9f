"""Momentum features: hand-computed values, TA-Lib conventions on degenerate input, definitions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib

from tests.testkit.features import batch_and_stream, make_bars, random_bars
from trading_agent.features.groups import momentum
from trading_agent.features.groups.momentum_core import TaMacd, TaRsi, is_zero_scaled, lagged_change
from trading_agent.features.groups.momentum_macd import Macd
from trading_agent.features.groups.momentum_oscillators import (
    AwesomeOscillator,
    Momentum,
    RateOfChange,
    Rsi,
    StochasticRsi,
    UltimateOscillator,
    WilliamsR,
)
from trading_agent.features.rolling import Lag


def test_the_group_registers_20_uniquely_named_momentum_features() -> None:
    names = [spec.name for indicator in momentum.default_indicators() for spec in indicator.specs]
    assert len(names) == len(set(names)) == 20
    assert {"rsi_7", "rsi_14", "rsi_21", "willr_14", "macd_hist_slope_12_26_9", "ultosc_7_14_28"} <= set(names)
    assert {spec.group for indicator in momentum.default_indicators() for spec in indicator.specs} == {"momentum"}


def test_rsi_by_hand() -> None:
    # n = 2: seed = mean of the first two changes (+1, +1); then Wilder: (avg * 1 + change) / 2.
    (rsi,) = batch_and_stream(Rsi(2), make_bars([1.0, 2.0, 3.0, 2.0, 3.0]), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(rsi, [math.nan, math.nan, 100.0, 50.0, 75.0])


def test_rsi_of_flat_prices_is_zero_like_talib() -> None:
    (rsi,) = batch_and_stream(Rsi(14), make_bars([5.0] * 30), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(rsi[14:], 0.0)


def test_rsi_after_a_rise_then_flat_stays_100() -> None:
    (rsi,) = batch_and_stream(Rsi(3), make_bars([1.0, 2.0, 3.0, 4.0] + [4.0] * 200), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(rsi[3:], 100.0)


def test_stochastic_rsi_is_smoothed_stochastic_of_rsi() -> None:
    bars = random_bars(400, seed=3)
    k, d = batch_and_stream(StochasticRsi(14, 14, 3, 3), bars, rtol=1e-12, atol=1e-12)
    rsi = pd.Series(talib.RSI(bars.close, 14))
    low, high = rsi.rolling(14).min(), rsi.rolling(14).max()
    raw = 100 * (rsi - low) / (high - low)
    expected_k = raw.rolling(3).mean()
    expected_d = expected_k.rolling(3).mean()
    valid = ~np.isnan(d)
    assert np.argmax(valid) == 31  # %K waits for %D, as TA-Lib's STOCH does
    np.testing.assert_allclose(k[valid], expected_k[valid], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(d[valid], expected_d[valid], rtol=1e-9, atol=1e-9)


def test_williams_r_by_hand_and_on_a_zero_range() -> None:
    (willr,) = batch_and_stream(
        WilliamsR(3), make_bars([2.0, 3.0, 4.0], high=[3.0, 4.0, 5.0], low=[1.0, 2.0, 3.0]), rtol=1e-12, atol=1e-12
    )
    assert willr[2] == pytest.approx(-25.0)  # (5 - 4) / (5 - 1) * -100
    (flat,) = batch_and_stream(WilliamsR(3), make_bars([7.0] * 5), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(flat[2:], 0.0)


def test_rate_of_change_and_momentum_by_hand() -> None:
    bars = make_bars([10.0, 20.0, 11.0, 30.0])
    (roc,) = batch_and_stream(RateOfChange(2), bars, rtol=1e-12, atol=1e-12)
    (mom,) = batch_and_stream(Momentum(2), bars, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(roc[2:], [10.0, 50.0])
    np.testing.assert_array_equal(mom[2:], [1.0, 10.0])


def test_macd_seeds_the_fast_ema_late_like_talib() -> None:
    bars = random_bars(120, seed=3)
    line, signal, hist, line_slope, signal_slope, hist_slope, line_pct, hist_pct = batch_and_stream(
        Macd(12, 26, 9), bars, rtol=1e-12, atol=1e-12
    )
    close = bars.close
    fast = close[14:26].mean()  # TA-Lib seeds the fast EMA on the 12 closes ending at bar 25, not at bar 11
    slow = close[:26].mean()
    lines = [fast - slow]
    for x in close[26:34]:
        fast += (x - fast) * 2 / 13
        slow += (x - slow) * 2 / 27
        lines.append(fast - slow)
    assert np.isnan(line[32]) and not np.isnan(line[33])
    assert line[33] == pytest.approx(lines[-1], rel=1e-12)
    assert signal[33] == pytest.approx(np.mean(lines), rel=1e-12)
    assert hist[33] == pytest.approx(lines[-1] - np.mean(lines), rel=1e-9)
    np.testing.assert_allclose(line_slope[34:], np.diff(line[33:]), rtol=1e-12)
    np.testing.assert_allclose(signal_slope[34:], np.diff(signal[33:]), rtol=1e-12)
    np.testing.assert_allclose(hist_slope[34:], np.diff(hist[33:]), rtol=1e-12)
    assert np.isnan(line_slope[33])
    np.testing.assert_allclose(line_pct[33:], 100 * line[33:] / close[33:], rtol=1e-12)
    np.testing.assert_allclose(hist_pct[33:], 100 * hist[33:] / close[33:], rtol=1e-12)


def test_awesome_oscillator_is_sma5_minus_sma34_of_the_median_price() -> None:
    bars = random_bars(400, seed=3)
    ao, ao_pct = batch_and_stream(AwesomeOscillator(5, 34), bars, rtol=1e-12, atol=1e-12)
    median = pd.Series((bars.high + bars.low) / 2)
    expected = median.rolling(5).mean() - median.rolling(34).mean()
    np.testing.assert_array_equal(np.isnan(ao), np.isnan(expected))
    np.testing.assert_allclose(ao[33:], expected[33:], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ao_pct[33:], 100 * expected[33:] / bars.close[33:], rtol=1e-9, atol=1e-9)


def test_ultimate_oscillator_of_flat_prices_is_zero() -> None:
    (ultosc,) = batch_and_stream(UltimateOscillator(2, 3, 4), make_bars([3.0] * 10), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ultosc[4:], 0.0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: TaRsi(1),
        lambda: TaMacd(26, 12, 9),
        lambda: Macd(12, 12, 9),
        lambda: UltimateOscillator(14, 7, 28),
        lambda: AwesomeOscillator(34, 5),
        lambda: Lag(0),
    ],
)
def test_bad_periods_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_lag_and_lagged_change() -> None:
    lag = Lag(2)
    assert [lag.update(x) for x in (1.0, 2.0, 3.0, 4.0)][2:] == [1.0, 2.0]
    np.testing.assert_array_equal(lagged_change(np.array([1.0, 4.0, 9.0]), 1), [math.nan, 3.0, 5.0])
    assert lagged_change(np.array([1.0]), 3).shape == (1,)


def test_talib_scaled_zero_test() -> None:
    assert is_zero_scaled(1e-9, 1e6, 1e6 - 1e-9)  # within 1e-14 of the prices' size
    assert not is_zero_scaled(1e-6, 1e6, 1e6 - 1e-6)
