"""Backtest and walk-forward optimisation jobs: submit, then poll by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from trading_agent.api.routes import V1
from trading_agent.services.interfaces import Services
from trading_agent.services.jobs import BacktestJobRequest, JobView

__all__ = ["router"]

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The id the submission returned.")]


def router(services: Services) -> APIRouter:
    """The job routes."""
    jobs = services.jobs
    routes = APIRouter(prefix=f"{V1}/backtests", tags=["backtests"])

    @routes.post("", status_code=status.HTTP_202_ACCEPTED)
    def submit(body: BacktestJobRequest) -> JobView:
        """Queue a backtest or a walk-forward optimisation of a stored series; poll ``GET /backtests/{id}``."""
        return jobs.submit(body)

    @routes.get("")
    def list_jobs() -> list[JobView]:
        """Every job this process keeps, newest first."""
        return jobs.list()

    @routes.get("/{job_id}")
    def job(job_id: JobId) -> JobView:
        """One job: queued, running, succeeded (with its report), failed (with why) or canceled."""
        return jobs.get(job_id)

    @routes.delete("/{job_id}")
    def cancel(job_id: JobId) -> JobView:
        """Cancel a queued job (409 once it runs: a running backtest is not interrupted)."""
        return jobs.cancel(job_id)

    return routes
