"""Single keys that steer the running agent from its status view (a terminal only).

``p`` pause, ``r`` resume, ``1`` / ``2`` / ``3`` the conservative / moderate / aggressive mode,
``E`` (shift-e) the emergency stop. Each goes through the service layer's ``control_agent`` (the
API's path too) to the agent's journaled controls, between
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

from trading_agent.services.errors import ServiceError

if TYPE_CHECKING:
    from trading_agent.agent import TradingAgent

__all__ = ["KEY_HELP", "apply_key", "keyboard"]

KEY_HELP = "p pause · r resume · 1/2/3 conservative/moderate/aggressive · E emergency stop · Ctrl-C quit"
_KEYS: dict[str, tuple[str, str | None]] = {
    "p": ("pause", None),
    "r": ("resume", None),
    "1": ("mode", "conservative"),
    "2": ("mode", "moderate"),
    "3": ("mode", "aggressive"),
    "E": ("emergency_stop", None),
}


def apply_key(agent: TradingAgent, key: str) -> str | None:
    """Do what ``key`` asks of ``agent`` (through the service's controls); what was done, None for other keys."""
    from trading_agent.services.agent_service import control_agent

    command = _KEYS.get(key)
    if command is None:
        return None
    name, mode = command
    try:
        return control_agent(agent, name, mode=mode, reason=f"{name} from the keyboard").done
    except ServiceError as exc:
        return f"refused: {exc}"


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
