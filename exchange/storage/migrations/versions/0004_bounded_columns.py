"""Bounded columns and shared replay memory.

Every text column now takes its size from `catalog.limits`; the one column that was shorter than what the
code writes into it (grants.granted_by holds "DEPARTMENT/officer", up to 161 characters) grows to the
actor limit. Token ids accepted by any hub replica are kept in token_uses until their tokens expire.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.alter_column("granted_by", existing_type=sa.String(length=128), type_=sa.String(length=200))
    op.create_table(
        "token_uses",
        sa.Column("issuer", sa.String(length=32), nullable=False),
        sa.Column("jti", sa.String(length=128), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("first_used_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name=op.f("pk_token_uses")),
    )
    op.create_index(op.f("ix_token_uses_expires_us"), "token_uses", ["expires_us"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_token_uses_expires_us"), table_name="token_uses")
    op.drop_table("token_uses")
    with op.batch_alter_table("grants") as batch:
        batch.alter_column("granted_by", existing_type=sa.String(length=200), type_=sa.String(length=128))
