"""A serving process that dies with a job running and one queued: the job-recovery test's child.

``python -m tests.testkit.crash_jobs DATABASE_URL TMP_DIR`` opens a job runner on the store at
``DATABASE_URL``, submits two backtests of the stored BTC/USDT hourly candles, prints ``jobs ID ID``,
and kills itself (SIGKILL) as soon as the first is running, the second still queued behind it.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from tests.testkit.api import api_settings
from trading_agent.services.jobs import BacktestJobRequest, JobRunner

REQUEST = BacktestJobRequest(symbol="BTCUSDT", strategy="sma-cross", params={"fast": 10.0, "slow": 30.0})


def main(url: str, tmp_path: Path) -> None:
    """Submit two jobs, print their ids, die while the first runs."""
    runner = JobRunner(api_settings(url, tmp_path))
    running, queued = runner.submit(REQUEST), runner.submit(REQUEST)
    print("jobs", running.id, queued.id, flush=True)
    while runner.get(running.id).status != "running":
        time.sleep(0.005)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
