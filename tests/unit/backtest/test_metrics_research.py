"""Deflated Sharpe ratio and PBO: the formulas by hand on tiny inputs, seeded behaviour, properties."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_agent.backtest import metrics
from trading_agent.backtest.metrics import MetricsInputError

NORMAL = NormalDist()
EULER_GAMMA = 0.5772156649015329

# Bernoulli-shaped returns: one +3% bar in four. mean .0075; centred .0225, -.0075 x 3;
# population m2 = .00016875, skew = (1 - 2p) / sqrt(p(1 - p)) = 2 / sqrt(3) for p = 1/4,
# kurtosis (not excess) = (1 - 3p(1 - p)) / (p(1 - p)) = 7/3; sample stdev sqrt(.000675 / 3) = .015,
# so the per-bar Sharpe is .0075 / .015 = 0.5 and T = 4.
SKEWED = np.array([0.03, 0.0, 0.0, 0.0])
SKEW, KURTOSIS, SHARPE, T = 2 / math.sqrt(3), 7 / 3, 0.5, 4


def psr_by_hand(benchmark: float) -> float:
    spread = 1 - SKEW * SHARPE + (KURTOSIS - 1) / 4 * SHARPE**2  # 1 - 0.57735 + 0.08333 = 0.50598
    return NORMAL.cdf((SHARPE - benchmark) * math.sqrt(T - 1) / math.sqrt(spread))


class TestDeflatedSharpeByHand:
    def test_probabilistic_sharpe_of_the_skewed_sample(self) -> None:
        # z = 0.5 * sqrt(3) / sqrt(0.50598) = 1.21748, Phi(z) = 0.88828
        assert psr_by_hand(0.0) == pytest.approx(0.88828, abs=1e-5)
        assert metrics.probabilistic_sharpe_ratio(SKEWED, periods_per_year=1) == pytest.approx(psr_by_hand(0.0))
        # the benchmark is annualised like the Sharpe: 0.2 per bar is 0.2 * sqrt(8760) a year
        annual = 0.2 * math.sqrt(8760)
        assert metrics.probabilistic_sharpe_ratio(
            SKEWED, benchmark_sharpe=annual, periods_per_year=8760
        ) == pytest.approx(psr_by_hand(0.2))

    def test_one_trial_is_not_deflated(self) -> None:
        assert metrics.expected_max_sharpe(1, 0.3) == 0.0
        assert metrics.deflated_sharpe_ratio(SKEWED, n_trials=1, periods_per_year=1) == pytest.approx(psr_by_hand(0.0))

    def test_expected_maximum_of_ten_trials(self) -> None:
        # trial Sharpes .1 and .3 per bar: sample variance .02
        # SR0 = sqrt(.02) * ((1 - g) * Phi^-1(1 - 1/10) + g * Phi^-1(1 - 1/(10 e)))
        #     = 0.141421 * (0.422784 * 1.281552 + 0.577216 * 1.789...) = 0.2227
        sr0 = math.sqrt(0.02) * (
            (1 - EULER_GAMMA) * NORMAL.inv_cdf(0.9) + EULER_GAMMA * NORMAL.inv_cdf(1 - 1 / (10 * math.e))
        )
        assert sr0 == pytest.approx(0.2227, abs=1e-4)
        assert metrics.expected_max_sharpe(10, 0.02) == pytest.approx(sr0, rel=1e-12)
        dsr = metrics.deflated_sharpe_ratio(SKEWED, n_trials=10, trial_sharpes=[0.1, 0.3], periods_per_year=1)
        assert dsr == pytest.approx(psr_by_hand(sr0), rel=1e-12)
        assert dsr < psr_by_hand(0.0)

    def test_trial_sharpes_are_annualised_like_the_returns(self) -> None:
        per_bar = metrics.deflated_sharpe_ratio(SKEWED, n_trials=10, trial_sharpes=[0.1, 0.3], periods_per_year=1)
        scale = math.sqrt(8760)
        annual = metrics.deflated_sharpe_ratio(
            SKEWED, n_trials=10, trial_sharpes=[0.1 * scale, 0.3 * scale], periods_per_year=8760
        )
        assert annual == pytest.approx(per_bar, rel=1e-9)

    def test_undefined(self) -> None:
        assert math.isnan(metrics.deflated_sharpe_ratio(np.zeros(50), n_trials=1, periods_per_year=1))
        assert math.isnan(metrics.deflated_sharpe_ratio([0.01, 0.02], n_trials=1, periods_per_year=1))

    def test_bad_input(self) -> None:
        with pytest.raises(MetricsInputError, match=r"trial_sharpes .* required"):
            metrics.deflated_sharpe_ratio(SKEWED, n_trials=5, periods_per_year=1)
        with pytest.raises(MetricsInputError, match=r"trial_sharpes .* required"):
            metrics.deflated_sharpe_ratio(SKEWED, n_trials=5, trial_sharpes=[0.1], periods_per_year=1)
        with pytest.raises(MetricsInputError, match=r"n_trials \(2\) is smaller than the 3 trial_sharpes"):
            metrics.deflated_sharpe_ratio(SKEWED, n_trials=2, trial_sharpes=[0.1, 0.2, 0.3], periods_per_year=1)
        for bad in (0, -1, 2.5, True):
            with pytest.raises(MetricsInputError, match="n_trials must be an integer"):
                metrics.deflated_sharpe_ratio(SKEWED, n_trials=bad, periods_per_year=1)  # type: ignore[arg-type]
        with pytest.raises(MetricsInputError, match="sharpe_variance"):
            metrics.expected_max_sharpe(3, -0.1)


class TestDeflatedSharpeProperties:
    @settings(max_examples=100, deadline=None)
    @given(
        st.integers(0, 10_000),
        st.floats(-0.002, 0.004),
        st.floats(0.01, 2.0),
        st.integers(1, 500),
    )
    def test_a_probability_that_falls_with_more_trials(
        self, seed: int, drift: float, trial_spread: float, n_trials: int
    ) -> None:
        returns = np.random.default_rng(seed).standard_t(5, 400) * 0.01 + drift
        trial_sharpes = [0.0, trial_spread]
        fewer = metrics.deflated_sharpe_ratio(
            returns, n_trials=max(n_trials, 2), trial_sharpes=trial_sharpes, periods_per_year=365
        )
        more = metrics.deflated_sharpe_ratio(
            returns, n_trials=max(n_trials, 2) * 3, trial_sharpes=trial_sharpes, periods_per_year=365
        )
        assert 0.0 <= more <= fewer <= 1.0
        assert fewer <= metrics.deflated_sharpe_ratio(returns, n_trials=1, periods_per_year=365)

    def test_the_expected_maximum_grows_with_the_trials(self) -> None:
        values = [metrics.expected_max_sharpe(n, 1.0) for n in (1, 2, 5, 10, 100, 1000, 10**6)]
        assert values == sorted(values)
        assert values[0] == 0.0
        # the expected maximum of 1000 standard normals is about 3.24
        assert values[5] == pytest.approx(3.24, abs=0.03)


def ramp_block(level: float) -> list[float]:
    return [level - 0.01, level + 0.01]


class TestPBOByHand:
    def test_two_blocks_three_trials(self) -> None:
        # rows 0-1 are block 1, rows 2-3 block 2; per-bar Sharpe of (m - .01, m + .01) is m / .01414
        # block 1: A .02, B .01, C 0 -> the in-sample best is A; in block 2 A is the worst (rank 1):
        #   w = 1/4, logit ln(1/3)
        # block 2: A 0, B .02, C .01 -> the best is B; in block 1 B is in the middle (rank 2):
        #   w = 2/4, logit 0, which counts as overfit (at the median)
        a = ramp_block(0.02) + ramp_block(0.0)
        b = ramp_block(0.01) + ramp_block(0.02)
        c = ramp_block(0.0) + ramp_block(0.01)
        matrix = np.array([a, b, c]).T
        np.testing.assert_allclose(metrics.pbo_logits(matrix, n_blocks=2), [math.log(1 / 3), 0.0], atol=1e-12)
        assert metrics.pbo(matrix, n_blocks=2) == 1.0

    def test_a_trial_that_wins_in_both_blocks(self) -> None:
        a = ramp_block(0.03) + ramp_block(0.03)
        b = ramp_block(0.01) + ramp_block(0.02)
        c = ramp_block(0.0) + ramp_block(0.01)
        matrix = np.array([a, b, c]).T
        # A is best in and out of sample both ways: rank 3, w = 3/4, logit ln 3
        np.testing.assert_allclose(metrics.pbo_logits(matrix, n_blocks=2), [math.log(3)] * 2, atol=1e-12)
        assert metrics.pbo(matrix, n_blocks=2) == 0.0

    def test_ties_share_the_average_rank(self) -> None:
        # two identical trials: whichever wins in sample ties with the other out of sample: rank 1.5,
        # w = 1.5 / 3 = 0.5, logit 0
        column = ramp_block(0.01) + ramp_block(-0.01)
        matrix = np.array([column, column]).T
        np.testing.assert_allclose(metrics.pbo_logits(matrix, n_blocks=2), [0.0, 0.0], atol=1e-12)

    def test_the_number_of_splits(self) -> None:
        matrix = np.random.default_rng(0).normal(0, 0.01, (64, 4))
        assert metrics.pbo_logits(matrix, n_blocks=8).size == math.comb(8, 4)
        assert metrics.pbo_logits(matrix, n_blocks=6).size == math.comb(6, 3)  # 64 rows: blocks of 10 and 11

    def test_bad_input(self) -> None:
        matrix = np.random.default_rng(0).normal(0, 0.01, (64, 4))
        with pytest.raises(MetricsInputError, match="n_blocks must be an even integer"):
            metrics.pbo(matrix, n_blocks=7)
        with pytest.raises(MetricsInputError, match="n_blocks must be an even integer"):
            metrics.pbo(matrix, n_blocks=0)
        with pytest.raises(MetricsInputError, match=r"at least 2 \* n_blocks = 64 rows, got 63"):
            metrics.pbo(matrix[:63], n_blocks=32)
        with pytest.raises(MetricsInputError, match="at least 2 trials"):
            metrics.pbo(matrix[:, :1], n_blocks=4)
        with pytest.raises(MetricsInputError, match="T x N matrix"):
            metrics.pbo(matrix[:, 0], n_blocks=4)
        broken = matrix.copy()
        broken[3, 2] = math.nan
        with pytest.raises(MetricsInputError, match="trial_returns must be finite"):
            metrics.pbo(broken, n_blocks=4)


class TestPBOBehaviour:
    def test_noise_trials_overfit_half_the_time(self) -> None:
        # One noise matrix's PBO swings widely (its splits share data), so average 40 seeded ones.
        rng = np.random.default_rng(2015)
        values = [metrics.pbo(rng.normal(0, 0.01, (400, 10)), n_blocks=10) for _ in range(40)]
        assert 0.35 <= float(np.mean(values)) <= 0.65

    def test_a_genuinely_better_trial_is_not_overfit(self) -> None:
        rng = np.random.default_rng(2015)
        matrix = rng.normal(0, 0.01, (1600, 20))
        matrix[:, 7] += 0.005  # half a stdev better per bar, in every block
        assert metrics.pbo(matrix, n_blocks=16) <= 0.01

    def test_flat_trials_rank_by_the_sign_of_their_mean(self) -> None:
        rng = np.random.default_rng(5)
        matrix = np.column_stack([np.zeros(40), np.full(40, 0.001), rng.normal(0, 0.01, 40)])
        # the constant +0.1% trial has an infinite Sharpe in every block: always best, never overfit
        assert metrics.pbo(matrix, n_blocks=4) == 0.0

    @settings(max_examples=50, deadline=None)
    @given(st.integers(0, 10_000), st.integers(2, 12), st.sampled_from([2, 4, 6, 8]))
    def test_a_fraction(self, seed: int, n_trials: int, n_blocks: int) -> None:
        rng = np.random.default_rng(seed)
        matrix = rng.standard_t(3, (2 * n_blocks + seed % 50, n_trials)) * 0.01 + rng.normal(0, 0.002, n_trials)
        value = metrics.pbo(matrix, n_blocks=n_blocks)
        assert 0.0 <= value <= 1.0
        assert value * math.comb(n_blocks, n_blocks // 2) == pytest.approx(
            round(value * math.comb(n_blocks, n_blocks // 2))
        )
