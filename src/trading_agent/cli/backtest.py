"""``trading-agent backtest | walkforward | montecarlo``: built-in strategies over stored candles, costs on."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.progress import Progress as RichProgress
from rich.table import Table

from trading_agent.cli.context import console, print_json, state
from trading_agent.domain import InstrumentId, SeriesKey
from trading_agent.services.backtest import (
    BacktestService,
    BreakerTrip,
    MarketOptions,
    Progress,
    WindowSpec,
    duration_ms,
)
from trading_agent.services.errors import ServiceError
from trading_agent.services.files import check_table_path, write_table

__all__ = ["backtest", "backtest_service", "montecarlo", "time_ms", "walkforward"]

_SHOWN = (
    ("total_return", "Total return", "pct"),
    ("annual_return", "Annual return", "pct"),
    ("annual_volatility", "Annual volatility", "pct"),
    ("sharpe_ratio", "Sharpe", "num"),
    ("sortino_ratio", "Sortino", "num"),
    ("calmar_ratio", "Calmar", "num"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("max_drawdown_duration", "Max drawdown duration (candles)", "int"),
    ("num_trades", "Trades", "int"),
    ("win_rate", "Win rate", "pct"),
    ("profit_factor", "Profit factor", "num"),
    ("expectancy", "Expectancy (USD per trade)", "num"),
    ("exposure", "Exposure", "pct"),
    ("var_95", "VaR 95 (per candle)", "pct"),
    ("cvar_95", "CVaR 95 (per candle)", "pct"),
    ("deflated_sharpe_ratio", "Deflated Sharpe (probability)", "num"),
)


FastOption = Annotated[int | None, typer.Option("--fast", help="sma-cross: fast SMA length.")]
SlowOption = Annotated[int | None, typer.Option("--slow", help="sma-cross: slow SMA length.")]
PeriodOption = Annotated[int | None, typer.Option("--period", help="rsi-reversion: RSI length.")]
LowerOption = Annotated[float | None, typer.Option("--lower", help="rsi-reversion: oversold level.")]
UpperOption = Annotated[float | None, typer.Option("--upper", help="rsi-reversion: overbought level.")]


def strategy_params(**given: float | None) -> dict[str, float]:
    """The strategy options that were given (the strategy refuses the ones it does not take)."""
    return {name: value for name, value in given.items() if value is not None}


def time_ms(text: str | None, option: str) -> int | None:
    """The UTC date or time ``text`` given for ``option`` as epoch ms (None for None); a clear error otherwise."""
    if text is None:
        return None
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ServiceError(f"{option} {text!r} is not a date or time (e.g. 2024-01-31 or 2024-01-31T12:00)") from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1_000_000)


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[Progress | None]:
    """A progress bar for the candles when stdout is a terminal (none for --json or a pipe)."""
    if quiet or not console.is_terminal:
        yield None
        return
    with RichProgress(console=console, transient=True) as bar:
        task = bar.add_task("backtest", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _check_report_path(path: Path | None) -> None:
    if path is not None and path.suffix.lower() not in (".html", ".htm"):
        raise ServiceError(f"{path}: the report is an HTML page: use a .html file name")


def _series_instrument(text: str | None) -> InstrumentId | None:
    if text is None:
        return None
    venue, _, symbol = text.partition(":")
    if not venue or not symbol:
        raise ServiceError(f"--funding {text!r}: write the stored series as EXCHANGE:SYMBOL (e.g. binanceusdm:BTCUSDT)")
    return InstrumentId(venue, symbol)


def _shown(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if kind == "pct":
        return f"{value:.2%}"
    return f"{value:,}" if kind == "int" else f"{value:,.3f}"


def backtest(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Stored series: symbol (e.g. BTCUSDT).")],
    strategy: Annotated[
        str, typer.Option("--strategy", help="buy-hold, sma-cross, rsi-reversion, or ensemble (a trained model).")
    ],
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Stored series: exchange.")] = "binance",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle timeframe.")] = "1h",
    fast: FastOption = None,
    slow: SlowOption = None,
    period: PeriodOption = None,
    lower: LowerOption = None,
    upper: UpperOption = None,
    model: Annotated[
        str | None, typer.Option("--model", help="ensemble: registered model (default: EXCHANGE-SYMBOL-TIMEFRAME).")
    ] = None,
    model_version: Annotated[
        int | None, typer.Option("--model-version", help="ensemble: model version (default: the production one).")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First candle (UTC date or time).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End of the range, exclusive (UTC).")] = None,
    contract: Annotated[
        str | None, typer.Option("--contract", help="Contract of config/instruments.yaml (default: by base asset).")
    ] = None,
    funding: Annotated[
        str | None, typer.Option("--funding", help="Stored funding series EXCHANGE:SYMBOL (default: the candles').")
    ] = None,
    fees: Annotated[
        str | None, typer.Option("--fees", help="Taker fee rate instead of the contract's (e.g. 0.0005).")
    ] = None,
    slippage: Annotated[float | None, typer.Option("--slippage", help="Fixed slippage in bps (default 2).")] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="event (the trading engine, risk on) or vector (compiled, no risk gate).")
    ] = "event",
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    report_out: Annotated[
        Path | None, typer.Option("--report", help="Write the self-contained HTML report (.html).")
    ] = None,
    trades_out: Annotated[Path | None, typer.Option("--trades-out", help="Write the trades (.csv, .parquet).")] = None,
    returns_out: Annotated[
        Path | None, typer.Option("--returns-out", help="Write equity and return per candle (.csv, .parquet).")
    ] = None,
) -> None:
    """Backtest a built-in strategy on stored candles, costs on (fees with GST, slippage, funding).

    The event-driven engine runs it with the active profile's risk rules; buy-hold over the same
    candles is reported beside it as the benchmark. Metrics are annualised on a 24/7 calendar.
    """
    for out in (trades_out, returns_out):
        if out is not None:
            check_table_path(out)
    _check_report_path(report_out)
    params = strategy_params(fast=fast, slow=slow, period=period, lower=lower, upper=upper)
    try:
        taker_fee = None if fees is None else Decimal(fees)
    except InvalidOperation:
        raise ServiceError(f"--fees {fees!r} is not a number (a fraction of notional, e.g. 0.0005)") from None
    service = backtest_service(ctx, with_registry=strategy == "ensemble")
    options = MarketOptions(
        start_ms=time_ms(from_, "--from"),
        end_ms=time_ms(to, "--to"),
        contract=contract,
        funding_from=_series_instrument(funding),
        taker_fee=taker_fee,
        slippage_bps=slippage,
    )
    with _progress_bar(json_) as progress:
        outcome = service.run(
            SeriesKey.of(exchange, symbol, timeframe),
            strategy,
            params,
            options=options,
            engine=engine,
            progress=progress,
            model=model,
            model_version=model_version,
        )
    if trades_out is not None:
        write_table(outcome.trades, trades_out)
    if returns_out is not None:
        write_table(outcome.returns, returns_out)
    if report_out is not None:
        from trading_agent.backtest.report import write_report  # plotly: only when a report is asked for

        write_report(report_out, outcome.html())
    report = outcome.report
    if json_:
        run = report.model_dump(exclude={"metrics", "benchmark"})
        print_json({**report.metrics, "benchmark": report.benchmark, "run": run})
        return
    table = Table(
        title=f"{report.strategy} {report.params or ''} on {report.series} as {report.contract}: "
        f"{report.candles:,} candles, {report.first_candle:%Y-%m-%d} to {report.last_candle:%Y-%m-%d}"
    )
    for column in ("", report.strategy, "buy-hold"):
        table.add_column(column, justify="left" if not column else "right")
    for key, label, kind in _SHOWN:
        table.add_row(label, _shown(report.metrics[key], kind), _shown(report.benchmark[key], kind))
        if key == "num_trades":  # a position held to the end is no closed trade: say so beside the count
            held = ("yes" if report.open_at_end else "no", "yes" if report.benchmark_open_at_end else "no")
            table.add_row("Position open at the end", *held)
    console.print(table)
    why = ", ".join(f"{limit} {count:,}" for limit, count in report.refused_by.items())
    console.print(
        f"costs on: fees with GST, slippage, funding ({report.funding}); "
        f"entries refused by the risk manager: {report.rejected_entries:,}{f' ({why})' if why else ''}; "
        f"by the signal filters ({report.signal_filters}): {report.filtered_entries:,}"
    )
    for line in breaker_lines(report.breakers):
        console.print(line, highlight=False)
    if report.model is not None:
        used, inside = report.model, report.model["in_sample_candles"]
        console.print(
            f"model {used['model']} predicted {used['predicted_candles']:,} candles"
            + (f"; [bold]{inside:,} of them are inside its training window (in sample)[/]" if inside else "")
        )
        if used.get("anomalous_candles") is not None:
            console.print(f"anomaly detector flagged {used['anomalous_candles']:,} of them (the anomaly filter acted)")


def breaker_lines(breakers: Sequence[BreakerTrip]) -> list[str]:
    """One line per circuit breaker that tripped: how often, and, if it never reset, since when.

    A breaker that resets only by hand (the losing streak, the drawdown) stays tripped in a
    backtest, which has no one to reset it: the line says no entry was taken after it.
    """
    by_breaker: dict[str, list[BreakerTrip]] = {}
    for trip in breakers:
        by_breaker.setdefault(trip.breaker, []).append(trip)
    lines = []
    for name, trips in by_breaker.items():
        last = trips[-1]
        if last.reset is not None:
            lines.append(f"circuit breaker {name} tripped {len(trips):,} time(s) and reset each time")
            continue
        when = f"at {last.tripped:%Y-%m-%d %H:%M} UTC ({last.reason})"
        times = when if len(trips) == 1 else f"{len(trips):,} times, the last {when}"
        lines.append(
            f"[bold yellow]circuit breaker {name}[/] tripped {times}, and was still tripped at the end: "
            "no entry was taken after it"
        )
    return lines


def backtest_service(ctx: typer.Context, *, with_registry: bool = False) -> BacktestService:
    """The backtest service; with the model registry (MLflow, imported only then) for ``--strategy ensemble``."""
    context = state(ctx)
    return BacktestService.from_settings(
        context.settings, market_data=context.market_data(), with_registry=with_registry
    )


def _grid(entries: list[str]) -> dict[str, list[float]]:
    grid: dict[str, list[float]] = {}
    for entry in entries:
        name, _, values = entry.partition("=")
        try:
            numbers = [float(v) for v in values.split(",") if v.strip()]
        except ValueError:
            numbers = []
        if not name or not numbers:
            raise ServiceError(f"--grid {entry!r}: write NAME=V1,V2,... (e.g. fast=10,20,30)")
        grid[name.strip()] = [int(v) if v.is_integer() else v for v in numbers]
    if not grid:
        raise ServiceError("give at least one --grid NAME=V1,V2,...")
    return grid


def walkforward(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Stored series: symbol.")],
    strategy: Annotated[str, typer.Option("--strategy", help="sma-cross or rsi-reversion.")],
    grid: Annotated[list[str], typer.Option("--grid", help="Parameter values NAME=V1,V2,... (repeatable).")],
    train: Annotated[str, typer.Option("--train", help="Train window length (e.g. 90d).")] = "90d",
    test: Annotated[str, typer.Option("--test", help="Test window length (e.g. 30d).")] = "30d",
    step: Annotated[str | None, typer.Option("--step", help="Step between windows (default: the test length).")] = None,
    anchored: Annotated[
        bool, typer.Option("--anchored", help="Keep every train window's start at the first candle.")
    ] = False,
    optuna: Annotated[
        int | None, typer.Option("--optuna", help="Optuna TPE trials per window over the --grid ranges (min to max).")
    ] = None,
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Stored series: exchange.")] = "binance",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle timeframe.")] = "1h",
    from_: Annotated[str | None, typer.Option("--from", help="First candle (UTC).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End of the range, exclusive (UTC).")] = None,
    funding: Annotated[str | None, typer.Option("--funding", help="Stored funding series EXCHANGE:SYMBOL.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Walk-forward optimisation: the best grid point by Sharpe on each train window, traded on the next test window.

    Reports every window and the stitched out-of-sample curve's return, Sharpe, drawdown, the
    deflated Sharpe (each grid point a trial) and the probability of backtest overfitting.
    """
    windows = WindowSpec(
        train_ms=duration_ms(train, "--train"),
        test_ms=duration_ms(test, "--test"),
        step_ms=None if step is None else duration_ms(step, "--step"),
        anchored=anchored,
    )
    options = MarketOptions(
        start_ms=time_ms(from_, "--from"), end_ms=time_ms(to, "--to"), funding_from=_series_instrument(funding)
    )
    report = backtest_service(ctx).walk_forward(
        SeriesKey.of(exchange, symbol, timeframe),
        strategy,
        _grid(grid),
        windows=windows,
        options=options,
        optuna_trials=optuna,
    )
    if json_:
        print_json(report.model_dump())
        return
    searched = f"{report.trials} grid points" if report.search == "grid" else f"{report.trials} Optuna trials"
    table = Table(title=f"Walk-forward: {strategy} on {report.series}, {searched} per window")
    for column in ("window", "test from", "test to", "best params", "in-sample Sharpe", "out-of-sample return"):
        table.add_column(column, justify="left" if column in ("test from", "test to", "best params") else "right")
    for row in report.windows:
        table.add_row(
            str(row["window"]),
            f"{pd.Timestamp(row['test_start_ms'], unit='ms', tz='UTC'):%Y-%m-%d}",
            f"{pd.Timestamp(row['test_end_ms'], unit='ms', tz='UTC'):%Y-%m-%d}",
            ", ".join(f"{k}={v}" for k, v in row["best_params"].items()),
            _shown(row["in_sample_objective"], "num"),
            _shown(row["out_of_sample_return"], "pct"),
        )
    console.print(table)
    scores = report.out_of_sample
    shown = {key: _shown(scores[key], kind) for key, _, kind in (*_SHOWN, ("pbo", "PBO", "num")) if key in scores}
    console.print(
        f"out of sample: return {shown['total_return']}, Sharpe {shown['sharpe_ratio']}, "
        f"max drawdown {shown['max_drawdown']}, deflated Sharpe {shown['deflated_sharpe_ratio']}, PBO {shown['pbo']}"
    )


