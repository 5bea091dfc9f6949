"""Purpose binding end to end: each refusal reaches the caller and the access log with the same reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from exchange.auth.identity import Role
from exchange.clock import now_us
from exchange.errors import ExchangeError
from exchange.testing import HubFixture
from exchange.v1 import access_pb2

from .conftest import LICENCE_KEY, REPRESENTATIVE, open_case

ADMIN = (Role.DEPT_ADMIN,)
RESIDENT = REPRESENTATIVE


async def _grant(hub: HubFixture, **changes: object) -> None:
    values: dict[str, object] = {"consumer": "FIRE", "dataset": "business_licence", "fields": ["*"]}
    values.update(changes)
    samr = hub.client("SAMR", roles=ADMIN)
    await samr.call(samr._stubs.access.CreateGrant, access_pb2.CreateGrantRequest(**values))  # type: ignore[arg-type]


async def _request_identity(hub: HubFixture, *, deny: bool) -> None:
    fire = hub.client("FIRE", roles=ADMIN)
    request = access_pb2.CreateAccessRequestRequest(
        dataset="identity_record",
        fields=["name"],
        service_items=["restaurant_permit"],
        legal_basis="Food Safety Law art. 35",
        justification="identify the legal representative",
    )
    created = (await fire.call(fire._stubs.access.CreateAccessRequest, request)).request
    if deny:
        psb = hub.client("PSB", roles=ADMIN)
        decide = access_pb2.DecideAccessRequestRequest(id=created.id, reason="not needed for fire safety")
        await psb.call(psb._stubs.access.DecideAccessRequest, decide)


async def _nothing(hub: HubFixture) -> None:
    return None


Setup = Callable[[HubFixture], Awaitable[None]]
CASES: list[tuple[str, Setup, dict[str, object], str]] = [
    ("no grant", _nothing, {}, "NO_GRANT"),
    ("expired grant", lambda h: _grant(h, valid_from_us=1, valid_until_us=now_us() - 1), {}, "GRANT_EXPIRED"),
    ("grant to another department", lambda h: _grant(h, consumer="MNR"), {}, "NO_GRANT"),
    ("case closed", _grant, {"case": "closed"}, "CASE_CLOSED"),
    ("case not involving the caller", _grant, {"case": "without_fire"}, "CASE_NOT_INVOLVING_CALLER"),
    ("dataset not required by the item", _grant, {"dataset": "enterprise_register"}, "DATASET_NOT_REQUIRED"),
    ("ungranted field", lambda h: _grant(h, fields=["name"]), {"fields": ["address"]}, "FIELD_NOT_GRANTED"),
    ("not shared", _nothing, {"dataset": "criminal_record", "key": RESIDENT}, "DATASET_NOT_SHARED"),
    (
        "pending access request",
        lambda h: _request_identity(h, deny=False),
        {"dataset": "identity_record", "key": RESIDENT},
        "ACCESS_REQUEST_PENDING",
    ),
    (
        "denied access request",
        lambda h: _request_identity(h, deny=True),
        {"dataset": "identity_record", "key": RESIDENT},
        "ACCESS_REQUEST_DENIED",
    ),
]


@pytest.mark.parametrize(("situation", "setup", "fetch", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_refusal_reaches_the_caller_and_the_log_with_one_reason(
    permit_hub: HubFixture, situation: str, setup: Setup, fetch: dict[str, object], reason: str
) -> None:
    await permit_hub.register_example_dataset("enterprise_register")
    await setup(permit_hub)
    case_kind = fetch.get("case", "open")
    state = "closed" if case_kind == "closed" else "in_review"
    co_reviewers = ("MNR",) if case_kind == "without_fire" else ("FIRE", "MNR")
    case = await open_case(permit_hub, "case-1", state=state, co_reviewers=co_reviewers)
    fire = permit_hub.client("FIRE")
    with pytest.raises(ExchangeError) as refused:
        await fire.fetch(
            str(fetch.get("dataset", "business_licence")),
            str(fetch.get("key", LICENCE_KEY)),
            case_id=case,
            fields=list(fetch.get("fields", [])),  # type: ignore[call-overload]
        )
    assert refused.value.reason == reason, situation
    assert refused.value.message and refused.value.grpc_code.name == "PERMISSION_DENIED"  # type: ignore[attr-defined]
    last = (await permit_hub.log_entries())[-1]
    assert (last.action, last.decision, last.reason, last.message) == (
        "exchange.fetch",
        "deny",
        reason,
        refused.value.message,
    )
