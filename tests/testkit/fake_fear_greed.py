"""A local fake of the Alternative.me Fear & Greed API (``GET /fng/?limit=N&format=json``) on 127.0.0.1.

It serves ``values`` (a list of ``(epoch seconds, value 0..100)``) the way the real API does: newest
first, at most ``limit`` of them (``limit=0``: all), every field a string, plus a ``metadata`` object.
Failure injection for the next request: ``status_next`` (an HTTP error status), ``body_next`` (a raw
body sent with 200) and ``stall_next`` (never answers until the fake closes). Requests are recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web
from aiohttp.test_utils import TestServer

__all__ = ["FakeFearGreed", "classify"]


def classify(value: int) -> str:
    """Alternative.me's label of a value."""
    if value < 25:
        return "Extreme Fear"
    if value < 47:
        return "Fear"
    if value <= 54:
        return "Neutral"
    if value < 76:
        return "Greed"
    return "Extreme Greed"


class FakeFearGreed:
    """``async with FakeFearGreed(values) as fake:`` then point a client at ``fake.url``."""

    def __init__(self, values: list[tuple[int, int]]) -> None:
        self.values = list(values)
        self.requests: list[Mapping[str, str]] = []
        self.status_next: int | None = None
        self.body_next: str | None = None
        self.stall_next = False
        self._release = asyncio.Event()
        self._server: TestServer | None = None

    async def __aenter__(self) -> FakeFearGreed:
        app = web.Application()
        app.router.add_get("/fng/", self._fng)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server(access_log=None, shutdown_timeout=0.1)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._release.set()
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        """The endpoint, as a client is configured with it."""
        assert self._server is not None, "use the fake inside 'async with'"
        return str(self._server.make_url("/fng/"))

    async def _fng(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.query))
        if self.stall_next:
            self.stall_next = False
            await self._release.wait()
        if self.status_next is not None:
            status, self.status_next = self.status_next, None
            return web.Response(status=status, text="<html>upstream error</html>", content_type="text/html")
        if self.body_next is not None:
            body, self.body_next = self.body_next, None
            return web.Response(text=body, content_type="application/json")
        limit = int(request.query.get("limit", "1"))
        newest_first = sorted(self.values, reverse=True)
        shown = newest_first if limit == 0 else newest_first[:limit]
        data = [
            {"value": str(v), "value_classification": classify(v), "timestamp": str(ts), "time_until_update": "3600"}
            for ts, v in shown
        ]
        return web.json_response({"name": "Fear and Greed Index", "data": data, "metadata": {"error": None}})
