"""Pure case operations: who may do what, the correction rule, the clock, review and concurrency."""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from exchange.cases.calendar import WorkingCalendar
from exchange.cases.lifecycle import CaseState
from exchange.cases.model import (
    Actor,
    Case,
    accept,
    check_version,
    close,
    deadline_status,
    decide,
    not_accept,
    open_case,
    record_opinion,
    request_correction,
    start_review,
    submit_correction,
    withdraw,
)
from exchange.cases.review import Verdict
from exchange.errors import Aborted, FailedPrecondition, InvalidArgument, PermissionDenied
from exchange.policy import Thing, decide_involvement

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar()
LEAD = Actor("MARKET", "officer-li")
FIRE = Actor("FIRE", "officer-wang")
OUTSIDER = Actor("TAX", "officer-zhao")


def local(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SHANGHAI)


MONDAY_9 = local(2026, 11, 23, 9)


def submitted() -> Case:
    return open_case(
        case_id="C-1",
        service_item="restaurant-permit",
        applicant_id="91110000600037341L",
        applicant_kind="organisation",
        lead_department="MARKET",
        reviewers=["FIRE", "MARKET"],
        by=LEAD,
        now=local(2026, 11, 22, 16),
    )


def accepted() -> Case:
    # Monday + 5 working days: Tue, Wed, Thu, Fri, Mon -> deadline Monday 30 November.
    return accept(submitted(), LEAD, MONDAY_9, CALENDAR, time_limit_days=5)


def in_review() -> Case:
    return start_review(accepted(), LEAD, local(2026, 11, 23, 10))


def test_a_new_case_is_submitted_at_version_one_with_the_lead_first_among_the_involved() -> None:
    case = submitted()
    assert case.state is CaseState.SUBMITTED
    assert case.version == 1
    assert case.involved_departments == ("MARKET", "FIRE")
    assert case.deadline is None
    assert [e.kind for e in case.events] == ["submit"]


def test_a_case_needs_a_known_applicant_kind() -> None:
    with pytest.raises(InvalidArgument) as caught:
        open_case(
            case_id="C-2",
            service_item="x",
            applicant_id="y",
            applicant_kind="company",
            lead_department="MARKET",
            reviewers=[],
            by=LEAD,
            now=MONDAY_9,
        )
    assert caught.value.reason == "UNKNOWN_APPLICANT_KIND"


def test_accepting_starts_the_clock_and_returns_a_new_version() -> None:
    before = submitted()
    after = accept(before, LEAD, MONDAY_9, CALENDAR, time_limit_days=5)
    assert before.state is CaseState.SUBMITTED  # the original value is untouched
    assert after.state is CaseState.ACCEPTED
    assert after.version == before.version + 1
    assert after.accepted_at == MONDAY_9
    assert after.deadline == end_of(2026, 11, 30)
    assert after.events[-1].kind == "accept"
    assert after.events[-1].actor_officer == "officer-li"


def test_only_the_lead_department_accepts() -> None:
    with pytest.raises(PermissionDenied) as caught:
        accept(submitted(), FIRE, MONDAY_9, CALENDAR, time_limit_days=5)
    assert caught.value.reason == "NOT_LEAD_DEPARTMENT"
    assert "MARKET" in caught.value.message


def test_an_illegal_step_is_refused_by_the_state_machine() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        accept(accepted(), LEAD, MONDAY_9, CALENDAR, time_limit_days=5)
    assert caught.value.reason == "ILLEGAL_TRANSITION"
    assert "case is accepted" in caught.value.message


def test_not_accepting_requires_reasons_and_keeps_them() -> None:
    with pytest.raises(InvalidArgument):
        not_accept(submitted(), LEAD, MONDAY_9, ["  "])
    case = not_accept(submitted(), LEAD, MONDAY_9, ["outside our jurisdiction"])
    assert case.state is CaseState.NOT_ACCEPTED
    assert case.not_accepted_reasons == ("outside our jurisdiction",)


