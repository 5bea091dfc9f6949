"""Grants are read per request: a revocation on one replica bites on the next request on another."""

from __future__ import annotations

import dataclasses

import pytest

from exchange.auth.identity import Role
from exchange.errors import PermissionDenied
from exchange.server import start_hub
from exchange.testing import HubFixture, start_test_hub
from exchange.v1 import access_pb2

from .conftest import LICENCE_KEY, open_case, populate, start_provider


async def test_revocation_on_one_replica_bites_on_the_next_request_on_another(tmp_path) -> None:
    first = await start_test_hub(tmp_path / "hub", backend="postgresql")
    provider = await start_provider(first)
    second: HubFixture | None = None
    try:
        await populate(first)
        running = await start_hub(dataclasses.replace(first.settings), db_schema=first.pg_schema)
        second = HubFixture(running, first.settings, None, departments=first.departments)
        case = await open_case(first, "case-1")
        samr_on_first = first.client("SAMR", roles=(Role.DEPT_ADMIN,))
        grant = await samr_on_first.create_grant("FIRE", "business_licence", ["*"])
        fire_on_second = second.client("FIRE")
        assert (await fire_on_second.fetch("business_licence", LICENCE_KEY, case_id=case)).data

        revoke = access_pb2.RevokeGrantRequest(id=grant.id, reason="audit finding")
        await samr_on_first.call(samr_on_first._stubs.access.RevokeGrant, revoke)
        with pytest.raises(PermissionDenied) as refused:
            await fire_on_second.fetch("business_licence", LICENCE_KEY, case_id=case)
        assert refused.value.reason == "GRANT_REVOKED"
        entries = await first.log_entries()
        assert [(e.action, e.decision, e.reason) for e in entries if e.action == "exchange.fetch"][-1] == (
            "exchange.fetch",
            "deny",
            "GRANT_REVOKED",
        )
    finally:
        if second is not None:
            for client in second.clients:
                await client.close()
            await second.running.stop(grace=1.0)
        await first.stop()
        await provider.stop(None)
