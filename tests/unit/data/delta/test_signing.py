"""Our reading of Delta's request signature, checked on the fact sheet's self-made vectors.

The fake server verifies ccxt's signatures with these functions, so they must be right.
"""

from __future__ import annotations

import pytest

from tests.testkit.fake_delta import prehash, sign

SECRET = "my_test_secret"
BODY = '{"product_id":27,"size":1,"side":"buy","order_type":"limit_order","limit_price":"60000"}'


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "expected"),
    [
        (
            "GET",
            "/v2/orders",
            "product_id=27&states=open",
            "",
            "46edac268ae18387f15748b4fed68a7fd38ef6a691d26521018e5d6f69d7135b",
        ),
        ("POST", "/v2/orders", "", BODY, "1d57f6c02a27fe51c7a89e4dacfe2efb811d294790c14b4c7b3f2cf18f4ebcce"),
        ("GET", "/live", "", "", "1d636c4f5ff5a79cc7fe924ae34b1068110cf232a2f8e5845d784da8d91bb01c"),
    ],
)
def test_vectors(method: str, path: str, query: str, body: str, expected: str) -> None:
    assert sign(SECRET, prehash(method, "1700000000", path, query, body)) == expected


def test_query_gets_a_leading_question_mark_only_when_present() -> None:
    assert prehash("GET", "1", "/v2/orders", "a=1", "") == "GET1/v2/orders?a=1"
    assert prehash("GET", "1", "/v2/orders", "", "") == "GET1/v2/orders"
