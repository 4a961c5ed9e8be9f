"""The trading rules (``config/trading_rules.yaml``) and the profiles that override them.

A profile (``config/profiles/<name>.yaml``) is deep-merged over the base rules, so it states only
what differs. Every model is frozen and rejects unknown keys: a typo is an error, not a default.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trading_agent.config.errors import ConfigError, describe_validation_error
from trading_agent.config.files import read_yaml_mapping
from trading_agent.domain import AnomalyAction, SizingMethod, Timeframe

__all__ = [
    "AnomalyFilter",
    "Execution",
    "ExecutionOrderType",
    "ExitStopMethod",
    "Exits",
    "PositionSizing",
    "ProfileInfo",
    "RiskManagement",
    "RiskMode",
    "SignalFilters",
    "TradingHours",
    "TradingRules",
    "available_profiles",
    "load_trading_rules",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExecutionOrderType(StrEnum):
    """Order type used for entries."""

    MARKET = "market"
    LIMIT = "limit"


class PositionSizing(_Section):
    """Sizing: half-Kelly capped at 25%, fixed fractional 1-10%, or volatility-adjusted (cap 2x)."""

    method: SizingMethod = SizingMethod.KELLY_CRITERION
    kelly_fraction: float = Field(default=0.5, gt=0, le=1)
    kelly_cap: float = Field(default=0.25, gt=0, le=1)
    kelly_min_trades: int = Field(default=30, ge=1, description="trades needed before Kelly replaces the fallback")
    risk_per_trade: float = Field(default=0.02, ge=0.01, le=0.10)
    base_risk: float = Field(default=0.02, ge=0.01, le=0.10)
    volatility_cap: float = Field(default=2.0, gt=0, le=5)
    min_position_size: float = Field(default=100.0, ge=0, description="USD")
    max_position_size: float = Field(default=2500.0, gt=0, description="USD")

    @model_validator(mode="after")
    def _min_below_max(self) -> PositionSizing:
        if self.min_position_size > self.max_position_size:
            raise ValueError(
                f"min_position_size ({self.min_position_size}) must not exceed "
                f"max_position_size ({self.max_position_size})"
            )
        return self


class RiskManagement(_Section):
    """Limits and circuit breakers (the blueprint's RISK_LIMITS and breakers)."""

    max_daily_loss_percent: float = Field(default=5.0, gt=0, le=100)
    max_drawdown_percent: float = Field(default=15.0, gt=0, le=100)
    max_consecutive_losses: int = Field(default=5, ge=1)
    stop_loss_atr_multiplier: float = Field(default=2.0, gt=0, le=20)
    take_profit_risk_reward: float = Field(default=2.0, gt=0, le=20)
    max_position_fraction: float = Field(default=0.25, gt=0, le=1, description="of equity, per position")
    max_leverage: float = Field(default=3.0, ge=1, le=200)
    max_trades_per_day: int = Field(default=20, ge=1)
    min_time_between_trades_s: int = Field(default=300, ge=0)
    max_correlation: float = Field(default=0.7, gt=0, le=1)
    volatility_breaker_multiple: float = Field(default=3.0, gt=1)
    rapid_fire_max_trades: int = Field(default=5, ge=1)
    rapid_fire_window_s: int = Field(default=3600, ge=1)
    auto_reset_after_s: int | None = Field(
        default=None,
        ge=1,
        description="seconds after which the drawdown and losing-streak breakers reset by themselves "
        "(null: only a person resets them)",
    )
    flatten_on_breaker_trip: bool = Field(
        default=False, description="a tripped circuit breaker also closes every position (else it only stops entries)"
    )


class ExitStopMethod(StrEnum):
    """How the stop-loss distance is measured (the engine's ``StopMethod``, by value)."""

    ATR = "atr"
    VOLATILITY = "volatility"


class Exits(_Section):
    """Dynamic exits: stop method, take profit, trailing stop and time-based exit.

    The ATR multiplier and the take-profit risk/reward live in ``risk_management``. The volatility
    stop is ``volatility_stop_multiplier`` x the per-candle standard deviation of returns x price.
    """

    stop_method: ExitStopMethod = ExitStopMethod.ATR
    volatility_stop_multiplier: float = Field(default=2.0, gt=0, le=20)
    take_profit_enabled: bool = True
    trailing_enabled: bool = True
    trailing_activation_percent: float = Field(default=2.0, gt=0, le=100)
    trailing_percent: float = Field(default=1.0, gt=0, lt=100, description="a 100% trail would put a long's stop at 0")
    time_exit_enabled: bool = True
    max_holding_period_s: int = Field(default=24 * 3600, ge=60)


class TradingHours(_Section):
    """Optional trading window (crypto trades 24/7, so it is off by default)."""

    enabled: bool = False
    start_hour: int = Field(default=9, ge=0, le=23)
    end_hour: int = Field(default=16, ge=1, le=24)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as UTC or Asia/Kolkata)") from None
        return value

    @model_validator(mode="after")
    def _start_before_end(self) -> TradingHours:
        if self.start_hour >= self.end_hour:
            raise ValueError(f"start_hour ({self.start_hour}) must be before end_hour ({self.end_hour})")
        return self


class SignalLevel(_Section):
    """One class of the signal mapping: the prediction (probability of up) and the confidence it needs."""

    prediction: float = Field(ge=0, le=1)
    confidence: float = Field(ge=0, le=1)


