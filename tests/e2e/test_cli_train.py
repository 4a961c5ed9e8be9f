"""``trading-agent train`` end to end on real candles, then the trained model backtested by ``--strategy ensemble``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.testkit.cli import run_cli
from tests.testkit.services import REPO_ROOT

SMALL = """
models: [lgbm, rf]
walk_forward: {train_days: 60, validation_days: 20, test_days: 14, step_days: 14, n_splits: 2}
tuning: {trials: 1, folds: 1, objective: log_loss}
anomaly: {epochs: 5}
sentiment: {headlines: headlines.csv, windows: [24]}
"""


def _headlines(path: Path, n: int = 400) -> None:
    """A headlines file over the training and backtest span: random times, good and bad news."""
    rng = np.random.default_rng(0)
    start, end = pd.Timestamp("2023-06-01", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC")
    stamps = sorted(start + (end - start) * rng.random(n))
    texts = ["Bitcoin rallies as ETF inflows surge", "Exchange hack wipes out traders in panic selling", "BTC flat"]
    lines = ["timestamp,source,text"] + [f"{ts.isoformat()},wire,{texts[rng.integers(3)]}" for ts in stamps]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.real_data
def test_train_and_promote_then_backtest_and_ab_test_the_ensemble(btc_1h_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", config)
    (config / "training.yaml").write_text(SMALL)
    _headlines(config / "headlines.csv")
    env = {"TRADING_AGENT_CONFIG_DIR": str(config)}
    imported = run_cli(
        "data", "import", str(btc_1h_path), "-e", "binance", "-s", "BTCUSDT", "-t", "1h", cwd=tmp_path, env=env
    )
    assert imported.code == 0, imported.stderr
    report_md = tmp_path / "out" / "training.md"
    trained = run_cli(
        "train", "-s", "BTCUSDT", "--from", "2023-08-01", "--to", "2024-01-01", "--promote", "--json",
        "--report", str(report_md),
        cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert trained.code == 0, trained.stderr
    report = trained.json()
    registered = report["registered"]
    assert registered["name"] == "binance-BTCUSDT-1h" and registered["version"] == 1
    assert set(registered["aliases"]) == {"candidate", "production"}  # --promote
    assert set(report["out_of_sample"]) == {"ensemble", "lgbm", "rf", "buy-hold", "spot-hold"}
    assert report["tuning"]["lgbm"]["trials"] == 1 and len(report["splits"]) == 2
    assert report["features"] == 181 + 3  # the default set plus sent_mean_24, sent_count_24, sent_last
    assert report["anomaly"] is not None and 0 <= report["anomaly"]["validation_flagged"] < 0.2
    text = report_md.read_text()
    assert "## Out of sample" in text and "buy-and-hold after costs" in text and "| ensemble |" in text

    backtest = run_cli(
        "backtest", "-s", "BTCUSDT", "--strategy", "ensemble", "--from", "2024-01-01", "--to", "2024-02-01",
        "--json", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert backtest.code == 0, backtest.stderr
    run = backtest.json()["run"]
    assert run["strategy"] == "ensemble" and run["model"]["model"] == "binance-BTCUSDT-1h v1"
    assert run["model"]["in_sample_candles"] == 0 and run["model"]["predicted_candles"] > 0
    assert run["model"]["anomalous_candles"] is not None  # the bundle's detector scored the same candles
    ab = run_cli(
        "models", "ab", "binance-BTCUSDT-1h", "1", "1", "-s", "BTCUSDT", "--from", "2024-01-01", "--to", "2024-02-01",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert ab.code == 0, ab.stderr
    assert "no significant difference between versions 1 and 1" in ab.stdout and "over 31 days" in ab.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--models", "lgbm,svm"), "--models lgbm,svm"),
        (("--report", "out.txt"), ".json or .md"),
        (("--objective", "accuracy"), "tuning"),
        (("--promote", "--no-register"), "--promote needs the model registered"),
    ],
)
def test_bad_train_options_exit_1_naming_the_problem(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli("train", "-s", "BTCUSDT", *args, cwd=tmp_path)
    assert result.code == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "out.txt").exists()
