"""Mapping Delta's HTTP answers and transport failures to the data layer's errors."""

from __future__ import annotations

import socket

import aiohttp
import ccxt.async_support as ccxt
import pytest

from trading_agent.data.delta.errors import (
    DeltaApiError,
    TooManyRequestsError,
    error_for_response,
    unavailable_error,
)
from trading_agent.data.errors import ExchangeError, ExchangeUnavailableError, RateLimitedError

HOST = "api.india.delta.exchange"


def test_success_is_no_error() -> None:
    assert error_for_response(HOST, 200, {}, '{"success":true,"result":[]}', {"success": True, "result": []}) is None


def test_error_object_shape_names_the_code_and_context() -> None:
    body = {"success": False, "error": {"code": "insufficient_margin", "context": {"available_balance": "0"}}}
    error = error_for_response(HOST, 400, {}, "", body)
    assert isinstance(error, DeltaApiError)
    assert (error.status, error.code) == (400, "insufficient_margin")
    assert "insufficient_margin" in str(error) and "available_balance" in str(error) and HOST in str(error)


def test_top_level_string_shape_names_the_code_and_message() -> None:
    body = {"error": "SignatureExpired", "message": "your signature has expired"}
    error = error_for_response(HOST, 401, {}, "", body)
    assert isinstance(error, DeltaApiError)
    assert error.code == "SignatureExpired"
    assert "your signature has expired" in str(error)


def test_rate_limit_carries_the_reset_header_case_insensitively() -> None:
    error = error_for_response(HOST, 429, {"x-rate-limit-reset": "1234"}, "", None)
    assert isinstance(error, TooManyRequestsError) and isinstance(error, RateLimitedError)
    assert error.reset_ms == 1234


def test_rate_limit_without_a_usable_header() -> None:
    error = error_for_response(HOST, 429, {"X-RATE-LIMIT-RESET": "soon"}, "", None)
    assert isinstance(error, TooManyRequestsError)
    assert error.reset_ms is None


@pytest.mark.parametrize(("status", "word"), [(503, "maintenance"), (500, "failing"), (502, "failing")])
def test_server_errors_mean_unavailable(status: int, word: str) -> None:
    error = error_for_response(HOST, status, {}, "", {"success": False, "error": {"code": "unavailable"}})
    assert isinstance(error, ExchangeUnavailableError)
    assert word in str(error) and "unavailable" in str(error)


def test_client_error_without_a_json_body_keeps_the_text() -> None:
    error = error_for_response(HOST, 404, {}, "<html>not found</html>", None)
    assert isinstance(error, DeltaApiError)
    assert error.code == "http_404" and "not found" in error.detail


def test_success_false_without_a_code_is_still_an_error() -> None:
    error = error_for_response(HOST, 200, {}, "", {"success": False})
    assert isinstance(error, DeltaApiError) and error.code == "unknown_error"


def test_a_body_that_is_not_json_is_an_error() -> None:
    error = error_for_response(HOST, 200, {}, '{"success": tr', None)
    assert type(error) is ExchangeError
    assert "not JSON" in str(error)


def _with_cause(error: Exception, cause: BaseException) -> Exception:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (_with_cause(ccxt.ExchangeNotAvailable("x"), socket.gaierror(-2, "Name or service not known")), "DNS"),
        (ccxt.RequestTimeout("x"), "no answer within 2.5 s"),
        (_with_cause(ccxt.ExchangeNotAvailable("x"), ConnectionRefusedError(111, "Connection refused")), "refused"),
        (TimeoutError(), "no answer within 2.5 s"),
        (aiohttp.ServerDisconnectedError(), "disconnected"),
    ],
)
def test_unavailable_error_is_one_line_naming_the_host(failure: Exception, reason: str) -> None:
    error = unavailable_error(HOST, failure, 2.5)
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"no connection to Delta Exchange at {HOST}")
    assert reason in message
