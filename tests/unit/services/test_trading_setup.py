from collections.abc import Callable
from dataclasses import MISSING, fields
from decimal import Decimal
from typing import Any

import pytest

from tests.testkit.services import REPO_ROOT
from trading_agent.config import TradingRules, available_profiles, load_trading_rules
from trading_agent.config.trading_rules import ExitStopMethod
from trading_agent.domain import OrderType, SizingMethod, Timeframe
from trading_agent.engine.config import EngineConfig, ExecutionRules
from trading_agent.engine.costs import FeeModel, SlippageModel
from trading_agent.engine.exits import ExitRules, StopMethod
from trading_agent.models.signals import SignalThresholds
from trading_agent.risk.anomaly import AnomalyRules
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits
from trading_agent.risk.sizing import SizingRules
from trading_agent.services import ServiceError
from trading_agent.services.trading_setup import engine_config, signal_thresholds, sizing_rules

CONFIG = REPO_ROOT / "config"
PROFILES = [None, *available_profiles(CONFIG)]

Source = Callable[[TradingRules], object]

# Where every field of the engine's and the risk manager's values comes from in the rules.
EXECUTION: dict[str, Source] = {
    "max_slippage_percent": lambda r: Decimal(repr(r.execution.max_slippage_percent)),
    "retry_failed_orders": lambda r: r.execution.retry_failed_orders,
    "max_retries": lambda r: r.execution.max_retries,
    "entry_order_type": lambda r: OrderType(r.execution.order_type.value),
    "limit_expiry_candles": lambda r: r.execution.limit_expiry_candles,
}
FEES: dict[str, Source] = {"charge_gst": lambda r: r.execution.charge_gst_on_fees}
EXITS: dict[str, Source] = {
    "stop_method": lambda r: StopMethod(r.exits.stop_method.value),
    "atr_multiplier": lambda r: r.risk_management.stop_loss_atr_multiplier,
    "volatility_multiplier": lambda r: r.exits.volatility_stop_multiplier,
    "take_profit_enabled": lambda r: r.exits.take_profit_enabled,
    "risk_reward": lambda r: r.risk_management.take_profit_risk_reward,
    "trailing_enabled": lambda r: r.exits.trailing_enabled,
    "trailing_activation_percent": lambda r: r.exits.trailing_activation_percent,
    "trailing_percent": lambda r: r.exits.trailing_percent,
    "time_exit_enabled": lambda r: r.exits.time_exit_enabled,
    "max_holding_period_s": lambda r: r.exits.max_holding_period_s,
}
LIMITS: dict[str, Source] = {
    "max_position_fraction": lambda r: r.risk_management.max_position_fraction,
    "max_daily_loss_percent": lambda r: r.risk_management.max_daily_loss_percent,
    "max_drawdown_percent": lambda r: r.risk_management.max_drawdown_percent,
    "max_consecutive_losses": lambda r: r.risk_management.max_consecutive_losses,
    "max_leverage": lambda r: r.risk_management.max_leverage,
    "min_confidence": lambda r: r.signal_filters.min_confidence,
    "max_trades_per_day": lambda r: r.risk_management.max_trades_per_day,
    "min_time_between_trades_s": lambda r: r.risk_management.min_time_between_trades_s,
    "max_correlation": lambda r: r.risk_management.max_correlation,
}
BREAKERS: dict[str, Source] = {
    "max_daily_loss_percent": lambda r: r.risk_management.max_daily_loss_percent,
    "max_drawdown_percent": lambda r: r.risk_management.max_drawdown_percent,
    "max_consecutive_losses": lambda r: r.risk_management.max_consecutive_losses,
    "volatility_breaker_multiple": lambda r: r.risk_management.volatility_breaker_multiple,
    "rapid_fire_max_trades": lambda r: r.risk_management.rapid_fire_max_trades,
    "rapid_fire_window_s": lambda r: r.risk_management.rapid_fire_window_s,
    "auto_reset_after_s": lambda r: r.risk_management.auto_reset_after_s,
    "flatten_on_trip": lambda r: r.risk_management.flatten_on_breaker_trip,
}
SLIPPAGE: dict[str, Source] = {
    "fixed_bps": lambda r: r.execution.slippage_fixed_bps,
    "impact_coefficient": lambda r: r.execution.slippage_impact_coefficient,
    "max_slippage_bps": lambda r: r.execution.slippage_cap_bps,
}
ANOMALY: dict[str, Source] = {
    "action": lambda r: r.anomaly_filter.action,
    "size_factor": lambda r: r.anomaly_filter.size_factor,
}
SIZING: dict[str, Source] = {
    "method": lambda r: r.position_sizing.method,
    "kelly_fraction": lambda r: r.position_sizing.kelly_fraction,
    "kelly_cap": lambda r: r.position_sizing.kelly_cap,
    "kelly_min_trades": lambda r: r.position_sizing.kelly_min_trades,
    "risk_per_trade": lambda r: r.position_sizing.risk_per_trade,
    "base_risk": lambda r: r.position_sizing.base_risk,
    "volatility_cap": lambda r: r.position_sizing.volatility_cap,
    "min_position_size": lambda r: Decimal(repr(r.position_sizing.min_position_size)),
    "max_position_size": lambda r: Decimal(repr(r.position_sizing.max_position_size)),
}
# The EngineConfig parts built from the rules (session, timeframe and balance are arguments).
ENGINE_PARTS: dict[str, dict[str, Source]] = {
    "execution": EXECUTION,
    "slippage": SLIPPAGE,
    "fees": FEES,
    "exits": EXITS,
    "limits": LIMITS,
    "breakers": BREAKERS,
    "anomaly": ANOMALY,
}
ENGINE_ARGUMENTS = {"session", "timeframe", "initial_balance", "default_funding_rate"}
# Deliberately not in the rules: these keep the dataclass default.
UNWIRED: dict[type, set[str]] = {
    EngineConfig: {"funding_anchor_ms"},
    FeeModel: {"gst_rate", "fee_precision"},
}
TABLES: dict[type, set[str]] = {
    EngineConfig: set(ENGINE_PARTS) | ENGINE_ARGUMENTS,
    ExecutionRules: set(EXECUTION),
    SlippageModel: set(SLIPPAGE),
    FeeModel: set(FEES),
    ExitRules: set(EXITS),
    RiskLimits: set(LIMITS),
    BreakerRules: set(BREAKERS),
    SizingRules: set(SIZING),
    AnomalyRules: set(ANOMALY),
}

