"""National item codes: a service item's basic code (基本编码) and implementation code (实施编码).

Both are searched, so they are columns beside the spec; items registered before keep empty codes until they
are registered again. Expand-only: two new columns with a default, and their indexes.

Revision ID: 0008
Revises: 0007 (supervision)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_items", sa.Column("basic_code", sa.String(length=64), nullable=False, server_default=""))
    op.add_column(
        "service_items", sa.Column("implementation_code", sa.String(length=64), nullable=False, server_default="")
    )
    op.create_index(op.f("ix_service_items_basic_code"), "service_items", ["basic_code"])
    op.create_index(op.f("ix_service_items_implementation_code"), "service_items", ["implementation_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_service_items_implementation_code"), table_name="service_items")
    op.drop_index(op.f("ix_service_items_basic_code"), table_name="service_items")
    with op.batch_alter_table("service_items") as batch:
        batch.drop_column("implementation_code")
        batch.drop_column("basic_code")
