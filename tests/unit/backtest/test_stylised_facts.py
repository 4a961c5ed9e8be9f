"""Stylised facts: Gaussian noise has none, a GARCH series has clustering and fat tails, pooling over pieces."""

from __future__ import annotations

import numpy as np
import pytest

from tests.testkit.features import garch_returns
from trading_agent.backtest.stylised_facts import ABS_LAGS, RETURN_LAGS, StylisedFactsError, segments, stylised_facts


def test_gaussian_noise_has_no_stylised_fact() -> None:
    facts = stylised_facts(np.random.default_rng(0).normal(0.001, 0.01, size=(100, 2000)))
    assert abs(facts.excess_kurtosis) < 0.05
    assert facts.q01_sigma == pytest.approx(-2.326, abs=0.03) and facts.q99_sigma == pytest.approx(2.326, abs=0.03)
    assert len(facts.acf_returns) == len(RETURN_LAGS) and len(facts.acf_abs) == len(ABS_LAGS)
    assert max(abs(a) for a in (*facts.acf_returns, *facts.acf_abs, facts.leverage)) < 0.01
    assert (facts.n_series, facts.length) == (100, 2000)


def test_garch_has_fat_tails_and_clustering() -> None:
    facts = stylised_facts(garch_returns(50_000))
    assert facts.excess_kurtosis > 1.0 and facts.q99_sigma > 2.4
    assert all(a > 0.05 for a in facts.acf_abs) and facts.acf_abs[0] > facts.acf_abs[-1]
    assert max(abs(a) for a in facts.acf_returns) < 0.03


def test_pooled_over_pieces_matches_the_whole_series() -> None:
    series = garch_returns(40_000)
    whole, pieces = stylised_facts(series), stylised_facts(segments(series, 4_000))
    assert pieces.n_series == 10 and pieces.length == 4_000
    assert pieces.excess_kurtosis == pytest.approx(whole.excess_kurtosis, rel=0.1)
    np.testing.assert_allclose(pieces.acf_abs, whole.acf_abs, atol=0.03)


def test_segments_and_errors() -> None:
    assert segments(np.arange(10.0), 3).tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    with pytest.raises(StylisedFactsError):
        segments(np.arange(10.0), 11)
    with pytest.raises(StylisedFactsError):
        stylised_facts(np.zeros(100))
    with pytest.raises(StylisedFactsError):
        stylised_facts(np.ones(10))
    with pytest.raises(StylisedFactsError):
        stylised_facts(np.array([np.nan] * 100))
