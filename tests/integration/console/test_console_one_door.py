"""Issue #14, "one door": every console read of the access log is recorded by the one recorder, under the
name of the operation the route asks for, whatever the filter."""

from __future__ import annotations

from exchange.testing import HubFixture
from tests.integration.console.conftest import Browser


async def _new_entries(hub: HubFixture, since: int) -> list:
    return [e for e in await hub.log_entries() if e.index >= since]


async def _size(hub: HubFixture) -> int:
    return len(await hub.log_entries())


async def test_reading_the_log_page_without_a_filter_is_recorded_as_audit_entries_query(
    browser: Browser, console_hub: HubFixture
) -> None:
    assert (await browser.sign_in("audrey"))[0] == 200
    since = await _size(console_hub)
    status, _ = await browser.get("/log")
    assert status == 200
    mine = [e for e in await _new_entries(console_hub, since) if e.action == "audit.entries.query"]
    assert [(e.decision, e.outcome, e.officer_id, e.officer_role, e.caller_department) for e in mine] == [
        ("allow", "OK", "console:audrey", "auditor", "HUB")
    ]


async def test_verifying_the_log_from_the_console_is_recorded_as_audit_log_verify(
    browser: Browser, console_hub: HubFixture
) -> None:
    assert (await browser.sign_in("audrey"))[0] == 200
    await browser.get("/log")
    since = await _size(console_hub)
    status, _ = await browser.post("/log/verify", {})
    assert status == 200
    actions = [(e.action, e.decision, e.outcome) for e in await _new_entries(console_hub, since)]
    assert ("audit.log.verify", "allow", "OK") in actions
