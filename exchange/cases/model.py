"""A case as a plain immutable value, and the pure operations that move it through its lifecycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, get_args

from exchange.cases.calendar import WorkingCalendar, require_aware
from exchange.cases.lifecycle import CaseAction, CaseState, is_open, next_state
from exchange.cases.parties import APPLICANT, CaseParty, check_new_parties, clean_name
from exchange.cases.review import Opinion, Verdict, awaiting_opinion, review_outcome
from exchange.cases.timeline import Detail
from exchange.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied, quote
from exchange.policy import Thing, decide_involvement, error_for

ApplicantKind = Literal["person", "organisation"]
DeadlineState = Literal["on_time", "nearly_overdue", "overdue", "paused", "not_started", "finished"]

# Event kinds beyond the CaseAction values.
EVENT_SUBMIT = "submit"
EVENT_OPINION = "opinion"
EVENT_PARTY_ADDED = "party_added"

# The actions that take a case out of the open states; the deadline is judged at that moment.
_FINISHING_KINDS = frozenset({CaseAction.APPROVE, CaseAction.REJECT, CaseAction.NOT_ACCEPT, CaseAction.WITHDRAW})


@dataclass(frozen=True)
class Actor:
    """Who does something: a department and one of its officers."""

    department: str
    officer: str


@dataclass(frozen=True)
class CaseEvent:
    """One thing that happened to a case, in the case's own history."""

    at: datetime
    actor_department: str
    actor_officer: str
    kind: str
    # In English, as recorded; people read it in their language from the key and values (exchange.cases.timeline).
    detail: str
    detail_key: str = ""
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @staticmethod
    def of(at: datetime, by: Actor, kind: str, detail: Detail) -> CaseEvent:
        """The event of `kind` by `by`, its detail kept as a sentence and as English text."""
        return CaseEvent(at, by.department, by.officer, kind, detail.english(), detail.key, detail.values)


@dataclass(frozen=True)
class CorrectionNotice:
    """The one notice telling the applicant everything that is missing."""

    missing: tuple[str, ...]
    issued_at: datetime
    answered_at: datetime | None
    # The state the case returns to once the applicant answers.
    requested_in: CaseState


@dataclass(frozen=True)
class Case:
    """One application for a service item, handled by a lead department and co-reviewers."""

    id: str
    service_item: str
    applicant_id: str
    applicant_kind: ApplicantKind
    lead_department: str
    reviewers: tuple[str, ...]
    state: CaseState
    version: int
    submitted_at: datetime
    accepted_at: datetime | None = None
    deadline: datetime | None = None
    paused: tuple[tuple[datetime, datetime | None], ...] = ()
    correction: CorrectionNotice | None = None
    not_accepted_reasons: tuple[str, ...] = ()
    opinions: Mapping[str, Opinion] = field(default_factory=lambda: MappingProxyType({}))
    events: tuple[CaseEvent, ...] = ()
    # Parties besides the applicant, in the order they were recorded.
    other_parties: tuple[CaseParty, ...] = ()
    # The applicant's name as the application gives it (display only; the id is what binds data).
    applicant_name: str = ""

    @property
    def involved_departments(self) -> tuple[str, ...]:
        """The lead department first, then the co-reviewing departments."""
        return (self.lead_department, *self.reviewers)

    @property
    def parties(self) -> tuple[CaseParty, ...]:
        """Whose data the case may read: the applicant (always, by construction) first, then the others."""
        return (CaseParty(APPLICANT, self.applicant_id, self.applicant_kind, self.applicant_name), *self.other_parties)


@dataclass(frozen=True)
class DeadlineStatus:
    """How a case stands against its deadline, for supervision."""

    state: DeadlineState
    working_days_left: float


def _require_text(value: str, name: str) -> str:
    """A non-blank string, stripped."""
    if not value or not value.strip():
        raise InvalidArgument(
            f"{name} must not be empty",
            reason="MISSING_FIELD",
            violations=[FieldViolation(name, "required")],
        )
    return value.strip()


def _require_lead(case: Case, by: Actor, action: str) -> None:
    """Only the lead department handles the case itself (the co-reviewers give opinions)."""
    if by.department != case.lead_department:
        raise PermissionDenied(
            f"only the lead department {case.lead_department} may {action} case {case.id}; {by.department} is not it",
            reason="NOT_LEAD_DEPARTMENT",
            metadata={"case": case.id, "department": by.department},
        )


def _require_involved(case: Case, department: str) -> None:
    """The policy's involvement rule: only a department involved in the case acts on it."""
    decision = decide_involvement(department, case.involved_departments, Thing("case", case.id))
    if not decision.allowed:
        raise error_for(decision, case=case.id, department=department)


