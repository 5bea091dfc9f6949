"""Correction tickets in the console, Chinese first: opened from a case material, answered by the issuer."""

from __future__ import annotations

import re

from tests.integration.console.conftest import Browser, seed_case

SUBJECT = "110101199003071234"


async def test_a_ticket_opened_from_a_case_material_is_answered_by_the_issuer_and_flags_the_case(browser, console_hub):
    await console_hub.register_example_item("restaurant_permit", co_reviewers=[], required_materials=[])
    await seed_case(console_hub, "case-samr", SUBJECT, "MARKER-1")
    samr = Browser.of(console_hub, language="zh-CN")
    psb = Browser.of(console_hub, language="zh-CN")
    try:
        await samr.sign_in("samr-admin")
        status, body = await samr.get("/cases/case-samr")
        assert status == 200 and "报告 identity_record 中的错误" in body
        status, body = await samr.post(
            "/cases/case-samr/materials/identity_record/tickets",
            {"fields": "name", "reason": "姓名与户籍不符", "evidence_text": "户籍证明", "evidence_digest": ""},
        )
        assert status == 200 and "校核纠错单" in body and "姓名与户籍不符" in body
        found = re.search(r'id="ticket-(tk-[0-9a-f]+)"', body)
        assert found is not None
        ticket_id = found.group(1)
        opened = (await console_hub.log_entries())[-2]  # the list page's read follows
        assert (opened.action, opened.decision, opened.subject_id, opened.caller_department) == (
            "tickets.open",
            "allow",
            SUBJECT,
            "SAMR",
        )

        await psb.sign_in("psb-admin")
        status, body = await psb.get("/tickets")
        assert status == 200 and ticket_id in body and "提交答复" in body and "经核无误" in body
        status, body = await psb.post(f"/tickets/{ticket_id}/answer", {"answer": "corrected", "reason": "已更正"})
        assert status == 200 and "已更正" in body and "已通知在办案件：1" in body

        status, body = await samr.get("/cases/case-samr")
        assert status == 200 and "签发部门答复纠错单" in body and "corrected" in body
        # SAMR may not answer a ticket on PSB's data: refused, logged, shown as a page.
        status, body = await samr.post(f"/tickets/{ticket_id}/answer", {"answer": "no_error", "reason": "x"})
        assert status == 403
        entry = (await console_hub.log_entries())[-1]
        assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.subject_id) == (
            "tickets.answer",
            "deny",
            "NOT_ISSUER",
            "PERMISSION_DENIED",
            SUBJECT,
        )
    finally:
        await samr.close()
        await psb.close()
