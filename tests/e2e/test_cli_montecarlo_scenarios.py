"""``trading-agent montecarlo --scenarios generated`` end to end, on real candles: a third fan over generated paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testkit.cli import run_cli

PERCENTILES = ("5", "25", "50", "75", "95")
RANGE = ("-s", "BTCUSDT", "--strategy", "buy-hold", "--from", "2023-10-01", "--to", "2024-01-01")


@pytest.mark.real_data
def test_generated_scenarios_add_a_sane_fan_and_a_bad_value_is_refused(btc_1h_path: Path, tmp_path: Path) -> None:
    imported = run_cli("data", "import", str(btc_1h_path), "-e", "binance", "-s", "BTCUSDT", "-t", "1h", cwd=tmp_path)
    assert imported.code == 0, imported.stderr
    plain = run_cli("montecarlo", *RANGE, "--paths", "50", "--seed", "3", "--json", cwd=tmp_path)
    assert plain.code == 0, plain.stderr
    assert "generated" not in plain.json()  # the default output is unchanged
    simulated = run_cli("montecarlo", *RANGE, "--paths", "50", "--seed", "3", "--scenarios", "generated", cwd=tmp_path)
    assert simulated.code == 0, simulated.stderr
    assert "generated (50 paths" in simulated.stdout and "no leverage effect" in simulated.stdout
    report = run_cli(
        "montecarlo", *RANGE, "--paths", "50", "--seed", "3", "--scenarios", "generated", "--json", cwd=tmp_path
    ).json()
    generated = report["generated"]
    assert report["bar_bootstrap"] == plain.json()["bar_bootstrap"]  # the bootstraps do not change
    assert generated["paths"] == 50 and generated["steps"] == report["bar_bootstrap"]["steps"]
    finals = [generated["final_return_percentiles"][p] for p in PERCENTILES]
    drawdowns = [generated["max_drawdown_percentiles"][p] for p in PERCENTILES]
    assert finals == sorted(finals) and finals[0] > -1
    assert drawdowns == sorted(drawdowns) and drawdowns[0] >= 0 and drawdowns[-1] < 1
    assert 0 <= generated["probability_of_ruin"] <= 1
    assert 0.5 < generated["exposure"] < 5  # buy-and-hold is long the market
    assert generated["generator"]["seed"] == 3 and "weaker volatility clustering" in generated["note"]
    bad = run_cli("montecarlo", *RANGE, "--scenarios", "vae", cwd=tmp_path)
    assert bad.code == 1 and "--scenarios 'vae': choose one of bootstrap, generated" in bad.stderr
