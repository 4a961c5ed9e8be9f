"""Single keys that steer the running agent from its status view (a terminal only).

``p`` pause, ``r`` resume, ``1`` / ``2`` / ``3`` the conservative / moderate / aggressive mode,
``E`` (shift-e) the emergency stop. Each goes through the agent's journaled controls, between
candles (the key is read by the event loop that runs the agent). The terminal is put in cbreak
mode while the view runs and restored afterwards, even on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from trading_agent.engine.errors import EngineError

if TYPE_CHECKING:
    from trading_agent.agent import TradingAgent

__all__ = ["KEY_HELP", "apply_key", "keyboard"]

KEY_HELP = "p pause · r resume · 1/2/3 conservative/moderate/aggressive · E emergency stop · Ctrl-C quit"
_MODES = {"1": "conservative", "2": "moderate", "3": "aggressive"}


def apply_key(agent: TradingAgent, key: str) -> str | None:
    """Do what ``key`` asks of ``agent``; what was done, or None for a key that means nothing."""
    try:
        if key == "p":
            agent.pause("paused from the keyboard")
            return "paused"
        if key == "r":
            agent.resume("resumed from the keyboard")
            return "resumed"
        if key in _MODES:
            agent.set_mode(_MODES[key], "mode set from the keyboard")
            return f"mode {_MODES[key]}"
        if key == "E":
            agent.emergency_stop("emergency stop from the keyboard")
            return "emergency stop: flattening at the next open, entries stopped"
    except EngineError as exc:
        return f"refused: {exc}"
    return None


@contextmanager
def keyboard(on_key: Callable[[str], None]) -> Iterator[None]:
    """Call ``on_key`` with every key pressed while the block runs (nothing when stdin is not a terminal)."""
    stdin = sys.stdin
    if not stdin.isatty():
        yield
        return
    loop = asyncio.get_running_loop()
    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    loop.add_reader(fd, lambda: on_key(stdin.read(1)))
    try:
        yield
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