# Every value differs from the dataclass defaults, so a field left unwired cannot pass unnoticed.
NON_DEFAULT_RULES: dict[str, Any] = {
    "position_sizing": {
        "method": "volatility_adjusted",
        "kelly_fraction": 0.4,
        "kelly_cap": 0.2,
        "kelly_min_trades": 50,
        "risk_per_trade": 0.03,
        "base_risk": 0.04,
        "volatility_cap": 1.5,
        "min_position_size": 150.5,
        "max_position_size": 4000.25,
    },
    "risk_management": {
        "max_daily_loss_percent": 3.5,
        "max_drawdown_percent": 12.5,
        "max_consecutive_losses": 4,
        "stop_loss_atr_multiplier": 2.75,
        "take_profit_risk_reward": 1.75,
        "max_position_fraction": 0.2,
        "max_leverage": 5,
        "max_trades_per_day": 12,
        "min_time_between_trades_s": 600,
        "max_correlation": 0.6,
        "volatility_breaker_multiple": 2.5,
        "rapid_fire_max_trades": 7,
        "rapid_fire_window_s": 1800,
        "auto_reset_after_s": 43200,
        "flatten_on_breaker_trip": True,
    },
    "exits": {
        "stop_method": "volatility",
        "volatility_stop_multiplier": 3.25,
        "take_profit_enabled": False,
        "trailing_enabled": False,
        "trailing_activation_percent": 3.5,
        "trailing_percent": 1.5,
        "time_exit_enabled": False,
        "max_holding_period_s": 7200,
    },
    "signal_filters": {"min_confidence": 0.72},
    "anomaly_filter": {"action": "block", "size_factor": 0.25},
    "execution": {
        "max_slippage_percent": 0.25,
        "retry_failed_orders": False,
        "max_retries": 5,
        "order_type": "limit",
        "limit_expiry_candles": 3,
        "slippage_fixed_bps": 3.5,
        "slippage_impact_coefficient": 0.5,
        "slippage_cap_bps": 60.0,
        "charge_gst_on_fees": False,
    },
}


def _parts(rules: TradingRules) -> list[tuple[str, object, dict[str, Source]]]:
    config = engine_config(rules, timeframe=Timeframe.H1)
    parts = [(name, getattr(config, name), table) for name, table in ENGINE_PARTS.items()]
    return [*parts, ("sizing", sizing_rules(rules), SIZING)]


def _default(cls: type, name: str) -> object:
    spec = next(f for f in fields(cls) if f.name == name)
    return spec.default_factory() if spec.default is MISSING and spec.default_factory is not MISSING else spec.default


