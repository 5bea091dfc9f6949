"""A token id is accepted once across every hub replica sharing a database (PostgreSQL, or one SQLite file).

The replay memory used to live in each process: a token used on replica 1 was accepted again on replica 2.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from grpc import aio

from exchange.auth.identity import Role
from exchange.auth.tokens import mint_token
from exchange.server import start_hub
from exchange.storage import tables as t
from exchange.testing import HubFixture, start_test_hub
from exchange.v1 import catalog_pb2, catalog_pb2_grpc


@dataclasses.dataclass
class Replicas:
    first: HubFixture
    second: HubFixture


@pytest.fixture(params=["sqlite", "postgresql"])
async def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Replicas]:
    """Two hub processes' worth of state (each its own server, verifier and caches) on one database."""
    first = await start_test_hub(tmp_path / "one", backend=request.param)
    settings = dataclasses.replace(
        first.settings,
        data_dir=tmp_path / "two",
        database_url=first.settings.effective_database_url,
        grpc_listen="127.0.0.1:0",
        http_listen="",
    )
    second = HubFixture(await start_hub(settings, db_schema=first.pg_schema), settings, None)
    try:
        await first.add_department("SAMR")
        second.departments = first.departments
        await second.hub.registry_changed()  # the second replica sees the new department now, not in 5 s
        yield Replicas(first, second)
    finally:
        await second.stop()
        await first.stop()


def token_for(hub: HubFixture, jti: str) -> str:
    keys = hub.departments["SAMR"]
    return mint_token(
        keys.token_key,
        issuer="SAMR",
        kid=keys.token_kid,
        subject="officer-1",
        roles=[Role.OFFICER],
        audience=hub.settings.hub_name,
        jti=jti,
    )


async def list_catalog(channel: aio.Channel, token: str) -> grpc.StatusCode:
    """One call with exactly this token; its status code."""
    stub = catalog_pb2_grpc.CatalogServiceStub(channel)
    try:
        await stub.ListDatasets(catalog_pb2.ListDatasetsRequest(), metadata=(("authorization", f"Bearer {token}"),))
    except aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def token_uses(hub: HubFixture, jti: str) -> int:
    async with hub.hub.db.read() as conn:
        query = sa.select(sa.func.count()).select_from(t.token_uses).where(t.token_uses.c.jti == jti)
        return int((await conn.execute(query)).scalar_one())


async def test_a_token_used_on_one_replica_is_refused_on_the_other_and_logged(replicas: Replicas) -> None:
    token = token_for(replicas.first, "used-once")
    async with (
        replicas.first.channel("SAMR") as one,
        replicas.second.channel("SAMR") as two,
    ):
        assert await list_catalog(one, token) == grpc.StatusCode.OK
        assert await list_catalog(one, token) == grpc.StatusCode.OK  # on its own connection: fine

        stub = catalog_pb2_grpc.CatalogServiceStub(two)
        with pytest.raises(aio.AioRpcError) as caught:
            await stub.ListDatasets(catalog_pb2.ListDatasetsRequest(), metadata=(("authorization", f"Bearer {token}"),))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "another hub replica" in (caught.value.details() or "")
        # Still good on its first connection, still refused on the second replica.
        assert await list_catalog(one, token) == grpc.StatusCode.OK
        assert await list_catalog(two, token) == grpc.StatusCode.UNAUTHENTICATED
    refused = [e for e in await replicas.second.log_entries() if e.reason == "TOKEN_REPLAYED"]
    assert len(refused) == 2
    assert all(e.decision == "deny" and e.action == "catalog.dataset.list" for e in refused)
    assert {(e.caller_department, e.officer_id) for e in refused} == {("SAMR", "officer-1")}
    # Reuse on its own connection stayed cheap: the process's cache answered, the first use made the one row.
    assert await token_uses(replicas.first, "used-once") == 1


async def test_a_token_raced_to_two_replicas_is_accepted_by_exactly_one(replicas: Replicas) -> None:
    async with (
        replicas.first.channel("SAMR") as one,
        replicas.second.channel("SAMR") as two,
    ):
        for round_ in range(5):
            token = token_for(replicas.first, f"raced-{round_}")
            codes = await asyncio.gather(list_catalog(one, token), list_catalog(two, token))
            assert sorted(code.name for code in codes) == ["OK", "UNAUTHENTICATED"], round_


async def test_expired_token_ids_are_purged_from_the_shared_memory(replicas: Replicas) -> None:
    async with replicas.first.channel("SAMR") as one:
        assert await list_catalog(one, token_for(replicas.first, "soon-gone")) == grpc.StatusCode.OK
    async with replicas.first.hub.db.begin() as conn:
        await conn.execute(t.token_uses.update().values(expires_us=1))
    assert await replicas.second.hub.replay_ledger.purge() >= 1
    assert await token_uses(replicas.first, "soon-gone") == 0
