"""Validated configuration: app settings from the environment, trading rules and instruments from YAML."""

from trading_agent.config.errors import ConfigError
from trading_agent.config.instruments import load_instruments
from trading_agent.config.logs import configure_logging
from trading_agent.config.settings import (
    AppSettings,
    DeltaEnvironment,
    DeltaSettings,
    LogFormat,
    LogLevel,
    load_settings,
)
from trading_agent.config.trading_rules import TradingRules, available_profiles, load_trading_rules

__all__ = [
    "AppSettings",
    "ConfigError",
    "DeltaEnvironment",
    "DeltaSettings",
    "LogFormat",
    "LogLevel",
    "TradingRules",
    "available_profiles",
    "configure_logging",
    "load_instruments",
    "load_settings",
    "load_trading_rules",
]
