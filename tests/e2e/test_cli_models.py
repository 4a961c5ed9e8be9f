"""``trading-agent models`` end to end, on a real MLflow SQLite registry filled through the Python API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.testkit.cli import CliResult, run_cli
from tests.testkit.models import make_bundle
from trading_agent.registry import ModelRegistry


def test_list_promote_show_rollback_and_bench_a_registered_ensemble(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'registry' / 'mlflow.db'}"
    bundle = make_bundle(tmp_path)
    registry = ModelRegistry(uri)
    for seed in (0, 1):
        registry.register(
            bundle.path,
            name="btc-1h",
            params={"seed": seed, "calibration": "platt"},
            metrics={"auc": 0.6 + seed / 100},
            fold_metrics=[{"auc": 0.59}, {"auc": 0.62}],
            tags={"symbol": "BTCUSD"},
        )
    registry.promote("btc-1h", 1)
    env = {"TRADING_AGENT_MLFLOW_TRACKING_URI": uri}

    def cli(*args: str) -> CliResult:
        return run_cli("models", *args, cwd=tmp_path, env=env)

    # each command starts a Python process that imports MLflow: the read-only ones run side by side
    read_only = [
        ("list", "--json"),
        ("show", "btc-1h", "--alias", "production", "--json"),
        ("bench", "btc-1h", "--version", "1", "--rows", "50", "--json"),
        ("promote", "btc-1h", "9"),
    ]
    with ThreadPoolExecutor(max_workers=len(read_only)) as pool:
        listed, shown, bench, bad = pool.map(lambda args: cli(*args), read_only)
    assert listed.code == 0, listed.stderr
    assert [(v["name"], v["version"], v["aliases"]) for v in listed.json()] == [
        ("btc-1h", 2, ["candidate"]),
        ("btc-1h", 1, ["production"]),
    ]
    assert shown.code == 0, shown.stderr
    details = shown.json()
    assert details["version"] == 1 and details["aliases"] == ["production"]
    assert details["params"] == {"seed": "0", "calibration": "platt"} and details["metrics"] == {"auc": 0.6}
    assert details["fold_metrics"] == [{"auc": 0.59}, {"auc": 0.62}]
    assert bench.code == 0, bench.stderr
    report = bench.json()
    assert (report["version"], report["rows"], report["base_models"]) == (1, 50, ["lgbm", "xgb"])
    for runtime in ("native", "onnx"):
        timing = report["runtimes"][runtime]
        assert 0 < timing["p50_ms"] <= timing["p95_ms"] <= timing["p99_ms"]
        assert timing["rss_mb"] > 0
    assert bad.code == 1
    assert "model 'btc-1h' version 9 not found" in bad.stderr and "Traceback" not in bad.stderr

    promoted = cli("promote", "btc-1h", "2")
    assert promoted.code == 0, promoted.stderr
    assert "btc-1h version 2 is now production" in promoted.stdout
    assert registry.version("btc-1h", alias="production").aliases == ("candidate", "production")
    rolled = cli("rollback", "btc-1h")
    assert rolled.code == 0, rolled.stderr
    assert "version 1 is production again" in rolled.stdout
    assert registry.version("btc-1h", alias="production").version == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "registry"]  # nothing else written
