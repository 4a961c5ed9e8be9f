"""The ``augmentation:`` section of config/training.yaml: off by default, validated, named in errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.testkit.services import REPO_ROOT
from trading_agent.config import ConfigError
from trading_agent.config.training import SEQUENCE_MODELS, AugmentationSection, load_training_config
from trading_agent.models.augmentation import Augmentation
from trading_agent.models.sequence import SEQUENCE_MODELS as BUILT_SEQUENCE_MODELS


def test_augmentation_is_off_by_default_and_in_the_shipped_file() -> None:
    shipped = load_training_config(REPO_ROOT / "config").augmentation
    assert shipped == AugmentationSection() and not shipped.enabled
    assert shipped.model_params() == {}
    assert tuple(BUILT_SEQUENCE_MODELS) == SEQUENCE_MODELS


def test_the_section_has_the_augmentation_defaults_and_builds_one(tmp_path: Path) -> None:
    defaults = AugmentationSection().model_dump(exclude={"enabled"})
    assert defaults == Augmentation().to_dict()
    (tmp_path / "training.yaml").write_text("augmentation: {enabled: true, jitter_sigma: 0.05, slice_fraction: 0.1}")
    section = load_training_config(tmp_path).augmentation
    params = section.model_params()["augmentation"]
    assert Augmentation.from_value(params) == Augmentation(jitter_sigma=0.05, slice_fraction=0.1)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("augmentation: {jitter_sigma: -0.1}", "augmentation.jitter_sigma"),
        ("augmentation: {scaling_sigma: .inf}", "augmentation.scaling_sigma"),
        ("augmentation: {slice_fraction: 1.0}", "augmentation.slice_fraction"),
        ("augmentation: {warp_sigma: -1}", "augmentation.warp_sigma"),
        ("augmentation: {warp_knots: 1}", "augmentation.warp_knots"),
        ("augmentation: {copies: 0}", "augmentation.copies"),
        ("augmentation: {seed: -1}", "augmentation.seed"),
        ("augmentation: {jiter_sigma: 0.1}", "augmentation.jiter_sigma"),
        ("augmentation: {enabled: true}", "augmentation = {'enabled': True}: Value error, enabled is true but"),
    ],
)
def test_a_bad_augmentation_value_is_an_error_naming_it(tmp_path: Path, text: str, named: str) -> None:
    (tmp_path / "training.yaml").write_text(text)
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_training_config(tmp_path)
