"""A change on one replica reaches every other replica's caches at once (PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import pytest

import exchange.hub
from exchange.auth.identity import Role
from exchange.errors import ExchangeError
from exchange.server import start_hub
from exchange.testing import HUB_OPERATOR, HubFixture, start_test_hub
from exchange.v1 import catalog_pb2, departments_pb2


async def _refused_within(client, seconds: float) -> ExchangeError | None:
    """Call until the hub refuses (the change arrived) or the time is up; None if it never did."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        try:
            await client.call(client._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest())
        except ExchangeError as error:
            return error
        await asyncio.sleep(0.05)
    return None


async def test_a_department_suspended_on_one_replica_is_refused_on_the_other_at_once(tmp_path, monkeypatch):
    # Without the feed, the other replica would see the change only at its next periodic reload: make that never.
    monkeypatch.setattr(exchange.hub, "KEYRING_RELOAD_SECONDS", 3600.0)
    first = await start_test_hub(tmp_path / "hub", backend="postgresql")
    settings = dataclasses.replace(first.settings, grpc_listen="127.0.0.1:0", http_listen="")
    second = HubFixture(await start_hub(settings, db_schema=first.pg_schema), settings, None)
    try:
        await first.add_department("SAMR")
        second.departments = first.departments
        for hub in (first, second):
            await asyncio.wait_for(hub.hub.changes.connected.wait(), 10)
        officer = second.client("SAMR")
        await officer.call(officer._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest())
        admin = first.client(HUB_OPERATOR, roles=(Role.HUB_ADMIN,))
        await admin.call(
            admin._stubs.departments.SetDepartmentStatus,
            departments_pb2.SetDepartmentStatusRequest(
                code="SAMR", status=departments_pb2.DEPARTMENT_STATUS_SUSPENDED, reason="audit finding"
            ),
        )
        refused = await _refused_within(officer, 10)
        assert refused is not None, "the other replica still serves a suspended department"
        assert (refused.grpc_code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "DEPARTMENT_INACTIVE")
    finally:
        await second.stop()
        await first.stop()


async def test_sqlite_publishes_nothing_and_needs_no_listener(tmp_path):
    hub = await start_test_hub(tmp_path / "hub")
    try:
        assert not hub.hub.changes.enabled
        await hub.hub.changes.publish("SAMR")  # a no-op, not an error
    finally:
        await hub.stop()


@pytest.mark.parametrize("payload", ["", "SAMR"])
async def test_a_notification_drops_the_caches_of_the_replica_that_hears_it(tmp_path, payload):
    hub = await start_test_hub(tmp_path / "hub", backend="postgresql")
    try:
        await asyncio.wait_for(hub.hub.changes.connected.wait(), 10)
        generation = hub.hub.current_datasets.generation
        await hub.hub.changes.publish(payload)
        for _ in range(200):
            if hub.hub.current_datasets.generation > generation:
                break
            await asyncio.sleep(0.02)
        assert hub.hub.current_datasets.generation > generation
    finally:
        await hub.stop()