def test_a_stale_version_is_refused_naming_who_changed_the_case_and_when() -> None:
    case = accepted()
    check_version(case, case.version)  # the current version passes
    with pytest.raises(Aborted) as caught:
        check_version(case, case.version - 1)
    error = caught.value
    assert error.reason == "VERSION_CONFLICT"
    assert "MARKET/officer-li" in error.message
    assert MONDAY_9.isoformat() in error.message
    assert "(version 2, you had 1); re-read it" in error.message


def test_a_correction_notice_must_list_something() -> None:
    with pytest.raises(InvalidArgument) as caught:
        request_correction(accepted(), LEAD, MONDAY_9, [])
    assert caught.value.reason == "EMPTY_LIST"


def test_the_applicant_gets_one_correction_notice_while_it_is_open() -> None:
    case = request_correction(accepted(), LEAD, local(2026, 11, 24, 9), ["floor plan", "fire exit photo"])
    assert case.state is CaseState.AWAITING_CORRECTION
    assert case.correction is not None
    assert case.correction.missing == ("floor plan", "fire exit photo")
    with pytest.raises(FailedPrecondition) as caught:
        request_correction(case, LEAD, local(2026, 11, 24, 10), ["lease contract"])
    assert caught.value.reason == "CORRECTION_ALREADY_REQUESTED"


def test_the_applicant_gets_one_correction_notice_even_after_answering_it() -> None:
    case = request_correction(accepted(), LEAD, local(2026, 11, 24, 9), ["floor plan"])
    case = submit_correction(case, LEAD, local(2026, 11, 24, 15), CALENDAR)
    with pytest.raises(FailedPrecondition) as caught:
        request_correction(case, LEAD, local(2026, 11, 25, 9), ["lease contract"])
    assert caught.value.reason == "CORRECTION_ALREADY_REQUESTED"
    assert "answered" in caught.value.message


@pytest.mark.parametrize("build", [submitted, accepted, in_review], ids=["submitted", "accepted", "in_review"])
def test_answering_the_correction_returns_the_case_to_where_it_was(build: Callable[[], Case]) -> None:
    before = build()
    paused = request_correction(before, LEAD, local(2026, 11, 24, 9), ["floor plan"])
    resumed = submit_correction(paused, LEAD, local(2026, 11, 24, 11), CALENDAR)
    assert resumed.state is before.state
    assert resumed.correction is not None
    assert resumed.correction.answered_at == local(2026, 11, 24, 11)


def test_the_clock_stands_still_while_waiting_for_the_applicant() -> None:
    paused = request_correction(accepted(), LEAD, local(2026, 11, 26, 12), ["floor plan"])
    at_request = deadline_status(paused, local(2026, 11, 26, 12), CALENDAR)
    much_later = deadline_status(paused, local(2026, 12, 10, 12), CALENDAR)
    assert at_request.state == much_later.state == "paused"
    assert much_later.working_days_left == pytest.approx(at_request.working_days_left)
    assert at_request.working_days_left == pytest.approx(2.5)


def test_a_correction_pause_over_a_weekend_extends_the_deadline_by_its_working_time_only() -> None:
    paused = request_correction(accepted(), LEAD, local(2026, 11, 27, 10), ["floor plan"])  # Friday
    resumed = submit_correction(paused, LEAD, local(2026, 11, 30, 10), CALENDAR)  # Monday
    # Friday 10:00 to Monday 10:00 is 24 working hours: one working day, not three.
    assert resumed.deadline == end_of(2026, 12, 1)
    assert resumed.paused == ((local(2026, 11, 27, 10), local(2026, 11, 30, 10)),)


def test_a_partial_day_pause_moves_the_deadline_into_the_next_working_day() -> None:
    paused = request_correction(accepted(), LEAD, local(2026, 11, 24, 9), ["floor plan"])
    resumed = submit_correction(paused, LEAD, local(2026, 11, 24, 15), CALENDAR)
    assert resumed.deadline == end_of(2026, 11, 30) + timedelta(hours=6)


