"""The fetch rule: one pure function from (caller, request, state) to an explained decision.

Default deny. Every check is recorded in order, so a refusal says which rule refused
and `exchange authz explain` can show the whole reasoning. Servicers never
re-implement a piece of this; they gather the facts and call `decide_fetch`. The subject
rule (whose data a case may hold) and the scan filter-column rule live here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from catalog.model import Dataset, DatasetStatus, ServiceItem, SharingType
from catalog.schema import Sensitivity
from exchange.auth.identity import Caller, Role
from exchange.policy.decision import Decision
from exchange.policy.decision import Trail as _Trail

# A grant listing this field covers every public and internal field; personal and
# sensitive fields must always be granted by name.
ALL_ORDINARY_FIELDS = "*"


class GrantStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Grant:
    """Permission for one consumer department to read some fields of one dataset, for some purposes."""

    id: str
    consumer: str
    dataset: str
    fields: tuple[str, ...]
    service_items: tuple[str, ...] = ()
    valid_from_us: int = 0
    valid_until_us: int = 0
    rate_per_minute: int = 0
    status: GrantStatus = GrantStatus.ACTIVE
    granted_by: str = ""
    access_request_id: str = ""
    created_at_us: int = 0
    revoked_at_us: int = 0
    revoke_reason: str = ""

    def live_at(self, now_us: int) -> bool:
        return (
            self.status == GrantStatus.ACTIVE
            and self.valid_from_us <= now_us
            and (self.valid_until_us == 0 or now_us < self.valid_until_us)
        )


@dataclass(frozen=True)
class CaseFacts:
    """What the decision needs to know about the case named as the purpose."""

    case_id: str
    service_item: str
    is_open: bool
    state: str
    involved_departments: tuple[str, ...]
    # Whose data the case may read, as (relation, identifier): the applicant first. None listed, none readable.
    parties: tuple[tuple[str, str], ...] = ()

    def relations_of(self, subject: str) -> tuple[str, ...]:
        """How ``subject`` relates to the case (empty when it is no party); identifiers compare case-blind."""
        wanted = subject.strip().upper()
        return tuple(dict.fromkeys(r for r, party in self.parties if wanted and party.strip().upper() == wanted))


@dataclass(frozen=True)
class FetchFacts:
    """Everything `decide_fetch` looks at, gathered by the caller from storage."""

    caller: Caller
    dataset: Dataset
    requested_fields: tuple[str, ...]
    now_us: int
    case: CaseFacts | None
    service_item: ServiceItem | None
    # Whose data the request asks for, when the request tells (the key, when the dataset's subject is its key;
    # "" for a dataset without a subject). None when only the document will tell: the fetcher then applies
    # `decide_subject` to the verified document before anything is stored or returned.
    subject: str | None
    purpose_service_item: str = ""
    grants: Sequence[Grant] = ()
    # Status of the newest access request for a conditional dataset without a live grant.
    access_request_status: str = ""


def _grant_fields(grant: Grant, dataset: Dataset) -> set[str]:
    """The fields a grant covers: named ones, plus ordinary ones when it holds the wildcard."""
    named = set(grant.fields) - {ALL_ORDINARY_FIELDS}
    if ALL_ORDINARY_FIELDS in grant.fields:
        named |= {f.name for f in dataset.schema.fields if f.sensitivity in (Sensitivity.PUBLIC, Sensitivity.INTERNAL)}
    return named & set(dataset.schema.names)


def decide_fetch(facts: FetchFacts) -> Decision:
    """May this officer read these fields of this dataset for this case? If so, which fields."""
    trail = _Trail()
    caller, ds = facts.caller, facts.dataset
    if not caller.has(Role.OFFICER):
        return trail.deny(
            "ROLE_NOT_ALLOWED", f"fetching data needs the officer role; the token carries {_roles(caller)}"
        )
    trail.ok("caller holds the officer role")

    if ds.sharing_type == SharingType.NOT_SHARED:
        return trail.deny("DATASET_NOT_SHARED", f"dataset {ds.code} is not shared ({ds.legal_basis or 'by law'})")
    if ds.status == DatasetStatus.DRAFT:
        return trail.deny("DATASET_NOT_PUBLISHED", f"dataset {ds.code} is a draft and cannot be fetched yet")
    trail.ok(f"dataset {ds.code} is {ds.sharing_type.value} and {ds.status.value}")

    if ds.owner == caller.department:
        trail.ok(f"{caller.department} owns {ds.code}")
    case = facts.case
    if case is None:
        return trail.deny("PURPOSE_REQUIRED", "a fetch must name the case it is for (purpose.case_id)")
    if facts.purpose_service_item and facts.purpose_service_item != case.service_item:
        return trail.deny(
            "PURPOSE_MISMATCH",
            f"case {case.case_id} is for service item {case.service_item}, not {facts.purpose_service_item}",
        )
    if not case.is_open:
        return trail.deny(
            "CASE_CLOSED", f"case {case.case_id} is {case.state}; data can be fetched only for open cases"
        )
    if caller.department not in case.involved_departments:
        return trail.deny(
            "CASE_NOT_INVOLVING_CALLER",
            f"{caller.department} is not on case {case.case_id} (involved: {', '.join(case.involved_departments)})",
        )
    trail.ok(f"case {case.case_id} is open and involves {caller.department}")

    item = facts.service_item
    material = next((m for m in item.required_materials if m.dataset == ds.code), None) if item else None
    if item is None or material is None:
        return trail.deny(
            "DATASET_NOT_REQUIRED",
            f"service item {case.service_item} does not require dataset {ds.code}, so case {case.case_id} "
            "is no purpose for it",
        )
    trail.ok(f"service item {item.code} requires {ds.code} ({', '.join(material.fields)})")

    if facts.subject is None:
        trail.ok("the request names no subject; the parties are checked where it appears (document, scan filter)")
    elif not _subject_on_case(trail, case, ds, facts.subject):
        return trail.deny(REASON_SUBJECT_NOT_ON_CASE, subject_refusal(case, ds.code))

    live = [
        g
        for g in _own_grants(facts)
        if g.live_at(facts.now_us) and (not g.service_items or item.code in g.service_items)
    ]
    if not live:
        return trail.deny(*_no_grant(facts, item.code))
    trail.ok(f"{len(live)} live grant(s) for {caller.department} on {ds.code}")

    allowed_by_item = set(material.fields)
    wanted = set(facts.requested_fields) if facts.requested_fields else None
    best: tuple[Grant, set[str]] | None = None
    for grant in live:
        usable = _grant_fields(grant, ds) & allowed_by_item
        if wanted is not None and not wanted <= usable:
            continue
        if best is None or len(usable) > len(best[1]):
            best = (grant, usable)
    if best is None:
        covered = set().union(*(_grant_fields(g, ds) for g in live)) & allowed_by_item
        missing = sorted((wanted or set()) - covered)
        return trail.deny(
            "FIELD_NOT_GRANTED",
            f"field(s) {', '.join(missing)} of {ds.code} are not covered by a grant to {caller.department} "
            f"together with service item {item.code} (allowed: {', '.join(sorted(covered)) or 'none'})",
        )
    grant, usable = best
    returned = tuple(f for f in ds.schema.names if f in (wanted if wanted is not None else usable))
    if not returned:
        return trail.deny("FIELD_NOT_GRANTED", f"no field of {ds.code} is both granted and needed by {item.code}")
    trail.ok(f"grant {grant.id} covers {', '.join(returned)}")
    return Decision(True, "", "allowed", returned, grant, tuple(trail.checks))


REASON_SUBJECT_NOT_ON_CASE = "SUBJECT_NOT_ON_CASE"


def subject_of_request(ds: Dataset, key: str) -> str | None:
    """Whose data a lookup of ``key`` asks for: the key itself when it is the subject field, "" for a dataset
    without a subject, None when only the document names it (its subject field is not the key)."""
    if ds.subject_field is None:
        return ""
    return key if ds.subject_field == ds.key_field else None


def subject_refusal(case: CaseFacts, dataset: str) -> str:
    """The refusal's message: the case and its relations, never the identifier asked for (it may be long or private)."""
    relations = ", ".join(dict.fromkeys(r for r, _ in case.parties)) or "none"
    return (
        f"the {dataset} asked for is about someone who is not a party to case {case.case_id} "
        f"(its parties: {relations}); record them on the case with AddCaseParty if the application names them"
    )


