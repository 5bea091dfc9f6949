"""The table of operations: every thing a caller can do at the hub, by our domain's name, and its rule.

An operation missing from the table is refused for everyone (default deny). The edges (gRPC method
paths, console routes) map onto these names; nothing else holds a list of roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from exchange.auth.identity import Role

OFFICER = frozenset({Role.OFFICER})
DEPT_ADMIN = frozenset({Role.DEPT_ADMIN})
HUB_ADMIN = frozenset({Role.HUB_ADMIN})
ADMINS = HUB_ADMIN | DEPT_ADMIN
AUDIT = frozenset({Role.AUDITOR, Role.HUB_ADMIN})
EVERYONE = frozenset(Role)
NOBODY: frozenset[Role] = frozenset()
# 电子监察: read-only, metadata and figures only (never a document's contents).
SUPERVISOR = frozenset({Role.SUPERVISOR})
SUPERVISION = SUPERVISOR | frozenset({Role.HUB_ADMIN, Role.AUDITOR})


class Scope(StrEnum):
    """Which of the caller's relations to the thing acted on the rule asks about, after the role."""

    ANY = "any"  # the role is enough
    OWN_DEPARTMENT = "own_department"  # the thing belongs to the caller's department (facts.department)
    PARTY = "party"  # the caller's department is a party to it (facts.parties: a grant, a request, a log entry)
    INVOLVED = "involved"  # the caller's department is involved in the case (facts.parties)
    OWNER_ADMIN = "owner_admin"  # only a department admin of the owning department, no overseer
    FETCH = "fetch"  # the fetch rule (decide_fetch) decides, with the case, the grants and the subject


@dataclass(frozen=True)
class Operation:
    """One operation's rule: the roles that may ask, then the scope, and how a refusal is answered."""

    name: str
    roles: frozenset[Role]
    scope: Scope = Scope.ANY
    # Roles that pass the scope whatever the department (hub admins change anything; auditors read anything).
    sees_all: frozenset[Role] = NOBODY
    # The reason code of a scope refusal.
    refusal: str = "NOT_OWNER"
    # A refusal that answers NOT_FOUND: the caller may not learn that the thing exists.
    hidden: bool = False
    # A dataset that is not shared by law can never be the object of this operation.
    refuses_not_shared: bool = False
    # The answer shows personal data (or log entries about people): every allowed call is logged too.
    personal: bool = False
    # A person may reach it without being signed in (console sign-in, language switch).
    public: bool = False


_READ_ALL = frozenset({Role.HUB_ADMIN, Role.AUDITOR})
# Who oversees every case's metadata and time limits (supervisors too, never materials).
_OVERSEE_CASES = _READ_ALL | SUPERVISOR


def _op(name: str, roles: frozenset[Role], scope: Scope = Scope.ANY, **rule: object) -> Operation:
    return Operation(name, roles, scope, **rule)  # type: ignore[arg-type]


