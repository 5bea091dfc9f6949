"""The case timeline speaks the reader's language: each step and its detail, Chinese first, English complete."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from exchange.app import case_records
from exchange.cases.materials import Material
from exchange.cases.model import (
    Actor,
    accept,
    add_party,
    close,
    decide,
    open_case,
    record_opinion,
    request_correction,
    start_review,
    submit_correction,
)
from exchange.cases.parties import make_party
from exchange.cases.review import Verdict
from exchange.clock import now_us
from tests.integration.console.conftest import Browser

BEIJING = timezone(timedelta(hours=8))
LI = Actor("SAMR", "li")


@pytest.fixture
async def worked_case(console_hub) -> str:
    """A case taken from submission through a correction, acceptance and review to closing."""
    await console_hub.register_example_item("restaurant_permit", co_reviewers=[], required_materials=[])
    calendar = console_hub.running.hub.calendar
    monday = datetime(2026, 12, 14, 10, 0, tzinfo=BEIJING)
    at = [monday + timedelta(minutes=m) for m in range(10)]
    case = open_case(
        case_id="case-steps",
        service_item="restaurant_permit",
        applicant_id="110101199003071234",
        applicant_kind="person",
        lead_department="SAMR",
        reviewers=[],
        by=LI,
        now=at[0],
    )
    case = add_party(case, LI, at[1], make_party("spouse", "11010119900307002X", name="李娜"))
    case = request_correction(case, LI, at[2], ["营业执照副本"])
    case = submit_correction(case, LI, at[3], calendar)
    case = accept(case, LI, at[4], calendar, 2)
    case = start_review(case, LI, at[5])
    case = record_opinion(case, "SAMR", "li", Verdict.APPROVE, "符合条件", at[6])
    case = decide(case, LI, at[7])
    case = close(case, LI, at[8])
    async with console_hub.running.hub.db.begin() as conn:
        await case_records.insert_case(conn, case, None, now_us())
    return case.id


def _timeline(body: str) -> str:
    return body[body.index('<ol class="timeline">') : body.index("</ol>", body.index('<ol class="timeline">'))]


async def test_in_chinese_the_timeline_steps_and_details_are_chinese(console_hub, worked_case):
    browser = Browser.of(console_hub, language="zh-CN")
    try:
        await browser.sign_in("audrey")
        status, body = await browser.get(f"/cases/{worked_case}")
        assert status == 200
        timeline = _timeline(body)
        for said in (
            "提交申请：政务服务事项 restaurant_permit",
            "添加当事人：配偶（李娜）",
            "一次性告知补正：营业执照副本",
            "已补正；恢复为已申请",
            "已受理；承诺时限 2 个工作日，截止 2026-12-16 23:59 (UTC+8)",
            "开始并联审批：SAMR",
            "SAMR：同意（符合条件）",
            "审查后准予许可",
            "已办结（此前状态：已批准）",
        ):
            assert said in timeline, said
        assert "<b>受理</b>" in timeline and "<b>审查意见</b>" in timeline
        for english in ("submitted for", "accepted;", "working days", "after review", "party added"):
            assert english not in timeline, english
    finally:
        await browser.close()


async def test_in_english_the_timeline_is_english(console_hub, worked_case):
    browser = Browser.of(console_hub, language="en")
    try:
        await browser.sign_in("audrey")
        _, body = await browser.get(f"/cases/{worked_case}")
        timeline = _timeline(body)
        for said in (
            "submitted for restaurant_permit",
            "party added: spouse (李娜)",
            "correction requested: 营业执照副本",
            "correction submitted; resumed as submitted",
            "accepted; 2 working days, deadline 2026-12-16 23:59 (UTC+8)",
            "review started by SAMR",
            "SAMR: approve (符合条件)",
            "approved after review",
            "closed after approved",
        ):
            assert said in timeline, said
        assert "<b>accepted</b>" in timeline and "<b>review opinion</b>" in timeline
    finally:
        await browser.close()


async def test_a_material_attached_is_a_step_of_the_console_timeline_as_on_the_wire(console_hub, worked_case):
    material = Material(
        case_id=worked_case,
        dataset="business_licence",
        key="91110105MA01ABCD13",
        version=1,
        digest="d",
        fields=("name",),
        issuer="SAMR",
        dataset_version="1.0",
        issued_at_us=now_us(),
        kid="k",
        signature=b"",
        content_digest="c",
        fetched_at_us=now_us(),
        fetched_by="SAMR/li",
        valid_until_us=0,
        status_code="valid",
        current=True,
    )
    async with console_hub.running.hub.db.begin() as conn:
        await case_records.add_material(conn, material)
    browser = Browser.of(console_hub, language="zh-CN")
    try:
        await browser.sign_in("audrey")
        _, body = await browser.get(f"/cases/{worked_case}")
    finally:
        await browser.close()
    timeline = _timeline(body)
    assert "<b>材料入卷</b>" in timeline and "business_licence 91110105MA01ABCD13" in timeline
