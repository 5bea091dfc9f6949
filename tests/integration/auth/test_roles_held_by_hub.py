"""Roles are held by the hub: a token may narrow them, never widen them.

A department signs its own tokens, so the token's `roles` claim proves only what the
department asks for. Each refusal here asserts the status, the reason and the deny entry
in the access log under the caller's own department and officer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result

from exchange.audit.entry import AccessLogEntry
from exchange.auth.identity import Role
from exchange.cli import cli
from exchange.client import HubClient
from exchange.errors import ExchangeError
from exchange.storage import tables as t
from exchange.testing import HubFixture
from exchange.v1 import access_pb2, audit_pb2, departments_pb2

from .rpc_walk import call_raw, filled_request, hub_methods, path_of

HUB_IDENTITIES = (Role.HUB_ADMIN, Role.AUDITOR)


async def _drain(responses: AsyncIterator[Any]) -> list[Any]:
    return [r async for r in responses]


# The policy's operation each of those RPCs asks for (the refusal is logged under it).
OPERATION_OF = {
    "ListGrants": "grants.list",
    "QueryEntries": "audit.entries.query",
    "SetDepartmentStatus": "departments.status.set",
}


def _hub_admin_calls(client: HubClient) -> dict[str, Callable[[], Awaitable[Any]]]:
    """What a forged hub admin or auditor would do first: read every grant, read the log, cut off MNR."""
    suspend = departments_pb2.SetDepartmentStatusRequest(
        code="MNR", status=departments_pb2.DEPARTMENT_STATUS_SUSPENDED, reason="forged"
    )
    return {
        "ListGrants": lambda: client.call(client._stubs.access.ListGrants, access_pb2.ListGrantsRequest()),
        "QueryEntries": lambda: _drain(
            client.stream(client._stubs.audit.QueryEntries, audit_pb2.QueryEntriesRequest())
        ),
        "SetDepartmentStatus": lambda: client.call(client._stubs.departments.SetDepartmentStatus, suspend),
    }


async def _refused(hub: HubFixture, attempt: Awaitable[Any], *, department: str, officer: str) -> AccessLogEntry:
    """The attempt fails with PERMISSION_DENIED / ROLE_NOT_HELD; returns the deny entry it left."""
    with pytest.raises(ExchangeError) as caught:
        await attempt
    assert caught.value.grpc_code == grpc.StatusCode.PERMISSION_DENIED, caught.value
    assert caught.value.reason == "ROLE_NOT_HELD", caught.value
    entry = (await hub.log_entries())[-1]
    assert (entry.decision, entry.reason) == ("deny", "ROLE_NOT_HELD")
    assert (entry.caller_department, entry.officer_id) == (department, officer)
    return entry


async def _set_roles(
    admin: HubClient, code: str, roles: tuple[str, ...] = (), *, officer: str = "", reset: bool = False
) -> departments_pb2.SetDepartmentRolesResponse:
    request = departments_pb2.SetDepartmentRolesRequest(
        code=code, officer_id=officer, roles=list(roles), reset=reset, reason="test"
    )
    response: departments_pb2.SetDepartmentRolesResponse = await admin.call(
        admin._stubs.departments.SetDepartmentRoles, request
    )
    return response


@pytest.mark.parametrize("role", HUB_IDENTITIES, ids=lambda r: r.value)
async def test_a_department_key_cannot_mint_a_hub_identity(any_backend_hub: HubFixture, role: Role) -> None:
    hub = any_backend_hub
    await hub.add_department("FIRE")
    await hub.add_department("MNR")
    forger = hub.client("FIRE", officer="mallory", roles=(role,))
    for name, attempt in _hub_admin_calls(forger).items():
        entry = await _refused(hub, attempt(), department="FIRE", officer="mallory")
        assert entry.action == OPERATION_OF[name]
        assert role.value in entry.message and "dept_admin, officer" in entry.message
    assert hub.hub.keyring.department("MNR").status.value == "active"


async def test_the_hub_department_holds_the_hub_identities(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await hub.add_department("MNR")
    admin = hub.client("HUB", officer="root", roles=(Role.HUB_ADMIN,))
    for name, attempt in _hub_admin_calls(admin).items():
        await attempt()
        assert (await hub.log_entries())[-1].decision == "allow", name
    assert hub.hub.keyring.department("MNR").status.value == "suspended"
    auditor = hub.client("HUB", officer="audrey", roles=(Role.AUDITOR,))
    assert await _drain(auditor.stream(auditor._stubs.audit.QueryEntries, audit_pb2.QueryEntriesRequest()))


async def test_a_token_narrows_the_held_roles_and_never_widens_them(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await hub.add_department("FIRE")
    officer_only = hub.client("FIRE", officer="li", roles=(Role.OFFICER,))
    with pytest.raises(ExchangeError) as caught:
        await officer_only.call(officer_only._stubs.access.ListGrants, access_pb2.ListGrantsRequest())
    assert caught.value.reason == "ROLE_NOT_ALLOWED"
    both = hub.client("FIRE", officer="li", roles=(Role.OFFICER, Role.DEPT_ADMIN))
    await both.call(both._stubs.access.ListGrants, access_pb2.ListGrantsRequest())

    admin = hub.client("HUB", officer="root", roles=(Role.HUB_ADMIN,))
    await _set_roles(admin, "FIRE", ("officer",))
    dept_admin = hub.client("FIRE", officer="li", roles=(Role.DEPT_ADMIN,))
    entry = await _refused(
        hub,
        dept_admin.call(dept_admin._stubs.access.ListGrants, access_pb2.ListGrantsRequest()),
        department="FIRE",
        officer="li",
    )
    assert "[dept_admin]" in entry.message and "[officer]" in entry.message
    # Still an officer: the narrowed department keeps working.
    await officer_only.call(officer_only._stubs.departments.ListDepartments, departments_pb2.ListDepartmentsRequest())


async def test_a_role_given_to_one_officer_is_not_the_departments(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await hub.add_department("FIRE")
    admin = hub.client("HUB", officer="root", roles=(Role.HUB_ADMIN,))
    await _set_roles(admin, "FIRE", ("officer",))
    shown = await _set_roles(admin, "FIRE", ("officer", "dept_admin"), officer="chief")
    assert list(shown.roles.roles) == ["officer"] and not shown.roles.is_default
    assert [(o.officer_id, list(o.roles)) for o in shown.roles.officers] == [("chief", ["dept_admin", "officer"])]

    chief = hub.client("FIRE", officer="chief", roles=(Role.DEPT_ADMIN,))
    await chief.call(chief._stubs.access.ListGrants, access_pb2.ListGrantsRequest())
    other = hub.client("FIRE", officer="officer-2", roles=(Role.DEPT_ADMIN,))
    await _refused(
        hub,
        other.call(other._stubs.access.ListGrants, access_pb2.ListGrantsRequest()),
        department="FIRE",
        officer="officer-2",
    )
    # Taking the officer's own set away leaves the department's.
    await _set_roles(admin, "FIRE", officer="chief", reset=True)
    await _refused(
        hub,
        chief.call(chief._stubs.access.ListGrants, access_pb2.ListGrantsRequest()),
        department="FIRE",
        officer="chief",
    )


@pytest.mark.parametrize("officer", ["", "chief"], ids=["department", "officer"])
async def test_no_admin_can_give_a_department_a_hub_identity(any_backend_hub: HubFixture, officer: str) -> None:
    hub = any_backend_hub
    await hub.add_department("FIRE")
    admin = hub.client("HUB", officer="root", roles=(Role.HUB_ADMIN,))
    with pytest.raises(ExchangeError) as caught:
        await _set_roles(admin, "FIRE", ("officer", "auditor"), officer=officer)
    assert caught.value.grpc_code == grpc.StatusCode.PERMISSION_DENIED
    assert caught.value.reason == "HUB_ROLE_RESERVED"
    assert "auditor" in caught.value.message and "HUB" in caught.value.message
    entry = (await hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason) == ("departments.roles.set", "deny", "HUB_ROLE_RESERVED")
    assert (entry.caller_department, entry.officer_id) == ("HUB", "root")
    held = await admin.call(
        admin._stubs.departments.GetDepartmentRoles, departments_pb2.GetDepartmentRolesRequest(code="FIRE")
    )
    assert list(held.roles.roles) == ["dept_admin", "officer"] and held.roles.is_default and not held.roles.officers
    auditor = hub.client("FIRE", officer=officer or "officer-1", roles=(Role.AUDITOR,))
    await _refused(
        hub,
        _drain(auditor.stream(auditor._stubs.audit.QueryEntries, audit_pb2.QueryEntriesRequest())),
        department="FIRE",
        officer=officer or "officer-1",
    )


async def test_only_a_hub_admin_changes_roles(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await hub.add_department("FIRE")
    for department, role in (("FIRE", Role.DEPT_ADMIN), ("HUB", Role.AUDITOR), ("HUB", Role.DEPT_ADMIN)):
        client = hub.client(department, officer="eve", roles=(role,))
        with pytest.raises(ExchangeError) as caught:
            await _set_roles(client, "FIRE", ("officer", "dept_admin"), officer="eve")
        assert (caught.value.grpc_code, caught.value.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
        entry = (await hub.log_entries())[-1]
        assert (entry.decision, entry.caller_department, entry.officer_id) == ("deny", department, "eve")
    assert not [e for e in await hub.log_entries() if e.action == "departments.roles.set" and e.decision == "allow"]


async def test_every_role_change_is_an_access_log_entry(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await hub.add_department("FIRE")
    admin = hub.client("HUB", officer="root", roles=(Role.HUB_ADMIN,))
    await _set_roles(admin, "FIRE", ("officer",))
    await _set_roles(admin, "FIRE", ("officer", "dept_admin"), officer="chief")
    await _set_roles(admin, "FIRE", officer="chief", reset=True)
    await _set_roles(admin, "FIRE", reset=True)
    changes = [e for e in await hub.log_entries() if e.action == "departments.roles.set"]
    assert [(e.decision, e.caller_department, e.officer_id) for e in changes] == [("allow", "HUB", "root")] * 4
    assert [e.details["target"] for e in changes] == ["FIRE", "FIRE/chief", "FIRE/chief", "FIRE"]
    summaries = [e.details["summary"] for e in changes]
    assert summaries[0] == "roles officer (were dept_admin, officer by default): test"
    assert summaries[1] == "roles dept_admin, officer (were those of FIRE): test"
    assert summaries[2] == "roles those of FIRE (were dept_admin, officer): test"
    assert summaries[3] == "roles dept_admin, officer by default (were officer): test"


async def test_a_role_change_bites_on_the_next_call(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await hub.add_department("FIRE")
    admin = hub.client("HUB", officer="root", roles=(Role.HUB_ADMIN,))
    fire = hub.client("FIRE", officer="li", roles=(Role.DEPT_ADMIN,))
    await fire.call(fire._stubs.access.ListGrants, access_pb2.ListGrantsRequest())
    await _set_roles(admin, "FIRE", ("officer",))
    # The same token on the same channel, well inside the keyring's reload interval.
    await _refused(
        hub,
        fire.call(fire._stubs.access.ListGrants, access_pb2.ListGrantsRequest()),
        department="FIRE",
        officer="li",
    )
    await _set_roles(admin, "FIRE", reset=True)
    await fire.call(fire._stubs.access.ListGrants, access_pb2.ListGrantsRequest())


async def test_reading_roles_is_for_admins_of_that_department_auditors_and_hub_admins(hub: HubFixture) -> None:
    await hub.add_department("FIRE")
    await hub.add_department("MNR")
    request = departments_pb2.GetDepartmentRolesRequest(code="FIRE")
    for department, role in (("FIRE", Role.DEPT_ADMIN), ("HUB", Role.AUDITOR), ("HUB", Role.HUB_ADMIN)):
        client = hub.client(department, officer="reader", roles=(role,))
        held = await client.call(client._stubs.departments.GetDepartmentRoles, request)
        assert held.roles.department == "FIRE" and list(held.roles.roles) == ["dept_admin", "officer"]
    hub_roles = await client.call(
        client._stubs.departments.GetDepartmentRoles, departments_pb2.GetDepartmentRolesRequest(code="HUB")
    )
    assert list(hub_roles.roles.roles) == ["auditor", "dept_admin", "hub_admin", "officer", "supervisor"]
    stranger = hub.client("MNR", officer="reader", roles=(Role.DEPT_ADMIN,))
    with pytest.raises(ExchangeError) as caught:
        await stranger.call(stranger._stubs.departments.GetDepartmentRoles, request)
    assert (caught.value.grpc_code, caught.value.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWNER")
    assert (await hub.log_entries())[-1].decision == "deny"


async def _cli(hub: HubFixture, tmp_path: Path, *args: str) -> Result:
    """`exchange ...` as the hub's administrator (profile options on the command line)."""
    profile = hub.write_profile("HUB", tmp_path / "HUB", officer="admin", roles=[Role.HUB_ADMIN])
    identity = ["--profile", str(profile), "--as-officer", "root"]
    return await asyncio.to_thread(CliRunner().invoke, cli, [*args, *identity], catch_exceptions=False)


