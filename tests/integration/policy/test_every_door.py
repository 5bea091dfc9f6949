"""Every door, walked from the policy's own table: every RPC and every console route x every role x own /
other department and party / non-party, against a real mTLS hub and its real HTTPS console.

Each case asserts the decision the policy gives for it, the gRPC or HTTP status, and exactly the access-log
entries expected: one deny entry for every refusal (its reason, outcome and subject), one allow entry for
every allowed read of personal data or of the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
import pytest_asyncio

from exchange.app.console_accounts import CONSOLE_ROLES, Account, hash_password
from exchange.audit.entry import AccessLogEntry
from exchange.auth.held_roles import DEPARTMENT_DEFAULT
from exchange.auth.identity import Caller, Role
from exchange.clock import now_us
from exchange.console import console_app
from exchange.console.doors import ROUTE_OPERATIONS, UNMAPPED, console_caller
from exchange.policy import OPERATIONS, Decision, Facts, Scope, decide, table_markdown
from exchange.services.doors import RPC_OPERATIONS, door_table_markdown
from exchange.storage import console_store
from exchange.storage.console_store import ConsoleUser
from exchange.testing import ROOT, HubFixture, start_test_hub, system_caller
from exchange.v1 import catalog_pb2
from tests.integration.auth.rpc_walk import call_raw, filled_request, hub_methods, path_of
from tests.integration.console.conftest import PASSWORD, Browser

ON_THE_WORLDS_LOOP = pytest.mark.asyncio(loop_scope="module")

HUB = "HUB"
OWNER, PARTY, OUTSIDER = "SAMR", "FIRE", "PSB"  # SAMR owns the data and leads the case; FIRE is on it; PSB is not
APPLICANT = "91110105MA01XXXXX0"
DATASET = "business_licence"
ITEM = "restaurant_permit"

# Who calls: other departments hold their default roles; the hub's department every role (a new role included).
CALLERS: tuple[tuple[str, Role], ...] = (
    *((dept, role) for dept in (OWNER, PARTY, OUTSIDER) for role in Role if role in DEPARTMENT_DEFAULT),
    *((HUB, role) for role in Role if role not in DEPARTMENT_DEFAULT),
)


@dataclass
class World:
    hub: HubFixture
    case_id: str = ""
    grant_id: str = ""
    request_id: str = ""
    explain_index: int = 0
    browsers: dict[str, Browser] = field(default_factory=dict)

    async def new_entries(self, since: int) -> list[AccessLogEntry]:
        return [e for e in await self.hub.log_entries() if e.index >= since]

    async def size(self) -> int:
        return (await self.hub.hub.access_log.head())[0]


def _caller(department: str, role: Role) -> Caller:
    return Caller(department, f"door-{role.value}", frozenset({role}), "", 0)


async def _open_case(world: HubFixture) -> str:
    """A case opened by the case desk: SAMR leads, FIRE and MNR co-review, PSB is not on it."""
    desk = world.running.app.cases
    view = await desk.create(
        _caller(OWNER, Role.OFFICER),
        service_item=ITEM,
        applicant_id=APPLICANT,
        applicant_kind="organisation",
        title="Every door",
        request_id="every-door",
    )
    return str(view.case.id)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    fixture = await start_test_hub(tmp_path_factory.mktemp("doors") / "hub")  # mTLS, SQLite file
    browsers: dict[str, Browser] = {}
    try:
        for code in (OWNER, PARTY, OUTSIDER, "MNR"):
            await fixture.add_department(code)
        for name, owner in (
            ("business_licence", OWNER),
            ("identity_record", OUTSIDER),
            ("property_certificate", "MNR"),
            ("fire_safety_certificate", PARTY),
        ):
            await fixture.register_example_dataset(name, owner=owner)
        await fixture.register_example_item(ITEM)
        case_id = await _open_case(fixture)
        registry = fixture.running.registry
        grant = await registry.create_grant(system_caller(), consumer=PARTY, dataset=DATASET, fields=("*",))
        request = await registry.create_access_request(
            _caller(PARTY, Role.DEPT_ADMIN),
            dataset=DATASET,
            fields=("*",),
            service_items=(ITEM,),
            legal_basis="Administrative Licensing Law, art. 31",
            justification="the permit needs the licence",
        )
        # An entry FIRE made about SAMR's data: its evidence bundle belongs to FIRE, SAMR, auditors, hub admins.
        await registry.explain_access(
            _caller(PARTY, Role.OFFICER),
            department=PARTY,
            dataset=DATASET,
            case_id=case_id,
            service_item=ITEM,
            fields=(),
        )
        explain = next(e for e in reversed(await fixture.log_entries()) if e.action == "authz.explain")
        world = World(fixture, case_id, grant.id, request.id, explain.index, browsers)
        async with fixture.hub.db.begin() as conn:
            for role, dept in (("hub_admin", HUB), ("auditor", HUB), ("supervisor", HUB), ("dept_admin", OWNER)):
                user = ConsoleUser(f"door-{role}", hash_password(PASSWORD), role, dept, role)
                await console_store.put_user(conn, user, now_us())
        for role in CONSOLE_ROLES:
            browser = browsers[role] = Browser.of(fixture)
            status, _ = await browser.sign_in(f"door-{role}")
            assert status == 200, f"{role} could not sign in"
        yield world
    finally:
        for browser in browsers.values():
            await browser.close()
        await fixture.stop()


# --- the maps cover every door, and the documents show the table -------------------------------------------


def test_every_rpc_of_the_generated_descriptors_asks_for_an_operation_of_the_policy() -> None:
    served = {path_of(m) for m in hub_methods()}
    assert served - set(RPC_OPERATIONS) == set(), "RPCs without a row in exchange/services/doors.py"
    assert set(RPC_OPERATIONS) - served == set(), "rows for RPCs that no longer exist"
    assert {op for op in RPC_OPERATIONS.values() if op not in OPERATIONS} == set()


def test_every_console_route_asks_for_an_operation_of_the_policy(tmp_path: Path) -> None:
    # Only the routes are read: the application's parts are never called.
    parts = SimpleNamespace(
        hub=None,
        registry=None,
        cases=None,
        copies=None,
        catalog=None,
        tickets=None,
        audit=None,
        accounts=None,
        case_queries=None,
        supervision=None,
    )
    app = console_app(parts)  # type: ignore[arg-type]
    routes = {
        ("GET" if r.method == "HEAD" else r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None
    }
    assert routes - set(ROUTE_OPERATIONS) == set(), "console routes without a row in exchange/console/doors.py"
    assert set(ROUTE_OPERATIONS) - routes == set(), "rows for console routes that no longer exist"
    assert {op for op in ROUTE_OPERATIONS.values() if op not in OPERATIONS} == set()
    assert UNMAPPED not in OPERATIONS


def test_the_security_doc_shows_the_policys_table_and_the_doors() -> None:
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert table_markdown() in doc, "paste the output of `exchange authz roles` into docs/security.md"
    assert door_table_markdown() in doc, "paste exchange.services.doors.door_table_markdown() into docs/security.md"


# --- every RPC x every role: the role step ------------------------------------------------------------------

ROLE_CASES = [(m, role) for m in hub_methods() for role in Role]


@ON_THE_WORLDS_LOOP
@pytest.mark.parametrize(("method", "role"), ROLE_CASES, ids=[f"{path_of(m)}-{r.value}" for m, r in ROLE_CASES])
async def test_each_rpc_refuses_exactly_the_roles_the_policy_refuses(world: World, method: Any, role: Role) -> None:
    operation = RPC_OPERATIONS[path_of(method)]
    expected = decide(_caller(HUB, role), operation)  # no facts: what a door knows
    client = world.hub.client(HUB, officer=f"walker-{role.value}", roles=(role,))
    since = await world.size()
    outcome = await call_raw(client.channel, method, filled_request(method, {}), client.metadata())
    entries = await world.new_entries(since)
    refused_here = outcome.code == grpc.StatusCode.PERMISSION_DENIED and outcome.reason == "ROLE_NOT_ALLOWED"
    assert refused_here == (not expected.allowed), f"{operation} as {role.value}: {outcome.code} {outcome.reason}"
    assert outcome.code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNIMPLEMENTED), outcome.details
    if not expected.allowed:
        assert outcome.details == expected.message
        assert [(e.action, e.decision, e.reason, e.outcome, e.caller_department, e.officer_role) for e in entries] == [
            (operation, "deny", "ROLE_NOT_ALLOWED", "PERMISSION_DENIED", HUB, role.value)
        ]


# --- scoped operations x caller x relation: the scope step -------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A request about the world's things, the facts the policy decides it on, and whose data it is."""

    method: str
    hints: dict[str, Any]
    chain: tuple[tuple[str, Facts], ...]  # the rules the service applies, in order
    subject: str = ""

    @property
    def operation(self) -> str:
        return RPC_OPERATIONS[self.method]