def montecarlo(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Stored series: symbol.")],
    strategy: Annotated[str, typer.Option("--strategy", help="buy-hold, sma-cross or rsi-reversion.")],
    fast: FastOption = None,
    slow: SlowOption = None,
    period: PeriodOption = None,
    lower: LowerOption = None,
    upper: UpperOption = None,
    paths: Annotated[int, typer.Option("--paths", help="Simulated equity paths.")] = 10_000,
    block: Annotated[int, typer.Option("--block", help="Mean block length of the candle bootstrap.")] = 24,
    ruin: Annotated[float, typer.Option("--ruin", help="Loss that counts as ruin (0.5 = half the equity).")] = 0.5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    scenarios: Annotated[
        str,
        typer.Option(
            "--scenarios",
            help="bootstrap: trades and candle blocks resampled; generated: also market paths from a model "
            "fitted to the candles (a few seconds more).",
        ),
    ] = "bootstrap",
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Stored series: exchange.")] = "binance",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle timeframe.")] = "1h",
    from_: Annotated[str | None, typer.Option("--from", help="First candle (UTC).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End of the range, exclusive (UTC).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    report_out: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report with the fan chart (.html).")
    ] = None,
) -> None:
    """Monte Carlo of a backtest: its trades resampled, and its candle returns block-resampled.

    Reports the percentiles of the final return and of the maximum drawdown, and the probability
    of losing ``--ruin`` of the equity at some point. ``--scenarios generated`` adds the same figures
    over market paths drawn by a scenario generator fitted to the candles (at most 1,000 paths; the
    strategy's constant market exposure, not a replay of its signals; see the note it prints).
    """
    params = strategy_params(fast=fast, slow=slow, period=period, lower=lower, upper=upper)
    _check_report_path(report_out)
    options = MarketOptions(start_ms=time_ms(from_, "--from"), end_ms=time_ms(to, "--to"))
    report = backtest_service(ctx).monte_carlo(
        SeriesKey.of(exchange, symbol, timeframe),
        strategy,
        params,
        paths=paths,
        block=block,
        ruin_loss=ruin,
        seed=seed,
        options=options,
        html=report_out is not None,
        scenarios=scenarios,
    )
    if report_out is not None and report.html is not None:
        from trading_agent.backtest.report import write_report  # plotly: only when a report is asked for

        write_report(report_out, report.html)
    if json_:
        print_json(report.model_dump(exclude={"html"} if report.generated is not None else {"html", "generated"}))
        return
    table = Table(title=f"Monte Carlo: {report.strategy} on {report.series}, {report.paths:,} paths")
    for column in ("bootstrap", "final return p5 / p50 / p95", "max drawdown p50 / p95", f"P(lose {ruin:.0%})"):
        table.add_column(column, justify="left" if column == "bootstrap" else "right")
    rows = [("candles (blocks)", report.bar_bootstrap), ("trades", report.trade_bootstrap)]
    generated = report.generated
    if generated is not None:
        rows.append((f"generated ({generated['paths']:,} paths, exposure {generated['exposure']:.2f})", generated))
    for name, summary in rows:
        if summary is None:
            table.add_row(name, "fewer than 2 trades", "", "")
            continue
        final, drawdown = summary["final_return_percentiles"], summary["max_drawdown_percentiles"]
        table.add_row(
            name,
            " / ".join(_shown(final[p], "pct") for p in (5, 50, 95)),
            " / ".join(_shown(drawdown[p], "pct") for p in (50, 95)),
            _shown(summary["probability_of_ruin"], "pct"),
        )
    console.print(table)
    if generated is not None:
        clustering = generated["abs_return_autocorrelation_lag1"]
        console.print(
            f"generated: {generated['note']}. Autocorrelation of |return| at lag 1 (volatility clustering): "
            f"generated {clustering['generated']:.3f}, real {clustering['real']:.3f}.",
            highlight=False,
            markup=False,
        )