async def test_roles_from_the_command_line(hub: HubFixture, tmp_path: Path) -> None:
    await hub.add_department("FIRE")
    shown = await _cli(hub, tmp_path, "departments", "roles", "FIRE")
    assert shown.exit_code == 0 and shown.output == "FIRE: dept_admin, officer (default)\n"
    changed = await _cli(
        hub, tmp_path, "departments", "roles", "FIRE", "--officer", "chief", "--set", "officer,dept_admin"
    )
    assert changed.exit_code == 0, changed.output
    assert changed.output == "FIRE: dept_admin, officer (default)\n  officer chief: dept_admin, officer\n"
    refused = await _cli(hub, tmp_path, "departments", "roles", "FIRE", "--set", "officer,auditor")
    assert refused.exit_code == 2 and "reason: HUB_ROLE_RESERVED" in refused.output
    unknown = await _cli(hub, tmp_path, "departments", "roles", "FIRE", "--set", "officer,root")
    assert (
        unknown.exit_code == 2
        and "reason: UNKNOWN_ROLE" in unknown.output
        and "roles[1]: 'root' is not a role" in unknown.output
    )
    entries = [e for e in await hub.log_entries() if e.action == "departments.roles.set"]
    assert [(e.decision, e.officer_id, e.details.get("target", "")) for e in entries] == [
        ("allow", "root", "FIRE/chief"),
        ("deny", "root", ""),
        ("deny", "root", ""),
    ]


