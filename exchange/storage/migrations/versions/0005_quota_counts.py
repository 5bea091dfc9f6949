"""Grant quotas counted across replicas.

Each replica used to count a grant's requests per minute on its own, so a cluster admitted replicas ×
quota. The counts now live in the database, one row per grant and minute.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_counts",
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", "minute", name=op.f("pk_quota_counts")),
    )


def downgrade() -> None:
    op.drop_table("quota_counts")
