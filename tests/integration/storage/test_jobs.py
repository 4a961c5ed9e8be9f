"""The job store on SQLite and PostgreSQL: saved whole, updated in place, newest first, pruned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trading_agent.storage import InvalidDatabaseUrlError, SqlJobStore, StorageError

FINISHED = ("succeeded", "failed", "canceled")


@pytest.fixture
def store(empty_database_url: str) -> Iterator[SqlJobStore]:
    store = SqlJobStore.open(empty_database_url)  # a database of its own: the order of jobs is global
    yield store
    store.close()


def _doc(job_id: str, status: str, **extra: object) -> dict[str, object]:
    return {"id": job_id, "status": status, "request": {"symbol": "BTCUSDT", "params": {"fast": 10.0}}} | extra


def _save(store: SqlJobStore, job_id: str, status: str, **extra: object) -> None:
    store.save(job_id, "backtest", status, _doc(job_id, status, **extra))


def test_a_saved_job_reads_back_whole_and_an_update_replaces_it_in_place(store: SqlJobStore) -> None:
    _save(store, "a", "queued")
    _save(store, "b", "queued")
    assert store.get("a") == _doc("a", "queued")
    report = {"metrics": {"sharpe": None, "return": 0.12}, "windows": [1, 2]}
    _save(store, "a", "succeeded", result=report)
    assert store.get("a") == _doc("a", "succeeded", result=report)
    assert [d["id"] for d in store.newest(10)] == ["b", "a"]  # an update keeps the job's place
    assert store.get("no-such-job") is None


def test_newest_is_limited_and_with_status_is_oldest_first(store: SqlJobStore) -> None:
    for job_id, status in (("a", "running"), ("b", "succeeded"), ("c", "queued"), ("d", "queued")):
        _save(store, job_id, status)
    assert [d["id"] for d in store.newest(2)] == ["d", "c"]
    assert [d["id"] for d in store.with_status(("queued", "running"))] == ["a", "c", "d"]
    assert store.with_status(("canceled",)) == []


def test_prune_deletes_old_finished_jobs_and_keeps_those_still_to_run(store: SqlJobStore) -> None:
    statuses = ["queued", "succeeded", "failed", "running", "canceled", "succeeded", "succeeded"]
    for number, status in enumerate(statuses):
        _save(store, f"j{number}", status)
    assert store.prune(3, FINISHED) == 2  # j1 and j2; j4..j6 are the newest 3, j0 and j3 are still to run
    assert [d["id"] for d in store.newest(10)] == ["j6", "j5", "j4", "j3", "j0"]
    assert store.prune(3, FINISHED) == 0
    assert store.prune(100, FINISHED) == 0
    with pytest.raises(StorageError, match="at least 1, got 0"):
        store.prune(0, FINISHED)


def test_an_empty_store_has_nothing_to_prune_or_list(store: SqlJobStore) -> None:
    assert store.prune(1, FINISHED) == 0
    assert store.newest(5) == [] and store.with_status(FINISHED) == []


def test_a_bad_url_is_a_storage_error_naming_it() -> None:
    with pytest.raises(InvalidDatabaseUrlError, match="mysql"):
        SqlJobStore.open("mysql://user:pw@localhost/db")
