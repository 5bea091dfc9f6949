"""What every caller meets first: health, reflection, tokens, limits, and errors that never leak internals."""

from __future__ import annotations

import time

import grpc
import pytest
import sqlalchemy as sa
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from exchange.auth.identity import Role
from exchange.auth.tokens import mint_token
from exchange.errors import ExchangeError, PermissionDenied, ResourceExhausted
from exchange.v1 import catalog_pb2, catalog_pb2_grpc


async def test_health_checking_reports_serving(hub):
    async with hub.channel() as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        overall = await stub.Check(health_pb2.HealthCheckRequest(service=""))
        exchange = await stub.Check(health_pb2.HealthCheckRequest(service="exchange.v1.ExchangeService"))
    assert overall.status == exchange.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_every_service(hub):
    async with hub.channel() as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def requests():
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for response in stub.ServerReflectionInfo(requests()):
            names = {s.name for s in response.list_services_response.service}
            break
    assert {"exchange.v1.ExchangeService", "exchange.v1.CatalogService", "exchange.v1.AuditService"} <= names


async def _call_with_token(hub, token: str | None):
    async with hub.channel("SAMR") as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        metadata = (("authorization", f"Bearer {token}"),) if token is not None else ()
        return await stub.ListDatasets(catalog_pb2.ListDatasetsRequest(), metadata=metadata)


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda keys: None, "TOKEN_MISSING"),
        (lambda keys: "not.a.jwt", "TOKEN_MALFORMED"),
        (
            lambda keys: mint_token(
                keys.token_key,
                issuer="SAMR",
                kid=keys.token_kid,
                subject="li",
                roles=[Role.OFFICER],
                audience="exchange-hub",
                ttl_seconds=60,
                now=int(time.time()) - 600,
            ),
            "TOKEN_EXPIRED",
        ),
        (
            lambda keys: mint_token(
                keys.token_key,
                issuer="SAMR",
                kid=keys.token_kid,
                subject="li",
                roles=[Role.OFFICER],
                audience="another-hub",
            ),
            "TOKEN_AUDIENCE_MISMATCH",
        ),
    ],
)
async def test_bad_tokens_are_unauthenticated_with_a_reason_and_logged(hub, make_token, reason):
    keys = await hub.add_department("SAMR")
    with pytest.raises(aio.AioRpcError) as refused:
        await _call_with_token(hub, make_token(keys))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    logged = [e for e in await hub.log_entries() if e.action == "catalog.dataset.list"]
    assert [(e.decision, e.reason, e.outcome) for e in logged] == [("deny", reason, "UNAUTHENTICATED")]


async def test_role_not_in_the_table_is_refused(hub):
    auditor = hub.client("HUB", roles=[Role.AUDITOR])
    with pytest.raises(PermissionDenied) as refused:
        await auditor.register_dataset("code: x")
    assert refused.value.reason == "ROLE_NOT_ALLOWED"


async def test_suspended_department_is_refused(hub):
    from catalog.model import DepartmentStatus
    from exchange.testing import system_caller

    await hub.add_department("SAMR")
    officer = hub.client("SAMR")
    await officer.call(officer._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest())
    await hub.running.registry.set_department_status("SAMR", DepartmentStatus.SUSPENDED, "audit", system_caller())
    with pytest.raises(PermissionDenied) as refused:
        await officer.call(officer._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest())
    assert refused.value.reason == "DEPARTMENT_INACTIVE"


async def test_oversized_message_is_resource_exhausted(hub):
    await hub.add_department("SAMR")
    admin = hub.client("SAMR", roles=[Role.DEPT_ADMIN])
    with pytest.raises(ResourceExhausted):
        await admin.register_dataset("x" * (5 * 1024 * 1024))


async def test_unexpected_failure_is_internal_and_does_not_leak(hub):
    admin = hub.client("HUB", roles=[Role.HUB_ADMIN])
    async with hub.hub.db.begin() as conn:
        await conn.execute(sa.text("DROP TABLE datasets"))
    with pytest.raises(ExchangeError) as failed:
        await admin.call(admin._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest())
    assert failed.value.grpc_code == grpc.StatusCode.INTERNAL
    assert "incident" in failed.value.message
    assert "datasets" not in failed.value.message and "sqlite" not in failed.value.message.lower()