def _record(case: Case, by: Actor, now: datetime, kind: str, detail: Detail, **changes: Any) -> Case:
    """The case with ``changes`` applied, its version bumped and the event appended."""
    event = CaseEvent.of(now, by, kind, detail)
    return replace(case, version=case.version + 1, events=(*case.events, event), **changes)


def _clean_list(items: Sequence[str], name: str) -> tuple[str, ...]:
    """Non-blank entries, stripped, duplicates dropped; InvalidArgument if none is left."""
    if isinstance(items, str):
        items = [items]
    cleaned = tuple(dict.fromkeys(i.strip() for i in items if i and i.strip()))
    if not cleaned:
        raise InvalidArgument(
            f"{name} must list at least one item",
            reason="EMPTY_LIST",
            violations=[FieldViolation(name, "at least one non-empty entry is required")],
        )
    return cleaned


def open_case(
    *,
    case_id: str,
    service_item: str,
    applicant_id: str,
    applicant_kind: str,
    lead_department: str,
    reviewers: Sequence[str],
    by: Actor,
    now: datetime,
    parties: Sequence[CaseParty] = (),
    applicant_name: str = "",
) -> Case:
    """A newly submitted case (version 1), received by an officer of the lead department."""
    require_aware(now, "now")
    if applicant_kind not in get_args(ApplicantKind):
        raise InvalidArgument(
            f"applicant_kind must be person or organisation; got {quote(applicant_kind)}",
            reason="UNKNOWN_APPLICANT_KIND",
            violations=[FieldViolation("applicant_kind", "person or organisation")],
        )
    lead = _require_text(lead_department, "lead_department")
    if by.department != lead:
        raise PermissionDenied(
            f"a case is received by its lead department {lead}; {by.department} cannot open it",
            reason="NOT_LEAD_DEPARTMENT",
        )
    # The lead always reviews; listing it again as a co-reviewer would give it two votes.
    co_reviewers = tuple(dict.fromkeys(r.strip() for r in reviewers if r.strip() and r.strip() != lead))
    case = Case(
        id=_require_text(case_id, "case_id"),
        service_item=_require_text(service_item, "service_item"),
        applicant_id=_require_text(applicant_id, "applicant_id"),
        applicant_kind=applicant_kind,  # type: ignore[arg-type]  # checked against ApplicantKind above
        lead_department=lead,
        reviewers=co_reviewers,
        state=CaseState.SUBMITTED,
        version=1,
        submitted_at=now,
        events=(CaseEvent.of(now, by, EVENT_SUBMIT, Detail.of("submit", service_item=service_item)),),
        applicant_name=clean_name(applicant_name, "applicant"),
    )
    return replace(case, other_parties=check_new_parties(case.parties, parties))


def add_party(case: Case, by: Actor, now: datetime, party: CaseParty) -> Case:
    """Record one more party on an open case, by a department on it; the timeline names the relation."""
    require_aware(now, "now")
    _require_involved(case, by.department)
    if not is_open(case.state):
        raise FailedPrecondition(
            f"case {case.id} is {case.state}; parties are added only to open cases",
            reason="CASE_NOT_OPEN",
            metadata={"case": case.id, "state": str(case.state)},
        )
    added = check_new_parties(case.parties, [party])
    if party.name:
        detail = Detail.of("party_added_named", relation=party.relation, name=party.name)
    else:
        detail = Detail.of("party_added", relation=party.relation)
    return _record(case, by, now, EVENT_PARTY_ADDED, detail, other_parties=(*case.other_parties, *added))


def check_version(case: Case, expected_version: int) -> None:
    """Aborted if the case changed since the caller read version ``expected_version``."""
    if case.version == expected_version:
        return
    last = case.events[-1] if case.events else None
    who = f"{last.actor_department}/{last.actor_officer}" if last else "someone"
    when = last.at.isoformat() if last else "an unknown time"
    raise Aborted(
        f"case {case.id} was changed by {who} at {when} "
        f"(version {case.version}, you had {expected_version}); re-read it",
        reason="VERSION_CONFLICT",
        metadata={"case": case.id, "version": str(case.version)},
    )


def _local(moment: datetime, calendar: WorkingCalendar) -> str:
    """A time written into a case's history: the calendar's local time with its offset (people read it)."""
    return moment.astimezone(calendar.tz).isoformat(timespec="seconds")


def accept(case: Case, by: Actor, now: datetime, calendar: WorkingCalendar, time_limit_days: int) -> Case:
    """Accept the application: the statutory clock starts and the deadline is set."""
    require_aware(now, "now")
    _require_lead(case, by, "accept")
    state = next_state(case.state, CaseAction.ACCEPT)
    if time_limit_days < 1:
        raise InvalidArgument(
            f"the time limit must be at least one working day; got {time_limit_days}",
            reason="INVALID_TIME_LIMIT",
            violations=[FieldViolation("time_limit_days", "at least 1")],
        )
    deadline = calendar.add_working_days(now, time_limit_days)
    detail = Detail.of("accept", days=time_limit_days, deadline=_local(deadline, calendar))
    return _record(case, by, now, CaseAction.ACCEPT, detail, state=state, accepted_at=now, deadline=deadline)


