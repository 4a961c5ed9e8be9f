"""Backtest and walk-forward optimisation jobs: run in the background, polled by id.

A job runs in a worker process of its own (``spawn``), one at a time, so a long backtest never
holds the agent's event loop or the API's interpreter lock. The worker opens the configured store
and rules like ``trading-agent backtest`` does and returns the same report, made JSON-safe
(undefined metrics are None).

Jobs are kept in the configured database (``backtest_jobs``), written at each change of status
before it is reported, so a restart loses none: the newest ``keep`` are kept. A runner opening
the database takes up what the previous process left: a queued job is queued again (it keeps its
id); a job that was running is failed as interrupted (a backtest has no side effects, so
submitting it again is safe). One serving process per database runs its jobs: a second one
opening the same database would take the first one's running jobs for interrupted.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd
import structlog
from pydantic import BaseModel, ConfigDict, Field

from trading_agent.config import AppSettings
from trading_agent.domain import SeriesKey
from trading_agent.services.audit import audit
from trading_agent.services.backtest import BacktestService, MarketOptions, WindowSpec, duration_ms
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.services.report_values import json_safe
from trading_agent.storage import SqlJobStore

__all__ = [
    "BacktestJobRequest",
    "JobNotFoundError",
    "JobRunner",
    "JobStateError",
    "JobView",
    "run_job",
]

_NAME = r"^[A-Za-z0-9_.-]{1,40}$"
JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
_FINISHED = ("succeeded", "failed", "canceled")
INTERRUPTED = "interrupted: the server stopped while the job was running; submit it again"

_log = structlog.get_logger(__name__)


class BacktestJobRequest(BaseModel):
    """A backtest (``kind: backtest``) or a walk-forward optimisation (``walk_forward``) of a stored series."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Literal["backtest", "walk_forward"] = "backtest"
    exchange: str = Field(default="binance", pattern=_NAME)
    symbol: str = Field(pattern=_NAME, examples=["BTCUSDT"])
    timeframe: str = Field(default="1h", pattern=r"^[0-9]{1,3}[smhdw]$")
    strategy: str = Field(pattern=_NAME, examples=["sma-cross"])
    params: dict[str, float] = Field(default_factory=dict, description="backtest: the strategy's parameters")
    grid: dict[str, list[float]] = Field(default_factory=dict, description="walk_forward: the values to search")
    start: datetime | None = Field(default=None, strict=False, description="first candle (UTC)")
    end: datetime | None = Field(default=None, strict=False, description="end of the range, exclusive (UTC)")
    engine: Literal["event", "vector"] = "event"
    train: str = Field(default="180d", description="walk_forward: train window (a duration)")
    test: str = Field(default="30d", description="walk_forward: test window (a duration)")
    optuna_trials: int | None = Field(default=None, ge=1, le=500, description="walk_forward: Optuna TPE trials")


class JobView(BaseModel):
    """A job and where it is: ``queued``, ``running``, ``succeeded`` (its report), ``failed`` (why) or ``canceled``."""

    id: str
    kind: str
    status: JobStatus
    request: BacktestJobRequest
    submitted: datetime
    started: datetime | None = None
    finished: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    stamp = pd.Timestamp(moment)
    return int((stamp if stamp.tzinfo else stamp.tz_localize(UTC)).timestamp() * 1000)