def _subject_on_case(trail: _Trail, case: CaseFacts, ds: Dataset, subject: str) -> bool:
    """Purpose binding includes the subject: data about a person or company only for a case they are party to."""
    if ds.subject_field is None:
        trail.ok(f"dataset {ds.code} names no subject (no subject field, no identity key)")
        return True
    relations = case.relations_of(subject)
    if relations:
        trail.ok(f"the subject is the case's {', '.join(relations)}")
    return bool(relations)


def decide_subject(case: CaseFacts, ds: Dataset, subject: str) -> Decision:
    """May case ``case`` hold data of ``ds`` about ``subject``? (Fetch after the document named its subject,
    case materials, scan filters.)"""
    trail = _Trail()
    if not _subject_on_case(trail, case, ds, subject):
        return trail.deny(REASON_SUBJECT_NOT_ON_CASE, subject_refusal(case, ds.code))
    return Decision(True, "", "allowed", checks=tuple(trail.checks))


# Comparisons a scan filter may make on a personal identity column: they pick out named rows only.
_PICKING_OPS = ("=", "in")


def subject_columns(ds: Dataset) -> tuple[str, ...]:
    """The columns of ``ds`` that identify a person or company (its key and subject fields) and are personal."""
    names = dict.fromkeys(n for n in (ds.key_field, ds.subject_field) if n and ds.schema.has_field(n))
    personal = (Sensitivity.PERSONAL, Sensitivity.SENSITIVE)
    return tuple(n for n in names if ds.schema.field(n).sensitivity in personal)