def _targets(world: World) -> list[Target]:
    own = Facts(department=OWNER)
    case = Facts(parties=(OWNER, PARTY, "MNR"))
    grant = Facts(parties=(PARTY, OWNER))
    p = "/exchange.v1."
    published = catalog_pb2.DatasetStatus.Value("DATASET_STATUS_PUBLISHED")
    return [
        Target(
            f"{p}CatalogService/SetDatasetStatus",
            {"code": DATASET, "status": published},
            (("catalog.dataset.set_status", own),),
        ),
        Target(f"{p}DepartmentService/GetDepartmentRoles", {"code": OWNER}, (("departments.roles.read", own),)),
        Target(
            f"{p}DepartmentService/RetireDepartmentKey",
            {"department": OWNER, "kid": "no-such-kid"},
            (("departments.key.retire", own),),
        ),
        Target(f"{p}AccessService/GetGrant", {"id": world.grant_id}, (("grants.read", grant),)),
        Target(f"{p}AccessService/GetAccessRequest", {"id": world.request_id}, (("access_requests.read", grant),)),
        Target(
            f"{p}AccessService/DecideAccessRequest",
            {"id": world.request_id, "approve": False, "reason": "walked by the door test"},
            (("access_requests.read", grant), ("access_requests.decide", own)),
        ),
        Target(
            f"{p}AccessService/ExplainAccess",
            {"department": OWNER, "dataset": DATASET, "case_id": world.case_id, "service_item": ITEM},
            (("authz.explain", own),),
        ),
        Target(f"{p}CaseService/GetCase", {"id": world.case_id}, (("cases.read", case),), subject=APPLICANT),
        Target(
            f"{p}CaseService/ListMaterials",
            {"case_id": world.case_id},
            (("cases.material.list", case),),
            subject=APPLICANT,
        ),
        Target(f"{p}CaseService/ListCases", {"department": OWNER}, (("cases.list", own),)),
        Target(f"{p}CaseService/ListOverdueCases", {"department": OWNER}, (("cases.overdue", own),)),
        Target(
            f"{p}AuditService/GetEvidenceBundle",
            {"index": world.explain_index},
            (("audit.evidence_bundle.read", grant),),
        ),
    ]


