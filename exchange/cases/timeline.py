"""What each step of a case's timeline is called and what its detail says, in each reader's language.

An event keeps the key of its detail sentence and the values it names (states, verdicts, relations by
code, a deadline as an ISO time); its English `detail` is written from the same sentence when it is
recorded, for the stored record, machines and the log. People read the step and its detail through
`step_in` and `detail_in`, which say them in the language asked for, codes named in words and times
shown as `exchange.localtime` shows them. An event stored before it kept a key reads as its English detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from exchange import i18n, localtime
from exchange.i18n import N_

if TYPE_CHECKING:
    from exchange.cases.model import CaseEvent

# The steps, by event kind (the lifecycle's actions and the events beside them).
STEPS: dict[str, str] = {
    "submit": N_("case.step.submit", "submitted"),
    "party_added": N_("case.step.party_added", "party added"),
    "accept": N_("case.step.accept", "accepted"),
    "not_accept": N_("case.step.not_accept", "not accepted"),
    "request_correction": N_("case.step.request_correction", "correction requested"),
    "submit_correction": N_("case.step.submit_correction", "correction submitted"),
    "start_review": N_("case.step.start_review", "review started"),
    "opinion": N_("case.step.opinion", "review opinion"),
    "approve": N_("case.step.approve", "approved"),
    "reject": N_("case.step.reject", "rejected"),
    "withdraw": N_("case.step.withdraw", "withdrawn"),
    "close": N_("case.step.close", "closed"),
    "material_attached": N_("case.step.material_attached", "material attached"),
    "material_refreshed": N_("case.step.material_refreshed", "material refreshed"),
}

# The details, by sentence key; the values are named in braces.
DETAILS: dict[str, str] = {
    "submit": N_("case.detail.submit", "submitted for {service_item}"),
    "party_added": N_("case.detail.party_added", "party added: {relation}"),
    "party_added_named": N_("case.detail.party_added_named", "party added: {relation} ({name})"),
    "accept": N_("case.detail.accept", "accepted; {days} working days, deadline {deadline}"),
    "not_accept": N_("case.detail.not_accept", "not accepted: {reasons}"),
    "request_correction": N_("case.detail.request_correction", "correction requested: {missing}"),
    "submit_correction": N_("case.detail.submit_correction", "correction submitted; resumed as {state}"),
    "submit_correction_moved": N_(
        "case.detail.submit_correction_moved", "correction submitted; resumed as {state}; deadline moved to {deadline}"
    ),
    "start_review": N_("case.detail.start_review", "review started by {departments}"),
    "opinion": N_("case.detail.opinion", "{department}: {verdict}"),
    "opinion_commented": N_("case.detail.opinion_commented", "{department}: {verdict} ({comment})"),
    "approved": N_("case.detail.approved", "approved after review"),
    "rejected": N_("case.detail.rejected", "rejected after review"),
    "withdraw": N_("case.detail.withdraw", "withdrawn by the applicant"),
    "withdraw_reason": N_("case.detail.withdraw_reason", "withdrawn by the applicant: {reason}"),
    "close": N_("case.detail.close", "closed after {state}"),
    "material": N_("case.detail.material", "{dataset} {key} v{version} from {issuer} (status {status})"),
}

# Codes a detail names, said in words: case states, review verdicts and the relations of parties.
STATE_NAMES: dict[str, str] = {
    "submitted": N_("case_state.submitted", "submitted"),
    "awaiting_correction": N_("case_state.awaiting_correction", "awaiting correction"),
    "accepted": N_("case_state.accepted", "accepted"),
    "in_review": N_("case_state.in_review", "in review"),
    "approved": N_("case_state.approved", "approved"),
    "rejected": N_("case_state.rejected", "rejected"),
    "not_accepted": N_("case_state.not_accepted", "not accepted"),
    "withdrawn": N_("case_state.withdrawn", "withdrawn"),
    "closed": N_("case_state.closed", "closed"),
}
VERDICT_NAMES: dict[str, str] = {
    "approve": N_("case.verdict.approve", "approve"),
    "reject": N_("case.verdict.reject", "reject"),
    "request_more": N_("case.verdict.request_more", "request more"),
}
RELATION_NAMES: dict[str, str] = {
    "applicant": N_("case.relation.applicant", "applicant"),
    "legal_representative": N_("case.relation.legal_representative", "legal representative"),
    "premises_owner": N_("case.relation.premises_owner", "premises owner"),
    "spouse": N_("case.relation.spouse", "spouse"),
    "guardian": N_("case.relation.guardian", "guardian"),
    "agent": N_("case.relation.agent", "agent"),
    "other": N_("case.relation.other", "other"),
}
# Which value is which kind of code: (its names, the context prefix of their messages).
_CODES: dict[str, tuple[dict[str, str], str]] = {
    "state": (STATE_NAMES, "case_state"),
    "verdict": (VERDICT_NAMES, "case.verdict"),
    "relation": (RELATION_NAMES, "case.relation"),
}
# Values holding a time (ISO 8601 with its offset), shown as people read times.
_TIMES = frozenset({"deadline"})


@dataclass(frozen=True)
class Detail:
    """A detail sentence's key and the values it names."""

    key: str
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @staticmethod
    def of(sentence: str, /, **values: object) -> Detail:
        """The sentence `sentence` of DETAILS naming `values` (kept as text)."""
        return Detail(sentence, MappingProxyType({k: str(v) for k, v in values.items()}))

    def english(self) -> str:
        """The detail as stored and sent to machines (codes and times as recorded)."""
        return DETAILS[self.key].format_map(self.values)


def _in(language: str, context: str, source: str) -> str:
    """A message of the tables above (each marked where it is defined) in `language`."""
    return i18n.catalogue(language).pgettext(context, source)


def _shown(name: str, value: str, language: str) -> str:
    if name in _CODES:
        names, prefix = _CODES[name]
        return _in(language, f"{prefix}.{value}", names[value]) if value in names else value
    if name in _TIMES:
        try:
            return localtime.show(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def step_in(kind: str, language: str | None = None) -> str:
    """The name of a step of the timeline (the event's kind when it has none)."""
    source = STEPS.get(kind)
    return kind if source is None else _in(language or i18n.current(), f"case.step.{kind}", source)


def verdict_in(verdict: str, language: str | None = None) -> str:
    """A review verdict in words (approve, reject, request more)."""
    return _shown("verdict", str(verdict), language or i18n.current())


def detail_in(event: CaseEvent, language: str | None = None) -> str:
    """An event's detail for a person reading `language` (default the current one)."""
    if event.detail_key not in DETAILS:
        return event.detail  # recorded before events kept their sentence: as it was written
    language = language or i18n.current()
    values = {k: _shown(k, v, language) for k, v in event.values.items()}
    try:
        return _in(language, f"case.detail.{event.detail_key}", DETAILS[event.detail_key]).format_map(values)
    except (KeyError, IndexError, ValueError):
        return event.detail
