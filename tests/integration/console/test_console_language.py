"""The console speaks Chinese first and English on request, and shows Beijing time with its zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from exchange.app import case_records
from exchange.cases.model import Actor, accept, open_case
from exchange.clock import now_us
from tests.integration.console.conftest import Browser

BEIJING = timezone(timedelta(hours=8))


async def test_without_a_preference_the_console_is_chinese(console_hub):
    browser = Browser.of(console_hub, language="")
    try:
        status, body = await browser.get("/signin")
        assert status == 200 and '<html lang="zh-CN">' in body and "登录" in body
        await browser.sign_in("root")
        _, body = await browser.get("/catalog")
        assert "资源目录" in body and "共享申请" in body and "政务服务事项" in body and "Catalog" not in body
    finally:
        await browser.close()


async def test_accept_language_english_gives_english_and_the_switch_overrides_it(browser):
    status, body = await browser.get("/signin")
    assert '<html lang="en">' in body and "Sign in" in body
    switch = re.search(r'href="([^"]*/language\?to=zh-CN[^"]*)"', body)
    assert switch is not None  # the switch is on every page, signed in or not
    await browser.sign_in("root")
    status, body = await browser.get("/language?to=zh-CN&next=/console/items")
    assert status == 200 and '<html lang="zh-CN">' in body and "政务服务事项" in body
    _, body = await browser.get("/catalog")  # the cookie wins over Accept-Language: en
    assert "资源目录" in body
    await browser.get("/language?to=en&next=/console/catalog")
    _, body = await browser.get("/catalog")
    assert '<html lang="en">' in body and "Catalog" in body


async def test_the_switch_never_redirects_outside_the_console(browser):
    await browser.sign_in("root")
    async with browser.session.get(
        browser.base + "/language?to=en&next=https://evil.example/", allow_redirects=False
    ) as response:
        assert response.headers["Location"] == "/console/"


async def test_a_case_deadline_shows_as_23_59_beijing_time_on_its_last_working_day(browser, console_hub):
    await console_hub.register_example_item("restaurant_permit", co_reviewers=[], required_materials=[])
    submitted = datetime(2026, 12, 14, 10, 0, tzinfo=BEIJING)  # a Monday; 2 working days -> Wednesday
    case = open_case(
        case_id="case-deadline",
        service_item="restaurant_permit",
        applicant_id="110101199003071234",
        applicant_kind="person",
        lead_department="SAMR",
        reviewers=[],
        by=Actor("SAMR", "li"),
        now=submitted,
    )
    case = accept(case, Actor("SAMR", "li"), submitted, console_hub.running.hub.calendar, 2)
    async with console_hub.running.hub.db.begin() as conn:
        await case_records.insert_case(conn, case, None, now_us())
    await browser.sign_in("audrey")
    _, body = await browser.get("/cases/case-deadline")
    assert "2026-12-16 23:59 (UTC+8)" in body
    assert "2026-12-14 10:00:00 (UTC+8)" in body  # the timeline, in Beijing time too


async def test_log_filter_times_are_read_as_beijing_time(browser, console_hub):
    from exchange.audit.entry import AccessLogEntry

    at = datetime(2026, 11, 25, 14, 30, tzinfo=BEIJING)
    await console_hub.running.hub.record(
        AccessLogEntry(time_us=int(at.timestamp() * 1e6), action="exchange.fetch", dataset="tz-probe")
    )
    await browser.sign_in("audrey")
    _, inside = await browser.get("/log?dataset=tz-probe&from=2026-11-25T14:00&to=2026-11-25T15:00")
    _, outside = await browser.get("/log?dataset=tz-probe&from=2026-11-25T06:00&to=2026-11-25T07:00")
    assert "2026-11-25 14:30:00 (UTC+8)" in inside and ">tz-probe</td>" not in outside
    assert "From (UTC+8)" in inside


async def test_a_refusal_page_in_chinese_gives_the_policys_specific_reason_in_chinese(console_hub):
    browser = Browser.of(console_hub, language="zh-CN")
    try:
        await browser.sign_in("samr-admin")
        status, body = await browser.get("/catalog/identity_record/edit")
        assert status == 403 and "无法执行此操作" in body
        # Whose dataset it is, who may act on it and for whom the caller acts: the policy's sentence, in Chinese.
        assert (
            "数据资源 identity_record 属于 PSB；只有该部门或平台管理员可以执行此操作（catalog.dataset.register）；"
            "您代表 SAMR。"
        ) in body
        # The policy's English message and the reason code stay as the log has them.
        assert "belongs to PSB" in body and "NOT_OWNER" in body
    finally:
        await browser.close()


async def test_a_refusal_page_in_english_gives_the_policys_specific_reason(console_hub):
    browser = Browser.of(console_hub, language="en")
    try:
        await browser.sign_in("samr-admin")
        status, body = await browser.get("/catalog/identity_record/edit")
        assert status == 403
        assert (
            "dataset identity_record belongs to PSB; only that department or the roles [hub_admin] may do this "
            "(catalog.dataset.register); you act for SAMR"
        ) in body
    finally:
        await browser.close()
