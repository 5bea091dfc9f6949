"""The console in Chinese in real headless Chromium: the same daily work, and glyphs that really render."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import AGENCY, CASE_ID, DOCUMENT_MARKER, SUBJECT, SignIn, Site, shot
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


async def test_zh_a_stranger_is_sent_to_sign_in_and_a_wrong_password_is_refused(chromium, site: Site):
    context = await chromium.new_context(
        viewport={"width": 1366, "height": 800}, locale="zh-CN", ignore_https_errors=True
    )
    try:
        page = await context.new_page()
        await page.goto(site.base + "/catalog")
        await expect(page.get_by_role("heading", name="登录")).to_be_visible()
        await shot(page, "01-sign-in")
        await page.get_by_label("用户名").fill("root")
        await page.get_by_label("密码").fill("not the password")
        await page.get_by_role("button", name="登录").click()
        await expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    finally:
        await context.close()


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
    overdue = page.locator("#overdue")
    await expect(overdue.get_by_role("link", name=re.compile("件办件超过办理时限"))).to_have_attribute(
        "href", re.compile(r"/cases\?overdue=on$")
    )
    await expect(overdue.get_by_role("link", name=re.compile("件共享申请超过答复期限"))).to_be_visible()
    await shot(page, "02-overview")


async def test_zh_hub_admin_registers_a_dataset(signed_in_zh: SignIn):
    page = await signed_in_zh("root")
    await nav(page, "资源目录").click()
    await shot(page, "03-catalog")
    await page.get_by_role("link", name="登记数据资源").click()
    form = page.locator("form.dataset")
    await expect(form.locator("select[name=status]")).to_have_value("draft")  # published is a later decision
    await expect(form.locator('input[name="schema.fields[1].name"]')).to_have_count(0)  # one empty row
    await form.locator("input[name=code]").fill("food_sampling")
    await form.locator("input[name=title]").fill("食品抽检结果")
    await form.locator("select[name=owner]").select_option("SAMR")
    await form.locator("select[name=sharing_type]").select_option("conditional")
    await form.locator("input[name=key_field]").fill("sample_id")
    await form.locator('input[name="schema.fields[0].name"]').fill("sample_id")
    await form.locator('input[name="schema.fields[0].type"]').fill("string")
    await form.locator('input[name="schema.fields[0].required"]').check()
    await form.get_by_role("button", name="添加信息项").click()
    await form.locator('input[name="schema.fields[1].name"]').fill("sampled_on")
    await form.locator('input[name="schema.fields[1].type"]').fill("date32")
    await form.get_by_role("button", name="检查并登记").click()
    # Conditional sharing needs its legal basis: the error sits next to that input, the rows are kept.
    legal = page.locator("label", has=page.locator("input[name=legal_basis]"))
    await expect(legal.locator(".field-error")).to_be_visible()
    await expect(page.locator('input[name="schema.fields[1].name"]')).to_have_value("sampled_on")
    await shot(page, "04-dataset-form-error")
    await page.locator("input[name=legal_basis]").fill("《食品安全法》第八十七条")
    await page.get_by_role("button", name="检查并登记").click()
    await expect(page.get_by_role("status")).to_contain_text("已登记")
    await expect(page.get_by_role("heading", name=re.compile("食品抽检结果"))).to_be_visible()
    await expect(page.locator("table").first).to_contain_text("sampled_on")
    await shot(page, "05-dataset")
    await nav(page, "部门").click()
    await shot(page, "06-departments")
    await page.get_by_role("link", name="SAMR", exact=True).click()
    await expect(page.get_by_role("heading", name="密钥", exact=True)).to_be_visible()
    await shot(page, "07-department-keys")


async def test_zh_department_admin_approves_an_access_request(signed_in_zh: SignIn, site: Site):
    request_id = await file_identity_request(site.hub)  # its own request: the English flow answers the seeded one
    page = await signed_in_zh("psb-admin")
    await nav(page, "共享申请").click()
    request = page.locator(f"#request-{request_id}")
    await expect(request).to_contain_text("identity_record")
    await shot(page, "08-access-requests")
    await request.get_by_label("理由（拒绝时必填）").fill("《食品安全法》第三十五条")
    await request.get_by_role("button", name="同意").click()
    await expect(page.locator(f"#request-{request_id}")).to_contain_text("已同意")


async def test_zh_auditor_follows_a_case_and_prints_a_citizen_report(signed_in_zh: SignIn, site: Site):
    page = await signed_in_zh("audrey")
    await nav(page, "办件").click()
    await shot(page, "13-cases")
    await page.get_by_role("link", name=CASE_ID).click()
    await expect(page.get_by_role("heading", name="材料")).to_be_visible()
    await expect(page.locator("body")).to_contain_text("(UTC+8)")
    await shot(page, "14-case")
    await nav(page, "访问日志").click()
    await page.get_by_label("数据主体").fill(SUBJECT)
    await page.get_by_role("button", name="筛选").click()
    rows = page.locator("table.log tbody tr")
    await expect(page.locator("table.log tbody")).to_contain_text("DATASET_NOT_SHARED")
    await page.get_by_role("button", name="立即核验").click()
    await expect(page.get_by_role("status")).to_be_visible()
    await shot(page, "09-access-log")
    # The oldest entry of the person (the case's fetch) is under the checkpoint: open it and see its proof.
    await rows.last.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="包含性证明")).to_be_visible()
    await expect(page.locator("p.proof-verified")).to_contain_text("已包含于检查点")
    await expect(page.locator("body")).to_contain_text("exchange audit check-proof")
    await shot(page, "10-log-entry")
    await nav(page, "个人数据使用记录").click()
    await page.get_by_label("身份证号或统一社会信用代码").fill(SUBJECT)
    await page.get_by_role("button", name="查询").click()
    report = page.locator("section.report")
    await expect(report.locator("tbody td.action").filter(has_text="拒绝")).to_have_text("拒绝（从数据提供部门调取）")
    await expect(report.locator("tbody tr").last.locator("td.action")).to_have_text("从数据提供部门调取")
    refs = [int(ref.strip("#")) for ref in await report.locator("tbody tr td:last-child").all_inner_texts()]
    assert refs == sorted(refs, reverse=True)  # newest first: the case's fetch, seeded first, comes last
    await expect(report).to_contain_text("(UTC+8)")
    assert DOCUMENT_MARKER not in await page.content()
    await shot(page, "11-citizen-report")
    await page.emulate_media(media="print")
    await expect(page.locator("header.top")).to_be_hidden()
    await expect(page.locator("form.filters")).to_be_hidden()
    await expect(report.locator("thead")).to_contain_text("使用方式")
    await expect(report.locator("header.report-head")).to_contain_text(AGENCY)
    await shot(page, "12-citizen-report-print")


async def test_the_switch_turns_a_chinese_page_english_and_back(signed_in_zh: SignIn):
    page = await signed_in_zh("root")
    await page.locator("nav.language").get_by_role("link", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(nav(page, "Catalog")).to_be_visible()
    await page.locator("nav.language").get_by_role("link", name="中文").click()
    await expect(nav(page, "资源目录")).to_be_visible()
