"""The case page names the applicant, not only the applicant's identifier."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from exchange.app import case_records
from exchange.cases.model import Actor, open_case
from exchange.clock import now_us

BEIJING = timezone(timedelta(hours=8))


async def test_the_case_page_shows_the_applicants_name_beside_the_id(browser, console_hub):
    await console_hub.register_example_item("restaurant_permit", co_reviewers=[], required_materials=[])
    case = open_case(
        case_id="case-named",
        service_item="restaurant_permit",
        applicant_id="110101199003071234",
        applicant_kind="person",
        lead_department="SAMR",
        reviewers=[],
        by=Actor("SAMR", "li"),
        now=datetime(2026, 12, 14, 10, 0, tzinfo=BEIJING),
        applicant_name="王伟",
    )
    async with console_hub.running.hub.db.begin() as conn:
        await case_records.insert_case(conn, case, None, now_us())
    await browser.sign_in("audrey")
    status, body = await browser.get("/cases/case-named")
    assert status == 200
    assert "<strong>王伟</strong> · 110101199003071234" in body
