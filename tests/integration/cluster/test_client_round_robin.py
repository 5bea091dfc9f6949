"""The Python client spreads calls over a list of replicas and goes on when one of them stops."""

from __future__ import annotations

import dataclasses

import pytest

from exchange.client import HubClient
from exchange.errors import InvalidArgument
from exchange.server import start_hub
from exchange.testing import HubFixture, start_test_hub
from exchange.v1 import catalog_pb2


async def _list(client: HubClient) -> None:
    await client.call(client._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest(), timeout=10)


async def test_calls_go_round_robin_and_skip_a_stopped_replica(tmp_path) -> None:
    first = await start_test_hub(tmp_path / "hub", backend="postgresql")
    settings = dataclasses.replace(first.settings, grpc_listen="127.0.0.1:0", http_listen="")
    second = HubFixture(await start_hub(settings, db_schema=first.pg_schema), settings, None)
    try:
        await first.add_department("SAMR")
        second.departments = first.departments
        client = first.client("SAMR", address=[first.address, second.address])
        for _ in range(6):
            await _list(client)
        # Each replica verified a token of this client: both were called (a replica binds a token id it saw).
        assert len(first.hub.verifier) >= 1 and len(second.hub.verifier) >= 1
        await second.running.stop(grace=0.5)
        for _ in range(4):
            await _list(client)
    finally:
        await first.stop()


def test_a_list_of_host_names_is_refused_with_the_dns_alternative() -> None:
    with pytest.raises(InvalidArgument) as refused:
        HubClient.connect(["hub-1:50051", "hub-2:50051"], department="SAMR", officer="o", key=b"")
    assert refused.value.reason == "CLIENT_TARGET_INVALID" and "dns:///" in refused.value.message
