"""Background jobs (``backtest_jobs``): what an interface queued and what came of it, kept across restarts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trading_agent.storage.columns import JSON_DOCUMENT

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backtest_jobs",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("document", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_backtest_jobs")),
        sa.UniqueConstraint("job_id", name=op.f("uq_backtest_jobs_job_id")),
    )
    op.create_index(op.f("ix_backtest_jobs_status"), "backtest_jobs", ["status"])


def downgrade() -> None:
    op.drop_table("backtest_jobs")  # its index goes with it
