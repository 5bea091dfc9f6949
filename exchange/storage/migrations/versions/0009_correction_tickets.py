"""Correction tickets (校核纠错): fields of a received document flagged to its issuer, and the issuer's answer.

Expand-only: one new table.

Revision ID: 0009
Revises: 0008 (national item codes)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction_tickets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("subject_id", sa.String(length=256), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("material_version", sa.Integer(), nullable=False),
        sa.Column("opened_by_department", sa.String(length=32), nullable=False),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=32), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("evidence_text", sa.String(length=2000), nullable=False),
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("answer_reason", sa.String(length=2000), nullable=False),
        sa.Column("answered_by", sa.String(length=200), nullable=False),
        sa.Column("opened_at_us", sa.BigInteger(), nullable=False),
        sa.Column("answer_due_us", sa.BigInteger(), nullable=False),
        sa.Column("answered_at_us", sa.BigInteger(), nullable=False),
        sa.Column("answered_late", sa.Boolean(), nullable=False),
        sa.Column("notified_cases_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correction_tickets")),
    )
    op.create_index(op.f("ix_correction_tickets_dataset"), "correction_tickets", ["dataset"])
    op.create_index(op.f("ix_correction_tickets_opened_by_department"), "correction_tickets", ["opened_by_department"])
    op.create_index(op.f("ix_correction_tickets_issuer"), "correction_tickets", ["issuer"])
    op.create_index(op.f("ix_correction_tickets_opened_at_us"), "correction_tickets", ["opened_at_us"])


def downgrade() -> None:
    op.drop_index(op.f("ix_correction_tickets_opened_at_us"), table_name="correction_tickets")
    op.drop_index(op.f("ix_correction_tickets_issuer"), table_name="correction_tickets")
    op.drop_index(op.f("ix_correction_tickets_opened_by_department"), table_name="correction_tickets")
    op.drop_index(op.f("ix_correction_tickets_dataset"), table_name="correction_tickets")
    op.drop_table("correction_tickets")
