"""Two worker processes share one Optuna study on the real PostgreSQL server."""

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import optuna
import pytest

from tests.testkit.services import REPO_ROOT, postgres_database

pytestmark = pytest.mark.postgres

TRIALS_PER_WORKER = 3


@pytest.fixture(scope="module")
def optuna_url() -> Iterator[str]:
    """A PostgreSQL database of Optuna's own: its schema version lives in ``alembic_version``, as ours does."""
    with postgres_database() as url:
        yield url


def test_two_processes_share_one_study_and_the_best_is_over_all_their_trials(optuna_url: str) -> None:
    assert optuna_url.startswith("postgresql+psycopg://")
    study_name = f"test-{uuid.uuid4().hex[:8]}-lgbm"
    code = (
        "import sys; from tests.testkit.training import run_tuning_worker; "
        "run_tuning_worker(sys.argv[1], sys.argv[2], int(sys.argv[3]))"
    )
    command = [sys.executable, "-c", code, optuna_url, study_name, str(TRIALS_PER_WORKER)]
    workers: list[subprocess.Popen[str]] = []
    try:
        for _ in range(2):
            workers.append(
                subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            )
        outputs = [worker.communicate(timeout=240) for worker in workers]
        for worker, (_, stderr) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, stderr
        results = [json.loads(stdout) for stdout, _ in outputs]

        study = optuna.load_study(study_name=study_name, storage=optuna_url)
        trials = study.get_trials()
        assert len(trials) == 2 * TRIALS_PER_WORKER
        states = optuna.trial.TrialState
        assert all(t.state in (states.COMPLETE, states.PRUNED) for t in trials)
        pids = [t.user_attrs["pid"] for t in trials]
        assert sorted(set(pids)) == sorted(worker.pid for worker in workers)
        assert all(pids.count(worker.pid) == TRIALS_PER_WORKER for worker in workers)
        assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == len(trials)  # workers seed apart
        values = [t.value for t in trials if t.state == states.COMPLETE]
        last = max(results, key=lambda r: r["n_trials"])  # the worker that finished last saw every trial
        assert last["n_trials"] == len(trials) and sorted(last["values"]) == sorted(values)
        assert last["best_value"] == max(values) == study.best_value
        for result in results:
            assert result["best_value"] == max(result["values"])
            assert set(result["values"]) <= set(values)
    finally:
        for worker in workers:
            if worker.poll() is None:  # a worker that hung past the timeout
                worker.kill()
                worker.wait()
        if study_name in optuna.study.get_all_study_names(storage=optuna_url):
            optuna.delete_study(study_name=study_name, storage=optuna_url)
    assert study_name not in optuna.study.get_all_study_names(storage=optuna_url)