def _expected(caller: Caller, target: Target) -> Decision:
    """The policy's answer: the role at the door, then each rule of the chain with its facts."""
    door = decide(caller, target.operation)
    if not door.allowed:
        return door
    for operation, facts in target.chain:
        decision = decide(caller, operation, facts)
        if not decision.allowed:
            return decision
    return door


def _scoped_cases() -> Iterator[tuple[int, str, Role]]:
    # Indexes into _targets(world) (the targets need the world's ids), x every caller the table tells apart.
    for index in range(12):
        for dept, role in CALLERS:
            yield index, dept, role


SCOPED = list(_scoped_cases())


def test_the_scoped_walk_covers_every_scope_of_the_table() -> None:
    names = {op for target in _targets(World(None)) for op, _ in target.chain}  # type: ignore[arg-type]
    scopes = {OPERATIONS[name].scope for name in names}
    assert scopes == {Scope.OWN_DEPARTMENT, Scope.PARTY, Scope.INVOLVED, Scope.OWNER_ADMIN}
    assert len(_targets(World(None))) == 12  # type: ignore[arg-type]


@ON_THE_WORLDS_LOOP
@pytest.mark.parametrize(("index", "department", "role"), SCOPED, ids=[f"{i}-{d}-{r.value}" for i, d, r in SCOPED])
async def test_each_scoped_rpc_decides_as_the_policy_says(
    world: World, index: int, department: str, role: Role
) -> None:
    target = _targets(world)[index]
    caller = _caller(department, role)
    expected = _expected(caller, target)
    method = next(m for m in hub_methods() if path_of(m) == target.method)
    client = world.hub.client(department, officer=caller.officer_id, roles=(role,))
    since = await world.size()
    outcome = await call_raw(client.channel, method, filled_request(method, target.hints), client.metadata())
    mine = [e for e in await world.new_entries(since) if e.action == target.operation]
    where = f"{target.operation} by {department}/{role.value}"
    if not expected.allowed:
        assert (outcome.code.name, outcome.reason) == (expected.status, expected.reason), f"{where}: {outcome.details}"
        subject = target.subject if expected.reason != "ROLE_NOT_ALLOWED" else ""
        assert [(e.decision, e.reason, e.outcome, e.caller_department, e.subject_id) for e in mine] == [
            ("deny", expected.reason, expected.status, department, subject)
        ], where
        return
    policy_refusal = outcome.code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND) and any(
        outcome.reason == OPERATIONS[name].refusal or outcome.reason == "ROLE_NOT_ALLOWED" for name, _ in target.chain
    )
    assert not policy_refusal, f"{where}: the policy allows it, the hub said {outcome.code} {outcome.reason}"
    if target.method.rsplit("/", 1)[1].startswith(("Get", "List", "Explain")):
        assert outcome.code == grpc.StatusCode.OK, f"{where}: {outcome.code} {outcome.reason} {outcome.details}"
    if OPERATIONS[target.operation].personal and outcome.code == grpc.StatusCode.OK:
        assert [(e.decision, e.outcome, e.caller_department, e.subject_id) for e in mine] == [
            ("allow", "OK", department, target.subject)
        ], where


