"""Each department-scoped operation, done by a department to its own things and to another's.

The hub runs the production topology (the fixture's default). Every refusal must carry the right status and
reason and leave exactly one deny entry under the acting department; every allowed twin must succeed, so a
rule that refuses everything does not pass either. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from exchange.auth.identity import Role
from exchange.auth.keys import generate_ed25519, key_id, public_key_to_pem
from exchange.errors import ExchangeError
from exchange.testing import HubFixture
from exchange.v1 import access_pb2, cases_pb2, catalog_pb2, common_pb2, departments_pb2, exchange_pb2
from tests.integration.auth.conftest import LICENCE_KEY, populate

OFFICER, ADMIN = (Role.OFFICER,), (Role.DEPT_ADMIN,)


@dataclass(frozen=True)
class Attempt:
    """One operation by one department: the call, and the reason it must be refused with ("" = allowed)."""

    name: str
    department: str
    roles: tuple[Role, ...]
    call: Callable[[Any], Awaitable[Any]]
    refused_with: str = ""
    status: grpc.StatusCode = grpc.StatusCode.PERMISSION_DENIED


def _new_key() -> departments_pb2.DepartmentKey:
    key = generate_ed25519()
    return departments_pb2.DepartmentKey(
        kid=key_id(key.public_key()),
        use=departments_pb2.KEY_USE_TOKEN,
        algorithm="EdDSA",
        public_key_pem=public_key_to_pem(key),
    )


def _attempts(hub: HubFixture, case_id: str, grant_id: str, request_id: str) -> list[Attempt]:
    samr_kid = hub.departments["SAMR"].token_kid
    purpose = common_pb2.Purpose(case_id=case_id)

    def status(code: str) -> Callable[[Any], Awaitable[Any]]:
        request = catalog_pb2.SetDatasetStatusRequest(code=code, status=catalog_pb2.DATASET_STATUS_PUBLISHED)
        return lambda c: c.call(c._stubs.catalog.SetDatasetStatus, request)

    def grant(dataset: str) -> Callable[[Any], Awaitable[Any]]:
        request = access_pb2.CreateGrantRequest(consumer="FIRE", dataset=dataset, fields=["*"])
        return lambda c: c.call(c._stubs.access.CreateGrant, request)

    def add_key(department: str) -> Callable[[Any], Awaitable[Any]]:
        request = departments_pb2.AddDepartmentKeyRequest(department=department, key=_new_key())
        return lambda c: c.call(c._stubs.departments.AddDepartmentKey, request)

    def fetch() -> Callable[[Any], Awaitable[Any]]:
        request = exchange_pb2.FetchRequest(dataset="business_licence", key=LICENCE_KEY, purpose=purpose)
        return lambda c: c.call(c._stubs.exchange.Fetch, request)

    def get_case() -> Callable[[Any], Awaitable[Any]]:
        return lambda c: c.call(c._stubs.cases.GetCase, cases_pb2.GetCaseRequest(id=case_id))

    def list_materials() -> Callable[[Any], Awaitable[Any]]:
        return lambda c: c.call(c._stubs.cases.ListMaterials, cases_pb2.ListMaterialsRequest(case_id=case_id))

    def decide() -> Callable[[Any], Awaitable[Any]]:
        request = access_pb2.DecideAccessRequestRequest(id=request_id, approve=False, reason="not needed")
        return lambda c: c.call(c._stubs.access.DecideAccessRequest, request)

    def revoke() -> Callable[[Any], Awaitable[Any]]:
        return lambda c: c.call(c._stubs.access.RevokeGrant, access_pb2.RevokeGrantRequest(id=grant_id, reason="test"))

    def retire(kid: str) -> Callable[[Any], Awaitable[Any]]:
        request = departments_pb2.RetireDepartmentKeyRequest(department="SAMR", kid=kid)
        return lambda c: c.call(c._stubs.departments.RetireDepartmentKey, request)

    return [
        # Catalog: a department admin changes only its own department's datasets.
        Attempt("status of another's dataset", "FIRE", ADMIN, status("business_licence"), "NOT_OWNER"),
        Attempt("status of its own dataset", "SAMR", ADMIN, status("business_licence")),
        # Grants: only the dataset's owner (or a hub admin) grants and revokes.
        Attempt("grant on another's dataset", "MNR", ADMIN, grant("business_licence"), "NOT_OWNER"),
        Attempt("revoke another's grant", "MNR", ADMIN, revoke(), "NOT_OWNER"),
        Attempt("grant on its own dataset", "SAMR", ADMIN, grant("business_licence")),
        # Keys: a department admin manages its own department's keys only.
        Attempt("key for another department", "FIRE", ADMIN, add_key("SAMR"), "NOT_OWNER"),
        Attempt("retire another's key", "FIRE", ADMIN, retire(samr_kid), "NOT_OWNER"),
        Attempt("key for its own department", "FIRE", ADMIN, add_key("FIRE")),
        # Access requests: only the owner answers; the requester cannot approve its own request.
        # (another department does not even learn that the request exists)
        Attempt(
            "answer a request for another's dataset",
            "SAMR",
            ADMIN,
            decide(),
            "ACCESS_REQUEST_NOT_FOUND",
            grpc.StatusCode.NOT_FOUND,
        ),
        Attempt("answer its own request", "FIRE", ADMIN, decide(), "NOT_OWNER"),
        Attempt("the owner answers", "PSB", ADMIN, decide()),
        # Cases: only departments on the case read or fetch for it.
        Attempt("fetch for a case it is not on", "PSB", OFFICER, fetch(), "CASE_NOT_INVOLVING_CALLER"),
        Attempt("read a case it is not on", "PSB", OFFICER, get_case(), "NOT_INVOLVED"),
        Attempt("list materials of a case it is not on", "PSB", OFFICER, list_materials(), "NOT_INVOLVED"),
        Attempt("read a case it co-reviews", "FIRE", OFFICER, get_case()),
        Attempt("list materials of its case", "SAMR", OFFICER, list_materials()),
    ]


async def test_each_department_scoped_operation_on_its_own_and_on_anothers(any_backend_hub: HubFixture) -> None:
    hub = await populate(any_backend_hub)
    case = await hub.client("SAMR").create_case("restaurant_permit", LICENCE_KEY, title="own and other")
    case_id = case.id
    samr, fire = hub.client("SAMR", roles=ADMIN), hub.client("FIRE", roles=ADMIN)
    granted = await samr.create_grant("MNR", "business_licence", ["*"])
    asked = await fire.call(
        fire._stubs.access.CreateAccessRequest,
        access_pb2.CreateAccessRequestRequest(
            dataset="identity_record",
            fields=["name"],
            service_items=["restaurant_permit"],
            legal_basis="Fire Protection Law art. 15",
            justification="identify the person responsible for fire safety",
        ),
    )
    wrong: list[str] = []
    for attempt in _attempts(hub, case_id, granted.id, asked.request.id):
        client = hub.client(attempt.department, officer=f"o-{attempt.department.lower()}", roles=attempt.roles)
        before = len(await hub.log_entries())
        try:
            await attempt.call(client)
            outcome = ("OK", "")
        except ExchangeError as error:
            outcome = (getattr(error.grpc_code, "name", "?"), error.reason)
        expected = ("OK", "") if not attempt.refused_with else (attempt.status.name, attempt.refused_with)
        if outcome != expected:
            wrong.append(f"{attempt.name} ({attempt.department}): got {outcome}, expected {expected}")
            continue
        if attempt.refused_with:
            new = (await hub.log_entries())[before:]
            denies = [e for e in new if e.decision == "deny"]
            if [(e.reason, e.caller_department) for e in denies] != [(attempt.refused_with, attempt.department)]:
                wrong.append(
                    f"{attempt.name}: entries {[(e.action, e.decision, e.reason, e.caller_department) for e in new]}"
                )
    assert not wrong, "\n".join(wrong)
