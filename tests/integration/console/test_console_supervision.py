"""The 电子监察 dashboard: Chinese first, charts and figures for supervisors, refused to department admins."""

from __future__ import annotations

import asyncio
import subprocess

from tests.integration.console.conftest import Browser, add_users, seed_case


async def test_supervisor_sees_the_dashboard_in_chinese_with_charts_and_downloads_the_report(browser, console_hub):
    await console_hub.register_example_item("restaurant_permit", co_reviewers=[], required_materials=[])
    await seed_case(console_hub, "case-samr", "110101199003071234", "MARKER-1")
    await add_users(console_hub, ("inspector", "supervisor", "HUB"))
    chinese = Browser.of(console_hub, language="zh-CN")
    try:
        await chinese.sign_in("inspector")
        status, body = await chinese.get("/supervision")
        assert status == 200 and "电子监察" in body and "按部门" in body and "各部门办件量" in body
        assert body.count("<svg") == 3 and "MARKER-1" not in body
        entry = (await console_hub.log_entries())[-1]
        assert (entry.action, entry.decision, entry.officer_id) == (
            "supervision.figures.read",
            "allow",
            "console:inspector",
        )
        status, body = await chinese.get("/cases/case-samr")
        assert status == 200 and "预警" in body and "MARKER-1" not in body
        async with chinese.session.get(chinese.base + "/supervision/report.pdf?period=week") as response:
            assert response.status == 200 and response.content_type == "application/pdf"
            pdf = await response.read()
        text = await asyncio.to_thread(subprocess.run, ["pdftotext", "-", "-"], input=pdf, capture_output=True)
        assert "电子监察报告".encode() in text.stdout
    finally:
        await chinese.close()


async def test_a_department_admin_cannot_open_the_dashboard(browser, console_hub):
    await browser.sign_in("samr-admin")
    status, body = await browser.get("/supervision")
    assert status == 403 and "supervisor" in body
    status, _ = await browser.get("/supervision/report.csv?period=week")
    assert status == 403
