"""The canonical event stream (``events``), order roles, and fees, funding and marks on equity snapshots.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

``events`` holds every journaled event as a JSON document in append order (``seq``), per engine
session; the engine is rebuilt from it. The new projection columns get server defaults, so rows
written before this revision stay valid: their orders say ``entry``, their snapshots ``0`` fees
and funding and no marks. Column changes go through batch mode, which on SQLite recreates the
table where ``ALTER TABLE`` cannot do the change (dropping a column on downgrade).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trading_agent.storage.columns import JSON_DOCUMENT, ExactDecimal

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("session", sa.String(24), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.Column("ts_init", sa.BigInteger(), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    op.create_index("ix_events_session_seq", "events", ["session", "seq"])
    with op.batch_alter_table("orders") as orders:
        orders.add_column(sa.Column("role", sa.String(32), nullable=False, server_default="entry"))
    with op.batch_alter_table("equity_snapshots") as snapshots:
        snapshots.add_column(sa.Column("fees", ExactDecimal(), nullable=False, server_default="0"))
        snapshots.add_column(sa.Column("funding", ExactDecimal(), nullable=False, server_default="0"))
        snapshots.add_column(sa.Column("marks", JSON_DOCUMENT, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("equity_snapshots") as snapshots:
        for column in ("marks", "funding", "fees"):
            snapshots.drop_column(column)
    with op.batch_alter_table("orders") as orders:
        orders.drop_column("role")
    op.drop_table("events")  # its index goes with it
