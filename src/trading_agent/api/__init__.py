"""The REST API (FastAPI): versioned routes over the service layer, bearer-token auth, Prometheus metrics."""

from trading_agent.api.app import ApiOptions, create_app

__all__ = ["ApiOptions", "create_app"]
