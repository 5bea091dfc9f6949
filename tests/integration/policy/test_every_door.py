"""Every door, walked from the policy's own table: every RPC and every console route x every role x own /
other department and party / non-party, against a real mTLS hub and its real HTTPS console.

Each case asserts the decision the policy gives for it, the gRPC or HTTP status, and exactly the access-log
entries expected: one deny entry for every refusal (its reason, outcome and subject), one allow entry for
every allowed read of personal data or of the log.

Every operation whose scope is not `any` is walked with each department's callers (own, party, neither) and
the hub's; what is not walked is named, with the reason, in NOT_WALKED and CONSOLE_NOT_WALKED. One world is
built per module and the walks do not change it in ways a later case depends on (stale versions, invalid
input after the policy, dry runs).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc import aio

from adapters.server import RunningAdapter, start_provider
from adapters.signing import DocumentSigner
from exchange.app.console_accounts import CONSOLE_ROLES, Account, hash_password
from exchange.audit.entry import AccessLogEntry
from exchange.auth.held_roles import DEPARTMENT_DEFAULT
from exchange.auth.identity import Caller, Role
from exchange.auth.keys import generate_ed25519, public_key_to_pem
from exchange.client import HubClient
from exchange.clock import now_us
from exchange.console import console_app
from exchange.console.doors import ROUTE_OPERATIONS, UNMAPPED, console_caller
from exchange.events import Event, EventKind
from exchange.policy import OPERATIONS, Decision, Facts, Scope, decide, table_markdown
from exchange.services.doors import RPC_OPERATIONS, door_table_markdown
from exchange.status import from_rpc_error
from exchange.storage import console_store, log_store
from exchange.storage.console_store import ConsoleUser
from exchange.testing import EXAMPLES, ROOT, DepartmentKeys, HubFixture, start_test_hub, system_caller
from exchange.v1 import cases_pb2, catalog_pb2, departments_pb2
from tests.integration.auth.rpc_walk import Outcome, call_raw, filled_request, hub_methods, path_of
from tests.integration.cases.conftest import MemoryAdapter, permit_documents
from tests.integration.console.conftest import PASSWORD, Browser

ON_THE_WORLDS_LOOP = pytest.mark.asyncio(loop_scope="module")

HUB = "HUB"
OWNER, PARTY, OUTSIDER = "SAMR", "FIRE", "PSB"  # SAMR owns the data and leads the case; FIRE is on it; PSB is not
DATASET = "business_licence"
# The applicant company and its licence, which SAMR's adapter serves (valid identifiers, a schema-valid document).
_KEYS, _DOCUMENTS = permit_documents(random.Random(14))
APPLICANT = _KEYS[DATASET]
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
    ticket_id: str = ""
    spare_grant_id: str = ""  # MNR's grant on the licence, which the revoke walk may revoke
    clients: dict[tuple[str, Role], HubClient] = field(default_factory=dict)

    def client(self, department: str, role: Role) -> HubClient:
        """One client (one mTLS channel) per caller for the whole walk: a handshake per case is slow."""
        if (department, role) not in self.clients:
            self.clients[department, role] = self.hub.client(department, officer=f"door-{role.value}", roles=(role,))
        return self.clients[department, role]

    async def new_entries(self, since: int) -> list[AccessLogEntry]:
        async with self.hub.hub.db.read() as conn:
            return await log_store.entries_from(conn, since)

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


# Who signs in to the console: each department's admin account (SAMR owns and leads, FIRE is party, PSB is not)
# and the hub's accounts; the role walk uses SAMR's admin and the hub's.
CONSOLE_CALLERS: tuple[tuple[str, str], ...] = (
    *((dept, "dept_admin") for dept in (OWNER, PARTY, OUTSIDER)),
    *((HUB, role) for role in CONSOLE_ROLES if role != "dept_admin"),
)


def _username(department: str, role: str) -> str:
    return f"door-{role}" if department in (OWNER, HUB) else f"door-{role}-{department}"


async def _start_licence_adapter(fixture: HubFixture) -> RunningAdapter:
    """SAMR's adapter, serving the applicant's business licence, so the case can hold it as a material."""
    keys = fixture.departments[OWNER]
    licence = await fixture.running.registry.get_dataset(DATASET)
    adapter = MemoryAdapter(OWNER, [licence])
    adapter.documents[(DATASET, APPLICANT)] = _DOCUMENTS[(DATASET, APPLICANT)]
    signer = DocumentSigner(OWNER, keys.signing_kid, keys.signing_key)
    running = await start_provider(adapter, signer, listen="127.0.0.1:0", tls=fixture.adapter_tls(OWNER))
    await fixture.add_department(OWNER, adapter_endpoint=f"127.0.0.1:{running.port}")
    return running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    fixture = await start_test_hub(tmp_path_factory.mktemp("doors") / "hub")  # mTLS, SQLite file
    browsers: dict[str, Browser] = {}
    adapter: RunningAdapter | None = None
    try:
        fixture.departments[OWNER] = DepartmentKeys(OWNER, generate_ed25519(), generate_ed25519())
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
        adapter = await _start_licence_adapter(fixture)
        case_id = await _open_case(fixture)
        registry = fixture.running.registry
        grant = await registry.create_grant(system_caller(), consumer=PARTY, dataset=DATASET, fields=("*",))
        await registry.create_grant(system_caller(), consumer=OWNER, dataset=DATASET, fields=("*",))
        spare = await registry.create_grant(system_caller(), consumer="MNR", dataset=DATASET, fields=("*",))
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
        # The case holds the licence (fetched from SAMR's adapter); FIRE flags a field of it to SAMR, its issuer.
        await fixture.client(OWNER).attach_material(case_id, DATASET, APPLICANT)
        ticket = await fixture.client(PARTY).open_ticket(case_id, DATASET, ["name"], "walked by the door test")
        # An event for the hub's department, so an allowed Subscribe answers at once (no waiting on a deadline).
        await fixture.hub.events.publish(Event(EventKind.REMINDER, HUB, "every-door", now_us(), {}))
        world = World(fixture, case_id, grant.id, request.id, explain.index, browsers, ticket.id, spare.id)
        hashed = hash_password(PASSWORD)  # one slow hash for every account
        async with fixture.hub.db.begin() as conn:
            for dept, role in CONSOLE_CALLERS:
                user = ConsoleUser(_username(dept, role), hashed, role, dept, role)
                await console_store.put_user(conn, user, now_us())
        for dept, role in CONSOLE_CALLERS:
            browser = browsers[_username(dept, role)] = Browser.of(fixture)
            status, _ = await browser.sign_in(_username(dept, role))
            assert status == 200, f"{dept}/{role} could not sign in"
        yield world
    finally:
        for browser in browsers.values():
            await browser.close()
        await fixture.stop()
        if adapter is not None:
            await adapter.stop(grace=0.5)


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


async def _call(channel: aio.Channel, method: MethodDescriptor, request: Message, metadata: Any) -> Outcome:
    """call_raw, but a server stream is read to its first answer only (Subscribe stays open otherwise)."""
    if not method.server_streaming:
        return await call_raw(channel, method, request, metadata)
    output = GetMessageClass(method.output_type)
    stream = channel.unary_stream(
        path_of(method), request_serializer=type(request).SerializeToString, response_deserializer=output.FromString
    )(request, metadata=metadata, timeout=10)
    try:
        first = await stream.read()
    except aio.AioRpcError as error:
        return Outcome([], error.code(), from_rpc_error(error), error.details() or "")
    finally:
        stream.cancel()
    return Outcome([first] if isinstance(first, Message) else [])  # aio.EOF: the stream ended empty


ROLE_CASES = [(m, role) for m in hub_methods() for role in Role]


@ON_THE_WORLDS_LOOP
@pytest.mark.parametrize(("method", "role"), ROLE_CASES, ids=[f"{path_of(m)}-{r.value}" for m, r in ROLE_CASES])
async def test_each_rpc_refuses_exactly_the_roles_the_policy_refuses(world: World, method: Any, role: Role) -> None:
    operation = RPC_OPERATIONS[path_of(method)]
    expected = decide(_caller(HUB, role), operation)  # no facts: what a door knows
    client = world.client(HUB, role)
    since = await world.size()
    outcome = await _call(client.channel, method, filled_request(method, {}), client.metadata())
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

OK = ("OK", "")


@dataclass(frozen=True)
class Target:
    """A request about the world's things, the facts the policy decides it on, and whose data it is.

    A list (`listed` names the answer's repeated field) is never refused for its scope: it is narrowed to
    the things whose facts the policy allows the caller, which the walk reads from the world as it stands.
    """

    method: str
    hints: dict[str, Any]
    chain: tuple[tuple[str, Facts], ...]  # the rules the service applies, in order (a list: none, it narrows)
    subject: str = ""
    listed: str = ""
    # What a caller the policy allows is answered: OK, or the (status, reason) of a later check that keeps the
    # world as it is; two where the first allowed caller changes it (a key added, then the kid taken).
    answers: tuple[tuple[str, str], ...] = (OK,)

    @property
    def operation(self) -> str:
        return RPC_OPERATIONS[self.method]


_P = "/exchange.v1."
_PUBLISHED = catalog_pb2.DatasetStatus.Value("DATASET_STATUS_PUBLISHED")
# A new dataset of SAMR's, registered as a dry run (nothing changes when the policy lets it through).
_NEW_DATASET = (
    (EXAMPLES / "catalog" / "datasets" / f"{DATASET}.yaml")
    .read_text(encoding="utf-8")
    .replace(f"code: {DATASET}", "code: door_walk_licence")
)
_NEW_KEY = {
    "kid": "door-walk-key",
    "use": departments_pb2.KeyUse.Value("KEY_USE_TOKEN"),
    "algorithm": "EdDSA",
    "public_key_pem": public_key_to_pem(generate_ed25519()),
}
_STALE_VERSION = 999_999  # an involved officer's change is then aborted, after the policy let it through
STALE = ("ABORTED", "VERSION_CONFLICT")


def _targets(world: World) -> list[Target]:
    own = Facts(department=OWNER)
    case = Facts(parties=(OWNER, PARTY, "MNR"))
    grant = Facts(parties=(PARTY, OWNER))
    ticket = Facts(parties=(PARTY, OWNER))  # FIRE opened it; SAMR issued the licence
    p = _P
    on_case = {"case_id": world.case_id, "dataset": DATASET}
    return [
        Target(
            f"{p}CatalogService/RegisterDataset",
            {"spec_text": _NEW_DATASET, "dry_run": True},
            (("catalog.dataset.register", own),),
        ),
        Target(
            f"{p}CatalogService/SetDatasetStatus",
            {"code": DATASET, "status": _PUBLISHED},
            (("catalog.dataset.set_status", own),),
        ),
        Target(f"{p}DepartmentService/GetDepartmentRoles", {"code": OWNER}, (("departments.roles.read", own),)),
        Target(
            f"{p}DepartmentService/AddDepartmentKey",
            {"department": OWNER, **_NEW_KEY},
            (("departments.key.add", own),),
            answers=(OK, ("INVALID_ARGUMENT", "KEY_EXISTS")),  # a second allowed caller finds the kid taken
        ),
        Target(
            f"{p}DepartmentService/RetireDepartmentKey",
            {"department": OWNER, "kid": "no-such-kid"},
            (("departments.key.retire", own),),
            answers=(("NOT_FOUND", "KEY_NOT_FOUND"),),
        ),
        Target(
            f"{p}AccessService/CreateGrant",
            {"consumer": "MNR", "dataset": DATASET, "fields": ["no_such_field"]},
            (("grants.create", own),),
            answers=(("INVALID_ARGUMENT", "INVALID_GRANT"),),
        ),
        Target(f"{p}AccessService/GetGrant", {"id": world.grant_id}, (("grants.read", grant),)),
        Target(f"{p}AccessService/ListGrants", {}, (), listed="grants"),
        Target(f"{p}AccessService/GetAccessRequest", {"id": world.request_id}, (("access_requests.read", grant),)),
        Target(f"{p}AccessService/ListAccessRequests", {}, (), listed="requests"),
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
        Target(f"{p}CaseService/ListCases", {"department": OWNER}, (("cases.list", own),)),
        Target(
            f"{p}CaseService/TransitionCase",
            {
                "id": world.case_id,
                "action": cases_pb2.CaseAction.Value("CASE_ACTION_ACCEPT"),
                "expected_version": _STALE_VERSION,
            },
            (("cases.transition", case),),
            subject=APPLICANT,
            answers=(STALE,),
        ),
        Target(
            f"{p}CaseService/RecordOpinion",
            {
                "case_id": world.case_id,
                "verdict": cases_pb2.Verdict.Value("VERDICT_APPROVE"),
                "expected_version": _STALE_VERSION,
            },
            (("cases.opinion", case),),
            subject=APPLICANT,
            answers=(STALE,),
        ),
        Target(
            f"{p}CaseService/AttachMaterial",
            {**on_case, "key": APPLICANT},  # the case holds it already: an allowed attach fetches nothing
            (("cases.material.attach", case),),
            subject=APPLICANT,
        ),
        Target(f"{p}CaseService/GetMaterial", on_case, (("cases.material.read", case),), subject=APPLICANT),
        Target(
            f"{p}CaseService/ListMaterials",
            {"case_id": world.case_id},
            (("cases.material.list", case),),
            subject=APPLICANT,
        ),
        Target(f"{p}CaseService/ListOverdueCases", {"department": OWNER}, (("cases.overdue", own),)),
        Target(
            f"{p}CaseService/AddCaseParty",
            {
                "case_id": world.case_id,
                "relation": "other",
                "party_id": _KEYS["identity_record"],
                "name": "王伟",
                "expected_version": _STALE_VERSION,
            },
            (("cases.party.add", case),),
            subject=APPLICANT,
            answers=(STALE,),
        ),
        Target(
            f"{p}CaseService/GetAnnotatedCopy",
            {**on_case, "version": 99},  # not held: no PDF is made (seconds of work) once the policy allows it
            (("cases.material.annotated_copy", case),),
            subject=APPLICANT,
            answers=(("NOT_FOUND", "MATERIAL_NOT_ATTACHED"),),
        ),
        Target(
            f"{p}AuditService/GetEvidenceBundle",
            {"index": world.explain_index},
            (("audit.evidence_bundle.read", grant),),
        ),
        *(
            Target(f"{p}NotificationService/{rpc}", {"department": OWNER}, ((name, own),), answers=(answer,))
            for rpc, name, answer in (
                ("SetWebhook", "notifications.webhook.set", ("INVALID_ARGUMENT", "WEBHOOK_URL_INVALID")),  # no URL
                ("GetWebhook", "notifications.webhook.read", OK),
                ("DeleteWebhook", "notifications.webhook.delete", OK),
                ("ListDeadLetters", "notifications.dead_letters.list", OK),
                ("RedriveDeadLetters", "notifications.dead_letters.redrive", ("NOT_FOUND", "WEBHOOK_NOT_SET")),
            )
        ),
        Target(
            f"{p}TicketService/OpenTicket",
            {**on_case, "fields": [], "reason": ""},  # incomplete: nothing is opened
            (("tickets.open", case),),
            subject=APPLICANT,
            answers=(("INVALID_ARGUMENT", "INVALID_TICKET"),),
        ),
        Target(f"{p}TicketService/GetTicket", {"ticket_id": world.ticket_id}, (("tickets.read", ticket),), APPLICANT),
        Target(f"{p}TicketService/ListTickets", {}, (), listed="tickets"),
        Target(
            f"{p}TicketService/AnswerTicket",
            {"ticket_id": world.ticket_id, "answer": "", "reason": ""},  # no answer: the ticket stays open
            (("tickets.read", ticket), ("tickets.answer", own)),
            subject=APPLICANT,
            answers=(("INVALID_ARGUMENT", "TICKET_ANSWER_UNKNOWN"),),
        ),
        # Last: it revokes MNR's spare grant when the policy lets it.
        Target(
            f"{p}AccessService/RevokeGrant",
            {"id": world.spare_grant_id, "reason": "walked by the door test"},
            (("grants.revoke", own),),
        ),
    ]


# Scoped operations the walk above does not call, and why; every other scoped operation has a target.
NOT_WALKED: dict[str, str] = {
    "exchange.fetch": "Scope.FETCH: decide_fetch decides it with the case, the grants and the subject; "
    "tests/integration/auth/test_fetch_decisions.py walks that rule reason by reason",
    "exchange.scan": "Scope.FETCH: the fetch rule and the scan filter-column rule decide it; "
    "tests/integration/auth/test_fetch_decisions.py and tests/integration/exchange scan tests walk them",
}

_NO_WORLD = World(None)  # type: ignore[arg-type]
TARGETS = _targets(_NO_WORLD)  # the shape only: the ids are the world's, read again when a case runs


def _expected_of(caller: Caller, door_operation: str, chain: tuple[tuple[str, Facts], ...]) -> Decision:
    """The policy's answer: the role at the door, then each rule of the chain with its facts."""
    door = decide(caller, door_operation)
    if not door.allowed:
        return door
    for operation, facts in chain:
        decision = decide(caller, operation, facts)
        if not decision.allowed:
            return decision
    return door


def _expected(caller: Caller, target: Target) -> Decision:
    return _expected_of(caller, target.operation, target.chain)


async def _listable(world: World, operation: str) -> dict[str, Facts]:
    """Every thing a list operation may show, with the facts its scope looks at (read as the hub's own set-up)."""
    registry, system = world.hub.running.registry, system_caller()
    if operation == "grants.list":
        grants = await registry.list_grants(system, limit=1000)
        owners = {g.dataset: (await registry.get_dataset(g.dataset)).owner for g in grants}
        return {g.id: Facts(parties=(g.consumer, owners[g.dataset])) for g in grants}
    if operation == "access_requests.list":
        return {r.id: Facts(parties=(r.owner, r.consumer)) for r in await registry.list_access_requests(system)}
    assert operation == "tickets.list", operation
    return {
        t.id: Facts(department=t.opened_by_department, parties=(t.issuer,))
        for t in await world.hub.running.app.tickets.list(system)
    }


def _listed_for(caller: Caller, operation: str, things: dict[str, Facts]) -> set[str]:
    """The things the policy lets `caller` see in the list: its scope passes for them (any of their departments)."""
    shown = set()
    for key, facts in things.items():
        departments = (facts.department, *facts.parties) if operation == "tickets.list" else ("",)
        alternatives = [Facts(department=d) for d in departments] if operation == "tickets.list" else [facts]
        if any(decide(caller, operation, f).allowed for f in alternatives):
            shown.add(key)
    return shown


def _scoped_cases() -> Iterator[tuple[int, str, Role]]:
    # Indexes into _targets(world) (the targets need the world's ids), x every caller the table tells apart.
    for index in range(len(TARGETS)):
        for dept, role in CALLERS:
            yield index, dept, role


SCOPED = list(_scoped_cases())


def test_the_scoped_walk_covers_every_scoped_operation_of_the_table() -> None:
    scoped = {name for name, op in OPERATIONS.items() if op.scope != Scope.ANY}
    walked = {target.operation for target in TARGETS}
    assert scoped - walked - set(NOT_WALKED) == set(), "scoped operations neither walked nor listed in NOT_WALKED"
    assert walked & set(NOT_WALKED) == set(), "walked operations still listed in NOT_WALKED"
    assert set(NOT_WALKED) <= scoped, "NOT_WALKED names operations that are not scoped"
    assert {OPERATIONS[name].scope for name in NOT_WALKED} == {Scope.FETCH}
    rules = {op for target in TARGETS for op, _ in target.chain}
    assert {OPERATIONS[name].scope for name in rules} == set(Scope) - {Scope.ANY, Scope.FETCH}


@ON_THE_WORLDS_LOOP
@pytest.mark.parametrize(
    ("index", "department", "role"),
    SCOPED,
    ids=[f"{TARGETS[i].operation}-{d}-{r.value}" for i, d, r in SCOPED],
)
async def test_each_scoped_rpc_decides_as_the_policy_says(
    world: World, index: int, department: str, role: Role
) -> None:
    target = _targets(world)[index]
    caller = _caller(department, role)
    expected = _expected(caller, target)
    method = next(m for m in hub_methods() if path_of(m) == target.method)
    client = world.client(department, role)
    things = await _listable(world, target.operation) if target.listed else {}
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
    assert (outcome.code.name, outcome.reason) in target.answers, f"{where}: {outcome.details}"
    refusals = {"ROLE_NOT_ALLOWED", *(OPERATIONS[name].refusal for name, _ in target.chain)}
    assert [e for e in mine if e.decision == "deny" and e.reason in refusals] == [], where
    if target.listed:
        shown = {item.id for item in getattr(outcome.responses[0], target.listed)}
        assert shown == _listed_for(caller, target.operation, things), where
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
    if path.endswith("/annotated-copy.pdf"):
        values["{dataset}"] = "fire_safety_certificate"  # required, not held: the route answers without a PDF
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
    department = OWNER if role == "dept_admin" else HUB
    browser = world.browsers[_username(department, role)]
    caller = console_caller(Account(_username(department, role), role, department, role, ""), operation)
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


# --- scoped console routes x each department's account and the hub's: the scope step in the console -----------


@dataclass(frozen=True)
class Page:
    """A console request about the world's things, and the rules (with their facts) the page's desk applies."""

    method: str
    route: str  # as ROUTE_OPERATIONS keys it
    url: str
    form: dict[str, str]
    chain: tuple[tuple[str, Facts], ...]
    subject: str = ""

    @property
    def operation(self) -> str:
        return ROUTE_OPERATIONS[(self.method, self.route)]


_CONSOLE_KEY_PEM = public_key_to_pem(generate_ed25519())


def _pages(world: World) -> list[Page]:
    own = Facts(department=OWNER)
    case = Facts(parties=(OWNER, PARTY, "MNR"))
    both = Facts(parties=(PARTY, OWNER))
    c, t, r = world.case_id, world.ticket_id, world.request_id
    kid = world.hub.departments[OWNER].token_kid if world.hub else ""  # one of SAMR's keys
    key = {"use": "token", "public_key_pem": _CONSOLE_KEY_PEM, "kid": "door-walk-console-key"}
    return [
        Page("GET", "/cases/{id}", f"/cases/{c}", {}, (("cases.read", case),), APPLICANT),
        Page(
            "GET",
            "/cases/{id}/materials/{dataset}/annotated-copy.pdf",
            f"/cases/{c}/materials/{DATASET}/annotated-copy.pdf?version=99",  # not held: no PDF is made
            {},
            (("cases.material.annotated_copy", case),),
            APPLICANT,
        ),
        Page("GET", "/catalog/{code}/edit", f"/catalog/{DATASET}/edit", {}, (("catalog.dataset.register", own),)),
        Page("POST", "/departments/{code}/keys", f"/departments/{OWNER}/keys", key, (("departments.key.add", own),)),
        Page(
            "GET",
            "/departments/{code}/keys/{kid}/retire",
            f"/departments/{OWNER}/keys/{kid}/retire",  # the confirmation page
            {},
            (("departments.key.retire", own),),
        ),
        Page(
            "POST",
            "/departments/{code}/keys/{kid}/retire",
            f"/departments/{OWNER}/keys/no-such-kid/retire",
            {},
            (("departments.key.retire", own),),
        ),
        Page(
            "POST",
            "/requests/{id}/decide",
            f"/requests/{r}/decide",
            {},
            (("access_requests.read", both), ("access_requests.decide", own)),
        ),
        Page(
            "POST",
            "/tickets/{id}/answer",
            f"/tickets/{t}/answer",
            {},  # no answer: the ticket stays open
            (("tickets.read", both), ("tickets.answer", own)),
            APPLICANT,
        ),
        Page(
            "POST",
            "/cases/{id}/materials/{dataset}/tickets",
            f"/cases/{c}/materials/{DATASET}/tickets",
            {},  # no fields: nothing is opened
            (("tickets.open", case),),
            APPLICANT,
        ),
    ]


PAGES = _pages(_NO_WORLD)

# Console routes of scoped operations the walk above does not request, and why.
CONSOLE_NOT_WALKED: dict[tuple[str, str], str] = {
    ("GET", "/catalog/new"): "a blank form about no dataset yet: no department to be its owner or not",
    ("POST", "/catalog/save"): "posts a whole dataset; Registry.register_dataset's owner rule is walked "
    "through RegisterDataset",
    ("POST", "/catalog/upload"): "posts a whole dataset file; the same Registry.register_dataset rule",
    ("GET", "/cases"): "a department's account always lists its own department; hub accounts see all "
    "(the other-department refusal is walked through ListCases)",
    ("GET", "/requests"): "a list: its narrowing is walked through ListAccessRequests, the same desk call",
    ("GET", "/tickets"): "a list: its narrowing is walked through ListTickets, the same desk call",
}


def test_the_console_walk_covers_every_scoped_route() -> None:
    scoped = {door for door, name in ROUTE_OPERATIONS.items() if OPERATIONS[name].scope != Scope.ANY}
    walked = {(page.method, page.route) for page in PAGES}
    assert scoped - walked - set(CONSOLE_NOT_WALKED) == set(), "scoped routes neither walked nor in CONSOLE_NOT_WALKED"
    assert walked & set(CONSOLE_NOT_WALKED) == set(), "walked routes still listed in CONSOLE_NOT_WALKED"
    assert set(CONSOLE_NOT_WALKED) <= scoped, "CONSOLE_NOT_WALKED names routes that are not scoped"


# Where a console page answers a scope refusal otherwise than the gRPC edge, on purpose; the log entry is the same.
HIDDEN_BY_THE_CONSOLE: dict[tuple[str, str], str] = {
    ("GET", "/cases/{id}"): "the case page never says whether a case exists: a refusal is shown as 404",
}


def _console_case(index: int, department: str, role: str) -> Any:
    page = PAGES[index]
    return pytest.param(index, department, role, id=f"{page.method}{page.route}-{department}-{role}")


CONSOLE_SCOPED = [_console_case(i, dept, role) for i in range(len(PAGES)) for dept, role in CONSOLE_CALLERS]


@ON_THE_WORLDS_LOOP
@pytest.mark.parametrize(("index", "department", "role"), CONSOLE_SCOPED)
async def test_each_scoped_console_route_decides_as_the_policy_says(
    world: World, index: int, department: str, role: str
) -> None:
    page = _pages(world)[index]
    username = _username(department, role)
    caller = console_caller(Account(username, role, department, role, ""), page.operation)
    expected = _expected_of(caller, page.operation, page.chain)
    browser = world.browsers[username]
    since = await world.size()
    get = page.method == "GET"
    status, _ = await (browser.get(page.url, allow_redirects=False) if get else browser.post(page.url, page.form))
    mine = [e for e in await world.new_entries(since) if e.action == page.operation]
    where = f"{page.method} {page.url} as {department}/{role}"
    if not expected.allowed:
        hidden = expected.status == "NOT_FOUND" or (
            (page.method, page.route) in HIDDEN_BY_THE_CONSOLE and expected.reason != "ROLE_NOT_ALLOWED"
        )
        assert status == (404 if hidden else 403), where
        subject = page.subject if expected.reason != "ROLE_NOT_ALLOWED" else ""
        assert [(e.decision, e.reason, e.outcome, e.caller_department, e.subject_id) for e in mine] == [
            ("deny", expected.reason, expected.status, department, subject)
        ], where
        return
    refusals = {"ROLE_NOT_ALLOWED", *(OPERATIONS[name].refusal for name, _ in page.chain)}
    assert [e for e in mine if e.decision == "deny" and e.reason in refusals] == [], where
    assert status != 403, where
    if OPERATIONS[page.operation].personal and status == 200:
        assert [(e.decision, e.outcome, e.caller_department, e.subject_id) for e in mine] == [
            ("allow", "OK", department, page.subject)
        ], where
