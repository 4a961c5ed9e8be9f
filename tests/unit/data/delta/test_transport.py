"""The 429 retry policy."""

from __future__ import annotations

import pytest

from trading_agent.data.delta.transport import RetryPolicy


def test_waits_for_the_reset_header() -> None:
    assert RetryPolicy().wait_s(1500) == 1.5


def test_caps_the_wait() -> None:
    assert RetryPolicy(max_wait_s=5.0).wait_s(300_000) == 5.0


def test_waits_the_default_without_a_header() -> None:
    assert RetryPolicy(default_wait_s=0.7).wait_s(None) == 0.7


def test_refuses_negative_values() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        RetryPolicy(max_retries=-1)
