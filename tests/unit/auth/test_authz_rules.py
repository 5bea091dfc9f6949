"""The fetch decision's rules one by one: both sort orders, exact window edges, and the facts refusals name.

The decision table (test_decision_table.py) shows one example per reason; these tests pin each rule at
its edges so that a flipped comparison or a dropped condition fails a test. The property tests at the
end state the policy as independent predicates: whatever the facts, an allowed fetch satisfies all of them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from catalog.model import Dataset, DatasetStatus, RequiredMaterial, ServiceItem, SharingType
from catalog.schema import Sensitivity
from catalog.specs import parse_dataset, parse_service_item
from catalog.yaml_io import load_spec_file
from exchange.auth.identity import Caller, Role
from exchange.policy import (
    ALL_ORDINARY_FIELDS,
    CaseFacts,
    Decision,
    FetchFacts,
    Grant,
    GrantStatus,
    decide_fetch,
)
from exchange.testing import EXAMPLES

NOW = 1_800_000_000_000_000
MINUTE = 60_000_000


def _spec(kind: str, name: str) -> dict[str, Any]:
    data = load_spec_file(EXAMPLES / "catalog" / kind / f"{name}.yaml")
    return dict(data["spec"])


def _licence_with_internal_field() -> Dataset:
    """business_licence with company_type marked internal: the wildcard covers public and internal fields."""
    spec = _spec("datasets", "business_licence")
    fields = [dict(f) for f in spec["schema"]["fields"]]
    for f in fields:
        if f["name"] == "company_type":
            f["sensitivity"] = "internal"
    spec["schema"] = {**spec["schema"], "fields": fields}
    return parse_dataset(spec)


LICENCE = _licence_with_internal_field()
IDENTITY = parse_dataset(_spec("datasets", "identity_record"))
BASE_ITEM = parse_service_item(_spec("service_items", "restaurant_permit"))
NEEDED = ("unified_social_credit_code", "name", "company_type", "legal_representative", "address", "status")
ITEM = replace(
    BASE_ITEM,
    required_materials=(
        RequiredMaterial("business_licence", NEEDED),
        *[m for m in BASE_ITEM.required_materials if m.dataset != "business_licence"],
    ),
)
FIRE = Caller("FIRE", "wang.fang", frozenset({Role.OFFICER}), "jti-1", 0)
CASE = CaseFacts("case-1", ITEM.code, True, "in_review", ("SAMR", "FIRE"))
GRANT = Grant("g-1", "FIRE", "business_licence", (ALL_ORDINARY_FIELDS,), (ITEM.code,), valid_from_us=NOW - MINUTE)
ORDINARY_NEEDED = ("unified_social_credit_code", "name", "company_type", "address", "status")


def facts(**changes: Any) -> FetchFacts:
    base = FetchFacts(
        caller=FIRE,
        dataset=LICENCE,
        requested_fields=(),
        now_us=NOW,
        case=CASE,
        service_item=ITEM,
        subject=None,
        grants=(GRANT,),
    )
    return replace(base, **changes)


def denied(reason: str, **changes: Any) -> Decision:
    decision = decide_fetch(facts(**changes))
    assert decision.allowed is False and decision.reason == reason, decision
    assert decision.fields == () and decision.grant is None
    assert decision.checks[-1] == f"denied: {decision.message}"
    return decision


# Whole trail of an allowed fetch


def test_allowed_fetch_returns_the_usable_fields_in_schema_order_with_the_whole_trail() -> None:
    decision = decide_fetch(facts())
    assert decision == Decision(
        True,
        "",
        "allowed",
        ORDINARY_NEEDED,
        GRANT,
        (
            "ok: caller holds the officer role",
            "ok: dataset business_licence is unconditional and published",
            "ok: case case-1 is open and involves FIRE",
            f"ok: service item {ITEM.code} requires business_licence ({', '.join(NEEDED)})",
            "ok: the request names no subject; the parties are checked where it appears (document, scan filter)",
            "ok: 1 live grant(s) for FIRE on business_licence",
            f"ok: grant g-1 covers {', '.join(ORDINARY_NEEDED)}",
        ),
    )


def test_the_owner_fetching_its_own_dataset_is_noted_in_the_trail_and_still_needs_a_grant() -> None:
    owner = replace(FIRE, department="SAMR")
    decision = decide_fetch(facts(caller=owner, grants=(replace(GRANT, consumer="SAMR"),)))
    assert decision.allowed and "ok: SAMR owns business_licence" in decision.checks
    assert "ok: FIRE owns business_licence" not in decide_fetch(facts()).checks
    denied("NO_GRANT", caller=owner)


def test_requested_fields_come_back_in_schema_order_not_request_order() -> None:
    decision = decide_fetch(facts(requested_fields=("status", "name")))
    assert decision.allowed and decision.fields == ("name", "status")


def test_asking_for_exactly_the_usable_set_of_fields_is_allowed() -> None:
    decision = decide_fetch(facts(requested_fields=ORDINARY_NEEDED))
    assert decision.allowed and decision.fields == ORDINARY_NEEDED


# Roles and datasets


@pytest.mark.parametrize(
    ("roles", "shown"),
    [(frozenset(), "no roles"), (frozenset({Role.DEPT_ADMIN, Role.AUDITOR}), "auditor, dept_admin")],
)
def test_without_the_officer_role_the_refusal_names_the_roles_held(roles: frozenset[Role], shown: str) -> None:
    decision = denied("ROLE_NOT_ALLOWED", caller=replace(FIRE, roles=roles))
    assert decision.message == f"fetching data needs the officer role; the token carries {shown}"
    assert decision.checks == (f"denied: {decision.message}",)


def test_officer_with_other_roles_too_is_allowed() -> None:
    assert decide_fetch(facts(caller=replace(FIRE, roles=frozenset({Role.OFFICER, Role.DEPT_ADMIN})))).allowed


def test_not_shared_dataset_names_its_legal_basis_or_the_law() -> None:
    with_basis = replace(LICENCE, sharing_type=SharingType.NOT_SHARED, legal_basis="Law X, art. 1")
    assert denied("DATASET_NOT_SHARED", dataset=with_basis).message == (
        "dataset business_licence is not shared (Law X, art. 1)"
    )
    without = replace(with_basis, legal_basis="")
    assert denied("DATASET_NOT_SHARED", dataset=without).message == "dataset business_licence is not shared (by law)"


def test_draft_dataset_is_refused_and_deprecated_dataset_is_still_fetchable() -> None:
    draft = denied("DATASET_NOT_PUBLISHED", dataset=replace(LICENCE, status=DatasetStatus.DRAFT))
    assert draft.message == "dataset business_licence is a draft and cannot be fetched yet"
    deprecated = decide_fetch(facts(dataset=replace(LICENCE, status=DatasetStatus.DEPRECATED)))
    assert deprecated.allowed
    assert "ok: dataset business_licence is unconditional and deprecated" in deprecated.checks


# The case as purpose


def test_no_case_is_refused_naming_the_field_to_set() -> None:
    assert denied("PURPOSE_REQUIRED", case=None).message == ("a fetch must name the case it is for (purpose.case_id)")


def test_purpose_service_item_equal_to_the_case_or_absent_is_allowed() -> None:
    assert decide_fetch(facts(purpose_service_item=ITEM.code)).allowed
    assert decide_fetch(facts(purpose_service_item="")).allowed


@settings(max_examples=60, deadline=None)
@given(
    a=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),
    b=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),
)
def test_purpose_mismatch_in_both_sort_orders(a: str, b: str) -> None:
    assume(a != b)
    for case_item, named in ((a, b), (b, a)):
        case = replace(CASE, service_item=case_item)
        item = replace(ITEM, code=case_item)
        grant = replace(GRANT, service_items=())
        decision = decide_fetch(facts(case=case, service_item=item, grants=(grant,), purpose_service_item=named))
        assert decision.reason == "PURPOSE_MISMATCH"
        assert decision.message == f"case case-1 is for service item {case_item}, not {named}"


def test_closed_case_is_refused_naming_its_state() -> None:
    decision = denied("CASE_CLOSED", case=replace(CASE, is_open=False, state="approved"))
    assert decision.message == "case case-1 is approved; data can be fetched only for open cases"


def test_case_not_involving_the_caller_lists_who_is_involved() -> None:
    decision = denied("CASE_NOT_INVOLVING_CALLER", case=replace(CASE, involved_departments=("SAMR", "MNR")))
    assert decision.message == "FIRE is not on case case-1 (involved: SAMR, MNR)"


def test_item_not_needing_the_dataset_or_unknown_item_is_no_purpose() -> None:
    message = f"service item {ITEM.code} does not require dataset business_licence, so case case-1 is no purpose for it"
    without = replace(ITEM, required_materials=ITEM.required_materials[1:])
    assert denied("DATASET_NOT_REQUIRED", service_item=without).message == message
    assert denied("DATASET_NOT_REQUIRED", service_item=None).message == message


# Grant ownership, in both sort orders

DEPARTMENT = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=5)


@settings(max_examples=80, deadline=None)
@given(a=DEPARTMENT, b=DEPARTMENT)
def test_only_the_callers_own_grants_count_in_both_sort_orders(a: str, b: str) -> None:
    assume(a != b)
    for caller_dept, holder in ((a, b), (b, a)):
        caller = replace(FIRE, department=caller_dept)
        case = replace(CASE, involved_departments=(a, b))
        others = replace(GRANT, consumer=holder)
        decision = decide_fetch(facts(caller=caller, case=case, grants=(others,)))
        assert decision.reason == "NO_GRANT"
        assert decision.message == (
            f"{caller_dept} holds no grant on business_licence; ask SAMR or a hub admin for one"
        )
        own = replace(GRANT, consumer=caller_dept)
        assert decide_fetch(facts(caller=caller, case=case, grants=(others, own))).grant == own


@settings(max_examples=60, deadline=None)
@given(
    a=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),
    b=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),
)
def test_only_grants_on_the_fetched_dataset_count_in_both_sort_orders(a: str, b: str) -> None:
    assume(a != b)
    for fetched, granted in ((a, b), (b, a)):
        dataset = replace(LICENCE, code=fetched)
        item = replace(ITEM, required_materials=(RequiredMaterial(fetched, NEEDED),))
        grant = replace(GRANT, dataset=granted)
        assert decide_fetch(facts(dataset=dataset, service_item=item, grants=(grant,))).reason == "NO_GRANT"
        own = replace(grant, dataset=fetched)
        assert decide_fetch(facts(dataset=dataset, service_item=item, grants=(own,))).allowed


# Time windows, at exactly their edges


def test_grant_is_live_from_its_valid_from_instant() -> None:
    assert decide_fetch(facts(grants=(replace(GRANT, valid_from_us=NOW),))).allowed
    decision = denied("GRANT_NOT_YET_VALID", grants=(replace(GRANT, valid_from_us=NOW + 1),))
    assert decision.message == "the grant to FIRE on business_licence is not valid yet"


def test_grant_with_a_future_end_date_is_live_until_its_valid_until_instant() -> None:
    assert decide_fetch(facts(grants=(replace(GRANT, valid_until_us=NOW + 1),))).allowed
    decision = denied("GRANT_EXPIRED", grants=(replace(GRANT, valid_until_us=NOW),))
    assert decision.message == "the grant to FIRE on business_licence has expired"


def test_open_ended_grant_has_valid_until_zero() -> None:
    assert decide_fetch(facts(grants=(replace(GRANT, valid_until_us=0),))).allowed


def test_revoked_grant_is_named_before_expiry_and_validity() -> None:
    revoked = replace(GRANT, status=GrantStatus.REVOKED, valid_until_us=NOW)
    not_yet = replace(GRANT, id="g-2", valid_from_us=NOW + MINUTE)
    decision = denied("GRANT_REVOKED", grants=(not_yet, revoked))
    assert decision.message == "the grant to FIRE on business_licence was revoked"
    assert denied("GRANT_EXPIRED", grants=(not_yet, replace(revoked, status=GrantStatus.ACTIVE))).reason


def test_grant_for_another_service_item_names_the_item() -> None:
    decision = denied("GRANT_NOT_FOR_PURPOSE", grants=(replace(GRANT, service_items=("other_item",)),))
    assert decision.message == f"no grant to FIRE on business_licence covers service item {ITEM.code}"


def test_grant_starting_now_for_another_item_is_refused_for_the_item_not_for_its_start() -> None:
    grant = replace(GRANT, valid_from_us=NOW, service_items=("other_item",))
    assert denied("GRANT_NOT_FOR_PURPOSE", grants=(grant,)).reason


def test_grant_without_service_items_covers_every_item() -> None:
    assert decide_fetch(facts(grants=(replace(GRANT, service_items=()),))).allowed


# Conditional datasets and access requests


IDENTITY_ITEM_FIELDS = ("resident_id", "name", "sex", "birth_date")


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (
            "pending",
            "ACCESS_REQUEST_PENDING",
            "the access request of FIRE for identity_record awaits the owner's answer",
        ),
        ("denied", "ACCESS_REQUEST_DENIED", "the owner of identity_record denied the access request of FIRE"),
        *[
            (status, "NO_GRANT", "identity_record is conditional: FIRE must file an access request that PSB approves")
            for status in ("", "approved", "withdrawn")
        ],
    ],
)
def test_conditional_dataset_without_a_grant_says_where_the_access_request_stands(
    status: str, reason: str, message: str
) -> None:
    decision = denied(reason, dataset=IDENTITY, service_item=BASE_ITEM, grants=(), access_request_status=status)
    assert decision.message == message


# Which fields, and which grant


def test_wildcard_covers_public_and_internal_fields_but_not_personal_ones() -> None:
    decision = decide_fetch(facts())
    assert "company_type" in decision.fields  # internal
    assert "legal_representative" not in decision.fields  # personal, needed by the item, not named
    named = replace(GRANT, fields=("legal_representative",))
    assert decide_fetch(facts(grants=(named,))).fields == ("legal_representative",)


def test_a_granted_field_missing_from_the_schema_is_ignored() -> None:
    grant = replace(GRANT, fields=("name", "no_such_field"))
    decision = decide_fetch(facts(grants=(grant,), requested_fields=()))
    assert decision.fields == ("name",)


def test_two_live_grants_on_different_fields_the_one_covering_the_request_is_chosen() -> None:
    names = replace(GRANT, id="g-names", fields=("name",))
    rep = replace(GRANT, id="g-rep", fields=("legal_representative",))
    for grants in ((names, rep), (rep, names)):
        decision = decide_fetch(facts(grants=grants, requested_fields=("legal_representative",)))
        assert decision.allowed and decision.grant == rep and decision.fields == ("legal_representative",)
        assert "ok: 2 live grant(s) for FIRE on business_licence" in decision.checks


def test_without_requested_fields_the_grant_covering_most_fields_is_chosen_and_a_tie_keeps_the_first() -> None:
    small = replace(GRANT, id="g-small", fields=("name",))
    large = replace(GRANT, id="g-large", fields=("name", "address"))
    for grants in ((small, large), (large, small)):
        assert decide_fetch(facts(grants=grants)).grant == large
    twin = replace(large, id="g-twin")
    assert decide_fetch(facts(grants=(large, twin))).grant == large
    assert decide_fetch(facts(grants=(twin, large))).grant == twin


def test_requested_fields_split_across_two_grants_are_refused_naming_what_is_missing_and_allowed() -> None:
    names = replace(GRANT, id="g-names", fields=("name",))
    rep = replace(GRANT, id="g-rep", fields=("legal_representative",))
    decision = denied(
        "FIELD_NOT_GRANTED", grants=(names, rep), requested_fields=("name", "legal_representative", "business_scope")
    )
    assert decision.message == (
        "field(s) business_scope of business_licence are not covered by a grant to FIRE together with service "
        f"item {ITEM.code} (allowed: legal_representative, name)"
    )


def test_every_missing_field_is_listed() -> None:
    grant = replace(GRANT, fields=("name",))
    decision = denied("FIELD_NOT_GRANTED", grants=(grant,), requested_fields=("status", "name", "address"))
    assert decision.message.startswith("field(s) address, status of business_licence are not covered")


def test_requested_field_the_item_does_not_need_is_refused_and_no_overlap_says_none() -> None:
    grant = replace(GRANT, fields=("registered_capital",))
    decision = denied("FIELD_NOT_GRANTED", grants=(grant,), requested_fields=("registered_capital",))
    assert decision.message == (
        "field(s) registered_capital of business_licence are not covered by a grant to FIRE together with "
        f"service item {ITEM.code} (allowed: none)"
    )


def test_grant_sharing_no_field_with_the_item_returns_nothing_and_is_refused() -> None:
    grant = replace(GRANT, fields=("registered_capital",))
    decision = denied("FIELD_NOT_GRANTED", grants=(grant,))
    assert decision.message == f"no field of business_licence is both granted and needed by {ITEM.code}"


# The policy as independent predicates (property-based)

DEPARTMENTS = ("FIRE", "MNR", "PSB", "SAMR")
DATASETS = {
    "licence": LICENCE,
    "identity": IDENTITY,
    "draft": replace(LICENCE, status=DatasetStatus.DRAFT),
    "deprecated": replace(LICENCE, status=DatasetStatus.DEPRECATED),
    "secret": replace(LICENCE, sharing_type=SharingType.NOT_SHARED),
}
ITEMS = {ITEM.code: ITEM, "other_item": ServiceItem("other_item", "Other", "MNR", 5)}
ALL_FIELDS = sorted({*LICENCE.schema.names, *IDENTITY.schema.names, ALL_ORDINARY_FIELDS, "no_such_field"})
SUBJECTS = ("91110000600037341L", "110105198405060031", "91110105MA01XXXXX1")
TIMES = st.sampled_from([0, NOW - MINUTE, NOW - 1, NOW, NOW + 1, NOW + MINUTE])


@st.composite
def grants(draw: st.DrawFn) -> Grant:
    return Grant(
        id=f"g-{draw(st.integers(0, 99))}",
        consumer=draw(st.sampled_from(DEPARTMENTS)),
        dataset=draw(st.sampled_from(["business_licence", "identity_record"])),
        fields=tuple(draw(st.lists(st.sampled_from(ALL_FIELDS), max_size=5))),
        service_items=tuple(draw(st.lists(st.sampled_from(sorted(ITEMS)), max_size=2))),
        valid_from_us=draw(TIMES),
        valid_until_us=draw(TIMES),
        status=draw(st.sampled_from(GrantStatus)),
    )


@st.composite
def fetch_facts(draw: st.DrawFn) -> FetchFacts:
    caller = Caller(
        draw(st.sampled_from(DEPARTMENTS)),
        "officer",
        frozenset(draw(st.sets(st.sampled_from(Role)))),
        "jti",
        0,
    )
    dataset = DATASETS[draw(st.sampled_from(sorted(DATASETS)))]
    case = draw(
        st.none()
        | st.builds(
            CaseFacts,
            case_id=st.just("case-1"),
            service_item=st.sampled_from(sorted(ITEMS)),
            is_open=st.booleans(),
            state=st.just("in_review"),
            involved_departments=st.lists(st.sampled_from(DEPARTMENTS), max_size=3).map(tuple),
            parties=st.lists(st.tuples(st.sampled_from(["applicant", "owner"]), st.sampled_from(SUBJECTS))).map(tuple),
        )
    )
    item = ITEMS.get(case.service_item) if case is not None and draw(st.booleans()) else None
    if case is not None and item is None and draw(st.booleans()):
        item = ITEMS[case.service_item]
    return FetchFacts(
        caller=caller,
        dataset=dataset,
        requested_fields=tuple(draw(st.lists(st.sampled_from(ALL_FIELDS), max_size=4))),
        now_us=NOW,
        case=case,
        service_item=item,
        subject=draw(st.none() | st.sampled_from(["", *SUBJECTS])),
        purpose_service_item=draw(st.sampled_from(["", *sorted(ITEMS)])),
        grants=tuple(draw(st.lists(grants(), max_size=4))),
        access_request_status=draw(st.sampled_from(["", "pending", "approved", "denied", "withdrawn"])),
    )


def _needed_fields(f: FetchFacts) -> set[str]:
    assert f.service_item is not None
    return {x for m in f.service_item.required_materials if m.dataset == f.dataset.code for x in m.fields}


def _granted_fields(f: FetchFacts, grant: Grant) -> set[str]:
    ordinary = {x.name for x in f.dataset.schema.fields if x.sensitivity in (Sensitivity.PUBLIC, Sensitivity.INTERNAL)}
    return set(grant.fields) | (ordinary if ALL_ORDINARY_FIELDS in grant.fields else set())


RULES = {
    "caller is an officer": lambda f, d: Role.OFFICER in f.caller.roles,
    "dataset is shared": lambda f, d: f.dataset.sharing_type != SharingType.NOT_SHARED,
    "dataset is not a draft": lambda f, d: f.dataset.status != DatasetStatus.DRAFT,
    "a case is named": lambda f, d: f.case is not None,
    "the case is open": lambda f, d: f.case.is_open,
    "the case involves the caller": lambda f, d: f.caller.department in f.case.involved_departments,
    "the named service item is the case's": lambda f, d: f.purpose_service_item in ("", f.case.service_item),
    "the service item is known": lambda f, d: f.service_item is not None,
    "the service item needs the dataset": lambda f, d: bool(_needed_fields(f)),
    "a subject named is a party to the case": lambda f, d: (
        f.subject is None or f.dataset.subject_field is None or bool(f.case.relations_of(f.subject))
    ),
    "the grant is one of the facts": lambda f, d: d.grant in f.grants,
    "the grant is the caller's": lambda f, d: d.grant.consumer == f.caller.department,
    "the grant is on this dataset": lambda f, d: d.grant.dataset == f.dataset.code,
    "the grant is active": lambda f, d: d.grant.status == GrantStatus.ACTIVE,
    "the grant has started": lambda f, d: d.grant.valid_from_us <= f.now_us,
    "the grant has not ended": lambda f, d: d.grant.valid_until_us in (0,) or f.now_us < d.grant.valid_until_us,
    "the grant covers the item": lambda f, d: not d.grant.service_items or f.service_item.code in d.grant.service_items,
    "some field is returned": lambda f, d: bool(d.fields),
    "every field is in the schema": lambda f, d: set(d.fields) <= set(f.dataset.schema.names),
    "every field is needed by the item": lambda f, d: set(d.fields) <= _needed_fields(f),
    "every field is granted": lambda f, d: set(d.fields) <= _granted_fields(f, d.grant),
    "personal and sensitive fields are granted by name": lambda f, d: all(
        x.name in d.grant.fields
        for x in f.dataset.schema.fields
        if x.name in d.fields and x.sensitivity not in (Sensitivity.PUBLIC, Sensitivity.INTERNAL)
    ),
    "exactly the requested fields when some are named": lambda f, d: (
        not f.requested_fields or set(d.fields) == set(f.requested_fields)
    ),
}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(f=fetch_facts())
def test_an_allowed_fetch_satisfies_every_rule(f: FetchFacts) -> None:
    decision = decide_fetch(f)
    if not decision.allowed:
        assert decision.reason and decision.grant is None and decision.fields == ()
        return
    broken = [name for name, rule in RULES.items() if not rule(f, decision)]
    assert not broken, broken


@st.composite
def allowed_facts(draw: st.DrawFn) -> FetchFacts:
    """Facts built to satisfy every rule, with random noise around them (other grants, roles, parties)."""
    dept = draw(st.sampled_from(DEPARTMENTS))
    dataset = DATASETS[draw(st.sampled_from(["licence", "deprecated", "identity"]))]
    needed = sorted(_needed_fields(replace(facts(), dataset=dataset)))
    named = draw(st.lists(st.sampled_from(needed), min_size=1, max_size=3, unique=True))
    grant = Grant(
        id="g-good",
        consumer=dept,
        dataset=dataset.code,
        fields=tuple(named),
        service_items=tuple(draw(st.sampled_from([(), (ITEM.code,), ("other_item", ITEM.code)]))),
        valid_from_us=draw(st.sampled_from([0, NOW - 1, NOW])),
        valid_until_us=draw(st.sampled_from([0, NOW + 1, NOW + MINUTE])),
    )
    others = draw(st.lists(grants(), max_size=3))
    position = draw(st.integers(0, len(others)))
    return FetchFacts(
        caller=Caller(dept, "officer", frozenset({Role.OFFICER, *draw(st.sets(st.sampled_from(Role)))}), "jti", 0),
        dataset=dataset,
        requested_fields=tuple(draw(st.lists(st.sampled_from(named), min_size=1, unique=True))),
        now_us=NOW,
        case=CaseFacts(
            "case-1",
            ITEM.code,
            True,
            "in_review",
            (*draw(st.lists(st.sampled_from(DEPARTMENTS))), dept),
            parties=(("applicant", SUBJECTS[0]), ("legal_representative", SUBJECTS[1])),
        ),
        service_item=ITEM,
        subject=draw(st.sampled_from([None, SUBJECTS[0], SUBJECTS[1], SUBJECTS[1].lower()])),
        purpose_service_item=draw(st.sampled_from(["", ITEM.code])),
        grants=(*others[:position], grant, *others[position:]),
        access_request_status=draw(st.sampled_from(["", "pending", "denied"])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(f=allowed_facts())
def test_when_every_rule_holds_for_some_grant_the_fetch_is_allowed(f: FetchFacts) -> None:
    # The converse, so the predicates above are not vacuous: default deny, but not deny-everything.
    decision = decide_fetch(f)
    assert decision.allowed, decision
    broken = [name for name, rule in RULES.items() if not rule(f, decision)]
    assert not broken, broken


# Subject binding and evidence bundles: whole decisions, so each fact in them is pinned

APPLICANT, REPRESENTATIVE = "91110000600037341L", "110105198405060031"
PARTY_CASE = replace(CASE, parties=(("applicant", APPLICANT), ("legal_representative", REPRESENTATIVE)))


def test_a_subject_on_the_case_is_allowed_with_its_relations_in_the_trail() -> None:
    from exchange.policy import decide_subject

    both = replace(PARTY_CASE, parties=(*PARTY_CASE.parties, ("owner", APPLICANT)))
    assert decide_subject(both, LICENCE, APPLICANT) == Decision(
        True, "", "allowed", checks=("ok: the subject is the case's applicant, owner",)
    )
    decision = decide_fetch(facts(case=both, subject=APPLICANT))
    assert decision.allowed and "ok: the subject is the case's applicant, owner" in decision.checks


def test_a_subject_not_on_the_case_is_refused_naming_dataset_case_and_relations() -> None:
    from exchange.policy import decide_subject

    message = (
        "the business_licence asked for is about someone who is not a party to case case-1 (its parties: "
        "applicant, legal_representative); record them on the case with AddCaseParty if the application names them"
    )
    assert decide_subject(PARTY_CASE, LICENCE, "91110105MA01XXXXX1") == Decision(
        False, "SUBJECT_NOT_ON_CASE", message, checks=(f"denied: {message}",)
    )
    assert denied("SUBJECT_NOT_ON_CASE", case=PARTY_CASE, subject="91110105MA01XXXXX1").message == message
    nobody = decide_subject(CASE, LICENCE, APPLICANT)
    assert "(its parties: none)" in nobody.message


def test_a_dataset_without_a_subject_is_allowed_saying_so() -> None:
    from exchange.policy import decide_subject

    anonymous = replace(LICENCE, subject_field=None)
    assert decide_subject(CASE, anonymous, "anyone") == Decision(
        True,
        "",
        "allowed",
        checks=("ok: dataset business_licence names no subject (no subject field, no identity key)",),
    )


def test_subject_columns_are_the_personal_key_and_subject_fields_that_exist() -> None:
    from exchange.policy import subject_columns

    assert subject_columns(IDENTITY) == ("resident_id",)
    assert subject_columns(LICENCE) == ()  # its key is public
    missing = replace(IDENTITY, subject_field="", key_field="no_such_field")
    assert subject_columns(missing) == ()


def test_a_scan_filter_naming_parties_only_is_allowed_and_any_other_column_is_ignored() -> None:
    from exchange.policy import decide_filter_subjects

    decision = decide_filter_subjects(
        PARTY_CASE, IDENTITY, [("name", "!=", ("x",)), ("resident_id", "in", (REPRESENTATIVE,))]
    )
    assert decision == Decision(
        True, "", "allowed", checks=("ok: the filter on resident_id names parties of case case-1 only",)
    )
    stranger = "110105199001010011"
    refused = decide_filter_subjects(PARTY_CASE, IDENTITY, [("name", "=", ("x",)), ("resident_id", "=", (stranger,))])
    assert refused.reason == "SUBJECT_NOT_ON_CASE" and refused.subject == stranger
    assert refused.message.startswith("the identity_record asked for is about someone who is not a party")


def test_a_scan_filter_range_on_a_personal_column_is_refused_naming_column_and_operator() -> None:
    from exchange.policy import decide_filter_subjects

    decision = decide_filter_subjects(PARTY_CASE, IDENTITY, [("resident_id", ">", (REPRESENTATIVE,))])
    assert decision.reason == "SUBJECT_NOT_ON_CASE"
    assert decision.message == (
        "the row filter compares resident_id with >; on this personal identity column only = or in with "
        "parties of case case-1 are allowed"
    )


def test_a_long_filter_value_is_recorded_cut_to_64_characters() -> None:
    from exchange.policy import decide_filter_subjects

    decision = decide_filter_subjects(PARTY_CASE, IDENTITY, [("resident_id", "=", ("9" * 65,))])
    assert decision.subject == "9" * 64


def test_evidence_bundle_decisions_are_whole() -> None:
    from exchange.policy import decide_evidence_bundle

    auditor = Caller("HUB", "a", frozenset({Role.AUDITOR}), "j", 0)
    assert decide_evidence_bundle(auditor, "FIRE", "SAMR") == Decision(
        True,
        "",
        "allowed",
        checks=(
            "ok: caller holds auditor, one of [officer, dept_admin, hub_admin, auditor, supervisor]",
            "ok: auditor may audit.evidence_bundle.read for any department",
        ),
    )
    assert decide_evidence_bundle(FIRE, "FIRE", "SAMR") == Decision(
        True,
        "",
        "allowed",
        checks=(
            f"ok: caller holds {', '.join(sorted(r.value for r in FIRE.roles))}, one of "
            "[officer, dept_admin, hub_admin, auditor, supervisor]",
            "ok: FIRE is a party to this entry",
        ),
    )
    refused = decide_evidence_bundle(FIRE, "MNR", "SAMR")
    assert refused.message == (
        "FIRE is no party to this entry; only its parties or the roles [hub_admin, auditor] may do this "
        "(audit.evidence_bundle.read)"
    )
