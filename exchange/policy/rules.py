"""The one decision every operation passes: (caller, operation, facts) -> Decision, with a reason trail.

`decide` applies an operation's row of the table in order: the role, then the scope (own department,
party, involvement in the case, the owner's admin), then the sharing type. Called without facts it
decides the role only: that is what a door (a gRPC method, a console route) can know before the domain
has loaded the thing asked about. The domain service calls it again with the facts, whoever called it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog.model import SharingType
from exchange.auth.identity import Caller, Role
from exchange.policy.decision import NOT_FOUND, PERMISSION_DENIED, Decision, Trail
from exchange.policy.operations import OPERATIONS, Operation, Scope
from exchange.policy.sentences import WHAT_KIND, WHAT_NAME, Thing, english

_ORDER = tuple(Role)


@dataclass(frozen=True)
class Facts:
    """What the scope of an operation looks at, gathered by the domain service before it acts."""

    # The department the thing belongs to: the dataset's owner, the department changed or asked about.
    department: str = ""
    # The departments party to the thing: a grant's consumer and owner, a log entry's maker and data owner,
    # the departments involved in a case.
    parties: tuple[str, ...] = ()
    # Names the thing in a refusal: a Thing ("dataset X", "case C"), said in each reader's language.
    what: Thing | str = ""
    # The dataset's sharing type and legal basis, for operations that never act on not-shared data.
    sharing_type: str = ""
    legal_basis: str = ""


def roles_text(roles: frozenset[Role]) -> str:
    """Roles in the table's order, as a refusal names them."""
    return ", ".join(r.value for r in _ORDER if r in roles) or "nobody"


def _held(caller: Caller) -> str:
    return ", ".join(sorted(r.value for r in caller.roles))


def decide(caller: Caller, operation: str, facts: Facts | None = None) -> Decision:
    """May `caller` do `operation` (to the thing `facts` describe)? Default deny: unknown operations are refused."""
    trail = Trail()
    op = OPERATIONS.get(operation)
    if op is None:
        return trail.deny("OPERATION_UNKNOWN", f"{operation} is no operation of the hub; nobody may call it")
    if not caller.roles & op.roles:
        return trail.deny(
            "ROLE_NOT_ALLOWED",
            f"{operation} needs one of the roles [{roles_text(op.roles)}]; the token carries [{_held(caller)}]",
        )
    trail.ok(f"caller holds {_held(caller)}, one of [{roles_text(op.roles)}]")
    if facts is None:
        return trail.allow()
    refused = _scope(trail, caller, op, facts)
    if refused is not None:
        return refused
    if op.refuses_not_shared and facts.sharing_type == SharingType.NOT_SHARED.value:
        return trail.deny(
            "DATASET_NOT_SHARED",
            f"{facts.what or 'the dataset'} is not_shared ({facts.legal_basis or 'by law'}); it can never be granted",
        )
    return trail.allow()


def sees_all(caller: Caller, operation: str) -> bool:
    """Whether `caller` passes the scope of `operation` for every department (lists are then not narrowed)."""
    op = OPERATIONS.get(operation)
    return op is not None and bool(caller.roles & op.sees_all)


def _scope(trail: Trail, caller: Caller, op: Operation, facts: Facts) -> Decision | None:
    """The scope step of `op`'s rule; None when it passes (the trail says why)."""
    if op.scope in (Scope.ANY, Scope.FETCH):
        return None
    overseer = caller.roles & op.sees_all
    if overseer:
        trail.ok(f"{roles_text(frozenset(overseer))} may {op.name} for any department")
        return None
    status = NOT_FOUND if op.hidden else PERMISSION_DENIED
    what = str(facts.what) or "it"
    values = {"what": what, "operation": op.name, "acting_for": caller.department}
    if isinstance(facts.what, Thing):
        values |= {WHAT_KIND: facts.what.kind, WHAT_NAME: facts.what.name}
    if op.sees_all:
        values["roles"] = roles_text(op.sees_all)
    or_roles = "_or_roles" if op.sees_all else ""
    if op.scope == Scope.OWN_DEPARTMENT:
        if caller.department == facts.department or not facts.department:
            trail.ok(f"{what} belongs to {caller.department}, the caller's own department")
            return None
        belongs = values | {"belongs_to": facts.department}
        return _refuse(trail, op.refusal, status, "own_department" + or_roles, belongs)
    if op.scope == Scope.OWNER_ADMIN:
        if caller.has(Role.DEPT_ADMIN) and caller.department == facts.department:
            trail.ok(f"a department admin of {facts.department}, which owns {what}")
            return None
        # Widening the use of conditional data needs the provider's own consent, not the hub operator's.
        return _refuse(trail, op.refusal, status, "owner_admin", values | {"belongs_to": facts.department})
    if op.scope == Scope.INVOLVED:
        return _involvement(trail, caller.department, facts.parties, values, op.refusal, status)
    if _is_party(trail, caller.department, facts.parties, what):
        return None
    return _refuse(trail, op.refusal, status, "no_party" + or_roles, values)


def decide_involvement(department: str, parties: Sequence[str], what: Thing) -> Decision:
    """Is `department` one of the departments involved in `what` (a case)? The scope of the case operations.

    `decide` applies it to a caller; the case model applies it to the department acting on a case, so that
    an opinion or a party never comes from outside the case, whichever door the change came through.
    """
    trail = Trail()
    values = {"what": str(what), "operation": "", "acting_for": department, WHAT_KIND: what.kind, WHAT_NAME: what.name}
    return _involvement(trail, department, parties, values, "NOT_INVOLVED", PERMISSION_DENIED) or trail.allow()


def _involvement(
    trail: Trail, department: str, parties: Sequence[str], values: dict[str, str], refusal: str, status: str
) -> Decision | None:
    """The involvement step; None when `department` is one of `parties` (the trail says so)."""
    if _is_party(trail, department, parties, values["what"]):
        return None
    involved = ", ".join(p for p in parties if p)
    return _refuse(trail, refusal, status, "not_involved", values | {"parties": involved})


def _is_party(trail: Trail, department: str, parties: Sequence[str], what: str) -> bool:
    """Whether `department` (never a blank one) is one of `parties`; the trail notes a pass."""
    if department and department in parties:
        trail.ok(f"{department} is a party to {what}")
        return True
    return False


def _refuse(trail: Trail, refusal: str, status: str, key: str, values: dict[str, str]) -> Decision:
    """The scope refusal `key`: its English sentence, with the key and values kept for other languages."""
    return trail.deny(refusal, english(key, values), status=status, message_key=key, values=values)


def decide_evidence_bundle(caller: Caller, entry_department: str, dataset_owner: str) -> Decision:
    """May this caller have the evidence bundle of an entry? Auditors, hub admins and its parties may.

    The parties are the department that made the access and the department whose data it was; a bundle
    carries the entry's whole metadata, so anyone else would be reading the log about other people.
    """
    return decide(
        caller, "audit.evidence_bundle.read", Facts(parties=(entry_department, dataset_owner), what=Thing("log_entry"))
    )
