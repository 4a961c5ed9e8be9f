"""Initial schema: market data (candles, funding rates) and the trading journal.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written out rather than derived from the models, so it stays what it was when later revisions
change the models; a test checks that models and migrations agree. On PostgreSQL with TimescaleDB
available, ``candles`` becomes a hypertable.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from trading_agent.storage.columns import JSON_DOCUMENT, ExactDecimal, key_string
from trading_agent.storage.timescale import CANDLE_CHUNK_MS, enable_timescale, make_hypertable

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_JOURNAL_TABLES = (
    "signals",
    "risk_events",
    "orders",
    "fills",
    "positions",
    "trades",
    "funding_payments",
    "equity_snapshots",
)


def _venue_and_symbol(nullable: bool = False) -> list[sa.Column[Any]]:
    return [
        sa.Column("exchange", key_string(64), nullable=nullable),
        sa.Column("symbol", key_string(64), nullable=nullable),
    ]


def _bigint(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _money(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, ExactDecimal(), nullable=nullable)


def _double(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Double(), nullable=nullable)


def _label(name: str, length: int = 32, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _json(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, JSON_DOCUMENT, nullable=nullable)


def _journal_table(name: str, *columns: sa.Column[Any] | sa.Constraint) -> None:
    """A journal table: surrogate id, unique event_id, ts_event (indexed), ts_init, then ``columns``."""
    op.create_table(
        name,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        _bigint("ts_event"),
        _bigint("ts_init"),
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("event_id", name=op.f(f"uq_{name}_event_id")),
    )
    op.create_index(op.f(f"ix_{name}_ts_event"), name, ["ts_event"])


def _create_market_data() -> None:
    op.create_table(
        "candles",
        *_venue_and_symbol(),
        sa.Column("timeframe", key_string(8), nullable=False),
        _bigint("ts"),
        *(_double(column) for column in ("open", "high", "low", "close", "volume")),
        sa.CheckConstraint("open > 0 AND high > 0 AND low > 0 AND close > 0", name=op.f("ck_candles_positive_prices")),
        sa.CheckConstraint("volume >= 0", name=op.f("ck_candles_non_negative_volume")),
        sa.PrimaryKeyConstraint("exchange", "symbol", "timeframe", "ts", name=op.f("pk_candles")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "funding_rates",
        *_venue_and_symbol(),
        _bigint("ts"),
        _double("funding_rate"),
        sa.PrimaryKeyConstraint("exchange", "symbol", "ts", name=op.f("pk_funding_rates")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and enable_timescale(bind):
        make_hypertable(bind, "candles", "ts", CANDLE_CHUNK_MS)


def _create_journal() -> None:
    _journal_table(
        "signals",
        *_venue_and_symbol(),
        _bigint("ts"),
        _label("direction"),
        _double("strength"),
        _double("confidence"),
        _json("model_votes"),
        _label("regime", 64, nullable=True),
        sa.Column("anomaly", sa.Boolean(), nullable=False),
    )
    _journal_table(
        "risk_events",
        _label("kind"),
        _label("name", 64, nullable=True),
        *_venue_and_symbol(nullable=True),
        _json("violations", nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        _json("payload", nullable=True),
    )
    op.create_index(op.f("ix_risk_events_kind"), "risk_events", ["kind"])
    _journal_table(
        "orders",
        _label("event_type"),
        _label("order_id", 64),
        _label("client_order_id", 64, nullable=True),
        *_venue_and_symbol(),
        _label("side"),
        _label("order_type"),
        _bigint("contracts"),
        _money("limit_price", nullable=True),
        _money("stop_price", nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        _money("stop_loss", nullable=True),
        _money("take_profit", nullable=True),
        _money("leverage"),
        _label("status"),
        _bigint("ts_created"),
        _bigint("ts_updated"),
        _bigint("filled_contracts"),
        _money("avg_fill_price", nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index(op.f("ix_orders_order_id"), "orders", ["order_id"])
    _journal_table(
        "fills",
        _label("trade_id", 64),
        _label("order_id", 64),
        *_venue_and_symbol(),
        _label("side"),
        _bigint("contracts"),
        _money("price"),
        _money("fee"),
        _label("liquidity"),
        _bigint("ts"),
        sa.UniqueConstraint("trade_id", name=op.f("uq_fills_trade_id")),
    )
    op.create_index(op.f("ix_fills_order_id"), "fills", ["order_id"])
    _journal_table(
        "positions",
        _label("event_type"),
        *_venue_and_symbol(),
        _label("side"),
        _bigint("contracts"),
        _money("entry_price"),
        _money("leverage"),
        _money("margin"),
        _money("liquidation_price", nullable=True),
        _bigint("ts_opened"),
        _money("realized_pnl"),
        _money("fees"),
        _money("funding"),
    )
    _journal_table(
        "trades",
        _label("event_type"),
        _label("trade_id", 64),
        *_venue_and_symbol(),
        _label("side"),
        _bigint("contracts"),
        *(_money(column) for column in ("entry_price", "exit_price", "pnl", "pnl_percent", "fees", "funding")),
        _bigint("ts_opened"),
        _bigint("ts_closed"),
        _double("holding_period_s"),
        _label("exit_reason", 64),
        _double("signal_confidence", nullable=True),
        _json("model_predictions"),
        _json("market_conditions"),
        sa.UniqueConstraint("trade_id", name=op.f("uq_trades_trade_id")),
    )
    op.create_index(op.f("ix_trades_ts_closed"), "trades", ["ts_closed"])
    _journal_table(
        "funding_payments",
        *_venue_and_symbol(),
        _bigint("rate_ts"),
        _double("rate"),
        _money("amount"),
    )
    _journal_table(
        "equity_snapshots",
        _bigint("ts"),
        *(
            _money(column)
            for column in ("cash", "equity", "unrealized_pnl", "realized_pnl", "peak_equity", "day_start_equity")
        ),
        sa.Column("consecutive_losses", sa.Integer(), nullable=False),
        sa.Column("trades_today", sa.Integer(), nullable=False),
        _bigint("last_trade_ts", nullable=True),
        _json("positions"),
    )
    op.create_index(op.f("ix_equity_snapshots_ts"), "equity_snapshots", ["ts"])


def upgrade() -> None:
    _create_market_data()
    _create_journal()


def downgrade() -> None:
    # Indexes and constraints go with their tables; a hypertable's chunks go with ``candles``.
    for table in (*_JOURNAL_TABLES, "funding_rates", "candles"):
        op.drop_table(table)
