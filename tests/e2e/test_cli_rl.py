"""``trading-agent rl train`` end to end on real candles: a tiny PPO over two walk-forward folds and two seeds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.testkit.cli import run_cli
from tests.testkit.services import REPO_ROOT

TRAINING = "walk_forward: {train_days: 60, validation_days: 20, test_days: 14, step_days: 14, n_splits: 2}\n"
RL = """
timesteps: 64
seeds: [0, 1, 2]
folds: 2
window: 4
features: [rsi_14, natr_14, zscore_logret_20]
ppo: {n_steps: 32, batch_size: 32, n_epochs: 1}
net_arch: [16]
"""


@pytest.mark.real_data
def test_rl_train_reports_every_seed_beside_buy_and_hold_and_registers_the_policy(
    btc_1h_path: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", config)
    (config / "training.yaml").write_text(TRAINING)
    (config / "rl.yaml").write_text(RL)
    env = {"TRADING_AGENT_CONFIG_DIR": str(config)}
    imported = run_cli(
        "data", "import", str(btc_1h_path), "-e", "binance", "-s", "BTCUSDT", "-t", "1h", cwd=tmp_path, env=env
    )
    assert imported.code == 0, imported.stderr
    report_md = tmp_path / "out" / "rl.md"
    trained = run_cli(
        "rl", "train", "-s", "BTCUSDT", "--from", "2023-08-01", "--to", "2024-01-01", "--seeds", "2",
        "--json", "--report", str(report_md), cwd=tmp_path, env=env, timeout=180,
    )  # fmt: skip
    assert trained.code == 0, trained.stderr
    report = trained.json()
    assert report["algorithm"] == "ppo" and report["seeds"] == [0, 1]  # --seeds 2 wins over rl.yaml's three
    assert len(report["splits"]) == 2 and len(report["folds"]) == 4  # two folds x two seeds
    assert [row["seed"] for row in report["per_seed"]] == [0, 1]
    assert set(report["summary"]["total_return"]) == {"mean", "std"}
    assert report["buy_hold"]["total_return"] is not None and report["buy_hold"]["num_trades"] >= 0
    assert report["out_of_sample_start"] >= "2023-12" and report["ensemble"] is None  # no ensemble registered
    registered = report["registered"]
    assert registered["name"] == "binance-BTCUSDT-1h-rl-ppo" and registered["version"] == 1
    assert "candidate" in registered["aliases"]
    text = report_md.read_text()
    assert "Over 2 seeds, the PPO agent " in text and "buy-and-hold after costs" in text
    assert "| mean over seeds |" in text

    from trading_agent.registry.policy_registry import PolicyRegistry

    registry = PolicyRegistry(f"sqlite:///{tmp_path / 'var' / 'mlflow.db'}")
    policy = registry.load_policy("binance-BTCUSDT-1h-rl-ppo", 1, tmp_path / "download")
    assert policy.metadata.window == 4 and policy.metadata.feature_names == ("rsi_14", "natr_14", "zscore_logret_20")
    vote = policy.vote(np.zeros((4, 3), dtype=np.float32))
    assert 0.0 <= vote <= 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--algo", "a2c"), "choose ppo or dqn"), (("--report", "out.txt"), ".json or .md")],
)
def test_bad_rl_options_exit_1_naming_the_problem(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli("rl", "train", "-s", "BTCUSDT", *args, cwd=tmp_path)
    assert result.code == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "out.txt").exists()
