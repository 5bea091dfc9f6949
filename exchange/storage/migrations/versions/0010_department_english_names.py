"""Department English names: what English readers see (the citizen report, the console); the Chinese name
stays the primary one.

The spec JSON carries the name as registered; the column beside it mirrors it like `name`. Departments
registered before have no English name (empty) and read in Chinese until registered again with one.
Expand-only: one new column with a default.

Revision ID: 0010
Revises: 0009 (correction tickets)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("departments", sa.Column("name_en", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("name_en")
