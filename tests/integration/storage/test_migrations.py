"""The migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

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
