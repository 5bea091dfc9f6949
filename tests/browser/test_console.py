"""The console in real headless Chromium: what administrators and auditors do, page by page."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import CASE_ID, DOCUMENT_MARKER, SUBJECT, SignIn, Site, shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


def nav(page: Page, name: str) -> Locator:
    """A link of the navigation bar (the overview's tiles have similar names)."""
    return page.locator("header.top nav").get_by_role("link", name=name, exact=True)


async def test_a_stranger_is_sent_to_sign_in_and_a_wrong_password_is_refused(chromium, site: Site):
    context = await chromium.new_context(
        viewport={"width": 1366, "height": 800}, locale="en-US", ignore_https_errors=True
    )
    try:
        page = await context.new_page()
        await page.goto(site.base + "/catalog")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await shot(page, "en-01-sign-in")
        await page.get_by_label("Username").fill("root")
        await page.get_by_label("Password").fill("not the password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("username or password is wrong")
    finally:
        await context.close()


async def test_hub_admin_registers_a_dataset_from_the_form_after_fixing_the_field_at_fault(signed_in: SignIn):
    page = await signed_in("root")
    await shot(page, "en-02-overview")
    await nav(page, "Catalog").click()
    await shot(page, "en-03-catalog")
    await page.get_by_role("link", name="Register a dataset").click()
    form = page.locator("form.dataset")
    await form.locator("input[name=code]").fill("food_inspection")
    await form.locator("input[name=title]").fill("Food safety inspection")
    await form.locator("select[name=owner]").select_option("SAMR")
    await form.locator("select[name=sharing_type]").select_option("conditional")
    await form.locator("input[name=key_field]").fill("inspection_id")
    await form.locator('input[name="schema.fields[0].name"]').fill("inspection_id")
    await form.locator('input[name="schema.fields[0].type"]').fill("string")
    await form.locator('input[name="schema.fields[0].required"]').check()
    await expect(form.locator("select[name=status]")).to_have_value("draft")
    await form.get_by_role("button", name="Add a field").click()
    await form.locator('input[name="schema.fields[1].name"]').fill("inspected_on")
    await form.locator('input[name="schema.fields[1].type"]').fill("datetime")
    await form.get_by_role("button", name="Check and register").click()

    # Each error sits in the label of its own input.
    legal = page.locator("label", has=page.locator("input[name=legal_basis]"))
    await expect(legal.locator(".field-error")).to_contain_text("required when sharing_type is conditional")
    type_cell = page.locator("td", has=page.locator('input[name="schema.fields[1].type"]'))
    await expect(type_cell.locator(".field-error")).to_be_visible()
    await expect(page.locator('input[name="schema.fields[1].name"]')).to_have_value("inspected_on")
    await shot(page, "en-04-dataset-form-error")

    await page.locator("input[name=legal_basis]").fill("Food Safety Law art. 110")
    await page.locator('input[name="schema.fields[1].type"]').fill("date32")
    await page.locator('select[name="schema.fields[1].sensitivity"]').select_option("public")
    await page.get_by_role("button", name="Check and register").click()
    await expect(page.get_by_role("status")).to_contain_text("Registered")
    await expect(page.get_by_role("heading", name=re.compile("Food safety inspection"))).to_be_visible()
    await page.goto(page.url.split("?")[0].replace("food_inspection", "business_licence"))
    await expect(page.locator(".badge.s-sensitive").first).to_be_visible()
    await shot(page, "en-05-dataset")
    await nav(page, "Departments").click()
    await shot(page, "en-06-departments")
    await page.get_by_role("link", name="SAMR", exact=True).click()
    await expect(page.get_by_role("heading", name="Keys")).to_be_visible()
    await shot(page, "en-07-department-keys")


async def test_department_admin_approves_an_access_request_for_its_dataset(signed_in: SignIn, site: Site):
    page = await signed_in("psb-admin")
    await nav(page, "Access requests").click()
    request = page.locator(f"#request-{site.request_id}")
    await expect(request).to_contain_text("identity_record")
    await shot(page, "en-08-access-requests")
    await request.get_by_label("Reason").fill("Food Safety Law art. 35 allows it")
    await request.get_by_role("button", name="Approve").click()
    approved = page.locator(f"#request-{site.request_id}")
    await expect(approved).to_contain_text("Approved")
    await expect(approved).to_contain_text("grant")


async def test_auditor_finds_the_entry_of_a_subject_in_the_log_and_exports_it(signed_in: SignIn, tmp_path):
    page = await signed_in("audrey")
    await nav(page, "Access log").click()
    await page.get_by_label("Subject").fill(SUBJECT)
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.log tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("DATASET_NOT_SHARED")
    await expect(rows.last).to_contain_text("in checkpoint")
    await page.get_by_role("button", name="Verify now").click()
    await expect(page.get_by_role("status")).to_contain_text("Verified")
    await shot(page, "en-09-access-log")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Export CSV").click()
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    exported = saved.read_text(encoding="utf-8")
    assert exported.count(SUBJECT) == 2 and DOCUMENT_MARKER not in exported
    await rows.last.get_by_role("link").click()  # the entry's own page: every field and its proof
    await expect(page.get_by_role("heading", name="Proof")).to_be_visible()
    await expect(page.locator("p.proof-verified")).to_contain_text("in checkpoint")
    await shot(page, "en-10-log-entry")

    await nav(page, "Citizen report").click()
    await page.get_by_label("Person or company id").fill(SUBJECT)
    await page.get_by_role("button", name="Show report").click()
    await expect(page.locator("section.report tbody tr")).to_have_count(2)
    actions = page.locator("section.report tbody td.action")
    await expect(actions).to_have_text(
        ["refused (fetched from the issuing department)", "fetched from the issuing department"]
    )
    await shot(page, "en-10-citizen-report")
    await page.emulate_media(media="print")
    await expect(page.locator("header.top")).to_be_hidden()
    await shot(page, "en-11-citizen-report-print")


async def test_an_auditor_never_sees_document_contents(signed_in: SignIn, site: Site):
    page = await signed_in("audrey")
    await nav(page, "Cases").click()
    await shot(page, "en-12-cases")
    await page.get_by_role("link", name=CASE_ID).click()
    await expect(page.locator("table").filter(has_text="identity_record")).to_be_visible()
    await shot(page, "en-13-case")
    visited = [page.url]
    for path in ("/log", f"/log?subject={SUBJECT}", f"/log?case={CASE_ID}", f"/report?subject={SUBJECT}", "/"):
        await page.goto(site.base + path)
        visited.append(page.url)
        assert DOCUMENT_MARKER not in await page.content(), path
    assert DOCUMENT_MARKER not in await page.content()
    assert len(visited) == 6
