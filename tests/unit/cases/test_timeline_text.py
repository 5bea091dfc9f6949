"""Timeline details are kept as sentences (key and values) and said in the reader's language."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from exchange.cases.codec import case_from_json, case_to_json
from exchange.cases.model import Actor, not_accept, open_case
from exchange.cases.timeline import detail_in, step_in

BEIJING = timezone(timedelta(hours=8))


def _refused_case():
    case = open_case(
        case_id="c1",
        service_item="restaurant_permit",
        applicant_id="110101199003071234",
        applicant_kind="person",
        lead_department="SAMR",
        reviewers=[],
        by=Actor("SAMR", "li"),
        now=datetime(2026, 12, 14, 10, 0, tzinfo=BEIJING),
    )
    return not_accept(case, Actor("SAMR", "li"), datetime(2026, 12, 14, 11, 0, tzinfo=BEIJING), ["材料不齐"])


def test_a_stored_event_keeps_its_sentence_and_reads_in_either_language():
    event = case_from_json(case_to_json(_refused_case())).events[-1]
    assert event.detail == "not accepted: 材料不齐"  # the recorded English stays for machines and the log
    assert detail_in(event, "zh-CN") == "不予受理：材料不齐"
    assert detail_in(event, "en") == "not accepted: 材料不齐"
    assert (step_in(event.kind, "zh-CN"), step_in(event.kind, "en")) == ("不予受理", "not accepted")


def test_an_event_stored_before_events_kept_sentences_reads_as_recorded():
    record = json.loads(case_to_json(_refused_case()))
    for e in record["events"]:
        e.pop("detail_key"), e.pop("values")
    event = case_from_json(json.dumps(record)).events[-1]
    assert detail_in(event, "zh-CN") == "not accepted: 材料不齐"