def test_a_correction_before_acceptance_does_not_touch_the_not_yet_running_clock() -> None:
    paused = request_correction(submitted(), LEAD, local(2026, 11, 23, 8), ["identity card copy"])
    assert deadline_status(paused, MONDAY_9, CALENDAR).state == "not_started"
    resumed = submit_correction(paused, LEAD, MONDAY_9, CALENDAR)
    assert resumed.deadline is None


def test_deadline_status_through_the_life_of_a_case() -> None:
    case = accepted()  # deadline: end of Monday 30 November
    assert deadline_status(submitted(), MONDAY_9, CALENDAR).state == "not_started"
    on_time = deadline_status(case, local(2026, 11, 27, 12), CALENDAR)  # Friday noon
    assert on_time.state == "on_time"
    assert on_time.working_days_left == pytest.approx(1.5)
    nearly = deadline_status(case, local(2026, 11, 30, 9), CALENDAR)  # the last working day
    assert nearly.state == "nearly_overdue"
    assert 0 < nearly.working_days_left < 1
    overdue = deadline_status(case, local(2026, 12, 1, 12), CALENDAR)
    assert overdue.state == "overdue"
    assert overdue.working_days_left < 0


def test_the_weekend_before_the_last_working_day_is_already_nearly_overdue() -> None:
    status = deadline_status(accepted(), local(2026, 11, 28, 12), CALENDAR)  # Saturday
    assert status.state == "nearly_overdue"


def test_a_finished_case_reports_the_days_it_had_left_when_it_finished() -> None:
    case = withdraw(accepted(), LEAD, local(2026, 11, 27, 12), "applicant moved away")
    status = deadline_status(case, local(2026, 12, 20), CALENDAR)
    assert status.state == "finished"
    assert status.working_days_left == pytest.approx(1.5)


def test_only_involved_departments_record_opinions() -> None:
    with pytest.raises(PermissionDenied) as caught:
        record_opinion(in_review(), "TAX", "officer-zhao", Verdict.APPROVE, "", local(2026, 11, 24, 9))
    assert caught.value.reason == "NOT_INVOLVED"
    assert "TAX" in caught.value.message


def test_an_outsider_is_refused_in_the_policy_s_words_with_the_case_and_its_department() -> None:
    case = in_review()
    with pytest.raises(PermissionDenied) as caught:
        record_opinion(case, "TAX", "officer-zhao", Verdict.APPROVE, "", local(2026, 11, 24, 9))
    rule = decide_involvement("TAX", case.involved_departments, Thing("case", case.id))
    assert (caught.value.reason, caught.value.message) == (rule.reason, rule.message)
    expected = {"case": case.id, "department": "TAX", "message_key": "not_involved", "what_kind": "case"}
    assert expected.items() <= caught.value.metadata.items()


def test_opinions_are_recorded_only_during_review() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        record_opinion(accepted(), "FIRE", "officer-wang", Verdict.APPROVE, "", local(2026, 11, 24, 9))
    assert caught.value.reason == "NOT_IN_REVIEW"


def test_a_rejection_must_say_why() -> None:
    with pytest.raises(InvalidArgument):
        record_opinion(in_review(), "FIRE", "officer-wang", Verdict.REJECT, " ", local(2026, 11, 24, 9))


def test_a_department_may_revise_its_opinion() -> None:
    case = record_opinion(in_review(), "FIRE", "o1", Verdict.REQUEST_MORE, "exit sign?", local(2026, 11, 24, 9))
    case = record_opinion(case, "FIRE", "o2", Verdict.APPROVE, "", local(2026, 11, 24, 10))
    assert case.opinions["FIRE"].verdict is Verdict.APPROVE
    assert case.opinions["FIRE"].officer == "o2"
    assert [e.kind for e in case.events][-2:] == ["opinion", "opinion"]


def review(*verdicts: tuple[str, Verdict]) -> Case:
    case = in_review()
    for department, verdict in verdicts:
        case = record_opinion(case, department, "officer", verdict, "because", local(2026, 11, 24, 9))
    return case


def test_decision_approves_when_every_involved_department_approved() -> None:
    case = decide(review(("MARKET", Verdict.APPROVE), ("FIRE", Verdict.APPROVE)), LEAD, local(2026, 11, 25, 9))
    assert case.state is CaseState.APPROVED
    assert close(case, LEAD, local(2026, 11, 25, 10)).state is CaseState.CLOSED


