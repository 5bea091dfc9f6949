"""Parties of a case besides its applicant: purpose binding includes whose data is read.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing cases need no rows: their applicant (cases.applicant_id) is their only party.
    op.create_table(
        "case_parties",
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("added_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "relation", "party_id", name=op.f("pk_case_parties")),
    )
    op.create_index(op.f("ix_case_parties_party_id"), "case_parties", ["party_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_parties_party_id"), table_name="case_parties")
    op.drop_table("case_parties")
