import numpy as np

from trading_agent.data.quality import robust_zscore


def test_matches_the_modified_z_score() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    z = robust_zscore(x)
    assert z[2] == 0 and np.isclose(z[-1], 0.6745 * 97 / 1, rtol=1e-4)


def test_nan_stays_nan_and_is_ignored_for_the_scale() -> None:
    z = robust_zscore(np.array([np.nan, 1.0, 2.0, 3.0]))
    assert np.isnan(z[0]) and np.allclose(z[1:], [-0.6745, 0, 0.6745], atol=1e-4)


def test_mostly_equal_values_fall_back_to_the_mean_deviation() -> None:
    z = robust_zscore(np.array([0.0] * 8 + [1.0, 2.0]))
    assert np.isfinite(z).all() and z[-1] > z[-2] > 0
    assert (robust_zscore(np.full(5, 3.0)) == 0).all()
    assert np.isnan(robust_zscore(np.array([np.nan]))).all()