def _exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """Worker initializer: exit once the process ``parent`` is gone.

    A worker whose serving process was killed (SIGKILL, OOM) would otherwise wait for work forever,
    holding its memory: the executor's queue never reports the parent's death.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_job(settings: AppSettings, request: BacktestJobRequest) -> dict[str, Any]:
    """Run ``request`` with the configured store and rules; its report as JSON-ready values (the worker's entry)."""
    service = BacktestService.from_settings(settings, with_registry=request.strategy == "ensemble")
    series = SeriesKey.of(request.exchange, request.symbol, request.timeframe)
    options = MarketOptions(start_ms=_ms(request.start), end_ms=_ms(request.end))
    if request.kind == "backtest":
        outcome = service.run(series, request.strategy, request.params, options=options, engine=request.engine)
        report: dict[str, Any] = json_safe(outcome.report.model_dump(mode="json"))
        return report
    windows = WindowSpec(train_ms=duration_ms(request.train, "train"), test_ms=duration_ms(request.test, "test"))
    walked = service.walk_forward(
        series, request.strategy, request.grid, windows=windows, options=options, optuna_trials=request.optuna_trials
    )
    result: dict[str, Any] = json_safe(walked.model_dump(mode="json"))
    return result


class JobNotFoundError(ServiceError):
    """No job with that id in the store."""


class JobStateError(ServiceError):
    """The job is past the state the request needs (only a queued job can be canceled)."""


class JobRunner:
    """Jobs kept in the configured database: a thread takes them in turn and runs each in the worker process.

    Opening the runner resumes the jobs a previous process left (module docstring).
    """

    def __init__(self, settings: AppSettings, *, keep: int = 100) -> None:
        self._settings = settings
        self._keep = keep
        with service_errors():
            self._store = SqlJobStore.open(settings.database_url)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._queue = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs")
        self._waiting: dict[str, Future[None]] = {}
        self._worker: ProcessPoolExecutor | None = None
        self._resume()

    def submit(self, request: BacktestJobRequest) -> JobView:
        """Queue ``request``; the job as it stands (poll ``get`` with its id)."""
        if request.kind == "walk_forward" and not request.grid:
            raise ServiceError("a walk_forward job needs a grid of parameter values to search")
        job = JobView(
            id=uuid.uuid4().hex, kind=request.kind, status="queued", request=request, submitted=datetime.now(UTC)
        )
        with self._lock:
            self._save(job)
            with service_errors():
                self._store.prune(self._keep, _FINISHED)
        self._enqueue(job)
        audit("backtest_job", job=job.id, kind=request.kind, strategy=request.strategy, symbol=request.symbol)
        return job

    def get(self, job_id: str) -> JobView:
        """The job ``job_id`` (``JobNotFoundError`` when the store has no such job)."""
        with service_errors():
            document = self._store.get(job_id)
        if document is None:
            raise JobNotFoundError(f"no job {job_id!r} (the newest {self._keep} jobs are kept)")
        return JobView.model_validate(document)

    def cancel(self, job_id: str) -> JobView:
        """Cancel a queued job (``JobStateError`` once it runs: a running backtest is not interrupted)."""
        job = self.get(job_id)
        with self._lock:
            waiting = self._waiting.get(job_id)
        if job.status != "queued" or waiting is None or not waiting.cancel():
            raise JobStateError(f"job {job_id} is {self.get(job_id).status}: only a queued job can be canceled")
        canceled = self._update(job_id, status="canceled", finished=datetime.now(UTC))
        audit("backtest_job_canceled", job=job_id)
        return canceled

    def list(self) -> list[JobView]:
        """The newest ``keep`` jobs, newest first."""
        with service_errors():
            documents = self._store.newest(self._keep)
        return [JobView.model_validate(document) for document in documents]

    def close(self) -> None:
        """Stop taking jobs and stop the worker (a running job is abandoned: the next runner fails it).

        An abandoned job's result, should it still arrive, is not written: the job stays ``running``
        for the next runner to fail, as a killed process leaves it.
        """
        self._closed.set()
        self._queue.shutdown(wait=False, cancel_futures=True)
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
        self._store.close()

    def _resume(self) -> None:
        """Queue again the jobs a previous process queued; fail those it was running."""
        with service_errors():
            left = [JobView.model_validate(document) for document in self._store.with_status(("queued", "running"))]
        for job in left:
            if job.status == "running":
                self._update(job.id, status="failed", finished=datetime.now(UTC), error=INTERRUPTED)
                audit("backtest_job_interrupted", job=job.id)
            else:
                self._enqueue(job)
                audit("backtest_job_resumed", job=job.id)

    def _enqueue(self, job: JobView) -> None:
        with self._lock:  # before the thread can take the job: it forgets the job's future under this lock
            self._waiting[job.id] = self._queue.submit(self._run, job.id, job.request)

    def _run(self, job_id: str, request: BacktestJobRequest) -> None:
        try:
            self._run_one(job_id, request)
        except Exception:  # the store failed under a job: nothing to report it to but the log
            _log.exception("backtest_job_store_failed", job=job_id)

    def _run_one(self, job_id: str, request: BacktestJobRequest) -> None:
        with self._lock:
            self._waiting.pop(job_id, None)
        self._update(job_id, status="running", started=datetime.now(UTC))
        if self._worker is None:
            self._worker = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        try:
            result = self._worker.submit(run_job, self._settings, request).result()
        except Exception as exc:  # the job's failure is its report, whatever it was
            outcome: dict[str, Any] = {"status": "failed", "error": str(exc) or type(exc).__name__}
        else:
            outcome = {"status": "succeeded", "result": result}
        if self._closed.is_set():  # closed while it ran: abandoned (``close``)
            _log.info("backtest_job_abandoned", job=job_id)
            return
        self._update(job_id, finished=datetime.now(UTC), **outcome)

    def _update(self, job_id: str, **changes: Any) -> JobView:
        with self._lock:
            job = self.get(job_id).model_copy(update=changes)
            self._save(job)
        return job

    def _save(self, job: JobView) -> None:
        with service_errors():
            self._store.save(job.id, job.kind, job.status, job.model_dump(mode="json"))
