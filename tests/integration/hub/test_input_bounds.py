"""Bounded input at the edge: one limit per value on both backends, and a bad value fails only its own request.

On PostgreSQL a case id longer than its column, an officer id longer than its column or a NUL byte used to make
the shared access-log batch fail, and every honest request in that batch got ACCESS_LOG_UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import grpc
import pytest

from catalog import limits
from exchange.app.console_accounts import ConsoleAccounts
from exchange.audit.entry import AccessLogEntry
from exchange.auth.identity import Role
from exchange.cases.lifecycle import CaseState
from exchange.errors import ExchangeError, InvalidArgument
from exchange.testing import HubFixture
from exchange.v1 import common_pb2, exchange_pb2
from exchange.v1.departments_pb2 import RegisterDepartmentRequest
from tests.integration.cases.conftest import PermitWorld, build_world, case_in, stop_world

HONEST_ROUNDS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
async def permit_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PermitWorld]:
    built = await build_world(tmp_path, request.param)
    try:
        yield built
    finally:
        await stop_world(built)


async def outcome(call: Awaitable[Any]) -> ExchangeError | None:
    """None when the call succeeded, else the error it raised."""
    try:
        await call
    except ExchangeError as error:
        return error
    return None


def refusals(entries: list[AccessLogEntry], reason: str) -> list[AccessLogEntry]:
    return [e for e in entries if e.decision == "deny" and e.reason == reason]


async def test_bad_values_are_refused_at_the_edge_and_honest_requests_in_the_same_batch_succeed(
    permit_world: PermitWorld,
) -> None:
    world = permit_world
    case = await case_in(world, CaseState.IN_REVIEW)
    company = world.keys["business_licence"]
    samr, fire = world.officer("SAMR"), world.officer("FIRE")
    long_officer = world.hub.client("SAMR", officer="o" * 200)
    # Warm both connections up, so the concurrent round below is all requests and no connection set-up.
    await samr.get_case(case.id)
    await fire.get_case(case.id)

    honest: list[Awaitable[Any]] = [
        samr.fetch("business_licence", company, case_id=case.id) for _ in range(HONEST_ROUNDS)
    ]
    honest += [fire.get_case(case.id) for _ in range(HONEST_ROUNDS)]
    bad = {
        "purpose.case_id": samr.fetch("business_licence", company, case_id=case.id + "x" * (50 - len(case.id))),
        "token.sub": long_officer.fetch("business_licence", company, case_id=case.id),
        "key": samr.fetch("business_licence", company[:5] + "\x00" + company[5:], case_id=case.id),
        "id": fire.get_case(case.id[:4] + "\x00" + case.id[4:]),
    }
    results = await asyncio.gather(*map(outcome, honest), *map(outcome, bad.values()))

    assert results[: len(honest)] == [None] * len(honest)
    for (field, _), error in zip(bad.items(), results[len(honest) :], strict=True):
        assert error is not None, field
        assert error.grpc_code == grpc.StatusCode.INVALID_ARGUMENT, (field, error)
        assert field in error.message and [v.field for v in error.violations] == [field]
        assert "\x00" not in error.message and "x" * 40 not in error.message and "o" * 40 not in error.message

    entries = await world.hub.log_entries()
    too_long = refusals(entries, "VALUE_TOO_LONG")
    by_case_id = [e for e in too_long if "purpose.case_id" in e.message]
    assert len(by_case_id) == 1
    assert (by_case_id[0].caller_department, by_case_id[0].officer_id) == ("SAMR", "officer-1")
    assert by_case_id[0].subject_id == company  # the key names the subject, and it was in bounds
    by_officer = [e for e in too_long if "token.sub" in e.message]
    assert len(by_officer) == 1 and by_officer[0].caller_department == "SAMR"
    bad_characters = refusals(entries, "VALUE_INVALID_CHARACTERS")
    assert sorted((e.caller_department, e.action) for e in bad_characters) == [
        ("FIRE", "cases.read"),
        ("SAMR", "exchange.fetch"),
    ]
    assert all("\x00" not in e.message and e.subject_id == "" for e in bad_characters)
    assert len([e for e in entries if e.action == "exchange.fetch" and e.decision == "allow"]) >= HONEST_ROUNDS


@pytest.mark.parametrize(
    ("request_field", "value", "reason"),
    [
        ("dataset", "d" * 65, "VALUE_TOO_LONG"),
        ("request_id", "r" * 65, "VALUE_TOO_LONG"),
        ("fields[1]", "bad\x07field", "VALUE_INVALID_CHARACTERS"),
        ("purpose.note", "n" * 501, "VALUE_TOO_LONG"),
        ("purpose.case_id", "c-\u202eabc", "VALUE_INVALID_CHARACTERS"),
        ("key", "9111\x7f", "VALUE_INVALID_CHARACTERS"),
    ],
)
async def test_each_fetch_field_is_checked_against_its_limit(
    tmp_path: Path, request_field: str, value: str, reason: str
) -> None:
    world = await build_world(tmp_path)
    try:
        case = await case_in(world, CaseState.IN_REVIEW)
        company = world.keys["business_licence"]
        args: dict[str, Any] = {"case_id": case.id, "fields": ["name", "status"]}
        dataset = "business_licence"
        if request_field == "dataset":
            dataset = value
        elif request_field == "request_id":
            args["request_id"] = value
        elif request_field.startswith("fields"):
            args["fields"] = ["name", value]
        elif request_field == "purpose.case_id":
            args["case_id"] = value
        elif request_field == "key":
            company = value
        samr = world.officer("SAMR")
        if request_field == "purpose.note":
            purpose = common_pb2.Purpose(case_id=case.id, note=value)
            call = samr.call(
                samr._stubs.exchange.Fetch,
                exchange_pb2.FetchRequest(dataset=dataset, key=company, purpose=purpose),
            )
            error = await outcome(call)
        else:
            error = await outcome(samr.fetch(dataset, company, **args))
        assert error is not None
        assert error.grpc_code == grpc.StatusCode.INVALID_ARGUMENT and error.reason == reason
        assert [v.field for v in error.violations] == [request_field]
        denied = refusals(await world.hub.log_entries(), reason)
        assert [(e.caller_department, e.officer_id) for e in denied] == [("SAMR", "officer-1")]
    finally:
        await stop_world(world)


@pytest.mark.parametrize("username", ["u" * 200, "root\x00"])
async def test_a_console_sign_in_with_an_unstorable_name_is_refused_and_logged(
    any_backend_hub: HubFixture, username: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await ConsoleAccounts(any_backend_hub.hub).sign_in(username, "a password long enough", "127.0.0.1")
    assert caught.value.reason in ("VALUE_TOO_LONG", "VALUE_INVALID_CHARACTERS")
    assert [v.field for v in caught.value.violations] == ["username"]
    (entry,) = [e for e in await any_backend_hub.log_entries() if e.action == "console.sign_in"]
    assert entry.decision == "deny" and entry.reason == caught.value.reason
    assert "\x00" not in entry.officer_id and len(entry.officer_id) <= limits.OFFICER_ID.max_length


async def test_a_nul_hidden_in_a_yaml_escape_of_a_spec_is_refused_before_storage(any_backend_hub: HubFixture) -> None:
    """The raw spec text holds no NUL, but YAML's "\\0" escape puts one into the parsed name."""
    admin = any_backend_hub.client("HUB", roles=[Role.HUB_ADMIN])
    spec = 'code: FIRE\nname: "Fire and Rescue\\0"\nlevel: city\nregion_code: "110100"\n'
    error = await outcome(
        admin.call(admin._stubs.departments.RegisterDepartment, RegisterDepartmentRequest(spec_text=spec))
    )
    assert error is not None and error.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "VALUE_INVALID_CHARACTERS" and [v.field for v in error.violations] == ["name"]
    assert "\x00" not in error.message
