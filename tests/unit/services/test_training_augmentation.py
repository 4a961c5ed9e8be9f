"""The training service gives the config's augmentation to every sequence model it builds, and to no tree model."""

from __future__ import annotations

import pytest

from trading_agent.config.training import KNOWN_MODELS, SEQUENCE_MODELS, AugmentationSection
from trading_agent.models.augmentation import Augmentation
from trading_agent.models.sequence import SequenceModel
from trading_agent.services.training import _factory, _sequence_params
from trading_agent.training.tuning import TuningResult

ON = AugmentationSection(enabled=True, jitter_sigma=0.05, scaling_sigma=0.1, copies=2, seed=3)
EXPECTED = Augmentation(jitter_sigma=0.05, scaling_sigma=0.1, copies=2, seed=3)


@pytest.mark.parametrize("key", KNOWN_MODELS)
def test_enabled_augmentation_reaches_every_sequence_model_and_no_tree_model(key: str) -> None:
    model = _factory(key, None, ON)()
    if key in SEQUENCE_MODELS:
        assert isinstance(model, SequenceModel) and model.augmentation == EXPECTED
        assert _sequence_params(key, ON) == {"augmentation": EXPECTED.to_dict()}  # the tuning trials' fixed params
    else:
        assert not isinstance(model, SequenceModel) and "augmentation" not in model.params
        assert _sequence_params(key, ON) == {}


@pytest.mark.parametrize("key", SEQUENCE_MODELS)
def test_disabled_augmentation_leaves_the_sequence_models_plain(key: str) -> None:
    model = _factory(key, None, AugmentationSection())()
    assert isinstance(model, SequenceModel) and model.augmentation is None
    assert _sequence_params(key, AugmentationSection()) == {}


def test_augmentation_joins_the_tuned_parameters() -> None:
    tuned = TuningResult("gru", {"window": 16, "hidden": 16}, 0.1, 1, 1, 0, (0.1,))
    model = _factory("gru", tuned, ON)()
    assert isinstance(model, SequenceModel) and model.augmentation == EXPECTED
    assert (model.params["window"], model.params["hidden"]) == (16, 16)
