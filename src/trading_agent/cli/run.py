"""``trading-agent run``: the main job (``make run``): the paper-trading agent on the embedded default.

Live Delta candles when the exchange answers, else a replay of the labelled synthetic market (or
of ``--replay FILE``), journaled in the configured database (SQLite by default). The API server
and the Telegram bot join this process with issue 9.
"""

from __future__ import annotations

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
from trading_agent.services.paper import PaperOptions, open_paper_session

__all__ = ["run"]


def run(
    ctx: typer.Context,
    replay: ReplayOption = None,
    synthetic: SyntheticOption = False,
    speed: SpeedOption = "max",
    last: LastOption = None,
    session: SessionOption = "run",
    days: DaysOption = 90,
) -> None:
    """Run the paper-trading agent on the default market (live, else a synthetic replay), with its status."""
    options = PaperOptions(
        replay=replay, synthetic=synthetic, speed=parse_speed(speed), last=last, session=session, days=days
    )
    with console.status("Preparing the agent…"):
        prepared = open_paper_session(state(ctx).settings, options)
    run_session(prepared)
