"""Every console page fits a 1366 px laptop and a 390 px phone: nothing wider than the screen, wide tables
scroll inside their own box, and the access log's proof column can always be seen."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.browser.conftest import CASE_ID, SUBJECT, SignIn, Site, shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LAPTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
PAGES = (
    "/",
    "/catalog",
    "/catalog/new",
    "/catalog/identity_record",
    "/catalog/identity_record/edit",
    "/departments",
    "/departments/PSB",
    "/items",
    "/items/new",
    "/items/restaurant_permit",
    "/requests?status=all",
    "/cases",
    f"/cases/{CASE_ID}",
    "/log",
    f"/log?subject={SUBJECT}",
    "/log/entry/0",
    f"/report?subject={SUBJECT}",
    "/supervision",
)
# What sticks out past the right edge of the window (for the failure message).
OVERFLOW = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 0.5 && getComputedStyle(el).position !== "fixed") {
      out.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(box.right)}`);
    }
  }
  return {scrollWidth: document.scrollingElement.scrollWidth, innerWidth: width, out: out.slice(0, 8)};
}"""


async def fits(page: Page, path: str) -> None:
    measured = await page.evaluate(OVERFLOW)
    assert measured["scrollWidth"] <= measured["innerWidth"], (path, measured)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "390"])
async def test_no_page_is_wider_than_the_screen(signed_in_zh: SignIn, site: Site, viewport: ViewportSize):
    page = await signed_in_zh("root")
    await page.set_viewport_size(viewport)
    await fits(page, "/")
    for path in PAGES:
        response = await page.goto(site.base + path)
        assert response is not None and response.status == 200, path
        await fits(page, path)
    if viewport is PHONE:
        await shot(page, "15-citizen-report-phone")


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "390"])
async def test_the_sign_in_page_fits_too(chromium, site: Site, viewport: ViewportSize):
    context = await chromium.new_context(viewport=viewport, locale="zh-CN", ignore_https_errors=True)
    try:
        page = await context.new_page()
        await page.goto(site.base + "/signin")
        await fits(page, "/signin")
    finally:
        await context.close()


async def test_the_log_proof_column_is_visible_on_a_laptop_and_reachable_on_a_phone(signed_in_zh: SignIn, site: Site):
    page = await signed_in_zh("audrey")
    await page.set_viewport_size(LAPTOP)
    await page.goto(f"{site.base}/log?subject={SUBJECT}")
    proof = page.locator("table.log tbody tr").last.locator("td").last
    await expect(proof).to_contain_text("检查点")
    box = await proof.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= LAPTOP["width"]  # no scrolling needed

    await page.set_viewport_size(PHONE)
    await fits(page, "/log")
    await proof.scroll_into_view_if_needed()  # the table scrolls inside its box, the page does not
    box = await proof.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    await expect(proof).to_be_in_viewport()
    await fits(page, "/log")