def not_accept(case: Case, by: Actor, now: datetime, reasons: Sequence[str]) -> Case:
    """Refuse to accept the application, saying why."""
    require_aware(now, "now")
    _require_lead(case, by, "refuse")
    state = next_state(case.state, CaseAction.NOT_ACCEPT)
    cleaned = _clean_list(reasons, "reasons")
    detail = Detail.of("not_accept", reasons="; ".join(cleaned))
    return _record(case, by, now, CaseAction.NOT_ACCEPT, detail, state=state, not_accepted_reasons=cleaned)


def request_correction(case: Case, by: Actor, now: datetime, missing: Sequence[str]) -> Case:
    """Tell the applicant, in one notice, everything that is missing; the clock pauses."""
    require_aware(now, "now")
    _require_lead(case, by, "request a correction for")
    # The applicant is told once: a second notice is refused whatever the state machine says.
    if case.correction is not None and is_open(case.state):
        answered = case.correction.answered_at
        status = f"answered at {answered.isoformat()}" if answered else "still open"
        raise FailedPrecondition(
            f"case {case.id} already had its one correction notice "
            f"(issued {case.correction.issued_at.isoformat()}, {status}); "
            "everything missing must be listed in that one notice",
            reason="CORRECTION_ALREADY_REQUESTED",
            metadata={"case": case.id},
        )
    state = next_state(case.state, CaseAction.REQUEST_CORRECTION)
    items = _clean_list(missing, "missing")
    notice = CorrectionNotice(items, now, None, requested_in=case.state)
    detail = Detail.of("request_correction", missing="; ".join(items))
    return _record(
        case,
        by,
        now,
        CaseAction.REQUEST_CORRECTION,
        detail,
        state=state,
        correction=notice,
        paused=(*case.paused, (now, None)),
    )


def submit_correction(case: Case, by: Actor, now: datetime, calendar: WorkingCalendar) -> Case:
    """Record the applicant's answer: the clock resumes and the deadline moves by the paused working time."""
    require_aware(now, "now")
    _require_lead(case, by, "record a correction for")
    notice = case.correction
    if case.state is CaseState.AWAITING_CORRECTION and (
        notice is None or not case.paused or case.paused[-1][1] is not None
    ):
        raise FailedPrecondition(
            f"case {case.id} is awaiting a correction but has no open notice; its stored history is inconsistent",
            reason="NO_OPEN_CORRECTION",
        )
    resume_to = notice.requested_in if notice is not None else None
    state = next_state(case.state, CaseAction.SUBMIT_CORRECTION, resume_to=resume_to)
    assert notice is not None  # next_state only lets awaiting_correction through, checked above
    pause_start = case.paused[-1][0]
    if now < pause_start:
        raise InvalidArgument(
            f"the correction cannot be answered ({now.isoformat()}) before it was requested "
            f"({pause_start.isoformat()})",
            reason="TIME_BEFORE_PAUSE",
        )
    paused_for = calendar.working_time_between(pause_start, now)
    deadline = case.deadline
    detail = Detail.of("submit_correction", state=state)
    if deadline is not None:
        deadline = calendar.add_working_time(deadline, paused_for)
        detail = Detail.of("submit_correction_moved", state=state, deadline=_local(deadline, calendar))
    # A request for more was answered by this correction; those reviewers give a fresh opinion.
    opinions = {d: o for d, o in case.opinions.items() if o.verdict is not Verdict.REQUEST_MORE}
    return _record(
        case,
        by,
        now,
        CaseAction.SUBMIT_CORRECTION,
        detail,
        state=state,
        deadline=deadline,
        correction=replace(notice, answered_at=now),
        paused=(*case.paused[:-1], (pause_start, now)),
        opinions=MappingProxyType(opinions),
    )


def start_review(case: Case, by: Actor, now: datetime) -> Case:
    """Open the parallel review by every involved department."""
    require_aware(now, "now")
    _require_lead(case, by, "start the review of")
    state = next_state(case.state, CaseAction.START_REVIEW)
    detail = Detail.of("start_review", departments=", ".join(case.involved_departments))
    return _record(case, by, now, CaseAction.START_REVIEW, detail, state=state)


