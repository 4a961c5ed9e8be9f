"""The command starts light: the agent, its models and the API load only in the commands that need them."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_command_loads_no_agent_model_or_web_framework() -> None:
    heavy = ("trading_agent.agent", "trading_agent.api", "sklearn", "torch", "onnxruntime", "fastapi")
    probe = f"import sys, trading_agent.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""


def test_a_bad_option_is_refused_before_the_agent_the_api_or_the_models_load() -> None:
    heavy = ("trading_agent.agent", "trading_agent.api", "trading_agent.registry", "sklearn", "torch", "mlflow")
    commands = (
        ["paper", "--synthetic", "--speed", "fast"],
        ["paper", "--synthetic", "--timeframes", "1h,7x"],
        ["run", "--no-api", "--speed", "0"],
        ["train", "--symbol", "BTCUSDT", "--from", "someday"],
        ["rl", "train", "--symbol", "BTCUSDT", "--report", "report.txt"],
    )
    probe = f"""
import sys
import trading_agent.cli as cli
for argv in {commands!r}:
    sys.argv = ["trading-agent", *argv]
    try:
        cli.main()
    except SystemExit as exit:
        print(exit.code, *(m for m in {heavy!r} if m in sys.modules))
"""
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert ran.stdout.splitlines() == ["1"] * len(commands), ran.stderr
    for said in ("--speed 'fast'", "--timeframes '1h,7x'", "--speed must be positive", "--from", "report.txt"):
        assert said in ran.stderr
