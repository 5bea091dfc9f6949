"""What a client written elsewhere relies on: reflection v1 and v1alpha, x-request-id, a per-deployment log origin."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from exchange.audit.origin import resolve_log_origin
from exchange.auth.identity import Role
from exchange.status import from_rpc_error
from exchange.testing import HubFixture, start_test_hub
from exchange.v1 import access_pb2, catalog_pb2

FRESH_ID = re.compile(r"^[0-9a-f]{32}$")


async def _reflect(hub: HubFixture, version: str, request: reflection_pb2.ServerReflectionRequest) -> Any:
    """One reflection exchange on `grpc.reflection.<version>` (v1 and v1alpha share one wire format)."""
    async with hub.channel() as channel:
        info = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )

        async def requests() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield request

        async for response in info(requests(), timeout=5):
            return response
    raise AssertionError("the reflection stream ended without an answer")


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_answers_on_v1_and_v1alpha(hub: HubFixture, version: str) -> None:
    listed = await _reflect(hub, version, reflection_pb2.ServerReflectionRequest(list_services=""))
    names = {s.name for s in listed.list_services_response.service}
    assert {"exchange.v1.ExchangeService", "grpc.health.v1.Health"} <= names
    assert {"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} <= names
    described = await _reflect(
        hub,
        version,
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="exchange.v1.ExchangeService"),
    )
    assert described.file_descriptor_response.file_descriptor_proto
    # A v1 client can describe the v1 reflection service itself, as grpcurl does before it trusts it.
    v1_itself = await _reflect(
        hub,
        version,
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="grpc.reflection.v1.ServerReflection"),
    )
    assert v1_itself.file_descriptor_response.file_descriptor_proto, v1_itself.error_response.error_message


# --- x-request-id ---------------------------------------------------------------------------------


async def _create_grant(hub: HubFixture, request_id: str | None) -> tuple[grpc.StatusCode, str]:
    """CreateGrant as the hub admin, sending x-request-id when given; (status, returned x-request-id)."""
    admin = hub.client("HUB", roles=[Role.HUB_ADMIN])
    metadata = admin.metadata() + ((("x-request-id", request_id),) if request_id is not None else ())
    call = admin._stubs.access.CreateGrant(
        access_pb2.CreateGrantRequest(consumer="SAMR", dataset="business_licence", fields=["name"]),
        metadata=metadata,
        timeout=5,
    )
    try:
        await call
        status = grpc.StatusCode.OK
    except aio.AioRpcError as error:
        status = error.code()
    returned = dict(await call.initial_metadata() or ())
    return status, str(returned.get("x-request-id", ""))


@pytest.fixture
async def grant_hub(hub: HubFixture) -> HubFixture:
    await hub.add_department("SAMR")
    await hub.register_example_dataset("business_licence")
    return hub


async def test_a_valid_x_request_id_names_the_log_entry_and_comes_back(grant_hub: HubFixture) -> None:
    status, returned = await _create_grant(grant_hub, "crm-7:ticket_42.a-b")
    assert (status, returned) == (grpc.StatusCode.OK, "crm-7:ticket_42.a-b")
    entry = (await grant_hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.request_id) == ("grants.create", "allow", "crm-7:ticket_42.a-b")


@pytest.mark.parametrize("sent", [None, "", "x" * 65, "bad id", "id;drop", "a/b"])
async def test_a_missing_or_malformed_x_request_id_is_replaced_by_a_fresh_one(grant_hub: HubFixture, sent) -> None:
    status, returned = await _create_grant(grant_hub, sent)
    assert status == grpc.StatusCode.OK
    assert FRESH_ID.match(returned), returned
    assert (await grant_hub.log_entries())[-1].request_id == returned


async def test_a_refusal_returns_the_request_id_and_logs_the_deny_under_it(hub: HubFixture) -> None:
    async with hub.channel() as channel:
        call = channel.unary_unary(
            "/exchange.v1.CatalogService/ListDatasets",
            request_serializer=catalog_pb2.ListDatasetsRequest.SerializeToString,
            response_deserializer=catalog_pb2.ListDatasetsResponse.FromString,
        )(catalog_pb2.ListDatasetsRequest(), metadata=(("x-request-id", "no-token-1"),), timeout=5)
        with pytest.raises(aio.AioRpcError) as refused:
            await call
        returned = dict(await call.initial_metadata() or ())
    assert (refused.value.code(), from_rpc_error(refused.value).reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_MISSING",
    )
    assert returned.get("x-request-id") == "no-token-1"
    entry = (await hub.log_entries())[-1]
    assert (entry.decision, entry.reason, entry.request_id) == ("deny", "TOKEN_MISSING", "no-token-1")


async def test_streaming_calls_return_the_request_id_too(hub: HubFixture) -> None:
    # Health Watch is a coroutine writing with context.write, reflection a bidirectional stream.
    async with hub.channel() as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=""), metadata=(("x-request-id", "watch-1"),), timeout=5
        )
        first = await watch.read()
        headers = dict(await watch.initial_metadata() or ())
        watch.cancel()
    assert (first.status, headers.get("x-request-id")) == (health_pb2.HealthCheckResponse.SERVING, "watch-1")


# --- the log origin -------------------------------------------------------------------------------

DEPLOYMENT_ORIGIN = re.compile(r"^exchange-hub/[0-9a-f]{8}/access-log$")


async def _origin_of(data_dir: Path, **settings: Any) -> str:
    fixture = await start_test_hub(data_dir, **settings)
    try:
        return str(fixture.hub.access_log.origin)
    finally:
        await fixture.stop()


async def test_each_deployment_gets_its_own_log_origin_and_keeps_it(tmp_path: Path) -> None:
    first = await _origin_of(tmp_path / "one")
    second = await _origin_of(tmp_path / "two")
    assert DEPLOYMENT_ORIGIN.match(first) and DEPLOYMENT_ORIGIN.match(second)
    assert first != second
    assert await _origin_of(tmp_path / "one") == first  # a restart keeps it


async def test_an_explicit_log_origin_wins(tmp_path: Path) -> None:
    assert await _origin_of(tmp_path / "hub", log_origin="beijing.gov.cn/exchange/log") == "beijing.gov.cn/exchange/log"


async def test_a_log_that_already_has_checkpoints_keeps_their_origin(tmp_path: Path) -> None:
    fixture = await start_test_hub(tmp_path / "hub", log_origin="exchange-hub/access-log")
    await fixture.stop()  # signs a last checkpoint under the old fixed origin
    (tmp_path / "hub" / "deployment-id").unlink(missing_ok=True)
    assert await _origin_of(tmp_path / "hub") == "exchange-hub/access-log"


async def test_a_restart_before_the_first_checkpoint_keeps_the_deployment_origin(any_backend_hub: HubFixture) -> None:
    # The log has entries (the hub operator's registration) and no checkpoint yet, as after a crash.
    hub = any_backend_hub
    origin = hub.hub.access_log.origin
    assert DEPLOYMENT_ORIGIN.match(origin) and await hub.log_entries()
    unset = dataclasses.replace(hub.settings, log_origin="")
    assert await resolve_log_origin(unset, hub.hub.db) == origin


async def test_a_stored_checkpoint_names_the_log_on_each_backend(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await hub.hub.access_log.sign_checkpoint()
    (hub.settings.data_dir / "deployment-id").unlink()  # even without the file, or on another replica
    unset = dataclasses.replace(hub.settings, log_origin="")
    assert await resolve_log_origin(unset, hub.hub.db) == hub.hub.access_log.origin


async def test_a_log_from_before_deployment_ids_keeps_the_old_fixed_origin(hub: HubFixture) -> None:
    # Entries, no checkpoint, no deployment id: a log written by a hub older than per-deployment origins.
    (hub.settings.data_dir / "deployment-id").unlink()
    unset = dataclasses.replace(hub.settings, log_origin="")
    assert await resolve_log_origin(unset, hub.hub.db) == "exchange-hub/access-log"
