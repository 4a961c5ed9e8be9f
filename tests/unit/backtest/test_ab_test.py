"""The paired A/B test of two return series over the same candles."""

from __future__ import annotations

import numpy as np
import pytest

from trading_agent.backtest.ab_test import paired_return_test
from trading_agent.backtest.metrics_inputs import MetricsInputError


def _market(n: int = 24 * 120, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.004, n)


def test_the_same_strategy_twice_shows_no_difference() -> None:
    a = _market()
    result = paired_return_test(a, a.copy())
    assert result.verdict == "no significant difference" and result.t_p_value == 1.0 and result.mean_difference == 0


def test_a_real_edge_is_found_whichever_side_it_is_on() -> None:
    a = _market()
    noise = np.random.default_rng(1).normal(0, 0.001, a.size)
    b = a + noise + 0.0004  # about 1% a day better, on the same market moves
    forward, backward = paired_return_test(a, b), paired_return_test(b, a)
    assert forward.verdict == "b" and forward.t_p_value < 1e-6 and forward.ci_low > 0
    assert backward.verdict == "a" and backward.ci_high < 0
    assert forward.buckets == 120 and forward.candles_per_bucket == 24


def test_two_skill_free_strategies_are_not_told_apart() -> None:
    market = _market(seed=2)
    rng = np.random.default_rng(3)
    a = market * rng.choice([-1, 1], market.size)  # random positions, no skill
    b = market * rng.choice([-1, 1], market.size)
    result = paired_return_test(a, b)
    assert result.verdict == "no significant difference" and result.t_p_value > 0.05
    assert result.ci_low < 0 < result.ci_high


def test_buckets_compound_the_candle_returns() -> None:
    a = np.full(24 * 12, 0.01)
    b = np.tile([0.0, 0.02, -0.02, 0.0], 6 * 12)  # each day compounds to (1.02 * 0.98) ** 6 - 1
    result = paired_return_test(a, b, bucket=24)
    assert result.mean_difference == pytest.approx((1.02 * 0.98) ** 6 - 1 - (1.01**24 - 1))
    assert result.verdict == "a"


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "message"),
    [
        (np.zeros(300), np.zeros(299), {}, "aligned"),
        (np.zeros(100), np.zeros(100), {}, "at least 10"),
        (np.full(300, np.nan), np.zeros(300), {}, "finite"),
        (np.zeros(300), np.zeros(300), {"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_input_is_refused(a: np.ndarray, b: np.ndarray, kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(MetricsInputError, match=message):
        paired_return_test(a, b, **kwargs)
