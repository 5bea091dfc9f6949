"""Two hub replicas on one PostgreSQL database: one issuer call and one copy of a material however both race."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from exchange.config import load_settings
from exchange.server import start_hub
from exchange.storage import tables as t
from exchange.testing import PG_URL, HubFixture, tls_settings
from tests.integration.cases.conftest import CALENDAR, CaseState, build_world, case_in, stop_world


async def _waiting_on_advisory_locks(world) -> int:
    async with world.hub.hub.db.read() as conn:
        query = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return int((await conn.execute(query)).scalar_one())


async def test_replicas_racing_to_attach_make_one_issuer_call_and_keep_one_copy(tmp_path: Path) -> None:
    world = await build_world(tmp_path / "a", "postgresql")
    settings = load_settings(
        None,
        environ={},
        data_dir=str(tmp_path / "b"),
        grpc_listen="127.0.0.1:0",
        http_listen="",
        **tls_settings(tmp_path / "a" / "hub"),  # the replica serves with the same CA and certificate
        database_url=PG_URL,
        calendar_file=str(CALENDAR),
        checkpoint_interval_seconds=3600,
    )
    replica = HubFixture(await start_hub(settings, db_schema=world.hub.pg_schema), settings, None)
    replica.departments = world.hub.departments
    try:
        case = await case_in(world, CaseState.IN_REVIEW)
        key = world.keys["fire_safety_certificate"]
        adapter = world.adapters["FIRE"]
        adapter.gate.clear()
        racing = [
            asyncio.create_task(hub.client("SAMR").attach_material(case.id, "fire_safety_certificate", key))
            for hub in (world.hub, replica)
        ]
        # One replica is at the issuer (held at the gate); the other waits for it on the cross-replica lock.
        for _ in range(1000):
            if sum(adapter.lookups.values()) == 1 and await _waiting_on_advisory_locks(world) == 1:
                break
            assert sum(adapter.lookups.values()) <= 1, "both replicas called the issuer"
            assert not any(t.done() for t in racing), [t.result() for t in racing if t.done()]
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the second replica never waited for the first one's fetch")
        adapter.gate.set()
        answers = await asyncio.gather(*racing)
        # One issuer call served both replicas' callers, and the database kept one copy.
        assert adapter.lookups[("fire_safety_certificate", key)] == 1
        assert sum(fetched for _, fetched in answers) == 1
        assert len({(m.version, m.digest) for m, _ in answers}) == 1
        async with world.hub.hub.db.read() as conn:
            rows = (await conn.execute(sa.select(sa.func.count()).select_from(t.case_materials))).scalar()
        assert rows == 1
    finally:
        await replica.stop()
        await stop_world(world)
