import json

import numpy as np
import pytest

from trading_agent.models.base import ModelInputError
from trading_agent.models.calibration import (
    CalibrationMethod,
    Calibrator,
    expected_calibration_error,
    reliability_table,
)


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw probabilities that push the true probability away from 0.5 (a typical overfit model)."""
    rng = np.random.default_rng(seed)
    true_p = rng.uniform(0.2, 0.8, n)
    y = (rng.uniform(size=n) < true_p).astype(int)
    raw = 1.0 / (1.0 + np.exp(-3.0 * np.log(true_p / (1 - true_p))))
    return raw, y


@pytest.mark.parametrize("method", list(CalibrationMethod))
def test_calibration_brings_the_hit_rate_to_the_stated_probability(method: CalibrationMethod) -> None:
    raw, y = _overconfident(20_000, seed=1)
    fresh_raw, fresh_y = _overconfident(20_000, seed=2)
    calibrator = Calibrator.fit(raw, y, method)
    before = expected_calibration_error(fresh_raw, fresh_y)
    after = expected_calibration_error(calibrator.apply(fresh_raw), fresh_y)
    assert before > 0.08
    assert after < 0.02


@pytest.mark.parametrize("method", list(CalibrationMethod))
def test_calibrators_are_monotone_and_survive_json(method: CalibrationMethod) -> None:
    raw, y = _overconfident(5_000, seed=3)
    calibrator = Calibrator.fit(raw, y, method)
    grid = np.linspace(0, 1, 101)
    out = calibrator.apply(grid)
    assert np.all(np.diff(out) >= -1e-12)
    assert np.all((out >= 0) & (out <= 1))
    again = Calibrator.from_json(json.loads(json.dumps(calibrator.to_json())))
    np.testing.assert_array_equal(again.apply(grid), out)


def test_reliability_table_by_hand() -> None:
    p = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    y = np.array([0, 0, 1, 1, 1])
    table = reliability_table(p, y, bins=10)
    assert table["count"].tolist() == [1, 2, 2]
    assert table["observed_rate"].tolist() == [0.0, 0.5, 1.0]
    assert table["mean_predicted"].tolist() == pytest.approx([0.05, 0.15, 0.975])
    assert expected_calibration_error(p, y, bins=10) == pytest.approx((0.05 + 2 * 0.35 + 2 * 0.025) / 5)


@pytest.mark.parametrize(
    ("p", "y", "message"),
    [
        (np.array([0.2, np.nan]), np.array([0, 1]), "finite"),
        (np.array([0.2, 1.2]), np.array([0, 1]), "in \\[0, 1\\]"),
        (np.array([0.2, 0.3]), np.array([0, 2]), "0 or 1"),
        (np.array([0.2, 0.3]), np.array([1, 1]), "both outcomes"),
        (np.array([0.2, 0.3]), np.array([1]), "match"),
    ],
)
def test_bad_calibration_input_is_named(p: np.ndarray, y: np.ndarray, message: str) -> None:
    with pytest.raises(ModelInputError, match=message):
        Calibrator.fit(p, y)
