"""The parties of a case: whose data the case may read.

Purpose binding includes the subject: a department handling a case may read data about the
applicant and about the other parties the application names (its legal representative, the
owner of the premises, a spouse), each recorded with its relation, and about nobody else.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from catalog import limits
from catalog.identifiers import KeyFormat, is_valid_key, validate_key
from exchange.errors import FieldViolation, InvalidArgument

PartyKind = Literal["person", "organisation"]
APPLICANT = "applicant"
# A closed vocabulary, so reports can say why a person's data was read; "other" needs a name.
OTHER_RELATIONS = ("legal_representative", "premises_owner", "spouse", "guardian", "agent", "other")
RELATIONS = (APPLICANT, *OTHER_RELATIONS)
MAX_PARTIES = 16
MAX_NAME_LENGTH = limits.PARTY_NAME.max_length
_ID_FORMATS: dict[str, KeyFormat] = {"person": KeyFormat.RESIDENT_ID, "organisation": KeyFormat.USCC}


@dataclass(frozen=True)
class CaseParty:
    """One person or organisation an application is about, and how it relates to the application."""

    relation: str
    party_id: str
    kind: PartyKind
    name: str = ""


def _invalid(field: str, message: str, reason: str) -> InvalidArgument:
    return InvalidArgument(message, reason=reason, violations=[FieldViolation(field, message)])


def _kind_of(party_id: str, kind: str, field: str) -> PartyKind:
    """The kind as given, or inferred from the identifier's format when not given."""
    if kind in get_args(PartyKind):
        return kind  # type: ignore[return-value]  # checked against PartyKind just above
    if kind:
        message = "kind must be person or organisation (or empty to infer it)"
        raise _invalid(f"{field}.kind", message, "UNKNOWN_PARTY_KIND")
    if is_valid_key(KeyFormat.RESIDENT_ID, party_id):
        return "person"
    if is_valid_key(KeyFormat.USCC, party_id):
        return "organisation"
    raise _invalid(
        f"{field}.party_id",
        "party_id must be a resident identity number (person) or a unified social credit code (organisation)",
        "MALFORMED_PARTY_ID",
    )


def clean_name(name: str, field: str) -> str:
    """A party's display name, stripped; refused when too long or holding control characters."""
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise _invalid(f"{field}.name", f"name is at most {MAX_NAME_LENGTH} characters", "PARTY_NAME_TOO_LONG")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise _invalid(f"{field}.name", "name must not hold control characters", "PARTY_NAME_INVALID")
    return name


def make_party(relation: str, party_id: str, kind: str = "", name: str = "", *, field: str = "party") -> CaseParty:
    """A validated party besides the applicant: known relation, identifier valid for its kind."""
    relation = relation.strip().lower()
    if relation == APPLICANT:
        raise _invalid(
            f"{field}.relation",
            "the applicant is a party already (applicant_id); list only the other parties here",
            "APPLICANT_IS_ALREADY_A_PARTY",
        )
    if relation not in OTHER_RELATIONS:
        raise _invalid(
            f"{field}.relation",
            f"relation must be one of {', '.join(OTHER_RELATIONS)}",
            "UNKNOWN_PARTY_RELATION",
        )
    stripped = party_id.strip()
    if not stripped:
        raise _invalid(f"{field}.party_id", "party_id is required", "MISSING_FIELD")
    party_kind = _kind_of(stripped.upper()[:64], kind.strip(), field)
    try:
        normalised = validate_key(_ID_FORMATS[party_kind], stripped)
    except InvalidArgument as error:
        raise _invalid(f"{field}.party_id", f"a {party_kind}'s party_id: {error.message}", error.reason) from None
    cleaned_name = clean_name(name, field)
    if relation == "other" and not cleaned_name:
        raise _invalid(f"{field}.name", "a party with relation other needs a name", "MISSING_FIELD")
    return CaseParty(relation, normalised, party_kind, cleaned_name)


def check_new_parties(existing: Iterable[CaseParty], added: Iterable[CaseParty]) -> tuple[CaseParty, ...]:
    """The added parties, refused if one is already on the case in that relation or the case would hold too many."""
    seen = {(p.relation, p.party_id) for p in existing}
    count = len(seen)
    out: list[CaseParty] = []
    for party in added:
        if (party.relation, party.party_id) in seen:
            raise _invalid("parties", f"this {party.relation} is on the case already", "PARTY_ALREADY_ON_CASE")
        seen.add((party.relation, party.party_id))
        out.append(party)
    if count + len(out) > MAX_PARTIES:
        raise _invalid("parties", f"a case has at most {MAX_PARTIES} parties", "TOO_MANY_PARTIES")
    return tuple(out)


@dataclass(frozen=True)
class PartyInput:
    """A party as a caller names it (unchecked strings); `validated` makes the CaseParty or says what is wrong."""

    relation: str
    party_id: str
    kind: str = ""
    name: str = ""

    def validated(self, field: str = "party") -> CaseParty:
        return make_party(self.relation, self.party_id, self.kind, self.name, field=field)
