"""The migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from exchange.storage import catalog_store
from exchange.storage.db import alembic_config, normalise_url
from exchange.storage.tables import metadata
from exchange.testing import create_pg_database, drop_pg_database


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


def _migrate_to(sync_connection: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    command.upgrade(config, revision)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_english_names_migration_keeps_departments_registered_before(backend, tmp_path):
    """0010 adds departments.name_en: a department stored before it reads back with its Chinese name only,
    and one registered after keeps its English name in the column and the spec."""
    pg_url = await create_pg_database() if backend == "postgresql" else None
    engine = create_async_engine(normalise_url(pg_url) if pg_url else f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate_to, "0009")
            await conn.execute(
                sa.text(
                    "INSERT INTO departments (code, name, status, adapter_endpoint, spec_json, registered_at_us,"
                    " updated_at_us) VALUES ('PSB', '市公安局', 'active', '', :spec, 1, 1)"
                ),
                {"spec": json.dumps({"code": "PSB", "name": "市公安局", "level": "city", "region_code": "110100"})},
            )
            await conn.run_sync(_migrate_to, "0010")
            before = await catalog_store.get_department(conn, "PSB")
            assert before is not None and (before.name, before.name_en) == ("市公安局", "")
            await catalog_store.put_department(conn, replace(before, name_en="Municipal Public Security Bureau"), 2)
            after = await catalog_store.get_department(conn, "PSB")
            column = (await conn.execute(sa.text("SELECT name_en FROM departments WHERE code = 'PSB'"))).scalar_one()
        assert after is not None and after.name_en == column == "Municipal Public Security Bureau"
    finally:
        await engine.dispose()
        if pg_url:
            await drop_pg_database(pg_url)
