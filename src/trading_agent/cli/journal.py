"""``trading-agent trades`` and ``trading-agent signals``: what the agent journaled, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from trading_agent.cli.context import console, print_json, state
from trading_agent.services.journal_queries import JournalQueries, SignalRecord, SignalStatus, TradeRecord

__all__ = ["signals_app", "trades_app"]

trades_app = typer.Typer(help="Closed trades from the journal (the trade log).", no_args_is_help=True)
signals_app = typer.Typer(help="Signals from the journal, with the filters that refused them.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table.")]
SessionOption = Annotated[
    str | None, typer.Option("--session", "-S", help="Journal session (default: every session).", show_default=False)
]
SymbolOption = Annotated[str | None, typer.Option("--symbol", "-s", help="Only this symbol, e.g. BTCUSD.")]
LimitOption = Annotated[int, typer.Option("--limit", "-n", help="At most this many rows, newest first.", min=1)]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(ts_ms: int) -> str:
    return (_EPOCH + timedelta(milliseconds=ts_ms)).strftime("%Y-%m-%d %H:%M UTC")


def _held(seconds: float) -> str:
    minutes = round(seconds / 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m"


def _scope(session: str | None, symbol: str | None) -> str:
    where = f"session {session}" if session is not None else "any session"
    return where if symbol is None else f"{where}, symbol {symbol}"


def _trades_table(trades: list[TradeRecord], scope: str) -> Table:
    table = Table(title=f"Trades ({scope}), newest first")
    numbers = {"contracts", "entry", "exit", "pnl", "pnl %", "fees", "funding", "held", "confidence"}
    columns = ("closed", "symbol", "side", "contracts", "entry", "exit", "pnl", "pnl %", "fees", "funding")
    for column in (*columns, "held", "exit reason", "event", "confidence", "session"):
        table.add_column(column, justify="right" if column in numbers else "left")
    for t in trades:
        style = "green" if t.pnl > 0 else "red" if t.pnl < 0 else "white"
        table.add_row(
            _utc(t.ts_closed),
            t.symbol,
            t.side,
            f"{t.contracts:,}",
            f"{t.entry_price:,}",
            f"{t.exit_price:,}",
            f"[{style}]{t.pnl:+,.4f}[/]",
            f"[{style}]{t.pnl_percent:+.2f}%[/]",
            f"{t.fees:,.4f}",
            f"{t.funding:,.4f}",
            _held(t.holding_period_s),
            t.exit_reason,
            f"[red]{t.event_type}[/]" if t.event_type == "liquidated" else t.event_type,
            "-" if t.signal_confidence is None else f"{t.signal_confidence:.2f}",
            t.session,
        )
    return table


def _votes(signal: SignalRecord) -> str:
    return ", ".join(f"{name} {vote:.2f}" for name, vote in sorted(signal.model_votes.items())) or "-"


def _signals_table(signals: list[SignalRecord], scope: str) -> Table:
    table = Table(title=f"Signals ({scope}), newest first")
    numbers = {"strength", "confidence"}
    columns = ("ts", "symbol", "direction", "strength", "confidence", "model votes", "regime", "anomaly")
    for column in (*columns, "status", "filtered by", "session"):
        table.add_column(column, justify="right" if column in numbers else "left")
    for s in signals:
        filtered = s.status is SignalStatus.FILTERED
        table.add_row(
            _utc(s.ts),
            s.symbol,
            s.direction,
            f"{s.strength:+.2f}",
            f"{s.confidence:.2f}",
            _votes(s),
            s.regime or "-",
            "[yellow]yes[/]" if s.anomaly else "no",
            f"[yellow]{s.status}[/]" if filtered else f"[green]{s.status}[/]",
            ", ".join(s.filtered_by) or "-",
            s.session,
        )
    return table


@trades_app.command("list")
def list_trades(
    ctx: typer.Context,
    session: SessionOption = None,
    symbol: SymbolOption = None,
    limit: LimitOption = 50,
    json_: JsonOption = False,
) -> None:
    """Closed trades (and liquidations), newest first: prices, PnL, costs, holding time, exit reason."""
    with JournalQueries.from_settings(state(ctx).settings) as journal:
        trades = journal.trades(session, symbol=symbol, limit=limit)
    if json_:
        print_json([trade.to_dict() for trade in trades])
    elif not trades:
        console.print(f"no trades journaled yet ({_scope(session, symbol)})")
    else:
        console.print(_trades_table(trades, _scope(session, symbol)))


@signals_app.command("list")
def list_signals(
    ctx: typer.Context,
    session: SessionOption = None,
    symbol: SymbolOption = None,
    limit: LimitOption = 50,
    no_filtered: Annotated[
        bool, typer.Option("--no-filtered", help="Only the signals that passed every filter.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Generated signals, newest first, each with its model votes and the filters that refused it."""
    with JournalQueries.from_settings(state(ctx).settings) as journal:
        signals = journal.signals(session, symbol=symbol, limit=limit, include_filtered=not no_filtered)
    if json_:
        print_json([signal.to_dict() for signal in signals])
    elif not signals:
        console.print(f"no signals journaled yet ({_scope(session, symbol)})")
    else:
        console.print(_signals_table(signals, _scope(session, symbol)))
