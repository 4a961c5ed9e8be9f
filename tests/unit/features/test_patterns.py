"""Pattern features: TA-Lib candlesticks in both paths, and chart patterns on drawn price paths."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import talib

from tests.testkit.features import batch_and_stream, make_bars, real_bars
from trading_agent.features.bars import Bars
from trading_agent.features.groups import patterns
from trading_agent.features.groups.patterns_candles import CANDLESTICK_FUNCTIONS, CandlestickPatterns
from trading_agent.features.groups.patterns_chart import SwingPatterns, SwingRules
from trading_agent.features.groups.patterns_flags import FlagRules, Flags
from trading_agent.features.groups.patterns_swings import SwingTracker, segment_minima, swing_points
from trading_agent.features.indicator import Indicator


def drawn(knots: list[tuple[int, float]], spread: float = 0.5) -> Bars:
    """Hourly bars whose close runs straight between the (bar, close) knots; high/low = close -+ spread."""
    bars, closes = zip(*knots, strict=True)
    return make_bars(np.interp(np.arange(bars[-1] + 1), bars, closes), spread=spread)


def mirrored(bars: Bars, level: float = 200.0) -> Bars:
    """The same path upside down (``level`` - price), so tops become bottoms."""
    close = level - bars.close
    return Bars(bars.ts, close.copy(), level - bars.low, level - bars.high, close, bars.volume)


def both_paths(indicator: Indicator, bars: Bars) -> dict[str, np.ndarray]:
    """The batch columns by name, after checking that streaming gives exactly the same numbers."""
    batch = batch_and_stream(indicator, bars)
    return {spec.name: column for spec, column in zip(indicator.specs, batch, strict=True)}


def signals(column: np.ndarray) -> dict[int, float]:
    return {int(i): float(column[i]) for i in np.flatnonzero(np.nan_to_num(column))}


def test_every_talib_candlestick_pattern_is_a_feature() -> None:
    indicator = CandlestickPatterns()
    assert len(CANDLESTICK_FUNCTIONS) == len(indicator.specs) == 61
    assert indicator.specs[CANDLESTICK_FUNCTIONS.index("CDLDOJI")].name == "cdl_doji"
    assert indicator.specs[0].name == "cdl_2crows"
    bars = real_bars(1000)
    for name, spec, column in zip(CANDLESTICK_FUNCTIONS, indicator.specs, indicator.batch(bars), strict=True):
        talib_values = getattr(talib, name)(bars.open, bars.high, bars.low, bars.close)
        np.testing.assert_array_equal(column[spec.warmup :], talib_values[spec.warmup :] / 100)
        assert set(np.unique(column[spec.warmup :])) <= {-2.0, -1.0, -0.8, 0.0, 0.8, 1.0, 2.0}


@pytest.mark.real_data
@pytest.mark.parametrize("saved_after", [0, 5, 13, 40])
def test_candlestick_streamer_restores_before_and_after_its_handles_open(saved_after: int) -> None:
    bars = real_bars(200)
    indicator = CandlestickPatterns()
    expected = np.column_stack(indicator.batch(bars))
    streamer = indicator.streamer()
    for i in range(saved_after):
        streamer.update(bars.bar(i))
    restored = pickle.loads(pickle.dumps(streamer))
    rows = np.array([restored.update(bars.bar(i)) for i in range(saved_after, len(bars))])
    np.testing.assert_array_equal(rows, expected[saved_after:])


def test_swing_points_are_confirmed_five_bar_fractals() -> None:
    high = np.array([1.0, 2, 5, 3, 2, 4, 4, 1, 0, 0])
    low = high - 1
    np.testing.assert_array_equal(swing_points(high), [2, 5])  # of the equal peaks 5 and 6, the first
    np.testing.assert_array_equal(segment_minima(low, np.array([2, 5])), [1.0])
    tracker = SwingTracker(keep=3)
    confirmed = [i for i in range(len(high)) if tracker.update(high[i], low[i])]
    assert confirmed == [4, 7]  # two bars after each swing point
    assert list(tracker.points)[-1] == (5, 4.0, 1.0)


# a head-and-shoulders top after 70 quiet bars: shoulders at 80 and 108, head at 94, neckline ~100
HEAD_AND_SHOULDERS = [(0, 95), (70, 95), (80, 110), (86, 100), (94, 120), (102, 100.5), (108, 110.5), (120, 95)]


def test_head_and_shoulders_fires_when_the_right_shoulder_is_confirmed() -> None:
    columns = both_paths(SwingPatterns(), drawn(HEAD_AND_SHOULDERS))
    assert signals(columns["chart_head_shoulders_60"]) == {110: -1.0}
    assert np.isnan(columns["chart_head_shoulders_60"][:60]).all()
    inverse = both_paths(SwingPatterns(), mirrored(drawn(HEAD_AND_SHOULDERS)))
    assert signals(inverse["chart_head_shoulders_60"]) == {110: 1.0}


def test_head_and_shoulders_needs_level_shoulders_and_a_pattern_within_the_lookback() -> None:
    lopsided = [*HEAD_AND_SHOULDERS[:6], (108, 117), (120, 95)]  # right shoulder almost as high as the head
    assert not signals(both_paths(SwingPatterns(), drawn(lopsided))["chart_head_shoulders_60"])
    narrow = SwingPatterns(SwingRules(lookback=25))  # the pattern spans 30 bars
    assert not signals(both_paths(narrow, drawn(HEAD_AND_SHOULDERS))["chart_head_shoulders_25"])


# flat highs at 100.5, rising lows 91.5 -> 95.5, then a break up, a one-bar dip and a second break
ASCENDING = [(0, 90), (70, 90), (80, 100), (86, 92), (92, 100), (98, 96), (102, 100.6), (103, 100.3), (104, 101)]


def test_a_triangle_fires_on_its_first_breakout_only() -> None:
    columns = both_paths(SwingPatterns(), drawn([*ASCENDING, (110, 105)]))
    assert signals(columns["chart_triangle_asc_60"]) == {102: 1.0}
    assert not signals(columns["chart_triangle_desc_60"]) and not signals(columns["chart_triangle_sym_60"])
    falling = both_paths(SwingPatterns(), mirrored(drawn([*ASCENDING, (110, 105)])))  # flat lows, falling highs
    assert signals(falling["chart_triangle_desc_60"]) == {102: -1.0}


def test_a_symmetrical_triangle_breaks_down() -> None:
    # highs 104.5 -> 100.5 and lows 91.5 -> 94.5 converge; the close turns below the upper line at
    # 103 and crosses the lower line (96.0 at bar 104) on the way down
    knots = [(0, 90), (70, 90), (80, 104), (86, 92), (92, 100), (98, 95), (103, 96.5), (110, 88)]
    columns = both_paths(SwingPatterns(), drawn(knots))
    assert signals(columns["chart_triangle_sym_60"]) == {104: -1.0}


# a pole from 100 to 110 in 5 bars, a 6-bar flag drifting to 107, a breakout close at 111
BULL_FLAG = [(0, 100), (40, 100), (45, 110), (51, 107), (52, 111), (55, 111)]


def test_flags_fire_on_the_breakout_bar() -> None:
    assert signals(both_paths(Flags(), drawn(BULL_FLAG))["chart_flag_20"]) == {52: 1.0}
    assert signals(both_paths(Flags(), mirrored(drawn(BULL_FLAG)))["chart_flag_20"]) == {52: -1.0}


def test_a_flag_that_retraces_too_far_or_is_too_short_does_not_count() -> None:
    deep = [(0, 100), (40, 100), (45, 110), (51, 104), (52, 111)]  # the flag gives back 6 of a 10 pole
    assert not signals(both_paths(Flags(), drawn(deep))["chart_flag_20"])
    short = [(0, 100), (40, 100), (45, 110), (47, 109), (48, 111)]  # 2 flag bars
    assert not signals(both_paths(Flags(FlagRules(min_flag_bars=3)), drawn(short))["chart_flag_20"])


def test_the_group_registers_61_candlesticks_and_5_chart_patterns() -> None:
    names = [spec.name for indicator in patterns.default_indicators() for spec in indicator.specs]
    assert len(names) == len(set(names)) == 66
    assert sum(name.startswith("chart_") for name in names) == 5


@pytest.mark.parametrize("length", [0, 1, 4, 7, 40, 70])
def test_histories_shorter_than_the_windows_work(length: int) -> None:
    bars = drawn(HEAD_AND_SHOULDERS).head(length) if length else drawn([(0, 1.0)]).head(0)
    for indicator in patterns.default_indicators():
        for spec, column in zip(indicator.specs, both_paths(indicator, bars).values(), strict=True):
            assert column.shape == (length,)
            assert np.isnan(column[: spec.warmup]).all()
