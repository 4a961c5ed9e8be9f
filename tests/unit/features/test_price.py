"""The price group's definitions on hand-made candles: what the contract test on real data cannot see."""

from __future__ import annotations

import numpy as np
import pytest

from tests.testkit.features import DAY, HOUR, T0, batch_and_stream, make_bars
from trading_agent.features import FeatureGroup
from trading_agent.features.groups import price
from trading_agent.features.groups.price_averages import Zlema, zlema
from trading_agent.features.groups.price_levels import PIVOT_LEVELS, Fractals, Pivots, pivot_levels
from trading_agent.features.groups.price_session import SessionAverages


def test_the_price_group_registers_the_named_features() -> None:
    specs = [spec for indicator in price.default_indicators() for spec in indicator.specs]
    names = {spec.name for spec in specs}
    assert {f"{kind}_{n}" for kind in ("sma", "ema") for n in (10, 20, 50, 100, 200)} <= names
    assert {"dema_20", "tema_20", "zlema_20", "vwap_day", "twap_day", "fractal_high", "fractal_low"} <= names
    assert {f"pivot_{name}_dist_pct" for name, _ in PIVOT_LEVELS} <= names
    assert all(spec.group is FeatureGroup.PRICE for spec in specs)
    assert len(names) == len(specs) == 36


def test_zlema_is_the_ema_of_the_lag_corrected_close() -> None:
    # n = 3: lag 1, input 2*c[t] - c[t-1] = 3, 4, 5, 6, 7 from bar 1; EMA(3) seeded with mean(3, 4, 5) = 4, k = 0.5
    bars = make_bars([1, 2, 3, 4, 5, 6])
    indicator = next(i for i in price.default_indicators() if i.specs[0].name == "zlema_20")
    assert indicator.specs[0].warmup == 9 + 19
    np.testing.assert_array_equal(zlema(bars.close, 3), [np.nan, np.nan, np.nan, 4.0, 5.0, 6.0])
    streamer = Zlema(3)
    np.testing.assert_array_equal([streamer.update(x) for x in bars.close], [np.nan, np.nan, np.nan, 4.0, 5.0, 6.0])


def test_zlema_on_fewer_bars_than_its_lag_is_all_nan() -> None:
    assert np.isnan(zlema(np.arange(1.0, 6.0), 20)).all()
    assert zlema(np.empty(0), 20).shape == (0,)


def test_vwap_and_twap_restart_at_midnight_utc() -> None:
    ts = [T0 + DAY - 2 * HOUR, T0 + DAY - HOUR, T0 + DAY, T0 + DAY + HOUR]  # 22:00, 23:00, then 00:00, 01:00
    bars = make_bars([10, 20, 30, 40], volume=[1, 3, 2, 2], ts=ts)
    vwap, twap, vwap_dist, twap_dist = batch_and_stream(SessionAverages(), bars)
    np.testing.assert_allclose(vwap, [10, (10 + 60) / 4, 30, (60 + 80) / 4])
    np.testing.assert_allclose(twap, [10, 15, 30, 35])
    np.testing.assert_allclose(vwap_dist, [0, 100 * (20 - 17.5) / 20, 0, 100 * (40 - 35) / 40])
    np.testing.assert_allclose(twap_dist, [0, 25, 0, 12.5])


def test_vwap_is_the_twap_until_the_day_trades() -> None:
    bars = make_bars([10, 20, 30], high=[11, 21, 31], low=[9, 19, 29], volume=[0, 0, 4])
    vwap, twap, _, _ = batch_and_stream(SessionAverages(), bars)
    np.testing.assert_allclose(twap, [10, 15, 20])  # typical price = close here
    np.testing.assert_allclose(vwap, [10, 15, 30])  # zero-volume bars carry no weight once volume appears


