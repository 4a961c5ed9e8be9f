"""The live feed's pure parts: backoff and argument checks (the feed itself runs in tests/integration)."""

from __future__ import annotations

import pytest

from trading_agent.config import DeltaSettings
from trading_agent.data.delta.live_feed import Backoff, DeltaLiveFeed
from trading_agent.data.errors import DataError
from trading_agent.domain import Timeframe


def test_backoff_grows_exponentially_and_is_bounded() -> None:
    backoff = Backoff(initial_s=0.5, factor=2, max_s=30)
    assert [backoff.delay_s(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay_s(10_000) == 30


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(initial_s=5, max_s=1)
    with pytest.raises(ValueError, match="backoff"):
        Backoff(factor=0.5)


def test_feed_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one symbol"):
        DeltaLiveFeed(DeltaSettings(), [], Timeframe.M1)
    with pytest.raises(ValueError, match="heartbeat_timeout_s"):
        DeltaLiveFeed(DeltaSettings(), ["BTCUSD"], Timeframe.M1, heartbeat_timeout_s=0)
    with pytest.raises(DataError, match="3d"):
        DeltaLiveFeed(DeltaSettings(), ["BTCUSD"], Timeframe.D3)
