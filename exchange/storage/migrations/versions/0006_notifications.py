"""Notifications: the events outbox, department webhooks and their deliveries, licence status and case flags.

Events the hub publishes (reminders, warnings, escalations, tickets, licence status) are kept in order so
webhooks and Subscribe streams can deliver and resume; each webhook delivery is a row a replica claims.
A licence held by an open case whose status changes flags the case (case_flags).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=256), nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_department"), "events", ["department"], unique=False)
    op.create_table(
        "webhooks",
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("kinds", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("department", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("event_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger(), nullable=False),
        sa.Column("lease_until_us", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(op.f("ix_webhook_deliveries_department"), "webhook_deliveries", ["department"], unique=False)
    op.create_index(op.f("ix_webhook_deliveries_state"), "webhook_deliveries", ["state"], unique=False)
    op.create_table(
        "licence_states",
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("status_code", sa.String(length=16), nullable=False),
        sa.Column("checked_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "key", name=op.f("pk_licence_states")),
    )
    op.create_table(
        "case_flags",
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("status_code", sa.String(length=16), nullable=False),
        sa.Column("previous_code", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("raised_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "dataset", "key", name=op.f("pk_case_flags")),
    )


def downgrade() -> None:
    op.drop_table("case_flags")
    op.drop_table("licence_states")
    op.drop_index(op.f("ix_webhook_deliveries_state"), table_name="webhook_deliveries")
    op.drop_index(op.f("ix_webhook_deliveries_department"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index(op.f("ix_events_department"), table_name="events")
    op.drop_table("events")
    op.drop_table("webhooks")
