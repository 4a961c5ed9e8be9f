"""The training configuration (``config/training.yaml``): models, labels, walk-forward windows, tuning,
the anomaly detector, sentiment and the sequence models' training-data augmentation.

The blueprint's TRAINING_CONFIG: walk-forward windows of 180/30/30 days (train, validation, test)
stepping 7 days, 12 splits; every length is in days, so one file fits every timeframe. Frozen
models that reject unknown keys, like the trading rules.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trading_agent.config.errors import describe_validation_error
from trading_agent.config.files import read_yaml_mapping
from trading_agent.domain import Timeframe

__all__ = [
    "KNOWN_MODELS",
    "SEQUENCE_MODELS",
    "AugmentationSection",
    "BarrierSection",
    "CalibrationName",
    "MetaModelName",
    "SentimentSection",
    "TrainingConfig",
    "TuningObjectiveName",
    "TuningSection",
    "WalkForwardSection",
    "load_training_config",
]

KNOWN_MODELS = ("lgbm", "xgb", "catboost", "rf", "lstm", "transformer", "tcn", "gru")  # models.catalog.MODEL_KEYS
DEFAULT_MODELS = KNOWN_MODELS[:4]
SEQUENCE_MODELS = KNOWN_MODELS[4:]  # models.sequence.SEQUENCE_MODELS: the ones augmentation applies to


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetaModelName(StrEnum):
    """How the base models' votes are combined."""

    STACKING = "stacking"
    BLEND = "blend"
    MLP = "mlp"


class CalibrationName(StrEnum):
    """How the ensemble's probability is calibrated."""

    ISOTONIC = "isotonic"
    PLATT = "platt"


class TuningObjectiveName(StrEnum):
    """What Optuna maximises: the strategy's Sharpe or Sortino with costs, or minus the log-loss."""

    SHARPE = "sharpe"
    SORTINO = "sortino"
    LOG_LOSS = "log_loss"


class BarrierSection(_Section):
    """The triple-barrier labels: horizon in candles, barriers in ATRs."""

    horizon: int = Field(default=24, ge=1)
    profit_mult: float = Field(default=2.0, gt=0)
    stop_mult: float = Field(default=2.0, gt=0)
    atr_period: int = Field(default=14, ge=1)


class WalkForwardSection(_Section):
    """Purged, embargoed walk-forward windows in days."""

    train_days: float = Field(default=180, gt=0)
    validation_days: float = Field(default=30, gt=0)
    test_days: float = Field(default=30, gt=0)
    step_days: float = Field(default=7, gt=0)
    n_splits: int = Field(default=12, ge=1)
    embargo_days: float = Field(default=1.0, ge=0)
    anchored: bool = False


class TuningSection(_Section):
    """Optuna: trials per model (0 = the libraries' defaults), objective, tuning folds and storage."""

    trials: int = Field(default=20, ge=0)
    objective: TuningObjectiveName = TuningObjectiveName.SHARPE
    folds: int = Field(default=3, ge=1, description="walk-forward folds before the first reported test window")
    storage: str | None = Field(default=None, description="SQLAlchemy URL shared by several workers; null: in memory")
    seed: int = 0


class AnomalySection(_Section):
    """The VAE anomaly detector trained with the deployed model: the risk manager's regime filter."""

    enabled: bool = True
    percentile: float = Field(default=99.0, gt=50, lt=100, description="of the training rows' scores: the threshold")
    epochs: int = Field(default=40, ge=1)
    exclude_prefixes: tuple[str, ...] = Field(
        default=("cdl_",), description="features it does not read (rare candlestick flags swamp its score)"
    )
    exclude: tuple[str, ...] = Field(
        default=(),
        description="features it does not read, by name (any timeframe): price levels and running totals, "
        "which leave the training range as prices move and would flag every later candle",
    )


