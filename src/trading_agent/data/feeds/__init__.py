"""Market feeds: live (Delta WebSocket) and replay (stored candles at N x speed)."""

from trading_agent.data.feeds.base import MarketFeed

__all__ = ["MarketFeed"]