def record_opinion(case: Case, department: str, officer: str, verdict: Verdict, comment: str, now: datetime) -> Case:
    """Record (or revise) one involved department's review opinion."""
    require_aware(now, "now")
    _require_involved(case, department)
    if case.state is not CaseState.IN_REVIEW:
        raise FailedPrecondition(
            f"case is {case.state}; opinions are recorded only while it is in_review",
            reason="NOT_IN_REVIEW",
            metadata={"case": case.id, "state": str(case.state)},
        )
    if verdict not in set(Verdict):
        raise InvalidArgument(
            f"verdict must be one of {', '.join(Verdict)}; got {quote(verdict)}",
            reason="UNKNOWN_VERDICT",
            violations=[FieldViolation("verdict", "approve, reject or request_more")],
        )
    verdict = Verdict(verdict)
    if verdict is not Verdict.APPROVE:
        # A refusal or a request for more must tell the applicant what to do about it.
        _require_text(comment, "comment")
    opinion = Opinion(department, officer, verdict, comment.strip(), now)
    opinions = MappingProxyType({**case.opinions, department: opinion})
    if opinion.comment:
        detail = Detail.of("opinion_commented", department=department, verdict=verdict, comment=opinion.comment)
    else:
        detail = Detail.of("opinion", department=department, verdict=verdict)
    by = Actor(department, officer)
    return _record(case, by, now, EVENT_OPINION, detail, opinions=opinions)


def decide(case: Case, by: Actor, now: datetime) -> Case:
    """Apply the outcome of the parallel review: approved or rejected, once every opinion allows it."""
    # Before an approval the caller re-checks that the case's materials are still valid;
    # this function only knows the opinions.
    require_aware(now, "now")
    _require_lead(case, by, "decide")
    outcome = review_outcome(case.involved_departments, case.opinions)
    if outcome == "approved":
        action = CaseAction.APPROVE
    elif outcome == "rejected":
        action = CaseAction.REJECT
    else:
        # Check the state first, so a decision on a closed case says so rather than "pending".
        next_state(case.state, CaseAction.APPROVE)
        if outcome == "pending":
            waiting = ", ".join(awaiting_opinion(case.involved_departments, case.opinions))
            raise FailedPrecondition(
                f"case {case.id} cannot be decided yet; waiting for opinions from {waiting}",
                reason="REVIEW_PENDING",
                metadata={"case": case.id},
            )
        asking = ", ".join(d for d, o in case.opinions.items() if o.verdict is Verdict.REQUEST_MORE)
        raise FailedPrecondition(
            f"case {case.id} cannot be decided: {asking} asked for more; "
            "request a correction from the applicant or have them revise their opinion",
            reason="MORE_REQUESTED",
            metadata={"case": case.id},
        )
    state = next_state(case.state, action)
    return _record(case, by, now, action, Detail.of(outcome), state=state)


def withdraw(case: Case, by: Actor, now: datetime, reason: str = "") -> Case:
    """Record that the applicant withdrew the application; the clock stops."""
    require_aware(now, "now")
    _require_lead(case, by, "withdraw")
    state = next_state(case.state, CaseAction.WITHDRAW)
    paused = case.paused
    if paused and paused[-1][1] is None:
        # Withdrawal ends an open correction pause too.
        paused = (*paused[:-1], (paused[-1][0], now))
    detail = Detail.of("withdraw_reason", reason=reason.strip()) if reason.strip() else Detail.of("withdraw")
    return _record(case, by, now, CaseAction.WITHDRAW, detail, state=state, paused=paused)


def close(case: Case, by: Actor, now: datetime) -> Case:
    """Close a finished case (approved, rejected, not accepted or withdrawn)."""
    require_aware(now, "now")
    _require_lead(case, by, "close")
    state = next_state(case.state, CaseAction.CLOSE)
    return _record(case, by, now, CaseAction.CLOSE, Detail.of("close", state=case.state), state=state)


def finished_at(case: Case) -> datetime | None:
    """When the case left the open states (approved, rejected, not accepted, withdrawn), if it has."""
    for event in case.events:
        if event.kind in _FINISHING_KINDS:
            return event.at
    return None


def deadline_status(case: Case, now: datetime, calendar: WorkingCalendar) -> DeadlineStatus:
    """How the case stands against its deadline at ``now``; under one working day left is nearly overdue."""
    require_aware(now, "now")
    if not is_open(case.state):
        ended = finished_at(case)
        if case.deadline is None or ended is None:
            return DeadlineStatus("finished", 0.0)
        return DeadlineStatus("finished", calendar.working_days_left(ended, case.deadline))
    if case.deadline is None:
        return DeadlineStatus("not_started", 0.0)
    if case.state is CaseState.AWAITING_CORRECTION and case.paused and case.paused[-1][1] is None:
        # The clock stood still when the correction was requested.
        return DeadlineStatus("paused", calendar.working_days_left(case.paused[-1][0], case.deadline))
    left = calendar.working_days_left(now, case.deadline)
    if now > case.deadline:
        return DeadlineStatus("overdue", left)
    if left < 1:
        return DeadlineStatus("nearly_overdue", left)
    return DeadlineStatus("on_time", left)
