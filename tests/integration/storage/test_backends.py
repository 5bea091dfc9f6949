"""The storage layer behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from catalog.schema import DatasetSchema, FieldSpec, Sensitivity, parse_arrow_type
from exchange.app import grant_records
from exchange.audit.entry import AccessLogEntry
from exchange.audit.merkle import root_from_leaf_hashes
from exchange.policy import GrantStatus
from exchange.storage import Database, catalog_store
from exchange.storage import tables as t
from exchange.storage.db import alembic_config
from exchange.testing import system_caller


async def test_registry_round_trips_on_each_backend(any_backend_hub):
    hub = any_backend_hub
    for code in ("SAMR", "PSB", "MNR", "FIRE"):
        await hub.add_department(code)
    for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
        await hub.register_example_dataset(name)
    item = await hub.register_example_item("restaurant_permit")
    async with hub.hub.db.read() as conn:
        departments = await catalog_store.list_departments(conn)
        stored = await catalog_store.get_dataset(conn, "identity_record")
        items = await catalog_store.list_service_items(conn)
    assert [d.code for d in departments] == ["FIRE", "HUB", "MNR", "PSB", "SAMR"]
    assert all(len(d.keys) == 2 for d in departments)
    assert stored is not None and stored.dataset.owner == "PSB"
    assert items == [item]


async def test_dataset_versions_and_current_version_on_each_backend(any_backend_hub):
    hub = any_backend_hub
    await hub.add_department("SAMR")
    first = await hub.register_example_dataset("business_licence")
    fields = [*first.schema.fields]
    extra = FieldSpec("website", "string", parse_arrow_type("string"), False, Sensitivity.PUBLIC)
    second, result = await hub.running.registry.register_dataset(
        replace(first, schema=DatasetSchema((*fields, extra))), system_caller()
    )
    assert (second.version, result.outcome) == ("1.1", "minor_bump")
    async with hub.hub.db.read() as conn:
        versions = await catalog_store.list_dataset_versions(conn, "business_licence")
        current = await catalog_store.get_dataset(conn, "business_licence")
        old = await catalog_store.get_dataset(conn, "business_licence", "1.0")
    assert [v.dataset.version for v in versions] == ["1.0", "1.1"]
    assert current is not None and current.dataset.version == "1.1"
    assert old is not None and not old.dataset.schema.has_field("website")


async def test_grants_revocation_is_read_back_on_each_backend(any_backend_hub):
    hub = any_backend_hub
    await hub.add_department("SAMR")
    await hub.add_department("SVC")
    await hub.register_example_dataset("business_licence")
    grant = await hub.running.registry.create_grant(
        system_caller(), consumer="SVC", dataset="business_licence", fields=("name", "status")
    )
    await hub.running.registry.revoke_grant(grant.id, "no longer needed", system_caller())
    async with hub.hub.db.read() as conn:
        grants = await grant_records.grants_for(conn, "SVC", "business_licence")
    assert [(g.id, g.status, g.revoke_reason) for g in grants] == [(grant.id, GrantStatus.REVOKED, "no longer needed")]


async def test_concurrent_appends_get_contiguous_indices_and_the_right_root(any_backend_hub):
    hub = any_backend_hub
    log = hub.hub.access_log
    before, _ = await log.head()
    receipts = await asyncio.gather(
        *(log.append(AccessLogEntry(time_us=i, action="test.append", request_id=f"r{i}")) for i in range(200))
    )
    assert sorted(r.index for r in receipts) == list(range(before, before + 200))
    size, root = await log.head()
    async with hub.hub.db.read() as conn:
        leaves = [
            r.leaf_hash
            for r in (await conn.execute(sa.select(t.log_entries.c.leaf_hash).order_by(t.log_entries.c.idx)))
        ]
    assert size == len(leaves) == before + 200
    assert root == root_from_leaf_hashes(leaves)
    assert log.batches < log.appended  # group commit: fewer transactions than entries


async def test_migrations_are_idempotent(any_backend_hub):
    db: Database = any_backend_hub.hub.db
    await db.migrate()
    async with db.read() as conn:
        version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one()
    # The newest migration, whatever its id: each branch adds its own and the chain is ordered on merge.
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
