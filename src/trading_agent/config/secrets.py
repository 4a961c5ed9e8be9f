"""Optional Fernet encryption of secrets at rest (the blueprint's security section).

A secret setting may hold ``fernet:<token>`` instead of the plain value; it is decrypted at load
time with the key in ``TRADING_AGENT_ENCRYPTION_KEY``. ``trading-agent config encrypt`` makes tokens.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from trading_agent.config.errors import ConfigError

__all__ = ["ENCRYPTED_PREFIX", "decrypt_secret", "encrypt_secret", "generate_key"]

ENCRYPTED_PREFIX = "fernet:"


def generate_key() -> str:
    """A new random Fernet key (URL-safe base64)."""
    return Fernet.generate_key().decode()


def _cipher(key: SecretStr | None, name: str) -> Fernet:
    if key is None:
        raise ConfigError(f"{name} is encrypted but TRADING_AGENT_ENCRYPTION_KEY is not set")
    try:
        return Fernet(key.get_secret_value().encode())
    except ValueError as exc:
        raise ConfigError(f"TRADING_AGENT_ENCRYPTION_KEY is not a valid Fernet key: {exc}") from None


def encrypt_secret(plain: str, key: SecretStr) -> str:
    """``fernet:<token>`` for ``plain``."""
    token = _cipher(key, "secret").encrypt(plain.encode()).decode()
    return ENCRYPTED_PREFIX + token


def decrypt_secret(value: SecretStr, key: SecretStr | None, name: str) -> SecretStr:
    """Return ``value`` decrypted when it is a ``fernet:`` token, unchanged otherwise."""
    raw = value.get_secret_value()
    if not raw.startswith(ENCRYPTED_PREFIX):
        return value
    try:
        plain = _cipher(key, name).decrypt(raw[len(ENCRYPTED_PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ConfigError(f"{name}: the encrypted value does not decrypt with TRADING_AGENT_ENCRYPTION_KEY") from None
    return SecretStr(plain)