# --- every console route x every console role --------------------------------------------------------------


# Allowed reads of personal data or of the log leave exactly one allow entry under the route's operation.
LOGGED_READS = frozenset({"/cases", "/cases/{id}", "/log", "/log/entry/{index}", "/log/export.{fmt}", "/log/verify"})


def _concrete(path: str, world: World) -> str:
    values = {
        "{code}": DATASET,
        "{id}": world.case_id,
        "{kid}": "no-such-kid",
        "{fmt}": "csv",
        "{format}": "csv",
        "{dataset}": DATASET,
        "{index}": "0",
    }
    if path.startswith("/departments/") or path.startswith("/items/"):
        values["{code}"] = OWNER if path.startswith("/departments/") else ITEM
    if path.startswith("/requests/"):
        values["{id}"] = world.request_id
    for name, value in values.items():
        path = path.replace(name, value)
    return path


CONSOLE_CASES = [
    (method, path, role)
    for (method, path), operation in ROUTE_OPERATIONS.items()
    if not OPERATIONS[operation].public and (method, path) != ("POST", "/signout")
    for role in CONSOLE_ROLES
]


@ON_THE_WORLDS_LOOP
@pytest.mark.parametrize(("method", "path", "role"), CONSOLE_CASES, ids=[f"{m}{p}-{r}" for m, p, r in CONSOLE_CASES])
async def test_each_console_route_refuses_exactly_the_roles_the_policy_refuses(
    world: World, method: str, path: str, role: str
) -> None:
    operation = ROUTE_OPERATIONS[(method, path)]
    browser = world.browsers[role]
    department = OWNER if role == "dept_admin" else HUB
    caller = console_caller(Account(f"door-{role}", role, department, role, ""), operation)
    expected = decide(caller, operation)
    since = await world.size()
    url = _concrete(path, world)
    status, _ = await (browser.get(url, allow_redirects=False) if method == "GET" else browser.post(url, {}))
    mine = [e for e in await world.new_entries(since) if e.action == operation]
    where = f"{method} {path} as {role}"
    if not expected.allowed:
        assert status == 403, where
        assert [(e.decision, e.reason, e.outcome, e.caller_department, e.officer_role) for e in mine] == [
            ("deny", "ROLE_NOT_ALLOWED", "PERMISSION_DENIED", caller.department, ",".join(sorted(caller.roles)))
        ], where
        return
    assert status != 403 or any(e.reason != "ROLE_NOT_ALLOWED" for e in mine), where
    assert all(e.reason != "ROLE_NOT_ALLOWED" for e in mine), where
    if status == 200 and path in LOGGED_READS:
        assert [(e.decision, e.outcome) for e in mine] == [("allow", "OK")], where
