"""Application settings from the environment (prefix ``TRADING_AGENT_``, ``__`` nesting) and ``.env``.

``config/.env.example`` documents every variable. Secrets are ``SecretStr``: printed as ``**********``
and never logged.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from trading_agent.config.errors import ConfigError, describe_validation_error
from trading_agent.config.secrets import decrypt_secret

__all__ = ["AppSettings", "DeltaEnvironment", "DeltaSettings", "LogFormat", "LogLevel", "load_settings"]

ENV_PREFIX = "TRADING_AGENT_"


class LogLevel(StrEnum):
    """Logging thresholds."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class LogFormat(StrEnum):
    """How log lines are rendered: for people or for log shippers."""

    CONSOLE = "console"
    JSON = "json"


class DeltaEnvironment(StrEnum):
    """Delta Exchange India environments (global hosts are a different exchange)."""

    INDIA_PROD = "india_prod"
    INDIA_TESTNET = "india_testnet"


_DELTA_URLS = {
    DeltaEnvironment.INDIA_PROD: ("https://api.india.delta.exchange", "wss://public-socket.india.delta.exchange"),
    DeltaEnvironment.INDIA_TESTNET: ("https://cdn-ind.testnet.deltaex.org", "wss://socket-ind-pub.testnet.deltaex.org"),
}


class DeltaSettings(BaseModel):
    """Delta Exchange India connection. ``rest_url``/``ws_url`` override the environment's hosts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: DeltaEnvironment = DeltaEnvironment.INDIA_PROD
    rest_url: str | None = None
    ws_url: str | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @property
    def resolved_rest_url(self) -> str:
        """REST base without ``/v2`` (the client adds it)."""
        return (self.rest_url or _DELTA_URLS[self.environment][0]).rstrip("/")

    @property
    def resolved_ws_url(self) -> str:
        """Public WebSocket URL."""
        return self.ws_url or _DELTA_URLS[self.environment][1]


class AppSettings(BaseSettings):
    """Everything a process needs to start. Trading rules live in YAML (``trading_rules``)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
    )

    database_url: str = "sqlite:///var/trading_agent.db"
    mlflow_tracking_uri: str = "sqlite:///var/mlflow.db"
    redis_url: str | None = None
    redis_prefix: str = "trading_agent:"
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat = LogFormat.CONSOLE
    config_dir: Path = Path("config")
    profile: str | None = None
    initial_balance: float = Field(default=10_000.0, gt=0)
    encryption_key: SecretStr | None = None
    delta: DeltaSettings = DeltaSettings()
    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    api_token: SecretStr | None = None
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_rate_limit: str = Field(default="100/minute", pattern=r"^\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?$")
    api_rate_limit_enabled: bool = True
    api_cors_origins: list[str] = Field(default_factory=list)
    api_cache_ttl_s: float = Field(default=30.0, ge=0)

    @model_validator(mode="after")
    def _decrypt_secrets(self) -> AppSettings:
        key = self.encryption_key
        for name in ("telegram_bot_token", "api_token"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, decrypt_secret(value, key, ENV_PREFIX + name.upper()))
        delta_updates = {
            name: decrypt_secret(value, key, f"{ENV_PREFIX}DELTA__{name.upper()}")
            for name in ("api_key", "api_secret")
            if (value := getattr(self.delta, name)) is not None
        }
        if delta_updates:
            object.__setattr__(self, "delta", self.delta.model_copy(update=delta_updates))
        return self

    @property
    def trading_rules_path(self) -> Path:
        """The trading rules YAML inside ``config_dir``."""
        return self.config_dir / "trading_rules.yaml"

    @property
    def instruments_path(self) -> Path:
        """The instrument specifications YAML inside ``config_dir``."""
        return self.config_dir / "instruments.yaml"


def known_env_names() -> set[str]:
    """Every TRADING_AGENT_* variable the settings read."""
    names = {ENV_PREFIX + name.upper() for name in AppSettings.model_fields if name != "delta"}
    names |= {f"{ENV_PREFIX}DELTA__{name.upper()}" for name in DeltaSettings.model_fields}
    return names


def load_settings(**overrides: object) -> AppSettings:
    """Read settings from the environment and ``.env``; ``overrides`` (CLI options) win.

    An unknown ``TRADING_AGENT_*`` variable is an error, so a typo cannot silently fall back to a default.
    """
    unknown = sorted(
        name for name in os.environ if name.upper().startswith(ENV_PREFIX) and name.upper() not in known_env_names()
    )
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}: see config/.env.example for the valid names")
    try:
        return AppSettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        raise describe_validation_error(exc, "settings") from None
