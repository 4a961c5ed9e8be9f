"""A serving process that dies with a job running and one queued: the job-recovery test's child.

``python -m tests.testkit.crash_jobs DATABASE_URL TMP_DIR`` opens a job runner on the store at
``DATABASE_URL``, submits two backtests of the stored BTC/USDT hourly candles, prints ``jobs ID ID``,
and kills itself (SIGKILL) a few seconds after the first started running in its worker process,
the second still queued behind it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

from tests.testkit.api import api_settings
from trading_agent.services.jobs import BacktestJobRequest, JobRunner

WORKER_UP_S = 3.0
"""How long the child lets its job worker start before it dies (the worker must then exit by itself)."""
REQUEST = BacktestJobRequest(symbol="BTCUSDT", strategy="sma-cross", params={"fast": 10.0, "slow": 30.0})


def main(url: str, tmp_path: Path) -> None:
    """Submit two jobs, print their ids, die while the first runs."""
    runner = JobRunner(api_settings(url, tmp_path))
    running, queued = runner.submit(REQUEST), runner.submit(REQUEST)
    print("jobs", running.id, queued.id, flush=True)
    while runner.get(running.id).status != "running" or not multiprocessing.active_children():
        time.sleep(0.005)
    time.sleep(WORKER_UP_S)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
