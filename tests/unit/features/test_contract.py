"""Every indicator of the default set: streaming == batch, declared warm-up, no look-ahead, restorable.

Parametrised over the registry, so an indicator added to any group is checked without a new test.
Tolerance: 1e-9 relative to the column's scale (values that cross zero, such as a MACD histogram,
have no meaningful per-value relative error).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tests.testkit.features import column_scale, real_bars, stream
from trading_agent.features import build_indicators, feature_specs
from trading_agent.features.indicator import Indicator

INDICATORS = build_indicators("default")
IDS = [",".join(spec.name for spec in indicator.specs)[:60] for indicator in INDICATORS]
CUTS = (150, 777, 1234, 2999)


def _assert_same(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=f"{what}: NaN positions differ")
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9 * column_scale(expected), err_msg=what)


def test_the_default_set_has_at_least_100_uniquely_named_features() -> None:
    names = [spec.name for spec in feature_specs("default")]
    assert len(names) >= 100
    assert len(set(names)) == len(names)
    assert {spec.group for spec in feature_specs("default")} >= {
        "price",
        "momentum",
        "volatility",
        "volume",
        "statistical",
        "pattern",
        "derived",
    }


@pytest.mark.real_data
@pytest.mark.parametrize("indicator", INDICATORS, ids=IDS)
def test_streaming_equals_batch_on_real_candles(indicator: Indicator) -> None:
    bars = real_bars()
    batch = indicator.batch(bars)
    streamed = stream(indicator, bars)
    assert len(batch) == len(indicator.specs)
    for spec, expected, actual in zip(indicator.specs, batch, streamed, strict=True):
        assert expected.shape == (len(bars),), spec.name
        _assert_same(actual, expected, spec.name)


@pytest.mark.real_data
@pytest.mark.parametrize("indicator", INDICATORS, ids=IDS)
def test_warmup_is_as_declared(indicator: Indicator) -> None:
    bars = real_bars()
    for spec, values in zip(indicator.specs, indicator.batch(bars), strict=True):
        assert np.isnan(values[: spec.warmup]).all(), f"{spec.name} has values before its warm-up"
        assert not np.isnan(values[spec.warmup]), f"{spec.name} is NaN at bar {spec.warmup}, its declared warm-up"


@pytest.mark.real_data
@pytest.mark.parametrize("indicator", INDICATORS, ids=IDS)
def test_no_look_ahead_under_truncation(indicator: Indicator) -> None:
    bars = real_bars()
    full = indicator.batch(bars)
    for cut in CUTS:
        truncated = indicator.batch(bars.head(cut))
        for spec, whole, part in zip(indicator.specs, full, truncated, strict=True):
            _assert_same(part, whole[:cut], f"{spec.name} at cut {cut}")


@pytest.mark.real_data
@pytest.mark.parametrize("indicator", INDICATORS, ids=IDS)
def test_streamer_survives_save_and_restore(indicator: Indicator) -> None:
    bars = real_bars(600)
    streamer = indicator.streamer()
    for i in range(300):
        streamer.update(bars.bar(i))
    clone = pickle.loads(pickle.dumps(streamer))
    for i in range(300, 600):
        assert np.allclose(clone.update(bars.bar(i)), streamer.update(bars.bar(i)), equal_nan=True)
