"""Errors of the Delta adapter, and the one place that turns HTTP answers and failures into them.

Delta answers errors in two shapes: ``{"success": false, "error": {"code": ..., "context": ...}}`` and,
for some auth failures, ``{"error": "SignatureExpired", "message": ...}``. ccxt's own mapping knows only
the first, ignores ``X-RATE-LIMIT-RESET`` and calls most 4xx "exchange not available", so the
transport hands every answer to ``error_for_response`` instead.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from typing import Any

import aiohttp
import ccxt.async_support as ccxt

from trading_agent.data.errors import DataError, ExchangeError, ExchangeUnavailableError, RateLimitedError

__all__ = [
    "DeltaApiError",
    "LiveOrderRefusedError",
    "TooManyRequestsError",
    "error_for_response",
    "unavailable_error",
]

_DETAIL_CHARS = 200


class DeltaApiError(ExchangeError):
    """Delta answered with an error body; ``code`` is Delta's code (``invalid_signature``, ``bad_schema``...)."""

    def __init__(self, host: str, status: int, code: str, detail: str = "") -> None:
        message = f"Delta Exchange ({host}) answered HTTP {status} {code}"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.host = host
        self.status = status
        self.code = code
        self.detail = detail


class LiveOrderRefusedError(DataError):
    """An order was refused locally: this project sends orders to the India testnet only."""


class TooManyRequestsError(RateLimitedError):
    """One HTTP 429 answer; ``reset_ms`` is Delta's ``X-RATE-LIMIT-RESET`` (None when absent).

    The transport retries GETs on it and raises a plain ``RateLimitedError`` when it gives up.
    """

    def __init__(self, host: str, reset_ms: int | None) -> None:
        super().__init__(f"Delta Exchange ({host}) answered HTTP 429 (rate limited, reset in {reset_ms} ms)")
        self.reset_ms = reset_ms


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _reset_ms(headers: Mapping[str, str]) -> int | None:
    value = _header(headers, "X-RATE-LIMIT-RESET")
    try:
        return max(0, int(float(value))) if value is not None else None
    except ValueError:
        return None


def _error_code(parsed: Any) -> tuple[str, str] | None:
    """(code, detail) from either documented error shape, or None when the body carries no error."""
    if not isinstance(parsed, Mapping):
        return None
    error = parsed.get("error")
    if isinstance(error, Mapping) and error.get("code") is not None:
        context = error.get("context")
        return str(error["code"]), json.dumps(context, separators=(",", ":")) if context else ""
    if isinstance(error, str) and error:
        return error, str(parsed.get("message") or "")
    if parsed.get("success") is False:
        return "unknown_error", json.dumps(parsed, separators=(",", ":"))[:_DETAIL_CHARS]
    return None


def error_for_response(
    host: str, status: int, headers: Mapping[str, str], body: str, parsed: Any
) -> ExchangeError | None:
    """The error an HTTP answer stands for, or None when it is a usable success.

    429 becomes ``TooManyRequestsError``; 5xx (503 is maintenance) ``ExchangeUnavailableError``; an error body
    in either shape ``DeltaApiError``; a 2xx that is not JSON an ``ExchangeError``.
    """
    if status == 429:
        return TooManyRequestsError(host, _reset_ms(headers))
    found = _error_code(parsed)
    if status >= 500:
        what = "under maintenance" if status == 503 else "failing"
        code = f" ({found[0]})" if found else ""
        return ExchangeUnavailableError(f"Delta Exchange ({host}) is {what}: HTTP {status}{code}")
    if found is not None:
        return DeltaApiError(host, status, *found)
    if status >= 400:
        return DeltaApiError(host, status, f"http_{status}", body.strip()[:_DETAIL_CHARS])
    if parsed is None:
        return ExchangeError(f"Delta Exchange ({host}) sent a body that is not JSON: {body[:80]!r}")
    return None


def _os_reason(error: OSError) -> str:
    return f"connection failed ({os.strerror(error.errno) if error.errno else error})"


def _failure_reason(exc: BaseException, timeout_s: float) -> str:
    for item in (exc, exc.__cause__):
        if isinstance(item, ccxt.RequestTimeout | TimeoutError):
            return f"no answer within {timeout_s:g} s"
        if isinstance(item, aiohttp.ClientConnectorDNSError | socket.gaierror):
            return "DNS lookup failed"
        if isinstance(item, aiohttp.ClientConnectorError):
            return _os_reason(item.os_error)
        if isinstance(item, OSError):
            return _os_reason(item)
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unavailable_error(host: str, exc: BaseException, timeout_s: float) -> ExchangeUnavailableError:
    """A one-line "no connection" error for a network failure (DNS, refused, timeout, reset)."""
    return ExchangeUnavailableError(f"no connection to Delta Exchange at {host}: {_failure_reason(exc, timeout_s)}")
