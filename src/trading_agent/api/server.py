"""The API served by uvicorn inside the running event loop, beside the agent (``trading-agent run``).

One process, one event loop: a request handler runs between two candles, so a control request
never interleaves with a candle's step.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import uvicorn
from fastapi import FastAPI

from trading_agent.services.errors import ServiceError

__all__ = ["serving"]

_STARTUP_POLL_S = 0.01


@asynccontextmanager
async def serving(app: FastAPI, host: str, port: int) -> AsyncIterator[uvicorn.Server]:
    """Serve ``app`` on ``host:port`` while the block runs; a port that cannot be bound raises ``ServiceError``."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            with suppress(SystemExit, OSError):
                task.result()
            raise ServiceError(f"cannot serve the API on {host}:{port} (is the port in use?)")
        await asyncio.sleep(_STARTUP_POLL_S)
    try:
        yield server
    finally:
        server.should_exit = True
        await task