class SentimentSection(_Section):
    """Headline sentiment features (``sent_*``): a headlines CSV (timestamp, source, text) scored with VADER.

    ``headlines`` null: no sentiment features. A relative path is relative to the directory of the
    training config file.
    """

    headlines: Path | None = None
    windows: tuple[int, ...] = Field(default=(24, 168), min_length=1, description="in candles")

    @field_validator("windows")
    @classmethod
    def _positive(cls, windows: tuple[int, ...]) -> tuple[int, ...]:
        if any(w <= 0 for w in windows) or len(set(windows)) != len(windows):
            raise ValueError(f"windows must be distinct positive numbers of candles, got {list(windows)}")
        return windows


class AugmentationSection(_Section):
    """Training-data augmentation of the sequence models (``models.augmentation.Augmentation``); off by default.

    With ``enabled``, every sequence model the trainer builds (tuning trials, walk-forward folds, the
    deployed model) gets these settings; the tree models never do. The ranges are ``Augmentation``'s.
    """

    enabled: bool = False
    jitter_sigma: float = Field(default=0.0, ge=0, allow_inf_nan=False, description="Gaussian noise (standardised)")
    scaling_sigma: float = Field(default=0.0, ge=0, allow_inf_nan=False, description="one N(1, s^2) factor per window")
    slice_fraction: float = Field(default=0.0, ge=0, lt=1, description="of a window's oldest rows cropped at most")
    warp_sigma: float = Field(default=0.0, ge=0, allow_inf_nan=False, description="log speed of the time warp")
    warp_knots: int = Field(default=4, ge=2)
    copies: int = Field(default=1, ge=1, description="augmented copies of every training window per epoch")
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _enabled_needs_a_transform(self) -> Self:
        strengths = (self.jitter_sigma, self.scaling_sigma, self.slice_fraction, self.warp_sigma)
        if self.enabled and not any(s > 0 for s in strengths):
            raise ValueError(
                "enabled is true but jitter_sigma, scaling_sigma, slice_fraction and warp_sigma are all 0: "
                "set at least one above 0 (or enabled: false)"
            )
        return self

    def model_params(self) -> dict[str, Any]:
        """The ``augmentation`` parameter of a sequence model (the ``Augmentation`` dict form); {} when disabled."""
        if not self.enabled:
            return {}
        return {"augmentation": self.model_dump(exclude={"enabled"})}


class TrainingConfig(_Section):
    """Everything ``trading-agent train`` needs besides the series."""

    models: tuple[str, ...] = DEFAULT_MODELS
    meta: MetaModelName = MetaModelName.STACKING
    calibration: CalibrationName = CalibrationName.PLATT
    feature_set: str = "default"
    higher_timeframes: tuple[Timeframe, ...] = ()
    barrier: BarrierSection = BarrierSection()
    walk_forward: WalkForwardSection = WalkForwardSection()
    tuning: TuningSection = TuningSection()
    anomaly: AnomalySection = AnomalySection()
    sentiment: SentimentSection = SentimentSection()
    augmentation: AugmentationSection = AugmentationSection()

    @field_validator("models")
    @classmethod
    def _known_models(cls, models: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [m for m in models if m not in KNOWN_MODELS]
        if unknown or not models:
            raise ValueError(f"models must be some of {', '.join(KNOWN_MODELS)}, got {', '.join(models) or 'none'}")
        if len(set(models)) != len(models):
            raise ValueError(f"models are listed twice: {', '.join(models)}")
        return models


def load_training_config(config_dir: Path, path: Path | None = None) -> TrainingConfig:
    """Load ``training.yaml`` from ``config_dir`` (or the file ``path``); a clear ``ConfigError`` for a missing
    file or a bad value."""
    path = path or config_dir / "training.yaml"
    try:
        config = TrainingConfig.model_validate(read_yaml_mapping(path))
    except ValidationError as exc:
        raise describe_validation_error(exc, str(path)) from None
    headlines = config.sentiment.headlines
    if headlines is None or headlines.is_absolute():
        return config
    sentiment = config.sentiment.model_copy(update={"headlines": Path(path).parent / headlines})
    return config.model_copy(update={"sentiment": sentiment})
