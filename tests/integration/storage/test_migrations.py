"""The migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from exchange.storage.tables import metadata


async def test_migrated_schema_matches_the_declared_tables(any_backend_hub):
    db = any_backend_hub.hub.db

    def differences(sync_connection):
        context = MigrationContext.configure(sync_connection, opts={"compare_type": False})
        return compare_metadata(context, metadata)

    async with db.read() as conn:
        diff = await conn.run_sync(differences)
    assert diff == []


async def test_migrated_text_columns_are_as_long_as_their_limits(any_backend_hub):
    """The lengths the migrations gave the columns are the limits the code checks (compare_type is off above)."""
    db = any_backend_hub.hub.db

    def lengths(sync_connection):
        inspector = sa.inspect(sync_connection)
        return {
            (table.name, column["name"]): getattr(column["type"], "length", None)
            for table in metadata.sorted_tables
            for column in inspector.get_columns(table.name)
        }

    async with db.read() as conn:
        migrated = await conn.run_sync(lengths)
    declared = {
        (table.name, column.name): column.info["limit"].max_length
        for table in metadata.sorted_tables
        for column in table.columns
        if "limit" in column.info
    }
    assert {key: migrated[key] for key in declared} == declared
