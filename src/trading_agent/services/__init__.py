"""The application layer every interface calls (CLI now; API and Telegram later). Raises ``ServiceError``."""

from trading_agent.services.errors import ServiceError

__all__ = ["ServiceError"]
