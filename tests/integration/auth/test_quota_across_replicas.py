"""A grant's quota holds for the whole cluster: requests on every replica count against one minute."""

from __future__ import annotations

import dataclasses

import grpc

from exchange.auth.identity import Role
from exchange.errors import ExchangeError
from exchange.server import start_hub
from exchange.testing import HubFixture, start_test_hub
from tests.integration.auth.conftest import LICENCE_KEY, open_case, populate

QUOTA = 3


async def _fetch(hub: HubFixture, case_id: str) -> tuple[object, str]:
    """One fetch by SAMR; SAMR has no adapter here, so an admitted fetch ends UNAVAILABLE after counting."""
    try:
        await hub.client("SAMR").fetch("business_licence", LICENCE_KEY, case_id=case_id)
    except ExchangeError as error:
        return error.grpc_code, error.reason
    return grpc.StatusCode.OK, ""


async def test_requests_on_two_replicas_share_one_quota(tmp_path) -> None:
    first = await start_test_hub(tmp_path / "hub", backend="postgresql")
    settings = dataclasses.replace(first.settings, grpc_listen="127.0.0.1:0", http_listen="")
    second = HubFixture(await start_hub(settings, db_schema=first.pg_schema), settings, None)
    try:
        await populate(first)
        second.departments = first.departments
        case_id = await open_case(first, "case-quota")
        admin = first.client("HUB", roles=(Role.HUB_ADMIN,))
        await admin.create_grant("SAMR", "business_licence", ["*"], rate_per_minute=QUOTA)
        admitted = [await _fetch(hub, case_id) for hub in (first, first, second)]
        assert all(reason != "QUOTA_EXCEEDED" for _, reason in admitted), admitted
        refused = await _fetch(second, case_id)
        assert refused == (grpc.StatusCode.RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED")
        last = (await first.log_entries())[-1]
        assert (last.action, last.decision, last.reason, last.caller_department) == (
            "exchange.fetch",
            "deny",
            "QUOTA_EXCEEDED",
            "SAMR",
        )
    finally:
        await second.stop()
        await first.stop()
