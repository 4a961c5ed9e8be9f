"""The API against its own OpenAPI document: schemathesis generates requests for every operation, in process.

A real agent paper-trades synthetic candles into a SQLite journal; the app over its real services
is loaded by schemathesis through ASGI (no network), and every operation is called with the bearer
token and checked with all of schemathesis's default checks (no 5xx, status codes and response
bodies as documented, invalid data rejected, valid data accepted, unsupported methods refused).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from pydantic import SecretStr
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from tests.testkit.agent import traded_agent
from tests.testkit.api import AUTH, TOKEN, UNLIMITED, open_services
from trading_agent.api import ApiOptions, create_app

SEED = 20_240_601  # schemathesis's seed: the same requests on every run
MAX_EXAMPLES = 12


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    """The app's own OpenAPI document over an agent that has traded 300 candles, the token on every request."""
    tmp_path: Path = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{tmp_path / 'api.db'}"
    agent = traded_agent(url, "api", 300)
    assert agent.engine.trades, "the agent should have traded: the journal routes would be empty"
    services = open_services(url, tmp_path, "api", agent)
    config = SchemathesisConfig.from_dict({"seed": SEED, "headers": AUTH, "generation": {"database": "none"}})
    try:
        app = create_app(services, ApiOptions(token=SecretStr(TOKEN), rate=UNLIMITED))
        yield schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    finally:
        services.close()


@pytest.fixture(autouse=True)
def _schemathesis_node_id(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's lazy schemas read and write ``Function._nodeid``, which pytest 9.2 no longer has."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


# Excluded: POST /api/v1/backtests, because each accepted submission spawns a worker process that
# imports the whole package and runs a backtest (seconds each, on a shared 2-core machine, and its
# outcome races the test's end; tests/integration/api/test_backtest_jobs.py runs real jobs). The
# WebSocket route /api/v1/stream is not in the OpenAPI document.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(method="POST", path="/api/v1/backtests")


@schema.parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True)
def test_every_operation_conforms_to_the_openapi_document(case: Case[Any]) -> None:
    case.call_and_validate(headers=AUTH)
