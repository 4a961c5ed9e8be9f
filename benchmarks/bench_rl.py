"""The RL agent: PPO and DQN on real BTC/USDT 1h, walk-forward, three seeds, out of sample against buy-and-hold.

``RLTrainingService.train`` exactly as ``trading-agent rl train`` runs it, on 2 years of BTC/USDT 1h
(2022-07-01 to 2024-07-01, ``../shared/data/binance_BTCUSDT_1h.csv.gz``; a seeded synthetic market
when absent) traded as Delta's BTCUSD perpetual with the trading rules' costs (taker fee + GST,
slippage, the rules' constant funding: no funding series is imported) and the RL-loosened risk rules
(``backtest.rl_env.rl_engine_config``). The walk-forward windows are ``config/training.yaml``'s
(180-day train, 30-day test, 7-day step); the last ``FOLDS`` of them are traded, so the
out-of-sample record is 7 + 7 + 30 days per seed. Settings are ``config/rl.yaml``'s except
``TIMESTEPS`` per fold and seed (kept small so both algorithms finish in about ten minutes on two
cores: PPO and DQN run side by side, one process and one torch thread each). The policy to deploy
is not trained and nothing is registered.

Printed per algorithm and seed: out-of-sample return, Sharpe, trades, max drawdown; their mean ±
std over seeds; buy-and-hold over the same candles (re-entered at each fold segment, as the agent
starts each segment flat); the training wall time. ``RL_BENCH_TIMESTEPS`` overrides the budget.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.btc_market import CONFIG_DIR, btc_1h_market

__all__ = ["main"]

TIMESTEPS = int(os.environ.get("RL_BENCH_TIMESTEPS", "10000"))
FOLDS = 3
ALGORITHMS = ("ppo", "dqn")


def _train(algorithm: str) -> dict[str, Any]:
    import torch

    from trading_agent.config.rl import load_rl_config
    from trading_agent.config.trading_rules import load_trading_rules
    from trading_agent.config.training import load_training_config
    from trading_agent.services.backtest import BacktestService
    from trading_agent.services.rl_training import RLTrainingService, RLTrainOptions

    torch.set_num_threads(1)
    with btc_1h_market() as bench:
        market, series, source, start, end = bench.service, bench.series, bench.source, bench.start_ms, bench.end_ms
        rules = load_trading_rules(CONFIG_DIR)
        config = load_rl_config(CONFIG_DIR).model_copy(update={"folds": FOLDS})
        service = RLTrainingService(
            BacktestService(market, rules, CONFIG_DIR, None), load_training_config(CONFIG_DIR), config, None
        )
        began = time.perf_counter()
        options = RLTrainOptions(
            start_ms=start, end_ms=end, algorithm=algorithm, timesteps=TIMESTEPS, register=False, final_policy=False
        )
        report = service.train(series, options).report
        return {"source": source, "wall_s": time.perf_counter() - began, "report": report.model_dump(mode="json")}


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "n/a"
    return {"pct": f"{value:.2%}", "num": f"{value:.2f}", "int": f"{value:.0f}"}[kind]


def main() -> None:
    """Train both algorithms side by side and print the out-of-sample table."""
    console = Console()
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = dict(zip(ALGORITHMS, pool.map(_train, ALGORITHMS), strict=True))
    total = time.perf_counter() - began
    first = results[ALGORITHMS[0]]["report"]
    table = Table(
        title=f"RL out of sample, costs on: {results[ALGORITHMS[0]]['source']} as {first['contract']}, "
        f"{first['out_of_sample_start'][:10]} to {first['out_of_sample_end'][:10]}, {FOLDS} folds, "
        f"{TIMESTEPS:,} steps per fold and seed"
    )
    for column in ("algorithm", "run", "return", "Sharpe", "trades", "max DD"):
        table.add_column(column, justify="left" if column in ("algorithm", "run") else "right")
    keys = (("total_return", "pct"), ("sharpe_ratio", "num"), ("num_trades", "int"), ("max_drawdown", "pct"))

    def cells(values: dict[str, Any]) -> list[str]:
        return [_fmt(values.get(key), kind) for key, kind in keys]

    for algorithm, result in results.items():
        report = result["report"]
        for row in report["per_seed"]:
            table.add_row(algorithm, f"seed {row['seed']}", *cells(row))
        summary = report["summary"]
        table.add_row(
            algorithm,
            "mean ± std",
            *(f"{_fmt(summary[key]['mean'], kind)} ± {_fmt(summary[key]['std'], kind)}" for key, kind in keys),
        )
        table.add_row(algorithm, "buy-and-hold", *cells(report["buy_hold"]))
    console.print(table)
    for algorithm, result in results.items():
        report = result["report"]
        console.print(
            f"{algorithm}: training {report['training_s']:,.0f} s, run {result['wall_s']:,.0f} s "
            f"({len(report['seeds'])} seeds x {len(report['splits'])} folds)."
        )
    console.print(f"Both side by side: {total:,.0f} s wall.")


if __name__ == "__main__":
    main()
