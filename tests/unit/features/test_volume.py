"""Volume features: hand-computed values, the zero-volume rules, the definitions of non-TA-Lib features."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import talib

from tests.testkit.features import stream
from trading_agent.domain import Timeframe
from trading_agent.features import Bars
from trading_agent.features.groups import volume
from trading_agent.features.groups.volume_activity import VolumePriceTrend, VolumeRatio, VolumeWeightedMomentum
from trading_agent.features.groups.volume_core import VolumeWindow
from trading_agent.features.groups.volume_flow import (
    AccumulationDistribution,
    ChaikinMoneyFlow,
    MoneyFlowIndex,
    OnBalanceVolume,
)
from trading_agent.features.indicator import Indicator

NAN = math.nan


def _bars(
    close: list[float], volume_: list[float], high: list[float] | None = None, low: list[float] | None = None
) -> Bars:
    index = pd.date_range("2024-01-01", periods=len(close), freq="1h", tz="UTC")
    frame = pd.DataFrame(
        {"open": close, "high": high or close, "low": low or close, "close": close, "volume": volume_}, index=index
    )
    return Bars.from_frame(frame)


def _random_bars(n: int = 300, seed: int = 5) -> Bars:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    spread = np.abs(rng.normal(0, 0.3, n))
    return _bars(list(close), list(rng.uniform(0, 10, n)), list(close + spread), list(close - spread))


def _both(indicator: Indicator, bars: Bars) -> list[np.ndarray]:
    """Batch and streaming columns, checked equal; the batch ones are returned."""
    batch = indicator.batch(bars)
    for expected, actual in zip(batch, stream(indicator, bars), strict=True):
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)
    return list(batch)


def test_the_group_registers_9_uniquely_named_volume_features() -> None:
    names = [spec.name for indicator in volume.default_indicators() for spec in indicator.specs]
    assert names == [
        "obv",
        "obv_flow_20",
        "ad",
        "adosc_3_10",
        "cmf_20",
        "mfi_14",
        "vpt",
        "volume_ratio_24",
        "vw_momentum_14",
    ]
    assert {spec.group for indicator in volume.default_indicators() for spec in indicator.specs} == {"volume"}


def test_obv_and_its_flow_by_hand() -> None:
    obv, flow = _both(OnBalanceVolume(2), _bars([10.0, 11.0, 10.0, 10.0, 12.0], [5.0, 1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(obv, [5.0, 6.0, 4.0, 4.0, 8.0])  # TA-Lib starts at the first volume
    np.testing.assert_allclose(flow, [NAN, NAN, -1 / 3, -0.4, 4 / 7])  # signed volume / volume of 2 bars


def test_chaikin_money_flow_by_hand() -> None:
    # close locations: (4 - 1 - (5 - 4)) / 4 = 0.5; high == low -> 0; (1 - 1 - (11 - 1)) / 10 = -1
    bars = _bars([4.0, 2.0, 1.0], [2.0, 5.0, 1.0], high=[5.0, 2.0, 11.0], low=[1.0, 2.0, 1.0])
    (cmf,) = _both(ChaikinMoneyFlow(2), bars)
    np.testing.assert_allclose(cmf, [NAN, 1 / 7, -1 / 6])


def test_volume_price_trend_by_hand() -> None:
    (vpt,) = _both(VolumePriceTrend(), _bars([10.0, 11.0, 9.9], [3.0, 2.0, 10.0]))
    np.testing.assert_allclose(vpt, [0.0, 0.2, -0.8])


def test_volume_ratio_by_hand_and_on_a_window_without_volume() -> None:
    (ratio,) = _both(VolumeRatio(2), _bars([1.0] * 5, [1.0, 3.0, 0.0, 0.0, 0.0]))
    np.testing.assert_array_equal(ratio, [NAN, 1.5, 0.0, 1.0, 1.0])


def test_volume_ratio_window_from_a_duration() -> None:
    assert VolumeRatio.over(timedelta(hours=24), Timeframe.M5).specs[0].name == "volume_ratio_288"
    assert VolumeRatio.over(timedelta(hours=24), Timeframe.H1).specs[0].name == "volume_ratio_24"
    with pytest.raises(ValueError, match="whole number"):
        VolumeRatio.over(timedelta(minutes=7), Timeframe.M5)
    with pytest.raises(ValueError):
        VolumeRatio.over(timedelta(hours=1), Timeframe.H1)


def test_volume_weighted_momentum_by_hand() -> None:
    (vwm,) = _both(VolumeWeightedMomentum(2), _bars([10.0, 11.0, 9.9, 9.9], [1.0, 1.0, 3.0, 0.0]))
    np.testing.assert_allclose(vwm, [NAN, NAN, (0.1 - 0.3) / 4, -0.3 / 3])


def test_windows_without_volume_have_documented_values() -> None:
    bars = _bars([10.0, 11.0, 10.5, 12.0, 11.0, 11.5] * 5, [0.0] * 30)
    obv, flow = _both(OnBalanceVolume(5), bars)
    ad, adosc = _both(AccumulationDistribution(3, 10), bars)
    (cmf,) = _both(ChaikinMoneyFlow(5), bars)
    (mfi,) = _both(MoneyFlowIndex(5), bars)
    (vpt,) = _both(VolumePriceTrend(), bars)
    (ratio,) = _both(VolumeRatio(5), bars)
    (vwm,) = _both(VolumeWeightedMomentum(5), bars)
    for values in (obv, flow[5:], ad, adosc[9:], cmf[4:], mfi[5:], vpt, vwm[5:]):
        np.testing.assert_array_equal(values, 0.0)
    np.testing.assert_array_equal(ratio[4:], 1.0)


def test_mfi_forgets_rounding_residue_after_a_window_without_flow() -> None:
    rng = np.random.default_rng(1)
    close = list(100 + np.cumsum(rng.normal(0, 1, 40))) + [100.0 + i % 2 for i in range(30)] + [105.0]
    volumes = list(rng.uniform(0.1, 9.9, 40)) + [0.0] * 30 + [2.0]
    (mfi,) = _both(MoneyFlowIndex(14), _bars(close, volumes))
    np.testing.assert_array_equal(mfi[55:70], 0.0)
    assert mfi[70] == 100.0  # exactly: the sums restarted from 0


def test_adosc_seeds_both_emas_with_the_first_ad_value() -> None:
    bars = _random_bars()
    ad, adosc = _both(AccumulationDistribution(3, 10), bars)
    np.testing.assert_allclose(ad, talib.AD(bars.high, bars.low, bars.close, bars.volume), rtol=1e-12)
    fast = slow = ad[0]
    expected = []
    for value in ad[1:]:
        fast = 0.5 * value + 0.5 * fast
        slow = (2 / 11) * value + (9 / 11) * slow
        expected.append(fast - slow)
    assert np.isnan(adosc[:9]).all()
    np.testing.assert_allclose(adosc[9:], expected[8:], rtol=1e-9, atol=1e-9 * np.abs(ad).max())


def test_a_bar_with_high_equal_low_does_not_move_ad() -> None:
    bars = _bars([2.0, 2.0, 3.0], [5.0, 7.0, 1.0], high=[3.0, 2.0, 3.0], low=[1.0, 2.0, 1.0])
    ad, _ = _both(AccumulationDistribution(3, 10), bars)
    np.testing.assert_allclose(ad, [0.0, 0.0, 1.0])


def test_volume_window_sums_in_talib_order_and_counts_active_bars() -> None:
    window = VolumeWindow(2)
    assert window.update(1.0, 2.0)[2] == 0
    assert window.update(3.0, 0.0) == (4.0, 2.0, 1)
    assert window.update(0.0, 0.0) == (3.0, 0.0, 0)
    with pytest.raises(ValueError):
        VolumeWindow(1)