def decide_filter_subjects(
    case: CaseFacts, ds: Dataset, conditions: Sequence[tuple[str, str, tuple[object, ...]]]
) -> Decision:
    """A scan filter on a personal identity column names rows by whose they are: only parties of the case.

    ``conditions`` are (column, operator, values). Filtering such a column any other way than = or in
    (``!=``, ranges) selects people who are not named, so it is refused as well.
    """
    trail = _Trail()
    identity = subject_columns(ds)
    for column, op, values in conditions:
        if column not in identity:
            continue
        if op not in _PICKING_OPS:
            return trail.deny(
                REASON_SUBJECT_NOT_ON_CASE,
                f"the row filter compares {column} with {op}; on this personal identity column only = or in with "
                f"parties of case {case.case_id} are allowed",
            )
        for value in values:
            if not isinstance(value, str) or not case.relations_of(value):
                shown = str(value)[:64]
                return trail.deny(REASON_SUBJECT_NOT_ON_CASE, subject_refusal(case, ds.code), subject=shown)
        trail.ok(f"the filter on {column} names parties of case {case.case_id} only")
    return Decision(True, "", "allowed", checks=tuple(trail.checks))


def _own_grants(facts: FetchFacts) -> list[Grant]:
    """Only grants to the caller's department on this dataset count, whatever the caller gathered."""
    return [g for g in facts.grants if g.consumer == facts.caller.department and g.dataset == facts.dataset.code]


def _no_grant(facts: FetchFacts, item_code: str) -> tuple[str, str]:
    ds, dept, now = facts.dataset, facts.caller.department, facts.now_us
    mine = _own_grants(facts)
    if any(g.status == GrantStatus.REVOKED for g in mine):
        return "GRANT_REVOKED", f"the grant to {dept} on {ds.code} was revoked"
    if any(g.valid_until_us and g.valid_until_us <= now for g in mine):
        return "GRANT_EXPIRED", f"the grant to {dept} on {ds.code} has expired"
    if any(g.valid_from_us > now for g in mine):
        return "GRANT_NOT_YET_VALID", f"the grant to {dept} on {ds.code} is not valid yet"
    if mine:
        return "GRANT_NOT_FOR_PURPOSE", f"no grant to {dept} on {ds.code} covers service item {item_code}"
    if ds.sharing_type == SharingType.CONDITIONAL:
        if facts.access_request_status == "pending":
            return "ACCESS_REQUEST_PENDING", f"the access request of {dept} for {ds.code} awaits the owner's answer"
        if facts.access_request_status == "denied":
            return "ACCESS_REQUEST_DENIED", f"the owner of {ds.code} denied the access request of {dept}"
        return "NO_GRANT", f"{ds.code} is conditional: {dept} must file an access request that {ds.owner} approves"
    return "NO_GRANT", f"{dept} holds no grant on {ds.code}; ask {ds.owner} or a hub admin for one"


def _roles(caller: Caller) -> str:
    return ", ".join(sorted(r.value for r in caller.roles)) or "no roles"
