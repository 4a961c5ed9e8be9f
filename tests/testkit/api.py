"""The API for tests: the real services and app over a journal, with an HTTP client on the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from tests.testkit.agent import CONFIG_DIR
from trading_agent.agent import EventBus, TradingAgent
from trading_agent.api import ApiOptions, create_app
from trading_agent.api.limits import RateLimit
from trading_agent.config import AppSettings
from trading_agent.services.interfaces import Services

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UNLIMITED = RateLimit(enabled=False)


def api_settings(url: str, tmp_path: Path, **overrides: Any) -> AppSettings:
    """Settings on the journal at ``url`` with the shipped config and a registry of the test's own."""
    values = {
        "database_url": url,
        "mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "config_dir": CONFIG_DIR,
    }
    return AppSettings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


def open_services(
    url: str,
    tmp_path: Path,
    session: str,
    agent: TradingAgent | None = None,
    bus: EventBus | None = None,
    **overrides: Any,
) -> Services:
    """The services of ``session`` as ``trading-agent run`` (with ``agent``) or ``serve`` (without) opens them."""
    return Services.open(api_settings(url, tmp_path, **overrides), session, agent=agent, bus=bus)


@asynccontextmanager
async def api_client(
    services: Services, *, token: str | None = TOKEN, rate: RateLimit = UNLIMITED, cors: tuple[str, ...] = ()
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app over ``services`` (closed with them)."""
    options = ApiOptions(token=None if token is None else SecretStr(token), rate=rate, cors_origins=cors)
    app = create_app(services, options)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            yield http
    finally:
        services.close()
