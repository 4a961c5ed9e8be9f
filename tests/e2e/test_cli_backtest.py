"""``trading-agent backtest`` end to end, on real candles and real perpetual funding."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.testkit.cli import run_cli

KEYS = [
    *("total_return", "annual_return", "annual_volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio"),
    *("max_drawdown", "max_drawdown_duration", "win_rate", "profit_factor", "expectancy", "recovery_factor"),
    *("exposure", "num_trades", "avg_holding_time", "var_95", "cvar_95", "ulcer_index", "omega_ratio"),
    *("tail_ratio", "deflated_sharpe_ratio", "pbo"),
]
HOURS_IN_2023 = 8760 - 1  # the data README lists one missing candle: 2023-03-24 13:00


@pytest.mark.real_data
def test_backtest_prints_every_metric_beside_buy_hold_and_writes_its_files(
    btc_1h_path: Path, funding_path: Path, tmp_path: Path
) -> None:
    for path, flags in ((btc_1h_path, ["-e", "binance", "-s", "BTCUSDT", "-t", "1h"]),
                        (funding_path, ["-e", "binanceusdm", "-s", "BTCUSDT", "--kind", "funding"])):  # fmt: skip
        imported = run_cli("data", "import", str(path), *flags, cwd=tmp_path)
        assert imported.code == 0, imported.stderr
    trades, returns = tmp_path / "out" / "trades.csv", tmp_path / "out" / "returns.csv"
    result = run_cli(
        "backtest", "-s", "BTCUSDT", "--strategy", "sma-cross", "--fast", "20", "--slow", "50",
        "--from", "2023-01-01", "--to", "2024-01-01", "--funding", "binanceusdm:BTCUSDT", "--json",
        "--trades-out", str(trades), "--returns-out", str(returns), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    report = result.json()
    assert set(KEYS) <= set(report) and set(KEYS) <= set(report["benchmark"])
    assert report["pbo"] is None  # no search was run
    run = report["run"]
    assert run["candles"] == HOURS_IN_2023 and run["contract"] == "delta_india:BTCUSD"
    assert run["funding"].startswith("stored series of binanceusdm:BTCUSDT")
    # the shipped rules' signal filters (4h and 1d trend agreement, volume) refuse some crossings
    assert report["num_trades"] >= 5 and run["filtered_entries"] > 0 and report["benchmark"]["num_trades"] == 0
    assert "trend agreement of 4h, 1d" in run["signal_filters"] and "volume >= 1" in run["signal_filters"]
    assert report["benchmark"]["exposure"] > 0.99  # buy-hold: in the market from the second candle
    assert run["benchmark_open_at_end"] is True  # ... and still in it after the last: no closed trade
    assert report["benchmark"]["total_return"] > 1.0  # BTC rose over 150% in 2023
    written = pd.read_csv(trades)
    assert len(written) == report["num_trades"]
    assert (written["fees"] > 0).all()
    curve = pd.read_csv(returns, index_col=0)
    assert len(curve) == HOURS_IN_2023
    assert math.isclose(curve["equity"].iloc[-1] / curve["equity"].iloc[0] - 1, report["total_return"], rel_tol=1e-9)
    page = tmp_path / "out" / "report.html"
    table = run_cli(
        "backtest", "-s", "BTCUSDT", "--strategy", "rsi-reversion", "--from", "2023-06-01", "--report", str(page),
        cwd=tmp_path,
    )  # fmt: skip
    assert table.code == 0, table.stderr
    assert "buy-hold" in table.stdout and "Sharpe" in table.stdout and "costs on" in table.stdout
    assert re.search(r"Position open at the end\s*│\s*(yes|no)\s*│\s*yes", table.stdout), table.stdout
    html = page.read_text()
    assert html.count("<html") == 1 and "Monthly returns" in html and "<script src=" not in html
    vector = run_cli(
        "backtest", "-s", "BTCUSDT", "--strategy", "sma-cross", "--from", "2023-01-01", "--to", "2024-01-01",
        "--funding", "binanceusdm:BTCUSDT", "--engine", "vector", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert vector.code == 0, vector.stderr
    fast = vector.json()
    assert fast["run"]["engine"].startswith("vector") and fast["run"]["candles"] == HOURS_IN_2023
    # both engines see the same filtered signals; with no entry refused by the event engine's risk gate
    # here, the vectorized model (which has none) makes the same number of trades
    assert run["rejected_entries"] == 0 and fast["run"]["filtered_entries"] == run["filtered_entries"]
    assert fast["num_trades"] == report["num_trades"]
    assert fast["benchmark"]["total_return"] == pytest.approx(report["benchmark"]["total_return"], rel=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "moon"], "unknown strategy 'moon'"),
        (["--strategy", "sma-cross", "--fast", "50", "--slow", "20"], "fast (50) must be shorter than slow (20)"),
        (["--strategy", "sma-cross", "--period", "3"], "unknown parameter(s) period"),
        (["--strategy", "buy-hold", "--from", "yesterday-ish"], "--from 'yesterday-ish' is not a date"),
        (["--strategy", "buy-hold", "--trades-out", "t.txt"], "unsupported output type"),
        (["--strategy", "buy-hold", "--report", "t.txt"], "the report is an HTML page"),
        (["--strategy", "buy-hold", "--engine", "warp"], "unknown engine 'warp': choose event or vector"),
        (["--strategy", "buy-hold"], "no candles of binance:BTCUSDT:1h"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_1(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_cli("backtest", "-s", "BTCUSDT", *args, cwd=tmp_path)
    assert result.code == 1
    assert message in result.stderr
    assert not (tmp_path / "t.txt").exists()


@pytest.mark.real_data
def test_walkforward_and_montecarlo_report_out_of_sample_honesty(btc_1h_path: Path, tmp_path: Path) -> None:
    imported = run_cli("data", "import", str(btc_1h_path), "-e", "binance", "-s", "BTCUSDT", "-t", "1h", cwd=tmp_path)
    assert imported.code == 0, imported.stderr
    walked = run_cli(
        "walkforward", "-s", "BTCUSDT", "--strategy", "sma-cross", "--grid", "fast=10,20", "--grid", "slow=50,100",
        "--train", "60d", "--test", "30d", "--from", "2023-01-01", "--to", "2023-09-01", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert walked.code == 0, walked.stderr
    report = walked.json()
    # 243 days: 60 to train, then tests from day 60 every 30 days, the last one 3 days long
    assert report["trials"] == 4 and len(report["windows"]) == 7
    tests = [(w["test_start_ms"], w["test_end_ms"]) for w in report["windows"]]
    assert all(end < start for (_, end), (start, _) in itertools.pairwise(tests))  # no overlap
    assert all(w["train_end_ms"] < w["test_start_ms"] for w in report["windows"])  # no look-ahead
    scores = report["out_of_sample"]
    assert 0 <= scores["pbo"] <= 1 and 0 <= scores["deflated_sharpe_ratio"] <= 1
    fan = tmp_path / "mc.html"
    simulated = run_cli(
        "montecarlo", "-s", "BTCUSDT", "--strategy", "buy-hold", "--from", "2023-01-01", "--to", "2024-01-01",
        "--paths", "500", "--json", "--report", str(fan), cwd=tmp_path,
    )  # fmt: skip
    assert simulated.code == 0, simulated.stderr
    assert "Monte Carlo equity paths" in fan.read_text() and "html" not in simulated.json()
    bars = simulated.json()["bar_bootstrap"]
    finals = [bars["final_return_percentiles"][str(p)] for p in (5, 25, 50, 75, 95)]
    assert finals == sorted(finals) and 0 <= bars["probability_of_ruin"] <= 1
    tuned = run_cli(
        "walkforward", "-s", "BTCUSDT", "--strategy", "sma-cross", "--grid", "fast=5,60", "--grid", "slow=20,120",
        "--optuna", "4", "--train", "60d", "--test", "60d", "--from", "2023-01-01", "--to", "2023-07-01", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert tuned.code == 0, tuned.stderr
    optuna = tuned.json()
    assert optuna["search"] == "optuna" and optuna["trials"] == 4 and optuna["out_of_sample"]["pbo"] is None
    assert all(5 <= w["best_params"]["fast"] <= 60 for w in optuna["windows"])
    bad = run_cli("walkforward", "-s", "BTCUSDT", "--strategy", "sma-cross", "--grid", "fast=ten", cwd=tmp_path)
    assert bad.code == 1 and "--grid 'fast=ten': write NAME=V1,V2" in bad.stderr
