"""Roles held by the hub: which roles each department (or one officer of it) may use.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "department_roles",
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("officer_id", sa.String(length=128), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("department", "officer_id", name=op.f("pk_department_roles")),
    )


def downgrade() -> None:
    op.drop_table("department_roles")