@pytest.mark.parametrize("cls", list(TABLES), ids=lambda cls: cls.__name__)
def test_every_field_is_wired_or_deliberately_defaulted(cls: type) -> None:
    declared = {f.name for f in fields(cls)}
    accounted = TABLES[cls] | UNWIRED.get(cls, set())
    assert declared - accounted == set(), f"{cls.__name__}: new field(s) not wired in trading_setup"
    assert accounted - declared == set(), f"{cls.__name__}: wired field(s) that no longer exist"


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p or "base")
def test_every_field_traces_to_the_shipped_rules(profile: str | None) -> None:
    rules = load_trading_rules(CONFIG, profile)
    for part_name, part, table in _parts(rules):
        for name, source in table.items():
            assert getattr(part, name) == source(rules), f"{part_name}.{name} ({profile or 'base'})"


def test_every_wired_field_carries_a_non_default_value() -> None:
    rules = TradingRules.model_validate(NON_DEFAULT_RULES)
    for part_name, part, table in _parts(rules):
        for name, source in table.items():
            value = getattr(part, name)
            assert value == source(rules), f"{part_name}.{name}"
            assert value != _default(type(part), name), f"{part_name}.{name} kept its default: not wired"
    config = engine_config(rules, timeframe=Timeframe.M5, session="s1", initial_balance=Decimal(2500))
    assert (config.session, config.timeframe, config.initial_balance) == ("s1", Timeframe.M5, Decimal(2500))
    for cls, names in UNWIRED.items():
        part = config if cls is EngineConfig else config.fees
        for name in names:
            assert getattr(part, name) == _default(cls, name), f"{cls.__name__}.{name}"


def test_the_profiles_reach_the_engine_by_hand() -> None:
    conservative = engine_config(load_trading_rules(CONFIG, "conservative_day_trader"), timeframe=Timeframe.M15)
    assert conservative.limits.min_confidence == 0.75  # from signal_filters, not risk_management
    assert conservative.exits.atr_multiplier == 3.0
    assert conservative.limits.max_daily_loss_percent == conservative.breakers.max_daily_loss_percent == 2
    assert conservative.breakers.max_drawdown_percent == 10
    assert sizing_rules(load_trading_rules(CONFIG, "conservative_day_trader")).risk_per_trade == 0.01
    scalper_rules = load_trading_rules(CONFIG, "aggressive_scalper")
    scalper = engine_config(scalper_rules, timeframe=Timeframe.M1)
    assert (scalper.exits.atr_multiplier, scalper.exits.risk_reward) == (1.5, 1.5)
    assert sizing_rules(scalper_rules).method is SizingMethod.VOLATILITY_ADJUSTED
    assert sizing_rules(scalper_rules).base_risk == 0.03
    swing = engine_config(load_trading_rules(CONFIG, "swing_trader"), timeframe=Timeframe.H4)
    assert swing.exits.max_holding_period_s == 432_000
    assert swing.limits.min_confidence == 0.65


def test_money_and_prices_become_exact_decimals() -> None:
    rules = load_trading_rules(CONFIG)
    config = engine_config(rules, timeframe=Timeframe.H1)
    assert str(config.execution.max_slippage_percent) == "0.1"  # not 0.1000000000000000055511...
    assert config.fees.charge_gst is True
    sizing = sizing_rules(rules)
    assert (sizing.min_position_size, sizing.max_position_size) == (Decimal(100), Decimal(2500))
    assert isinstance(sizing.min_position_size, Decimal)


def test_config_and_engine_share_the_stop_methods() -> None:
    assert {m.value for m in ExitStopMethod} == {m.value for m in StopMethod}


def test_values_the_engine_refuses_raise_a_service_error() -> None:
    rules = load_trading_rules(CONFIG)
    with pytest.raises(ServiceError, match="session must be 1-24 characters"):
        engine_config(rules, timeframe=Timeframe.H1, session="a:b")
    with pytest.raises(ServiceError, match="initial_balance must be positive"):
        engine_config(rules, timeframe=Timeframe.H1, initial_balance=Decimal(0))


def test_the_funding_constant_is_a_percent_per_8h_in_the_rules_and_a_fraction_in_the_engine() -> None:
    rules = load_trading_rules(REPO_ROOT / "config")
    assert rules.execution.funding_rate_percent == 0.01
    assert engine_config(rules, timeframe=Timeframe.H1).default_funding_rate == Decimal("0.0001")


@pytest.mark.parametrize("profile", PROFILES)
def test_signal_thresholds_come_from_the_mapping(profile: str | None) -> None:
    rules = load_trading_rules(CONFIG, profile)
    thresholds = signal_thresholds(rules)
    mapping = rules.signal_filters.mapping
    for level in ("strong_buy", "buy", "sell", "strong_sell"):
        for part in ("prediction", "confidence"):
            assert getattr(thresholds, f"{level}_{part}") == getattr(getattr(mapping, level), part)


def test_the_shipped_mapping_is_the_blueprints() -> None:
    assert signal_thresholds(load_trading_rules(CONFIG, None)) == SignalThresholds()
