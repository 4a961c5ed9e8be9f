"""The volatility group's definitions and edge cases on hand-made candles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from tests.testkit.features import batch_and_stream, make_bars
from trading_agent.features import FeatureGroup
from trading_agent.features.groups import volatility
from trading_agent.features.groups.volatility_bollinger import Bollinger
from trading_agent.features.groups.volatility_channels import Atr, Donchian, Keltner
from trading_agent.features.groups.volatility_estimators import (
    GarmanKlass,
    HistoricalVolatility,
    Parkinson,
    WindowSum,
    window_sums,
)
from trading_agent.features.rolling import WindowMeanStd


def test_the_volatility_group_registers_the_named_features() -> None:
    specs = [spec for indicator in volatility.default_indicators() for spec in indicator.specs]
    assert [spec.name for spec in specs] == [
        "atr_7", "atr_14", "natr_14", "atr_21",
        "bb_upper_20_2", "bb_lower_20_2", "bb_pctb_20_2", "bb_width_20_2",
        "kc_upper_20_10_2", "kc_lower_20_10_2", "kc_pos_20_10_2",
        "dc_upper_20", "dc_lower_20", "dc_middle_20", "dc_pos_20",
        "hv_20", "hv_50", "parkinson_vol_20", "gk_vol_20",
    ]  # fmt: skip
    assert all(spec.group is FeatureGroup.VOLATILITY for spec in specs)


def test_atr_of_constant_ranges_is_the_range_and_natr_is_zero_at_a_zero_close() -> None:
    close = [10.0] * 6 + [0.0]
    bars = make_bars(close, high=[11.0] * 7, low=[9.0] * 7)
    atr, natr = batch_and_stream(Atr(3, normalised=True), bars, rtol=1e-12)
    np.testing.assert_array_equal(atr[:3], [np.nan] * 3)  # the first true range needs a previous close
    assert atr[3] == 2.0  # mean of the true ranges of bars 1-3
    np.testing.assert_allclose(natr[3:6], 20.0)
    assert atr[6] == 2.0
    assert natr[6] == 0.0  # TA-Lib's value for a zero close


def test_channels_of_constant_prices_put_the_close_in_the_middle() -> None:
    bars = make_bars([50.0] * 40)
    kc_upper, kc_lower, kc_pos = batch_and_stream(Keltner(), bars, rtol=1e-12)
    assert kc_upper[19] == kc_lower[19] == 50.0 and kc_pos[19] == 0.5
    assert (batch_and_stream(Donchian(), bars, rtol=1e-12)[3][19:] == 0.5).all()
    bb_upper, _, bb_pctb, bb_width = batch_and_stream(Bollinger(), bars, rtol=1e-12)
    assert (bb_upper[19:] == 50.0).all() and (bb_pctb[19:] == 0.5).all() and (bb_width[19:] == 0.0).all()


def test_donchian_includes_the_current_bar() -> None:
    high = [5.0, 7.0, 6.0, 9.0, 4.0]
    low = [4.0, 3.0, 5.0, 2.0, 3.5]
    bars = make_bars([4.5, 5.0, 5.5, 8.0, 4.0], high=high, low=low)
    upper, lower, middle, pos = batch_and_stream(Donchian(3), bars, rtol=1e-12)
    np.testing.assert_array_equal(upper[2:], [7, 9, 9])
    np.testing.assert_array_equal(lower[2:], [3, 2, 2])
    np.testing.assert_array_equal(middle[2:], [5, 5.5, 5.5])
    np.testing.assert_allclose(pos[2:], [2.5 / 4, 6 / 7, 2 / 7])


def test_bollinger_deviation_matches_talib_where_e_x2_minus_mean2_loses_every_digit() -> None:
    rng = np.random.default_rng(7)
    close = 1e-5 + np.cumsum(rng.normal(0.0, 1e-11, 3000))  # a finely quoted, quiet, low-priced coin
    close[1000:1300] = close[999]  # a halt
    close[2000] *= 50.0  # a bad print
    upper, middle, _ = talib.BBANDS(close, 20, 2.0, 2.0)
    state = WindowMeanStd(20)
    mean, std = np.array([state.update(x) for x in close]).T
    np.testing.assert_array_equal(mean, middle)
    np.testing.assert_array_equal(middle + std * 2.0, upper)  # bit for bit, flat stretch and outlier included
    assert (std[1019:1300] == 0.0).all()
    window = close[500:520]
    assert std[519] == pytest.approx(window.std(), rel=1e-9)  # population std


def test_historical_volatility_is_the_sample_std_of_log_returns_per_bar() -> None:
    rng = np.random.default_rng(3)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 80)))
    (hv,) = batch_and_stream(HistoricalVolatility(20), make_bars(close), rtol=1e-12)
    returns = np.diff(np.log(close))
    assert np.isnan(hv[:20]).all()
    assert hv[20] == pytest.approx(returns[:20].std(ddof=1), rel=1e-12)
    assert hv[-1] == pytest.approx(returns[-20:].std(ddof=1), rel=1e-12)


def test_historical_volatility_of_constant_prices_is_exactly_zero() -> None:
    close = np.r_[np.linspace(100.0, 130.0, 30), np.full(30, 130.0)]
    (hv,) = batch_and_stream(HistoricalVolatility(20), make_bars(close), rtol=1e-12)
    assert (hv[50:] == 0.0).all()


def test_parkinson_and_garman_klass_on_hand_computed_bars() -> None:
    bars = make_bars([10.0] * 4, open_=[10.0] * 4, high=[10.0 * math.e**0.1] * 4, low=[10.0] * 4)
    (parkinson,) = batch_and_stream(Parkinson(3), bars, rtol=1e-12)
    (garman_klass,) = batch_and_stream(GarmanKlass(3), bars, rtol=1e-12)
    assert parkinson[2] == pytest.approx(math.sqrt(0.01 / (4 * math.log(2))))
    assert garman_klass[2] == pytest.approx(math.sqrt(0.5 * 0.01))  # open = close: only the range term
    assert np.isnan(parkinson[:2]).all()


def test_garman_klass_of_inconsistent_candles_is_zero_not_nan() -> None:
    bars = make_bars([12.0] * 3, open_=[8.0] * 3, high=[10.1] * 3, low=[10.0] * 3)  # body far outside the range
    (garman_klass,) = batch_and_stream(GarmanKlass(3), bars, rtol=1e-12)
    assert garman_klass[2] == 0.0


def test_window_sums_add_each_window_afresh() -> None:
    values = np.array([1e16, 1.0, -1e16, 1.0, 1.0, 2.0])
    expected = [np.nan, np.nan, 0.0, -1e16, -1e16, 4.0]  # a running sum would end at 2.0: the residue of 1e16
    np.testing.assert_array_equal(window_sums(values, 3), expected)
    state = WindowSum(3)
    np.testing.assert_array_equal([state.update(x) for x in values], expected)