async def test_a_hub_identity_written_straight_into_the_database_does_not_count(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await hub.add_department("FIRE")
    async with hub.hub.db.begin() as conn:
        await conn.execute(
            t.department_roles.insert().values(
                department="FIRE", officer_id="", roles="auditor,hub_admin,officer", set_by="sql", set_at_us=1
            )
        )
    await hub.hub.registry_changed()
    forger = hub.client("FIRE", officer="mallory", roles=(Role.HUB_ADMIN,))
    for attempt in _hub_admin_calls(forger).values():
        await _refused(hub, attempt(), department="FIRE", officer="mallory")
    officer = hub.client("FIRE", officer="li", roles=(Role.OFFICER,))
    await officer.call(officer._stubs.departments.ListDepartments, departments_pb2.ListDepartmentsRequest())


async def test_every_rpc_refuses_a_department_claiming_a_hub_identity(hub: HubFixture) -> None:
    await hub.add_department("FIRE")
    methods = hub_methods()
    for role in HUB_IDENTITIES:
        client = hub.client("FIRE", officer=f"walker-{role.value}", roles=(Role.OFFICER, role))
        for method in methods:
            outcome = await call_raw(client.channel, method, filled_request(method, {}), client.metadata())
            assert (outcome.code, outcome.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_HELD"), path_of(
                method
            )
    denied = [e for e in await hub.log_entries() if e.reason == "ROLE_NOT_HELD"]
    assert len(denied) == 2 * len(methods)
    assert all((e.decision, e.caller_department) == ("deny", "FIRE") for e in denied)
