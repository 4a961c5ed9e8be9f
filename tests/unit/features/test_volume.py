"""Volume features: hand-computed values, the zero-volume rules, the definitions of non-TA-Lib features."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
import talib

from tests.testkit.features import batch_and_stream, make_bars, random_bars
from trading_agent.domain import Timeframe
from trading_agent.features.groups import volume
from trading_agent.features.groups.volume_activity import VolumePriceTrend, VolumeRatio, VolumeWeightedMomentum
from trading_agent.features.groups.volume_core import VolumeWindow
from trading_agent.features.groups.volume_flow import (
    AccumulationDistribution,
    ChaikinMoneyFlow,
    MoneyFlowIndex,
    OnBalanceVolume,
)

NAN = math.nan


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
        "volume_ratio_24h",
        "vw_momentum_14",
    ]
    assert {spec.group for indicator in volume.default_indicators() for spec in indicator.specs} == {"volume"}


def test_obv_and_its_flow_by_hand() -> None:
    obv, flow = batch_and_stream(
        OnBalanceVolume(2),
        make_bars([10.0, 11.0, 10.0, 10.0, 12.0], volume=[5.0, 1.0, 2.0, 3.0, 4.0]),
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_array_equal(obv, [5.0, 6.0, 4.0, 4.0, 8.0])  # TA-Lib starts at the first volume
    np.testing.assert_allclose(flow, [NAN, NAN, -1 / 3, -0.4, 4 / 7])  # signed volume / volume of 2 bars


def test_chaikin_money_flow_by_hand() -> None:
    # close locations: (4 - 1 - (5 - 4)) / 4 = 0.5; high == low -> 0; (1 - 1 - (11 - 1)) / 10 = -1
    bars = make_bars([4.0, 2.0, 1.0], high=[5.0, 2.0, 11.0], low=[1.0, 2.0, 1.0], volume=[2.0, 5.0, 1.0])
    (cmf,) = batch_and_stream(ChaikinMoneyFlow(2), bars, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cmf, [NAN, 1 / 7, -1 / 6])


def test_volume_price_trend_by_hand() -> None:
    (vpt,) = batch_and_stream(
        VolumePriceTrend(), make_bars([10.0, 11.0, 9.9], volume=[3.0, 2.0, 10.0]), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(vpt, [0.0, 0.2, -0.8])


def test_volume_ratio_by_hand_and_on_a_window_without_volume() -> None:
    (ratio,) = batch_and_stream(
        VolumeRatio(2), make_bars([1.0] * 5, volume=[1.0, 3.0, 0.0, 0.0, 0.0]), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(ratio, [NAN, 1.5, 0.0, 1.0, 1.0])


@pytest.mark.parametrize(
    ("timeframe", "window"),
    [(Timeframe.M1, 1440), (Timeframe.M5, 288), (Timeframe.H1, 24), (Timeframe.D1, 2), (Timeframe.W1, 2), (None, 24)],
)
def test_the_volume_ratio_spans_24_hours_of_candles(timeframe: Timeframe | None, window: int) -> None:
    spec = VolumeRatio.over(timedelta(hours=24), timeframe).specs[0]
    assert spec.name == "volume_ratio_24h"  # the same column on every timeframe
    assert spec.params["window"] == window
    assert spec.warmup == window - 1
    with pytest.raises(ValueError, match="at least 2 bars"):
        VolumeRatio(1)


def test_volume_weighted_momentum_by_hand() -> None:
    (vwm,) = batch_and_stream(
        VolumeWeightedMomentum(2),
        make_bars([10.0, 11.0, 9.9, 9.9], volume=[1.0, 1.0, 3.0, 0.0]),
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_allclose(vwm, [NAN, NAN, (0.1 - 0.3) / 4, -0.3 / 3])


def test_windows_without_volume_have_documented_values() -> None:
    bars = make_bars([10.0, 11.0, 10.5, 12.0, 11.0, 11.5] * 5, volume=[0.0] * 30)
    obv, flow = batch_and_stream(OnBalanceVolume(5), bars, rtol=1e-12, atol=1e-12)
    ad, adosc = batch_and_stream(AccumulationDistribution(3, 10), bars, rtol=1e-12, atol=1e-12)
    (cmf,) = batch_and_stream(ChaikinMoneyFlow(5), bars, rtol=1e-12, atol=1e-12)
    (mfi,) = batch_and_stream(MoneyFlowIndex(5), bars, rtol=1e-12, atol=1e-12)
    (vpt,) = batch_and_stream(VolumePriceTrend(), bars, rtol=1e-12, atol=1e-12)
    (ratio,) = batch_and_stream(VolumeRatio(5), bars, rtol=1e-12, atol=1e-12)
    (vwm,) = batch_and_stream(VolumeWeightedMomentum(5), bars, rtol=1e-12, atol=1e-12)
    for values in (obv, flow[5:], ad, adosc[9:], cmf[4:], mfi[5:], vpt, vwm[5:]):
        np.testing.assert_array_equal(values, 0.0)
    np.testing.assert_array_equal(ratio[4:], 1.0)


def test_mfi_forgets_rounding_residue_after_a_window_without_flow() -> None:
    rng = np.random.default_rng(1)
    close = list(100 + np.cumsum(rng.normal(0, 1, 40))) + [100.0 + i % 2 for i in range(30)] + [105.0]
    volumes = list(rng.uniform(0.1, 9.9, 40)) + [0.0] * 30 + [2.0]
    (mfi,) = batch_and_stream(MoneyFlowIndex(14), make_bars(close, volume=volumes), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(mfi[55:70], 0.0)
    assert mfi[70] == 100.0  # exactly: the sums restarted from 0


def test_adosc_seeds_both_emas_with_the_first_ad_value() -> None:
    bars = random_bars(300, seed=5, level=50.0, spread=0.3, max_volume=10.0)
    ad, adosc = batch_and_stream(AccumulationDistribution(3, 10), bars, rtol=1e-12, atol=1e-12)
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
    bars = make_bars([2.0, 2.0, 3.0], high=[3.0, 2.0, 3.0], low=[1.0, 2.0, 1.0], volume=[5.0, 7.0, 1.0])
    ad, _ = batch_and_stream(AccumulationDistribution(3, 10), bars, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ad, [0.0, 0.0, 1.0])


def test_volume_window_sums_in_talib_order_and_counts_active_bars() -> None:
    window = VolumeWindow(2)
    assert window.update(1.0, 2.0)[2] == 0
    assert window.update(3.0, 0.0) == (4.0, 2.0, 1)
    assert window.update(0.0, 0.0) == (3.0, 0.0, 0)
    with pytest.raises(ValueError):
        VolumeWindow(1)
