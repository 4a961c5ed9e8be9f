"""Bearer-token authentication: every route but ``/health`` and ``/metrics`` needs the API token.

The token is ``TRADING_AGENT_API_TOKEN``, compared in constant time (``hmac.compare_digest``). The
WebSocket takes it the same way, or as the first message (browsers cannot set its headers).
Without a configured token the API serves only loopback clients' processes: ``check_bind``
refuses to start it on any other address (anyone on the network could steer the agent).
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import HTTPException, Request, status
from pydantic import SecretStr

__all__ = ["TokenAuth", "check_bind"]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class TokenAuth:
    """A FastAPI dependency checking ``Authorization: Bearer <token>`` (nothing to check without a token)."""

    def __init__(self, token: SecretStr | None) -> None:
        self._token = None if token is None else token.get_secret_value().encode()

    async def __call__(self, request: Request) -> None:
        if not self.allows(request.headers.get("authorization", "")):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token", headers=_CHALLENGE)

    def allows(self, authorization: str) -> bool:
        """Whether an ``Authorization`` header value carries the token (always, without a token)."""
        if self._token is None:
            return True
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self._token)


def check_bind(host: str, token: SecretStr | None) -> None:
    """Refuse a non-loopback ``host`` without a token (``ValueError`` naming the fix)."""
    if token is not None:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"refusing to serve the API on {host} without a token: set TRADING_AGENT_API_TOKEN "
            "(anyone who reaches the port could steer the agent), or bind to 127.0.0.1"
        )
