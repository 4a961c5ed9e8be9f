"""Reading the YAML files under ``config/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from trading_agent.config.errors import ConfigError

__all__ = ["read_yaml_mapping"]


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The mapping at the top of a YAML file (empty file: ``{}``); a clear error otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    return data
