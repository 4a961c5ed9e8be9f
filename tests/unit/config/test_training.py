"""config/training.yaml: the blueprint's TRAINING_CONFIG, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testkit.services import REPO_ROOT
from trading_agent.config import ConfigError
from trading_agent.config.training import MetaModelName, TuningObjectiveName, load_training_config
from trading_agent.domain import Timeframe


def test_the_shipped_file_is_the_blueprints_training_config() -> None:
    config = load_training_config(REPO_ROOT / "config")
    wf = config.walk_forward
    assert (wf.train_days, wf.validation_days, wf.test_days, wf.step_days, wf.n_splits) == (180, 30, 30, 7, 12)
    assert config.models == ("lgbm", "xgb", "catboost", "rf") and config.meta is MetaModelName.STACKING
    assert config.tuning.trials == 20 and config.tuning.objective is TuningObjectiveName.SHARPE
    assert config.tuning.storage is None and config.barrier.horizon == 24


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("models: [lgbm, svm]", "models"),
        ("models: [lgbm, lgbm]", "models"),
        ("walk_forward: {train_days: 0}", "walk_forward.train_days"),
        ("tuning: {objective: accuracy}", "tuning.objective"),
        ("tuning: {trails: 5}", "tuning.trails"),
        ("higher_timeframes: [7m]", "higher_timeframes"),
        ("anomaly: {percentile: 100}", "anomaly.percentile"),
        ("sentiment: {windows: [24, 24]}", "sentiment.windows"),
        ("sentiment: {windows: [0]}", "sentiment.windows"),
    ],
)
def test_a_bad_value_is_an_error_naming_it(tmp_path: Path, text: str, named: str) -> None:
    (tmp_path / "training.yaml").write_text(text)
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_training_config(tmp_path)


def test_higher_timeframes_parse_and_a_missing_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "training.yaml").write_text("higher_timeframes: [4h, 1d]\ntuning: {trials: 0}")
    config = load_training_config(tmp_path)
    assert config.higher_timeframes == (Timeframe.H4, Timeframe.D1) and config.tuning.trials == 0
    with pytest.raises(ConfigError, match="file not found"):
        load_training_config(tmp_path / "nowhere")


def test_a_relative_headlines_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "training.yaml").write_text("sentiment: {headlines: news/headlines.csv, windows: [12]}")
    config = load_training_config(tmp_path)
    assert config.sentiment.headlines == tmp_path / "news" / "headlines.csv" and config.sentiment.windows == (12,)
    shipped = load_training_config(REPO_ROOT / "config")
    assert shipped.sentiment.headlines is None and shipped.anomaly.enabled
    assert shipped.anomaly.exclude_prefixes == ("cdl_",)


def test_the_shipped_anomaly_detector_reads_no_price_level_nor_running_total() -> None:
    """Those leave the training range as prices move: with them the VAE flagged every 2024 candle."""
    from trading_agent.features.registry import feature_specs

    excluded = set(load_training_config(REPO_ROOT / "config").anomaly.exclude)
    assert excluded <= {spec.name for spec in feature_specs("default")}  # no typo
    assert {"sma_200", "ema_50", "vwap_day", "bb_upper_20_2", "obv", "ad"} <= excluded
    assert not excluded & {"adx_14", "bb_pctb_20_2", "close_sma_ratio_200", "vwap_day_dist_pct"}  # scale-free kept


def test_the_shipped_evaluation_file_loads_by_path() -> None:
    config = load_training_config(REPO_ROOT / "config", REPO_ROOT / "config" / "training_evaluation.yaml")
    assert config.walk_forward.n_splits == 60 and config.walk_forward.step_days == 30


def test_the_config_knows_exactly_the_models_the_catalog_builds() -> None:
    from trading_agent.config.training import KNOWN_MODELS
    from trading_agent.models.catalog import MODEL_KEYS, make_model

    assert KNOWN_MODELS == MODEL_KEYS
    assert {make_model(key).input_kind.value for key in MODEL_KEYS} == {"tabular", "sequence"}
    with pytest.raises(ValueError, match="unknown model 'svm'"):
        make_model("svm")
