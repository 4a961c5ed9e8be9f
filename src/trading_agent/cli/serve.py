"""``trading-agent serve``: the REST API alone, over the journal (the agent runs elsewhere or not at all).

Trades and signals are read from the configured database; status and control answer 503 (they
need the agent in the process: ``trading-agent run``). Ctrl-C stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from trading_agent.cli.context import console, state
from trading_agent.services.errors import ServiceError

__all__ = ["serve"]


def serve(
    ctx: typer.Context,
    session: Annotated[str, typer.Option("--session", help="Journal session to serve.")] = "run",
    port: Annotated[int | None, typer.Option("--port", help="API port (env TRADING_AGENT_API_PORT).")] = None,
) -> None:
    """Serve the REST API over the journal until Ctrl-C."""
    from trading_agent.api import ApiOptions, create_app
    from trading_agent.api.auth import check_bind
    from trading_agent.api.server import serving
    from trading_agent.services.interfaces import Services

    settings = state(ctx).settings
    host, chosen_port = settings.api_host, port or settings.api_port
    try:
        check_bind(host, settings.api_token)
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    services = Services.open(settings, session)
    app = create_app(services, ApiOptions.from_settings(settings))

    async def forever() -> None:
        async with serving(app, host, chosen_port) as server:
            console.print(f"[bold]API:[/] http://{host}:{chosen_port}/api/v1 (session {session!r}; Ctrl-C stops)")
            while not server.should_exit:
                await asyncio.sleep(0.2)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(forever())
    finally:
        services.close()
