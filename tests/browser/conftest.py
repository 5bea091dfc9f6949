"""One headless Chromium (Debian's, driven by Playwright) and one real hub for the whole browser session.

The hub holds what the pages show: three departments with datasets, console accounts
for each role, a pending access request, a case with a fetched material whose
document carries a marker (auditors must never see it), and access-log entries.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from exchange.audit.entry import AccessLogEntry
from exchange.clock import now_us
from exchange.testing import HubFixture, start_test_hub
from tests.integration.console.conftest import PASSWORD, add_users, file_identity_request, seed_case

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# What only the stored document holds; no console page may ever show it.
DOCUMENT_MARKER = "DOC-CONTENT-7f3a Zhang Sanfeng"
SUBJECT = "110101199003077777"
CASE_ID = "case-browser-1"
AGENCY = "某市政务服务数据管理局"  # heads the citizen report (settings report_agency_*)


@dataclass
class Site:
    hub: HubFixture
    base: str
    request_id: str


async def _seed(hub: HubFixture) -> str:
    for code in ("SAMR", "PSB", "FIRE"):
        await hub.add_department(code)
    for name in ("business_licence", "identity_record", "fire_safety_certificate", "criminal_record"):
        await hub.register_example_dataset(name)
    running = hub.running
    await add_users(hub, ("root", "hub_admin", "HUB"), ("audrey", "auditor", "HUB"))
    await add_users(hub, ("samr-admin", "dept_admin", "SAMR"), ("psb-admin", "dept_admin", "PSB"))
    request_id = await file_identity_request(hub)
    await seed_case(hub, CASE_ID, SUBJECT, DOCUMENT_MARKER)
    await running.hub.record(
        AccessLogEntry(
            time_us=now_us(),
            action="exchange.fetch",
            caller_department="FIRE",
            dataset="criminal_record",
            subject_id=SUBJECT,
            decision="deny",
            reason="DATASET_NOT_SHARED",
        )
    )
    await running.hub.access_log.sign_checkpoint()
    return request_id


# One hub per test file: a file's tests run in their order against what the earlier ones left, and no file
# sees another's entries (the files run in any order, or on different pytest-xdist workers).
@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    hub = await start_test_hub(
        tmp_path_factory.mktemp("browser") / "hub",
        report_agency_name=AGENCY,
        report_agency_address="某市人民路 1 号",
        report_agency_contact="咨询电话 12345",
    )
    try:
        request_id = await _seed(hub)
        yield Site(hub, f"{hub.http_url}/console", request_id)
    finally:
        await hub.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run `sh scripts/ensure-chromium.sh` (make test does)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


SignIn = Callable[[str], Awaitable[Page]]


# The browser's language (its Accept-Language) and the sign-in form's words in it.
SIGN_IN_WORDS = {"en-US": ("Username", "Password", "Sign in"), "zh-CN": ("用户名", "密码", "登录")}


async def _signed_in(chromium: Browser, site: Site, locale: str) -> AsyncIterator[SignIn]:
    """Open a fresh browser context (own cookies, `locale`) and sign in as a user, through the form."""
    contexts = []
    username_label, password_label, button = SIGN_IN_WORDS[locale]

    async def sign_in(username: str) -> Page:
        # The console is HTTPS with a certificate from the test hub's own CA, which Chromium does not know.
        context = await chromium.new_context(
            viewport={"width": 1366, "height": 800}, accept_downloads=True, locale=locale, ignore_https_errors=True
        )
        contexts.append(context)
        page = await context.new_page()
        await page.goto(site.base + "/")
        await page.get_by_label(username_label).fill(username)
        await page.get_by_label(password_label).fill(PASSWORD)
        await page.get_by_role("button", name=button).click()
        await page.wait_for_url(site.base + "/")
        return page

    try:
        yield sign_in
    finally:
        for context in contexts:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def signed_in(chromium: Browser, site: Site) -> AsyncIterator[SignIn]:
    """Sign in with an English browser (the flows in English)."""
    async for sign_in in _signed_in(chromium, site, "en-US"):
        yield sign_in


@pytest_asyncio.fixture(loop_scope="session")
async def signed_in_zh(chromium: Browser, site: Site) -> AsyncIterator[SignIn]:
    """Sign in with a Chinese browser (zh-CN): the console's own language."""
    async for sign_in in _signed_in(chromium, site, "zh-CN"):
        yield sign_in


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot kept in test-artifacts/screenshots/ for a reviewer."""
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
