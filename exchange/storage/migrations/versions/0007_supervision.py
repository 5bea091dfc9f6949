"""Supervision (电子监察): what the supervision task has sent, once each across restarts and replicas.

Reminders, case warnings and escalations are recorded as they are claimed; escalations are also what the
hub's supervisors read. Expand-only: one new table.

Revision ID: 0007
Revises: 0006 (notifications)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_events",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "reference", "stage", name=op.f("pk_supervision_events")),
    )
    op.create_index(op.f("ix_supervision_events_department"), "supervision_events", ["department"])
    op.create_index(op.f("ix_supervision_events_time_us"), "supervision_events", ["time_us"])


def downgrade() -> None:
    op.drop_index(op.f("ix_supervision_events_time_us"), table_name="supervision_events")
    op.drop_index(op.f("ix_supervision_events_department"), table_name="supervision_events")
    op.drop_table("supervision_events")