_TABLE = (
    # The catalog: everyone reads it; admins change it, department admins only their own datasets.
    _op("catalog.dataset.register", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    _op("catalog.dataset.read", EVERYONE),
    _op("catalog.dataset.list", EVERYONE),
    _op("catalog.dataset.search", EVERYONE),
    _op("catalog.dataset.versions", EVERYONE),
    _op("catalog.dataset.set_status", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    # Departments: hub admins register them; a department admin rotates its own keys.
    _op("departments.register", HUB_ADMIN),
    _op("departments.read", EVERYONE),
    _op("departments.list", EVERYONE),
    _op("departments.key.add", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    _op("departments.key.retire", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    _op("departments.status.set", HUB_ADMIN),
    # Held roles: only hub admins change them; a department admin reads its own department's.
    _op("departments.roles.read", ADMINS | AUDIT, Scope.OWN_DEPARTMENT, sees_all=_READ_ALL),
    _op("departments.roles.set", HUB_ADMIN),
    # Service items.
    _op("items.register", HUB_ADMIN),
    _op("items.read", EVERYONE),
    _op("items.list", EVERYONE),
    # Grants: the owner of the dataset (or a hub admin) grants; its parties, hub admins and auditors see them.
    _op("grants.create", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN, refuses_not_shared=True),
    _op("grants.read", ADMINS | AUDIT, Scope.PARTY, sees_all=_READ_ALL, refusal="GRANT_NOT_FOUND", hidden=True),
    _op("grants.list", ADMINS | AUDIT, Scope.PARTY, sees_all=_READ_ALL),
    _op("grants.revoke", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    # Access requests: a department asks; the owner's department admin answers (never the hub operator).
    _op("access_requests.create", ADMINS, refuses_not_shared=True),
    _op(
        "access_requests.read",
        ADMINS | AUDIT,
        Scope.PARTY,
        sees_all=_READ_ALL,
        refusal="ACCESS_REQUEST_NOT_FOUND",
        hidden=True,
    ),
    _op("access_requests.list", ADMINS | AUDIT, Scope.PARTY, sees_all=_READ_ALL),
    _op("access_requests.decide", ADMINS, Scope.OWNER_ADMIN),
    # Explained decisions: about the caller's own department, unless it oversees all.
    _op("authz.explain", ADMINS | AUDIT | OFFICER, Scope.OWN_DEPARTMENT, sees_all=_READ_ALL),
    # The exchange: officers only, under the fetch rule.
    _op("exchange.fetch", OFFICER, Scope.FETCH, personal=True),
    _op("exchange.scan", OFFICER, Scope.FETCH, personal=True),
    # Cases: officers of the involved departments work them; auditors and hub admins read their metadata.
    _op("cases.create", OFFICER),
    # A department's console account reads its department's cases as its officers do.
    _op(
        "cases.read",
        OFFICER | DEPT_ADMIN | AUDIT | SUPERVISOR,
        Scope.INVOLVED,
        sees_all=_OVERSEE_CASES,
        refusal="NOT_INVOLVED",
        personal=True,
    ),
    _op(
        "cases.list",
        OFFICER | AUDIT | ADMINS | SUPERVISOR,
        Scope.OWN_DEPARTMENT,
        sees_all=_OVERSEE_CASES,
        refusal="NOT_OWN_DEPARTMENT",
        personal=True,
    ),
    _op("cases.transition", OFFICER, Scope.INVOLVED, refusal="NOT_INVOLVED"),
    _op("cases.opinion", OFFICER, Scope.INVOLVED, refusal="NOT_INVOLVED"),
    _op("cases.material.attach", OFFICER, Scope.INVOLVED, refusal="NOT_INVOLVED"),
    _op("cases.material.read", OFFICER, Scope.INVOLVED, refusal="NOT_INVOLVED", personal=True),
    # The annotated copy shows document contents: officers of the case's departments, never auditors.
    _op("cases.material.annotated_copy", OFFICER, Scope.INVOLVED, refusal="NOT_INVOLVED", personal=True),
    _op("cases.material.list", OFFICER | AUDIT, Scope.INVOLVED, sees_all=_READ_ALL, refusal="NOT_INVOLVED"),
    _op(
        "cases.overdue",
        OFFICER | AUDIT | ADMINS | SUPERVISOR,
        Scope.OWN_DEPARTMENT,
        sees_all=_OVERSEE_CASES,
        refusal="NOT_OWN_DEPARTMENT",
    ),
    _op("cases.savings", EVERYONE),
    _op("cases.party.add", OFFICER, Scope.INVOLVED, refusal="NOT_INVOLVED"),
    # The access log: auditors (metadata only, never document contents); proofs for everyone.
    _op("audit.entries.query", AUDIT, personal=True),
    _op("audit.entry.read", AUDIT, personal=True),
    _op("audit.checkpoint.read", EVERYONE),
    _op("audit.inclusion_proof.read", EVERYONE),
    _op("audit.consistency_proof.read", EVERYONE),
    _op("audit.subject_report.read", AUDIT, personal=True),
    _op(
        "audit.evidence_bundle.read",
        EVERYONE,
        Scope.PARTY,
        sees_all=_READ_ALL,
        refusal="NOT_PARTY_TO_ENTRY",
        personal=True,
    ),
    _op("audit.hidden_accesses.set", HUB_ADMIN),
    _op("audit.log.verify", AUDIT),
    _op("audit.log.export", AUDIT, personal=True),
    # Archiving prunes entry bodies once a file proves them: the hub operator's command on the hub's machine.
    _op("audit.log.archive", HUB_ADMIN),
    # A new checkpoint key, handed over by the old one (`exchange audit rotate-key`, every replica stopped).
    _op("audit.signing_key.rotate", HUB_ADMIN),
    # Notifications: each department's own events, webhook and dead letters (the notification desk checks
    # the department); case flags for the case's departments and auditors.
    _op("notifications.subscribe", OFFICER | ADMINS),
    _op("notifications.webhook.set", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    _op("notifications.webhook.read", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    _op("notifications.webhook.delete", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    _op("notifications.dead_letters.list", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    _op("notifications.dead_letters.redrive", ADMINS, Scope.OWN_DEPARTMENT, sees_all=HUB_ADMIN),
    _op("cases.flags.list", OFFICER | ADMINS | AUDIT),
    # Supervision (电子监察): supervisors, hub admins and auditors read it; nobody changes it.
    _op("supervision.figures.read", SUPERVISION),
    _op("supervision.warnings.list", SUPERVISION),
    _op("supervision.escalations.list", SUPERVISION),
    _op("supervision.report.read", SUPERVISION),
    # Correction tickets (校核纠错): an officer of a case flags fields of a material it holds; the issuer's
    # department admin answers; both departments, auditors and hub admins read them.
    _op("tickets.open", OFFICER, Scope.INVOLVED, refusal="NOT_INVOLVED", personal=True),
    _op(
        "tickets.read",
        OFFICER | ADMINS | AUDIT,
        Scope.PARTY,
        sees_all=_READ_ALL,
        refusal="TICKET_NOT_FOUND",
        hidden=True,
        personal=True,
    ),
    _op("tickets.list", OFFICER | ADMINS | AUDIT, Scope.OWN_DEPARTMENT, sees_all=_READ_ALL, personal=True),
    _op("tickets.answer", DEPT_ADMIN, Scope.OWNER_ADMIN, refusal="NOT_ISSUER"),
    # The console's own doors: signing in and choosing a language need no account; the home page any.
    _op("console.sign_in", EVERYONE, public=True),
    _op("console.sign_out", EVERYONE),
    _op("console.home", EVERYONE),
    # Console accounts: the hub operator's commands (`exchange console ...`), run on the hub's machine.
    _op("console.user.add", HUB_ADMIN),
    _op("console.user.list", HUB_ADMIN),
    _op("console.user.disable", HUB_ADMIN),
    _op("console.user.enable", HUB_ADMIN),
    _op("console.user.remove", HUB_ADMIN),
)

OPERATIONS: dict[str, Operation] = {op.name: op for op in _TABLE}


def operation(name: str) -> Operation | None:
    """The rule of operation `name`, or None when it has none (and so nobody may)."""
    return OPERATIONS.get(name)


def allowed_roles(name: str) -> frozenset[Role]:
    """The roles that may ask for operation `name`; empty means nobody."""
    op = OPERATIONS.get(name)
    return op.roles if op else NOBODY


# Every role is a column, in the enum's order: a role added to Role shows up here by itself.
_COLUMNS = tuple(Role)


def table_markdown() -> str:
    """The table as the Markdown docs/security.md shows (a test keeps the two equal)."""
    head = "| operation | " + " | ".join(r.value for r in _COLUMNS) + " | scope | any department |"
    lines = [head, "|---|" + "---|" * (len(_COLUMNS) + 2)]
    for op in _TABLE:
        marks = " | ".join("yes" if role in op.roles else "" for role in _COLUMNS)
        overseers = ", ".join(r.value for r in _COLUMNS if r in op.sees_all)
        lines.append(f"| `{op.name}` | {marks} | {op.scope.value} | {overseers} |")
    return "\n".join(lines) + "\n"
