"""Department names in the reader's language on the console (#16): the citizen report, the department
list and page; the department form records the English name beside the Chinese one."""

from __future__ import annotations

import html
import re

from exchange.audit.entry import AccessLogEntry
from exchange.clock import now_us
from exchange.testing import HubFixture
from tests.integration.console.conftest import Browser

SUBJECT = "110101199003071234"
MNR = {"name": "市规划和自然资源委员会", "name_en": "Municipal Commission of Planning and Natural Resources"}


def _report_rows(body: str) -> list[str]:
    found = re.search(r'<table class="report-table">.*?<tbody>(.*?)</tbody>', body, re.S)
    assert found
    return [
        html.unescape(re.sub(r"<[^>]+>", " ", row)) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)
    ]


def _heading(body: str) -> str:
    found = re.search(r"<h1>(.*?)<small>", body, re.S)
    assert found
    return html.unescape(found.group(1)).strip()


async def test_the_citizen_report_names_departments_in_the_readers_language(browser, console_hub: HubFixture):
    await console_hub.add_department("MNR", **MNR)
    await console_hub.add_department("FIRE", name="朝阳区消防救援支队")  # no English name
    for department in ("MNR", "FIRE"):
        await console_hub.running.hub.record(
            AccessLogEntry(time_us=now_us(), action="exchange.fetch", caller_department=department, subject_id=SUBJECT)
        )
    chinese = browser.another("zh-CN")
    try:
        for reader in (browser, chinese):
            await reader.sign_in("audrey")
        _, english_report = await browser.get(f"/report?subject={SUBJECT}")
        _, chinese_report = await chinese.get(f"/report?subject={SUBJECT}")
    finally:
        await chinese.close()
    english_rows, chinese_rows = _report_rows(english_report), _report_rows(chinese_report)
    assert MNR["name_en"] in english_rows[1] and MNR["name"] not in english_report
    assert "朝阳区消防救援支队" in english_rows[0]
    assert MNR["name"] in chinese_rows[1] and MNR["name_en"] not in chinese_report
    assert "朝阳区消防救援支队" in chinese_rows[0]


async def test_the_department_form_records_the_english_name_and_pages_show_the_readers_one(
    browser, console_hub: HubFixture
):
    await browser.sign_in("root")
    form = {"code": "MNR", **MNR, "level": "city", "region_code": "110100"}
    status, page = await browser.post("/departments", form)
    assert status == 200 and _heading(page) == MNR["name_en"]
    stored = await console_hub.running.registry.get_department("MNR")
    assert (stored.name, stored.name_en) == (MNR["name"], MNR["name_en"])
    # The edit form shows both names to change.
    assert f'name="name_en" value="{MNR["name_en"]}"' in page and f'name="name" value="{MNR["name"]}"' in page
    _, listing = await browser.get("/departments")
    assert MNR["name_en"] in listing and MNR["name"] not in listing

    chinese = browser.another("zh-CN")
    try:
        await chinese.sign_in("root")
        _, listing = await chinese.get("/departments")
        _, page = await chinese.get("/departments/MNR")
    finally:
        await chinese.close()
    assert MNR["name"] in listing and MNR["name_en"] not in listing
    assert _heading(page) == MNR["name"]

    # An emptied English name is removed: English readers then read the Chinese name.
    status, page = await browser.post("/departments", {**form, "name_en": ""})
    assert status == 200 and _heading(page) == MNR["name"]
    assert (await console_hub.running.registry.get_department("MNR")).name_en == ""


async def test_a_chinese_reader_fills_in_the_english_name_under_its_chinese_label(console_hub: HubFixture):
    chinese = Browser.of(console_hub, "zh-CN")
    try:
        await chinese.sign_in("root")
        _, listing = await chinese.get("/departments")
    finally:
        await chinese.close()
    assert re.search(r"英文名称\s*<input name=\"name_en\"", listing)


def _owner_options(body: str) -> list[str]:
    found = re.search(r'<select name="owner">(.*?)</select>', body, re.S)
    assert found
    return [
        html.unescape(option).strip() for option in re.findall(r"<option[^>]*>(.*?)</option>", found.group(1), re.S)
    ]


async def test_the_dataset_forms_owner_list_names_departments_in_the_readers_language(browser, console_hub: HubFixture):
    await console_hub.add_department("MNR", **MNR)
    chinese = browser.another("zh-CN")
    try:
        for reader in (browser, chinese):
            await reader.sign_in("root")
        _, english_form = await browser.get("/catalog/new")
        _, chinese_form = await chinese.get("/catalog/new")
    finally:
        await chinese.close()
    assert f"{MNR['name_en']} (MNR)" in _owner_options(english_form)
    assert f"{MNR['name']} (MNR)" in _owner_options(chinese_form)
