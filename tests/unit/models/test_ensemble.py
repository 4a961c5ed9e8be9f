from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import log_loss

from trading_agent.models.base import ModelInputError
from trading_agent.models.ensemble import AdaptiveBlender, MLPMeta, Stacking, WeightedBlend, load_combiner


def _bases(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three base models of a known quality: informative, weakly informative, pure noise."""
    rng = np.random.default_rng(seed)
    true_p = rng.uniform(0.1, 0.9, n)
    y = (rng.uniform(size=n) < true_p).astype(int)
    good = true_p
    weak = 0.5 + 0.3 * (true_p - 0.5) + rng.normal(0, 0.05, n)
    noise = rng.uniform(0.05, 0.95, n)
    return np.clip(np.column_stack([good, weak, noise]), 0.01, 0.99), y


def test_the_blend_puts_its_weight_on_the_informative_model() -> None:
    P, y = _bases(5_000, seed=0)
    blend = WeightedBlend().fit(P, y)
    assert blend.weights is not None
    assert blend.weights.sum() == pytest.approx(1.0)
    assert blend.weights[0] > 0.8 and blend.weights[2] < 0.1


@pytest.mark.parametrize("meta", [WeightedBlend, Stacking, MLPMeta])
def test_fitted_meta_models_beat_the_plain_average_out_of_sample(meta: type, tmp_path: Path) -> None:
    P, y = _bases(5_000, seed=1)
    fresh_P, fresh_y = _bases(5_000, seed=2)
    model = meta().fit(P, y)
    combined = model.combine(fresh_P)
    assert np.all((combined >= 0) & (combined <= 1))
    assert log_loss(fresh_y, combined) < log_loss(fresh_y, fresh_P.mean(axis=1)) - 0.01
    model.save(tmp_path / "meta.joblib")
    np.testing.assert_array_equal(load_combiner(tmp_path / "meta.joblib").combine(fresh_P), combined)


@pytest.mark.parametrize("meta", [WeightedBlend, Stacking, MLPMeta])
def test_meta_models_check_their_input(meta: type) -> None:
    P, y = _bases(200, seed=3)
    with pytest.raises(ModelInputError, match="not fitted"):
        meta().combine(P)
    with pytest.raises(ModelInputError, match="both outcomes"):
        meta().fit(P, np.ones(200, dtype=int))
    fitted = meta().fit(P, y)
    with pytest.raises(ModelInputError, match="fitted on 3 models"):
        fitted.combine(P[:, :2])
    with pytest.raises(ModelInputError, match="finite"):
        fitted.combine(np.full((2, 3), np.nan))


def test_adaptive_weights_follow_recent_hit_rates_by_hand() -> None:
    blender = AdaptiveBlender(n_models=2, lookback=4, min_history=2)
    assert blender.weights().tolist() == [0.5, 0.5]
    for outcome in (1, 1, 0, 1):  # model 0 always says up, model 1 always says down
        blender.update(np.array([0.9, 0.2]), outcome)
    np.testing.assert_allclose(blender.weights(), [0.75, 0.25])
    blended = blender.predict(np.array([0.9, 0.2]))
    assert blended.prediction == pytest.approx(0.75 * 0.9 + 0.25 * 0.2)
    # agreement = 1 - std([0.9, 0.2]) = 0.65; the ensemble (0.55 then 0.725 ... > 0.5) said up each time: 3/4 hits
    assert blended.confidence == pytest.approx(0.65 * 0.75)


def test_replay_learns_an_outcome_only_once_it_is_known() -> None:
    P, y = _bases(300, seed=4)
    known_at = np.minimum(np.arange(300) + 5, 299)
    known_at[-5:] = -1
    full_pred, full_conf = AdaptiveBlender(3, lookback=50).replay(P, y, known_at)
    cut = 200
    part_pred, part_conf = AdaptiveBlender(3, lookback=50).replay(
        P[:cut], y[:cut], np.where(known_at[:cut] < cut, known_at[:cut], -1)
    )
    np.testing.assert_array_equal(part_pred, full_pred[:cut])
    np.testing.assert_array_equal(part_conf, full_conf[:cut])
    changed_future = y.copy()
    changed_future[cut - 4 :] = 1 - changed_future[cut - 4 :]  # outcomes not yet known at row cut
    other_pred, _ = AdaptiveBlender(3, lookback=50).replay(P, changed_future, known_at)
    np.testing.assert_array_equal(other_pred[:cut], full_pred[:cut])
