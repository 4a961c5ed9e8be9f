"""Configuration errors that name the key, the value and what is allowed."""

from __future__ import annotations

from pydantic import ValidationError

from trading_agent.domain import TradingAgentError

__all__ = ["ConfigError", "describe_validation_error"]


class ConfigError(TradingAgentError):
    """A setting or a rules file is invalid; the message says where and why."""


def describe_validation_error(error: ValidationError, source: str) -> ConfigError:
    """Turn pydantic's error into one message line per bad key: ``source: key = value: reason``."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(root)"
        value = item.get("input")
        reason = item["msg"]
        if item["type"] == "extra_forbidden":
            reason = "unknown key (not allowed here)"
        elif item["type"] == "missing":
            lines.append(f"{source}: {key}: required key is missing")
            continue
        lines.append(f"{source}: {key} = {value!r}: {reason}")
    return ConfigError("\n".join(lines))