def test_decision_rejects_when_one_department_rejected() -> None:
    case = decide(review(("MARKET", Verdict.APPROVE), ("FIRE", Verdict.REJECT)), LEAD, local(2026, 11, 25, 9))
    assert case.state is CaseState.REJECTED


def test_decision_waits_for_every_opinion() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        decide(review(("MARKET", Verdict.APPROVE)), LEAD, local(2026, 11, 25, 9))
    assert caught.value.reason == "REVIEW_PENDING"
    assert "FIRE" in caught.value.message


def test_decision_is_refused_while_a_department_asks_for_more() -> None:
    case = review(("MARKET", Verdict.APPROVE), ("FIRE", Verdict.REQUEST_MORE))
    with pytest.raises(FailedPrecondition) as caught:
        decide(case, LEAD, local(2026, 11, 25, 9))
    assert caught.value.reason == "MORE_REQUESTED"
    assert "FIRE" in caught.value.message


def test_only_the_lead_department_decides() -> None:
    case = review(("MARKET", Verdict.APPROVE), ("FIRE", Verdict.APPROVE))
    with pytest.raises(PermissionDenied):
        decide(case, FIRE, local(2026, 11, 25, 9))


def test_a_correction_during_review_answers_requests_for_more_but_keeps_other_opinions() -> None:
    case = review(("MARKET", Verdict.APPROVE), ("FIRE", Verdict.REQUEST_MORE))
    case = request_correction(case, LEAD, local(2026, 11, 24, 10), ["fire exit photo"])
    case = submit_correction(case, LEAD, local(2026, 11, 24, 12), CALENDAR)
    assert case.state is CaseState.IN_REVIEW
    assert set(case.opinions) == {"MARKET"}


def test_withdrawing_while_awaiting_correction_ends_the_pause() -> None:
    paused = request_correction(accepted(), LEAD, local(2026, 11, 24, 9), ["floor plan"])
    case = withdraw(paused, LEAD, local(2026, 11, 25, 9))
    assert case.state is CaseState.WITHDRAWN
    assert case.paused[-1] == (local(2026, 11, 24, 9), local(2026, 11, 25, 9))


def test_a_case_under_review_cannot_be_closed_before_a_decision() -> None:
    with pytest.raises(FailedPrecondition, match="case is in_review; cannot close"):
        close(in_review(), LEAD, local(2026, 11, 25, 9))


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        accept(submitted(), LEAD, datetime(2026, 11, 23, 9), CALENDAR, time_limit_days=5)
    assert caught.value.reason == "NAIVE_DATETIME"


def test_the_deadline_follows_the_calendar_given_at_acceptance() -> None:
    holiday_friday = WorkingCalendar(holidays=frozenset({date(2026, 11, 27)}))
    case = accept(submitted(), LEAD, MONDAY_9, holiday_friday, time_limit_days=4)
    assert case.deadline == end_of(2026, 11, 30)


def test_every_operation_bumps_the_version_by_one() -> None:
    case = in_review()
    versions = [case.version]
    for step in (
        lambda c: record_opinion(c, "MARKET", "o", Verdict.APPROVE, "", local(2026, 11, 24, 9)),
        lambda c: record_opinion(c, "FIRE", "o", Verdict.APPROVE, "", local(2026, 11, 24, 9)),
        lambda c: decide(c, LEAD, local(2026, 11, 24, 10)),
        lambda c: close(c, LEAD, local(2026, 11, 24, 11)),
    ):
        case = step(case)
        versions.append(case.version)
    assert versions == [3, 4, 5, 6, 7]
    assert len(case.events) == 7


def test_an_unknown_verdict_is_refused_as_bad_input() -> None:
    with pytest.raises(InvalidArgument) as caught:
        record_opinion(in_review(), "FIRE", "o", "maybe", "", local(2026, 11, 24, 9))  # type: ignore[arg-type]
    assert caught.value.reason == "UNKNOWN_VERDICT"