class SignalMapping(_Section):
    """The blueprint's mapping of prediction and confidence to strong_buy / buy / hold / sell / strong_sell."""

    strong_buy: SignalLevel = SignalLevel(prediction=0.7, confidence=0.8)
    buy: SignalLevel = SignalLevel(prediction=0.6, confidence=0.6)
    sell: SignalLevel = SignalLevel(prediction=0.4, confidence=0.6)
    strong_sell: SignalLevel = SignalLevel(prediction=0.3, confidence=0.8)

    @model_validator(mode="after")
    def _ordered(self) -> SignalMapping:
        p = (self.strong_sell.prediction, self.sell.prediction, self.buy.prediction, self.strong_buy.prediction)
        if not p[0] <= p[1] < p[2] <= p[3]:
            raise ValueError(f"predictions must order strong_sell <= sell < buy <= strong_buy, got {p}")
        return self


class SignalFilters(_Section):
    """Which signals may become orders."""

    mapping: SignalMapping = SignalMapping()

    min_confidence: float = Field(default=0.6, ge=0, le=1)
    min_sharpe_ratio: float = 1.5
    require_multiple_timeframes: bool = True
    min_volume_ratio: float = Field(default=1.0, ge=0, description="vs the 24h average")
    timeframes: tuple[Timeframe, ...] = (Timeframe.H1, Timeframe.H4, Timeframe.D1)

    @field_validator("timeframes")
    @classmethod
    def _not_empty(cls, value: tuple[Timeframe, ...]) -> tuple[Timeframe, ...]:
        if not value:
            raise ValueError("at least one timeframe is required")
        return value


class Execution(_Section):
    """How approved intents are executed."""

    order_type: ExecutionOrderType = ExecutionOrderType.MARKET
    limit_expiry_candles: int = Field(
        default=1, ge=1, le=1000, description="order_type limit: candles an unfilled entry rests before it is canceled"
    )
    max_slippage_percent: float = Field(default=0.1, gt=0, le=10)
    slippage_fixed_bps: float = Field(default=2.0, ge=0, le=100, description="every taker fill's fixed slippage")
    slippage_impact_coefficient: float = Field(
        default=1.0, ge=0, le=20, description="square-root impact: coefficient x volatility x sqrt(size / volume)"
    )
    slippage_cap_bps: float = Field(default=100.0, ge=0, le=1000, description="the most slippage one fill can have")
    retry_failed_orders: bool = True
    max_retries: int = Field(default=3, ge=0, le=10)
    charge_gst_on_fees: bool = Field(default=True, description="Delta India adds 18% GST to trading fees")
    staleness_limit_s: int = Field(
        default=300, ge=1, description="no entry on a live candle that closed longer ago than this (seconds)"
    )
    funding_rate_percent: float = Field(
        default=0.01, ge=-1, le=1, description="percent per 8 h where no funding series is stored (BTC's usual 0.01%)"
    )


class AnomalyFilter(_Section):
    """What the risk manager does with new exposure while the anomaly detector flags the market."""

    action: AnomalyAction = AnomalyAction.HALVE
    size_factor: float = Field(default=0.5, gt=0, lt=1, description="share of the added contracts halve keeps")

    @field_validator("action", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted `off` as false: take it for the word the user wrote
        return AnomalyAction.OFF if value is False else value


class RiskMode(_Section):
    """A mode switchable at run time: the risk per trade (fixed fractional, and volatility-adjusted base),
    the Kelly fraction and the minimum confidence of new entries."""

    risk_per_trade: float = Field(ge=0.01, le=0.10)
    kelly_fraction: float = Field(gt=0, le=1)
    min_confidence: float = Field(ge=0, le=1)


_DEFAULT_MODES = {
    "conservative": RiskMode(risk_per_trade=0.015, kelly_fraction=0.25, min_confidence=0.75),
    "moderate": RiskMode(risk_per_trade=0.04, kelly_fraction=0.5, min_confidence=0.65),
    "aggressive": RiskMode(risk_per_trade=0.075, kelly_fraction=0.75, min_confidence=0.6),
}


class ProfileInfo(_Section):
    """What a profile is for (shown by ``trading-agent config show``)."""

    name: str
    description: str = ""
    expected_results: tuple[str, ...] = ()


class TradingRules(_Section):
    """All trading rules. Built by ``load_trading_rules``."""

    profile: ProfileInfo | None = None
    position_sizing: PositionSizing = PositionSizing()
    risk_management: RiskManagement = RiskManagement()
    exits: Exits = Exits()
    trading_hours: TradingHours = TradingHours()
    signal_filters: SignalFilters = SignalFilters()
    execution: Execution = Execution()
    anomaly_filter: AnomalyFilter = AnomalyFilter()
    modes: dict[str, RiskMode] = Field(default_factory=lambda: dict(_DEFAULT_MODES))


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def available_profiles(config_dir: Path) -> list[str]:
    """Names of the profiles in ``config_dir/profiles``."""
    return sorted(p.stem for p in (config_dir / "profiles").glob("*.yaml"))


def load_trading_rules(config_dir: Path, profile: str | None = None) -> TradingRules:
    """Load ``trading_rules.yaml`` from ``config_dir``, with ``profile`` merged over it."""
    base_path = config_dir / "trading_rules.yaml"
    data = read_yaml_mapping(base_path)
    source = str(base_path)
    if profile is not None:
        profile_path = config_dir / "profiles" / f"{profile}.yaml"
        if not profile_path.is_file():
            names = ", ".join(available_profiles(config_dir)) or "none"
            raise ConfigError(f"unknown profile {profile!r}: available profiles are {names}")
        data = _deep_merge(data, read_yaml_mapping(profile_path))
        source = f"{base_path} + {profile_path}"
    try:
        return TradingRules.model_validate(data)
    except ValidationError as exc:
        raise describe_validation_error(exc, source) from None
