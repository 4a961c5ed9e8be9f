"""Background jobs survive the process: kept in the store, resumed or failed as interrupted after a crash."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.testkit.api import api_settings
from tests.testkit.crash_jobs import REQUEST
from tests.testkit.services import REPO_ROOT
from trading_agent.services.jobs import INTERRUPTED, JobNotFoundError, JobRunner, JobView

pytestmark = pytest.mark.real_data


def _finished(runner: JobRunner, job_id: str, timeout_s: float = 120) -> JobView:
    deadline = time.monotonic() + timeout_s
    while (job := runner.get(job_id)).status in ("queued", "running"):
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job.status} after {timeout_s} s")
        time.sleep(0.1)
    return job


def _group_gone(group: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_finished_job_is_still_there_after_a_restart(btc_1h_store_url: str, tmp_path: Path) -> None:
    settings = api_settings(btc_1h_store_url, tmp_path)
    first = JobRunner(settings)
    try:
        done = _finished(first, first.submit(REQUEST).id)
    finally:
        first.close()
    again = JobRunner(settings)
    try:
        assert done.status == "succeeded", done.error
        assert again.get(done.id) == done  # request, times and the whole report
        assert again.list() == [done]
        assert done.result is not None and done.result["metrics"]["num_trades"] > 0
        with pytest.raises(JobNotFoundError, match="no job 'nope'"):
            again.get("nope")
    finally:
        again.close()


def test_a_job_abandoned_by_close_keeps_no_result_and_the_next_runner_fails_it(
    btc_1h_store_url: str, tmp_path: Path
) -> None:
    settings = api_settings(btc_1h_store_url, tmp_path)
    first = JobRunner(settings)
    job_id = first.submit(REQUEST).id
    deadline = time.monotonic() + 60
    while first.get(job_id).status != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    first.close()
    for thread in threading.enumerate():  # the runner's thread ends once the worker hands back the result
        if thread.name.startswith("jobs"):
            thread.join(timeout=120)
    again = JobRunner(settings)
    try:
        abandoned = again.get(job_id)
    finally:
        again.close()
    assert abandoned.status == "failed" and abandoned.error == INTERRUPTED
    assert abandoned.result is None


def test_after_a_kill_the_running_job_is_failed_and_the_queued_one_runs(btc_1h_store_url: str, tmp_path: Path) -> None:
    said = tmp_path / "child.out"
    with said.open("w") as sink:  # a file, not a pipe: the worker the child spawned would hold a pipe open
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.testkit.crash_jobs", btc_1h_store_url, str(tmp_path)],
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = child.wait(timeout=120)
            orphans_gone = _group_gone(child.pid, within_s=15)  # its job worker exits by itself
        finally:
            with contextlib.suppress(ProcessLookupError):  # whatever it left behind, should the test fail
                os.killpg(child.pid, signal.SIGKILL)
    output = said.read_text()
    assert code == -signal.SIGKILL, output
    assert orphans_gone, "the job worker outlived the killed server"
    [ids] = [line.split()[1:] for line in output.splitlines() if line.startswith("jobs ")]
    running_id, queued_id = ids
    runner = JobRunner(api_settings(btc_1h_store_url, tmp_path))
    try:
        interrupted = runner.get(running_id)
        resumed = _finished(runner, queued_id)
        listed = [job.id for job in runner.list()]
    finally:
        runner.close()
    assert interrupted.status == "failed" and interrupted.error == INTERRUPTED
    assert interrupted.started is not None and interrupted.finished is not None and interrupted.result is None
    assert resumed.status == "succeeded", resumed.error
    assert resumed.result is not None and resumed.result["metrics"]["num_trades"] > 0
    assert listed == [queued_id, running_id]
