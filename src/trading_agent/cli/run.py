"""``trading-agent run``: the main job (``make run``): the paper-trading agent with its API, in one process.

Live Delta candles when the exchange answers, else a replay of the labelled synthetic market (or
of ``--replay FILE``), journaled in the configured database (SQLite by default); the REST API
(``docs/API.md``) on ``TRADING_AGENT_API_HOST:PORT`` serves the agent's status and takes its
controls while it runs. The Telegram bot joins this process with its issue.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Annotated

import typer

from trading_agent.cli.context import console, state
from trading_agent.cli.paper import (
    DaysOption,
    LastOption,
    ReplayOption,
    SessionOption,
    SpeedOption,
    SyntheticOption,
    parse_speed,
    run_session,
)
from trading_agent.services.errors import ServiceError

__all__ = ["run"]


def run(
    ctx: typer.Context,
    replay: ReplayOption = None,
    synthetic: SyntheticOption = False,
    speed: SpeedOption = "max",
    last: LastOption = None,
    session: SessionOption = "run",
    days: DaysOption = 90,
    port: Annotated[int | None, typer.Option("--port", help="API port (env TRADING_AGENT_API_PORT).")] = None,
    api: Annotated[bool, typer.Option("--api/--no-api", help="Serve the REST API beside the agent.")] = True,
) -> None:
    """Run the paper-trading agent on the default market (live, else a synthetic replay) with its API."""
    pace = parse_speed(speed)  # a bad option fails before the agent and the API load
    from trading_agent.api import ApiOptions, create_app
    from trading_agent.api.auth import check_bind
    from trading_agent.api.server import serving
    from trading_agent.services.interfaces import Services
    from trading_agent.services.paper import PaperOptions, open_paper_session

    settings = state(ctx).settings
    host, chosen_port = settings.api_host, port or settings.api_port
    if api:
        try:
            check_bind(host, settings.api_token)
        except ValueError as exc:
            raise ServiceError(str(exc)) from None
    options = PaperOptions(replay=replay, synthetic=synthetic, speed=pace, last=last, session=session, days=days)
    with console.status("Preparing the agent…"):
        prepared = open_paper_session(settings, options)
    if not api:
        run_session(prepared)
        return
    services = Services.open(settings, session, agent=prepared.agent, bus=prepared.bus, feed=prepared.feed)
    app = create_app(services, ApiOptions.from_settings(settings))

    def beside() -> AbstractAsyncContextManager[object]:
        return serving(app, host, chosen_port)

    console.print(f"[bold]API:[/] http://{host}:{chosen_port}/api/v1 (docs at /docs)", highlight=False)
    try:
        run_session(prepared, beside)
    finally:
        services.close()
