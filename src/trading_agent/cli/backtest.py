"""``trading-agent backtest``: a built-in strategy over stored candles, with the buy-hold benchmark beside it."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from trading_agent.cli.context import console, print_json, state
from trading_agent.config.trading_rules import load_trading_rules
from trading_agent.domain import InstrumentId, SeriesKey
from trading_agent.services.backtest import BacktestService
from trading_agent.services.errors import ServiceError
from trading_agent.services.files import check_table_path, write_table

__all__ = ["backtest"]

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


def _time_ms(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ServiceError(f"{option} {text!r} is not a date or time (e.g. 2024-01-31 or 2024-01-31T12:00)") from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1_000_000)


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
    strategy: Annotated[str, typer.Option("--strategy", help="buy-hold, sma-cross or rsi-reversion.")],
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Stored series: exchange.")] = "binance",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle timeframe.")] = "1h",
    fast: Annotated[int | None, typer.Option("--fast", help="sma-cross: fast SMA length.")] = None,
    slow: Annotated[int | None, typer.Option("--slow", help="sma-cross: slow SMA length.")] = None,
    period: Annotated[int | None, typer.Option("--period", help="rsi-reversion: RSI length.")] = None,
    lower: Annotated[float | None, typer.Option("--lower", help="rsi-reversion: oversold level.")] = None,
    upper: Annotated[float | None, typer.Option("--upper", help="rsi-reversion: overbought level.")] = None,
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
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
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
    settings = state(ctx).settings
    params = {
        name: value
        for name, value in {"fast": fast, "slow": slow, "period": period, "lower": lower, "upper": upper}.items()
        if value is not None
    }
    try:
        taker_fee = None if fees is None else Decimal(fees)
    except InvalidOperation:
        raise ServiceError(f"--fees {fees!r} is not a number (a fraction of notional, e.g. 0.0005)") from None
    service = BacktestService(
        state(ctx).market_data(),
        load_trading_rules(settings.config_dir, settings.profile),
        settings.config_dir,
        settings.profile,
    )
    outcome = service.run(
        SeriesKey.of(exchange, symbol, timeframe),
        strategy,
        params,
        start_ms=_time_ms(from_, "--from"),
        end_ms=_time_ms(to, "--to"),
        contract=contract,
        funding_from=_series_instrument(funding),
        taker_fee=taker_fee,
        slippage_bps=slippage,
    )
    if trades_out is not None:
        write_table(outcome.trades, trades_out)
    if returns_out is not None:
        write_table(outcome.returns, returns_out)
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
    console.print(table)
    console.print(
        f"costs on: fees with GST, slippage, funding ({report.funding}); "
        f"entries refused by the risk manager: {report.rejected_entries}"
    )
