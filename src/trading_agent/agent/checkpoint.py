"""The agent's saved signal-source state: a file replaced atomically, read back on restart.

The journal is the record of what the agent did; this file only spares a restart the warm-up of
the streaming features. It is written after the journal, so it is never ahead of it: on restart
the candles between the saved state and the journal's resume point are fed to the source again
(``TradingAgent``), and the result is the state of a run that never stopped.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

__all__ = ["StateFile"]

_VERSION = 1


class StateFile:
    """``(candle open time, state blob)`` at ``path`` (only this agent writes it: it is a pickle)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, ts: int, blob: bytes) -> None:
        """Replace the saved state with ``blob`` as of the candle that opened at ``ts``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(self.path.suffix + ".partial")
        with partial.open("wb") as handle:
            pickle.dump((_VERSION, ts, blob), handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(self.path)

    def load(self) -> tuple[int, bytes] | None:
        """The saved ``(ts, blob)``, or None when there is none or it is unreadable (then the source warms up)."""
        try:
            with self.path.open("rb") as handle:
                version, ts, blob = pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
            return None
        return (int(ts), blob) if version == _VERSION else None
