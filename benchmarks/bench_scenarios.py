"""Scenario generation: stylised facts of real BTC/USDT 1h returns against three ways of simulating them.

Real Binance BTC/USDT 1h log returns, 2018-01 .. 2024-06 (``../shared/data``), cut into pieces of
``LENGTH`` hours, against ``PATHS`` paths of ``LENGTH`` hours from: the scenario generator
(``models.scenario``, default parameters, fitted on the whole series), i.i.d. Gaussian noise with the
real mean and variance, and the stationary block bootstrap of ``backtest.montecarlo`` (mean block
24 h). Every row is measured by ``backtest.stylised_facts`` on series of the same length.

``PYTHONPATH=. .venv/bin/python -m benchmarks scenarios`` (about 1 minute on one thread).
"""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.btc_market import REAL_BTC_1H
from trading_agent.backtest.montecarlo import generated_monte_carlo, stationary_bootstrap_indices
from trading_agent.backtest.stylised_facts import ABS_LAGS, RETURN_LAGS, StylisedFacts, segments, stylised_facts

__all__ = ["main"]

LENGTH, PATHS, BLOCK, SEED = 1000, 200, 24, 0


def _row(name: str, facts: StylisedFacts) -> list[str]:
    return [
        name,
        f"{facts.excess_kurtosis:.1f}",
        f"{facts.q01_sigma:.2f} / {facts.q99_sigma:.2f}",
        " ".join(f"{a:+.3f}" for a in facts.acf_returns),
        " ".join(f"{a:+.3f}" for a in facts.acf_abs),
        f"{facts.leverage:+.3f}",
    ]


def main() -> None:
    """Fit the generator, simulate every way, print the stylised-facts table and a Monte Carlo of buy-and-hold."""
    import torch

    from trading_agent.data.files import read_candle_file
    from trading_agent.domain import Timeframe
    from trading_agent.models.scenario import ScenarioGenerator

    torch.set_num_threads(1)
    console = Console()
    if not REAL_BTC_1H.is_file():
        console.print(f"skipped: {REAL_BTC_1H} is absent (real data only)")
        return
    returns = np.diff(np.log(read_candle_file(REAL_BTC_1H, Timeframe.H1)["close"].to_numpy()))
    began = time.perf_counter()
    generator = ScenarioGenerator(seed=SEED).fit(returns)
    fit_s = time.perf_counter() - began
    generated = generator.sample(PATHS, LENGTH, seed=SEED)
    gaussian = np.random.default_rng(SEED).normal(returns.mean(), returns.std(), size=(PATHS, LENGTH))
    bootstrap = returns[stationary_bootstrap_indices(returns.size, block=BLOCK, n_paths=PATHS, seed=SEED)[:, :LENGTH]]
    table = Table(title=f"Stylised facts of BTC/USDT 1h log returns, series of {LENGTH} h")
    for column in ("series", "excess kurtosis", "q1% / q99% (sigma)", f"acf r, lags {RETURN_LAGS}",
                   f"acf |r|, lags {ABS_LAGS}", "corr(r_t, |r_t+1|)"):  # fmt: skip
        table.add_column(column, justify="left" if column == "series" else "right")
    rows = {
        f"real ({returns.size // LENGTH} pieces)": segments(returns, LENGTH),
        f"generator ({PATHS} paths)": generated,
        f"i.i.d. Gaussian ({PATHS} paths)": gaussian,
        f"stationary bootstrap, block {BLOCK} ({PATHS} paths)": bootstrap,
    }
    for name, paths in rows.items():
        table.add_row(*_row(name, stylised_facts(paths)))
    console.print(table)
    console.print(
        f"generator: fit {fit_s:.0f} s on {returns.size:,} returns, best epoch {generator.best_epoch_}, "
        f"std of generated / real returns {generated.std() / returns.std():.2f}"
    )
    result = generated_monte_carlo(generator, n_paths=2000, steps=24 * 90, seed=SEED, start_equity=10_000.0)
    final = result.final_return_percentiles()
    drawdown = result.max_drawdown_percentiles()
    console.print(
        f"Monte Carlo of 90 days buy-and-hold on 2,000 generated paths: final return p5/p50/p95 "
        f"{final[5]:+.1%} / {final[50]:+.1%} / {final[95]:+.1%}, max drawdown p50/p95 {drawdown[50]:.1%} / "
        f"{drawdown[95]:.1%}, P(lose 30%) {result.probability_of_ruin(0.3):.1%}"
    )


if __name__ == "__main__":
    main()
