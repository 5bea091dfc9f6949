"""Parallel review: what the opinions of the involved departments add up to."""

from datetime import UTC, datetime

from exchange.cases.review import Opinion, Verdict, awaiting_opinion, review_outcome

INVOLVED = ("MARKET", "FIRE", "HEALTH")
AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def opinions(**verdicts: Verdict) -> dict[str, Opinion]:
    return {d: Opinion(d, f"{d.lower()}-officer", v, "reason", AT) for d, v in verdicts.items()}


def test_approved_when_every_involved_department_approved() -> None:
    given = opinions(MARKET=Verdict.APPROVE, FIRE=Verdict.APPROVE, HEALTH=Verdict.APPROVE)
    assert review_outcome(INVOLVED, given) == "approved"


def test_one_rejection_rejects_even_when_others_approved_or_asked_for_more() -> None:
    given = opinions(MARKET=Verdict.APPROVE, FIRE=Verdict.REJECT, HEALTH=Verdict.REQUEST_MORE)
    assert review_outcome(INVOLVED, given) == "rejected"


def test_one_request_for_more_without_rejection_means_more_requested() -> None:
    given = opinions(MARKET=Verdict.APPROVE, FIRE=Verdict.REQUEST_MORE)
    assert review_outcome(INVOLVED, given) == "more_requested"


def test_pending_while_some_department_has_not_given_an_opinion() -> None:
    given = opinions(MARKET=Verdict.APPROVE, FIRE=Verdict.APPROVE)
    assert review_outcome(INVOLVED, given) == "pending"
    assert awaiting_opinion(INVOLVED, given) == ("HEALTH",)


def test_pending_with_no_opinions_at_all() -> None:
    assert review_outcome(INVOLVED, {}) == "pending"


def test_opinions_of_departments_not_involved_do_not_count() -> None:
    given = opinions(MARKET=Verdict.APPROVE, FIRE=Verdict.APPROVE, HEALTH=Verdict.APPROVE, TAX=Verdict.REJECT)
    assert review_outcome(INVOLVED, given) == "approved"