def test_pivot_levels_follow_the_classic_formulas() -> None:
    levels = dict(zip((name for name, _ in PIVOT_LEVELS), pivot_levels(110.0, 90.0, 100.0), strict=True))
    expected = {
        "p": 100, "r1": 110, "s1": 90, "r2": 120, "s2": 80,
        "fib_r1": 107.64, "fib_s1": 92.36, "fib_r2": 112.36, "fib_s2": 87.64,
        "cam_r1": 100 + 22 / 12, "cam_s1": 100 - 22 / 12, "cam_r3": 105.5, "cam_s3": 94.5, "cam_r4": 111, "cam_s4": 89,
    }  # fmt: skip
    assert levels == pytest.approx(expected)


def test_pivots_use_the_previous_utc_day_and_the_day_so_far_before_any_ended() -> None:
    ts = [T0, T0 + HOUR, T0 + DAY, T0 + DAY + HOUR, T0 + 3 * DAY]  # day 0, day 0, day 1, day 1, day 3 (day 2 missing)
    bars = make_bars([100, 104, 120, 80, 90], high=[108, 110, 125, 121, 95], low=[95, 90, 118, 70, 85], ts=ts)
    columns = dict(zip((s.name for s in Pivots().specs), batch_and_stream(Pivots(), bars), strict=True))
    p = columns["pivot_p_dist_pct"]
    day0 = (110 + 90 + 104) / 3  # high, low and last close of day 0
    day1 = (125 + 70 + 80) / 3  # day 2 has no bars: day 3 uses day 1, the last day with bars
    first_bar = (108 + 95 + 100) / 3  # no day has ended yet: the day so far
    second_bar = (110 + 90 + 104) / 3
    np.testing.assert_allclose(
        p, [100 * (c - lv) / c for c, lv in zip(bars.close, [first_bar, second_bar, day0, day0, day1], strict=True)]
    )
    np.testing.assert_allclose(columns["pivot_r1_dist_pct"][2], 100 * (120 - (2 * day0 - 90)) / 120)


def test_a_fractal_is_used_only_from_the_second_bar_after_it() -> None:
    highs = [1, 2, 5, 3, 2, 2, 4]  # fractal high at bar 2, confirmed at bar 4
    bars = make_bars(highs, high=highs, low=[0.5] * 7)
    resistance, support, resistance_dist, _ = batch_and_stream(Fractals(), bars)
    np.testing.assert_array_equal(resistance, [1, 2, 5, 5, 5, 5, 5])  # bars 0-3: the running high, not yet the fractal
    assert resistance_dist[4] == pytest.approx(100 * (2 - 5) / 2)
    np.testing.assert_array_equal(support, [0.5] * 7)  # equal lows make no fractal low


def test_the_latest_fractal_replaces_a_higher_running_high_only_once_confirmed() -> None:
    highs = [10.0, 1.0, 2.0, 5.0, 3.0, 2.0, 1.0]  # fractal high 5 at bar 3, confirmed at bar 5
    lows = [1.0, 0.5, 2.0, 3.0, 2.5, 1.8, 0.9]  # the low 0.5 has one bar before it: no fractal low
    resistance, support, _, _ = batch_and_stream(Fractals(), make_bars(highs, high=highs, low=lows))
    np.testing.assert_array_equal(resistance, [10, 10, 10, 10, 10, 5, 5])
    np.testing.assert_array_equal(support, [1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])  # the running low
    lows = [5.0, 4.0, 1.0, 3.0, 3.5, 0.5]
    support = batch_and_stream(Fractals(), make_bars(lows, high=[6.0] * 6, low=lows))[1]
    np.testing.assert_array_equal(support, [5, 4, 1, 1, 1, 1])  # 1 is confirmed at bar 4; 0.5 is no fractal yet


def test_ties_make_no_fractal() -> None:
    highs = [1.0, 2.0, 5.0, 5.0, 2.0, 1.0, 6.0, 3.0]  # two equal peaks: neither is a fractal
    bars = make_bars(highs, high=highs)
    # still the running high
    np.testing.assert_array_equal(batch_and_stream(Fractals(), bars)[0], [1, 2, 5, 5, 5, 5, 6, 6])
