from pathlib import Path

import numpy as np
import pytest

from trading_agent.models.base import (
    InputKind,
    ModelInputError,
    ModelMetadata,
    check_fit_inputs,
    check_predict_input,
    read_metadata,
    windows,
    write_metadata,
)

META = ModelMetadata("m", "test", InputKind.SEQUENCE, ("a", "b"), (-1, 1), window=3, params={"depth": 2})


def test_metadata_round_trips_through_its_file(tmp_path: Path) -> None:
    write_metadata(tmp_path / "model", META)
    assert read_metadata(tmp_path / "model") == META


def test_reading_a_directory_without_metadata_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelInputError, match=r"metadata\.json is missing"):
        read_metadata(tmp_path)


def test_a_window_ends_at_its_row_and_sees_nothing_later() -> None:
    X = np.arange(20.0).reshape(10, 2)
    view = windows(X, 3)
    assert view.shape == (8, 3, 2)
    for i in range(8):
        np.testing.assert_array_equal(view[i], X[i : i + 3])
    truncated = windows(X[:6], 3)
    np.testing.assert_array_equal(truncated, view[:4])
    with pytest.raises(ModelInputError, match="window"):
        windows(X, 11)


@pytest.mark.parametrize(
    ("X", "y", "weights", "message"),
    [
        (np.zeros((3, 2, 2)), np.array([0, 1, 0]), None, "2 dimensions"),
        (np.zeros((3, 2)), np.array([0, 1]), None, "one label per sample"),
        (np.zeros((0, 2)), np.array([]), None, "no samples"),
        (np.zeros((3, 2)), np.array([0, 1, np.nan]), None, "finite integer"),
        (np.zeros((3, 2)), np.array([0, 0.5, 1]), None, "finite integer"),
        (np.zeros((3, 2)), np.array([1, 1, 1]), None, "single class"),
        (np.zeros((3, 2)), np.array([0, 1, 0]), np.array([1.0, -1.0, 1.0]), "non-negative"),
        (np.zeros((3, 2)), np.array([0, 1, 0]), np.array([1.0, 1.0]), "shape"),
    ],
)
def test_bad_fit_input_is_named(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None, message: str) -> None:
    with pytest.raises(ModelInputError, match=message):
        check_fit_inputs(X, y, weights, input_kind=InputKind.TABULAR)


def test_fit_inputs_are_converted() -> None:
    X, y, w = check_fit_inputs(np.ones((3, 2)), np.array([-1.0, 1.0, 0.0]), None, input_kind=InputKind.TABULAR)
    assert X.dtype == np.float32 and y.dtype == np.int64 and y.tolist() == [-1, 1, 0] and w is None


def test_predict_input_must_match_the_fitted_shape() -> None:
    assert check_predict_input(np.zeros((4, 3, 2)), META).dtype == np.float32
    with pytest.raises(ModelInputError, match=r"expects samples of shape \(3, 2\)"):
        check_predict_input(np.zeros((4, 2)), META)
