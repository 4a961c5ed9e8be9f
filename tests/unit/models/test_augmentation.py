"""Training-data augmentation: each transform's shape and statistics, the decision-row invariant, determinism,
"off" training exactly as before, and augmentation confined to training (never the hold-out or predict)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.testkit.models import SEQUENCE_TRAIN, sequence_dataset, tiny_sequence_model
from trading_agent.models import sequence
from trading_agent.models.augmentation import (
    Augmentation,
    augment,
    jitter,
    scale_magnitude,
    slice_windows,
    warp_time,
)
from trading_agent.models.base import ModelInputError
from trading_agent.models.catalog import make_model
from trading_agent.models.sequence import SEQUENCE_MODELS

ALL_ON = Augmentation(jitter_sigma=0.05, scaling_sigma=0.1, slice_fraction=0.2, warp_sigma=0.2, seed=3)


def standardised(n: int = 400, window: int = 16, features: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, window, features)).astype(np.float32)


def rng(seed: int = 1) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize(
    "transform",
    [
        lambda X, r: jitter(X, 0.1, r),
        lambda X, r: scale_magnitude(X, 0.1, r),
        lambda X, r: slice_windows(X, 0.3, r),
        lambda X, r: warp_time(X, 0.3, r),
        lambda X, r: augment(X, ALL_ON, r),
    ],
    ids=["jitter", "scaling", "slicing", "warping", "all"],
)
def test_shape_dtype_and_input_untouched(transform: Any) -> None:
    X = standardised()
    before = X.copy()
    out = transform(X, rng())
    assert out.shape == X.shape and out.dtype == X.dtype
    assert np.all(np.isfinite(out)) and not np.array_equal(out, X)
    np.testing.assert_array_equal(X, before)


def test_jitter_statistics() -> None:
    X = standardised(n=2000)
    noise = jitter(X, 0.2, rng()) - X
    assert abs(noise.mean()) < 0.005
    assert noise.std() == pytest.approx(0.2, rel=0.02)


def test_scaling_is_one_factor_per_window_around_one() -> None:
    X = standardised(n=4000)
    ratio = scale_magnitude(X, 0.1, rng()) / X
    factors = ratio[:, 0, 0]
    np.testing.assert_allclose(ratio, factors[:, None, None] * np.ones_like(ratio), rtol=1e-5)
    assert factors.mean() == pytest.approx(1.0, abs=0.01)
    assert factors.std() == pytest.approx(0.1, rel=0.05)


@pytest.mark.parametrize("transform", [lambda X, r: slice_windows(X, 0.5, r), lambda X, r: warp_time(X, 0.5, r)])
def test_slicing_and_warping_keep_the_decision_row(transform: Any) -> None:
    X = standardised()
    out = transform(X, rng())
    np.testing.assert_array_equal(out[:, -1], X[:, -1])  # the row the label belongs to, exactly
    assert not np.allclose(out[:, :-1], X[:, :-1])


def test_slicing_stretches_the_kept_tail_linearly() -> None:
    window = 9
    ramp = np.broadcast_to(np.arange(window, dtype=np.float64)[None, :, None], (50, window, 1)).copy()
    out = slice_windows(ramp, 0.5, rng())
    steps = np.diff(out[:, :, 0], axis=1)
    np.testing.assert_allclose(steps, steps[:, :1] * np.ones_like(steps), atol=1e-9)  # still a straight line
    kept = 1 + (window - 1) * steps[:, 0]  # rows covered, from the slope
    assert np.all((kept >= np.ceil(0.5 * window) - 1e-9) & (kept <= window + 1e-9))
    assert np.all(out[:, 0, 0] >= 0) and len(np.unique(np.round(kept))) > 1


def test_warping_is_monotone_in_time() -> None:
    window = 20
    ramp = np.broadcast_to(np.arange(window, dtype=np.float64)[None, :, None], (100, window, 1)).copy()
    out = warp_time(ramp, 0.5, rng())
    assert np.all(np.diff(out[:, :, 0], axis=1) > 0)
    np.testing.assert_array_equal(out[:, 0, 0], 0.0)


def test_deterministic_with_the_seed() -> None:
    X = standardised()
    np.testing.assert_array_equal(augment(X, ALL_ON, rng(7)), augment(X, ALL_ON, rng(7)))
    assert not np.array_equal(augment(X, ALL_ON, rng(7)), augment(X, ALL_ON, rng(8)))


def test_config_validation_and_dict_form() -> None:
    assert not Augmentation().enabled and ALL_ON.enabled
    assert Augmentation.from_value(ALL_ON.to_dict()) == ALL_ON
    assert Augmentation.from_value(None) is None
    for bad in ({"jitter_sigma": -1.0}, {"slice_fraction": 1.0}, {"copies": 0}, {"warp_knots": 1}, {"nope": 1}):
        with pytest.raises(ModelInputError):
            Augmentation.from_value(bad)
    with pytest.raises(ModelInputError):
        augment(np.zeros((3, 4)), ALL_ON, rng())


# -- inside the sequence models ------------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("one_torch_thread")
GRU_PARAMS: dict[str, Any] = {"epochs": 4}


def fit_gru(**params: Any) -> tuple[Any, np.ndarray]:
    X, y = sequence_dataset()
    model = tiny_sequence_model("gru", **GRU_PARAMS, **params).fit(X[:SEQUENCE_TRAIN], y[:SEQUENCE_TRAIN])
    return model, X[SEQUENCE_TRAIN:]


def test_off_trains_exactly_as_without_it() -> None:
    plain, X_test = fit_gru()
    disabled, _ = fit_gru(augmentation=Augmentation(copies=3))
    np.testing.assert_array_equal(plain.predict_proba(X_test), disabled.predict_proba(X_test))
    assert plain.params["augmentation"] is None
    assert plain.history_ == disabled.history_


def test_augmented_training_differs_and_is_deterministic() -> None:
    plain, X_test = fit_gru()
    first, _ = fit_gru(augmentation=ALL_ON.to_dict())
    second, _ = fit_gru(augmentation=ALL_ON)
    proba = first.predict_proba(X_test)
    np.testing.assert_array_equal(proba, second.predict_proba(X_test))
    assert not np.array_equal(proba, plain.predict_proba(X_test))
    assert first.augmentation == ALL_ON


def test_only_training_windows_are_augmented(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = sequence_dataset()
    seen: list[np.ndarray] = []
    real_augment = sequence.augment

    def spy(windows: np.ndarray, config: Augmentation, generator: np.random.Generator) -> np.ndarray:
        seen.append(windows)
        return real_augment(windows, config, generator)

    monkeypatch.setattr(sequence, "augment", spy)
    model = tiny_sequence_model("tcn", epochs=3, patience=10, augmentation=ALL_ON)
    model.fit(X[:SEQUENCE_TRAIN], y[:SEQUENCE_TRAIN])
    n_train, _ = sequence.early_stopping_split(
        SEQUENCE_TRAIN, model.window, float(model.params["early_stopping_fraction"])
    )
    assert len(seen) == 3 and all(len(w) == n_train for w in seen)  # one copy per epoch, training windows only
    mean, std = model.scaler
    np.testing.assert_allclose(seen[0], (X[:n_train] - mean) / std, rtol=1e-4, atol=1e-4)  # standardised units

    def refuse(*_: object) -> np.ndarray:
        raise AssertionError("augment called outside training")

    monkeypatch.setattr(sequence, "augment", refuse)
    X_test = X[SEQUENCE_TRAIN:]
    np.testing.assert_array_equal(model.predict_proba(X_test), model.predict_proba(X_test))


def test_catalog_dict_form_and_save_load_round_trip(tmp_path: Path) -> None:
    model = make_model("gru", window=8, hidden=8, layers=1, epochs=2, augmentation={"jitter_sigma": 0.05})
    assert isinstance(model, SEQUENCE_MODELS["gru"])
    X, y = sequence_dataset()
    model.fit(X[:SEQUENCE_TRAIN], y[:SEQUENCE_TRAIN])
    model.save(tmp_path / "gru")
    loaded = SEQUENCE_MODELS["gru"].load(tmp_path / "gru")
    assert loaded.augmentation == Augmentation(jitter_sigma=0.05)
    assert loaded.metadata.params == model.metadata.params
    np.testing.assert_array_equal(loaded.predict_proba(X[SEQUENCE_TRAIN:]), model.predict_proba(X[SEQUENCE_TRAIN:]))
