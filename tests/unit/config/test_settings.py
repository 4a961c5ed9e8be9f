from pathlib import Path

import pytest
from pydantic import SecretStr

from trading_agent.config import ConfigError, DeltaEnvironment, load_settings
from trading_agent.config.secrets import encrypt_secret, generate_key


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.upper().startswith("TRADING_AGENT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_the_embedded_ones() -> None:
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None
    assert settings.delta.environment is DeltaEnvironment.INDIA_PROD
    assert settings.delta.resolved_rest_url == "https://api.india.delta.exchange"


def test_env_and_nested_env_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TRADING_AGENT_LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("TRADING_AGENT_DELTA__ENVIRONMENT", "india_testnet")
    monkeypatch.setenv("TRADING_AGENT_DELTA__REST_URL", "http://127.0.0.1:9/")
    settings = load_settings()
    assert settings.log_level == "DEBUG"
    assert settings.delta.resolved_rest_url == "http://127.0.0.1:9"
    assert settings.delta.resolved_ws_url == "wss://socket-ind-pub.testnet.deltaex.org"


def test_overrides_win_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_AGENT_DATABASE_URL", "sqlite:///a.db")
    assert load_settings(database_url="sqlite:///b.db").database_url == "sqlite:///b.db"


def test_unknown_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_AGENT_DATABSE_URL", "sqlite:///typo.db")
    with pytest.raises(ConfigError, match=r"unknown setting.*TRADING_AGENT_DATABSE_URL"):
        load_settings()


def test_bad_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_AGENT_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match=r"log_level = 'LOUD'.*'DEBUG'"):
        load_settings()


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_AGENT_DELTA__API_SECRET", "hunter2")
    settings = load_settings()
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in settings.model_dump_json()
    assert settings.delta.api_secret is not None
    assert settings.delta.api_secret.get_secret_value() == "hunter2"


def test_fernet_encrypted_secrets_are_decrypted(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key()
    monkeypatch.setenv("TRADING_AGENT_ENCRYPTION_KEY", key)
    monkeypatch.setenv("TRADING_AGENT_TELEGRAM_BOT_TOKEN", encrypt_secret("123:abc", SecretStr(key)))
    monkeypatch.setenv("TRADING_AGENT_DELTA__API_KEY", encrypt_secret("k3y", SecretStr(key)))
    settings = load_settings()
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "123:abc"
    assert settings.delta.api_key is not None
    assert settings.delta.api_key.get_secret_value() == "k3y"


def test_encrypted_secret_without_or_with_wrong_key(monkeypatch: pytest.MonkeyPatch) -> None:
    token = encrypt_secret("s", SecretStr(generate_key()))
    monkeypatch.setenv("TRADING_AGENT_API_TOKEN", token)
    with pytest.raises(ConfigError, match="TRADING_AGENT_API_TOKEN is encrypted but TRADING_AGENT_ENCRYPTION_KEY"):
        load_settings()
    monkeypatch.setenv("TRADING_AGENT_ENCRYPTION_KEY", generate_key())
    with pytest.raises(ConfigError, match="does not decrypt"):
        load_settings()


def test_env_example_documents_every_variable() -> None:
    from tests.testkit.services import REPO_ROOT
    from trading_agent.config.settings import known_env_names

    example = (REPO_ROOT / "config" / ".env.example").read_text()
    documented = {line.lstrip("# ").split("=", 1)[0] for line in example.splitlines() if "=" in line}
    assert known_env_names() <= documented, sorted(known_env_names() - documented)
