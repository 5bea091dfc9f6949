"""Initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

While the project is unreleased this revision creates the schema in tables.py; it
is frozen into explicit operations before the first release.
"""

from alembic import op

from exchange.storage.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    metadata.drop_all(bind=op.get_bind())
