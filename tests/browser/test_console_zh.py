"""The console in Chinese in real headless Chromium: the same daily work, and glyphs that really render."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import CASE_ID, DOCUMENT_MARKER, SUBJECT, SignIn, Site, shot
from tests.integration.console.conftest import file_identity_request

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Draws text in the font a page element really uses and returns the alpha channel: equal pictures
# for two different characters mean both fell back to the same "tofu" box (no font has them).
RENDER = """([selector, texts]) => {
  const style = getComputedStyle(document.querySelector(selector));
  const font = `${style.fontWeight} 32px ${style.fontFamily}`;
  return texts.map((text) => {
    const canvas = document.createElement("canvas");
    canvas.width = 120; canvas.height = 48;
    const ctx = canvas.getContext("2d");
    ctx.font = font;
    ctx.fillText(text, 4, 38);
    const alpha = ctx.getImageData(0, 0, canvas.width, canvas.height).data.filter((_, i) => i % 4 === 3);
    return {width: ctx.measureText(text).width, ink: alpha.reduce((a, b) => a + b, 0), picture: alpha.join(",")};
  });
}"""


def nav(page: Page, name: str) -> Locator:
    return page.locator("header.top nav").get_by_role("link", name=name, exact=True)


async def test_chinese_text_renders_as_real_glyphs_not_tofu(signed_in_zh: SignIn):
    page = await signed_in_zh("audrey")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # Two characters of the page, and two private-use code points that no font draws (the tofu reference).
    rendered: list[dict[str, Any]] = await page.evaluate(RENDER, ["h1", ["概", "览", "\ue000", "\ue001"]])
    first, second, tofu, other_tofu = (hashlib.sha256(r["picture"].encode()).hexdigest()[:16] for r in rendered)
    assert tofu == other_tofu  # the reference: a missing glyph looks the same for any character
    assert all(r["ink"] > 0 for r in rendered[:2])
    assert first != second, "two different characters drew the same box: no CJK font (fonts-noto-cjk)"
    assert tofu not in (first, second)
    await shot(page, "zh-01-overview")


async def test_zh_hub_admin_registers_a_dataset(signed_in_zh: SignIn):
    page = await signed_in_zh("root")
    await nav(page, "资源目录").click()
    await page.get_by_role("link", name="登记数据资源").click()
    form = page.locator("form.dataset")
    await form.locator("input[name=code]").fill("food_sampling")
    await form.locator("input[name=title]").fill("食品抽检结果")
    await form.locator("select[name=owner]").select_option("SAMR")
    await form.locator("select[name=sharing_type]").select_option("unconditional")
    await form.locator("input[name=key_field]").fill("sample_id")
    await form.locator('input[name="schema.fields[0].name"]').fill("sample_id")
    await form.locator('input[name="schema.fields[0].type"]').fill("string")
    await form.locator('input[name="schema.fields[0].required"]').check()
    await form.get_by_role("button", name="检查并登记").click()
    await expect(page.get_by_role("status")).to_contain_text("已登记")
    await expect(page.get_by_role("heading", name=re.compile("食品抽检结果"))).to_be_visible()
    await shot(page, "zh-02-dataset")


async def test_zh_department_admin_approves_an_access_request(signed_in_zh: SignIn, site: Site):
    request_id = await file_identity_request(site.hub)  # its own request: the English flow answers the seeded one
    page = await signed_in_zh("psb-admin")
    await nav(page, "共享申请").click()
    request = page.locator(f"#request-{request_id}")
    await expect(request).to_contain_text("identity_record")
    await shot(page, "zh-03-access-requests")
    await request.get_by_label("理由（拒绝时必填）").fill("《食品安全法》第三十五条")
    await request.get_by_role("button", name="同意").click()
    await expect(page.locator(f"#request-{request_id}")).to_contain_text("已同意")


async def test_zh_auditor_follows_a_case_and_prints_a_citizen_report(signed_in_zh: SignIn, site: Site):
    page = await signed_in_zh("audrey")
    await nav(page, "办件").click()
    await page.get_by_role("link", name=CASE_ID).click()
    await expect(page.get_by_role("heading", name="材料")).to_be_visible()
    await expect(page.locator("body")).to_contain_text("(UTC+8)")
    await shot(page, "zh-04-case")
    await nav(page, "访问日志").click()
    await page.get_by_label("数据主体").fill(SUBJECT)
    await page.get_by_role("button", name="筛选").click()
    await expect(page.locator("table.log tbody")).to_contain_text("DATASET_NOT_SHARED")
    await shot(page, "zh-05-access-log")
    await nav(page, "个人数据使用记录").click()
    await page.get_by_label("身份证号或统一社会信用代码").fill(SUBJECT)
    await page.get_by_role("button", name="查询").click()
    report = page.locator("section.report")
    await expect(report.locator("tbody")).to_contain_text("拒绝")  # the refused criminal-record fetch
    await expect(report).to_contain_text("(UTC+8)")
    assert DOCUMENT_MARKER not in await page.content()
    await page.emulate_media(media="print")
    await expect(page.locator("header.top")).to_be_hidden()
    await shot(page, "zh-06-citizen-report-print")


async def test_the_switch_turns_a_chinese_page_english_and_back(signed_in_zh: SignIn):
    page = await signed_in_zh("root")
    await page.locator("nav.language").get_by_role("link", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(nav(page, "Catalog")).to_be_visible()
    await page.locator("nav.language").get_by_role("link", name="中文").click()
    await expect(nav(page, "资源目录")).to_be_visible()
