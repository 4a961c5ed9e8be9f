"""The local fake Delta server (tests/testkit/fake_delta.py), one per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.testkit.fake_delta import FakeDelta


@pytest.fixture
async def fake() -> AsyncIterator[FakeDelta]:
    """A fake Delta Exchange India on 127.0.0.1 with an ephemeral port."""
    async with FakeDelta() as server:
        yield server
