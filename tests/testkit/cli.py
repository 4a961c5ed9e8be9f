"""Running the real ``trading-agent`` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.testkit.services import REPO_ROOT

# RFC 2606 reserves .invalid: it never resolves, so "offline" tests never reach a real exchange.
UNREACHABLE_DELTA = "https://delta.invalid"


@dataclass(frozen=True)
class CliResult:
    """What the command printed and returned."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.stdout)


def cli_env() -> dict[str, str]:
    """This process's environment without ``TRADING_AGENT_*``, plus the repository's config and an unreachable Delta."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_AGENT_")}
    return base | {
        "TRADING_AGENT_CONFIG_DIR": str(REPO_ROOT / "config"),
        "TRADING_AGENT_DELTA__REST_URL": UNREACHABLE_DELTA,
        "TRADING_AGENT_DELTA__WS_URL": "wss://delta.invalid",
        "COLUMNS": "200",
    }


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
    """Run ``python -m trading_agent ARGS`` in ``cwd`` with a clean ``TRADING_AGENT_*`` environment."""
    base = cli_env()
    proc = subprocess.run(
        [sys.executable, "-m", "trading_agent", *args],
        cwd=cwd,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
