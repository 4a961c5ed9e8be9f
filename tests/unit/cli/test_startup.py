"""The command starts light: the agent, its models and the API load only in the commands that need them."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_command_loads_no_agent_model_or_web_framework() -> None:
    heavy = ("trading_agent.agent", "trading_agent.api", "sklearn", "torch", "onnxruntime", "fastapi")
    probe = f"import sys, trading_agent.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
