"""The console's log-entry page, charts that follow every filter, the dataset form's rows and default,
the overdue tile and the citizen report, over HTTP against a real hub."""

from __future__ import annotations

import html
import re

from exchange.audit.entry import AccessLogEntry
from exchange.audit.merkle import verify_inclusion
from exchange.auth.identity import Caller, Role
from exchange.cases.lifecycle import CaseAction
from exchange.clock import now_us
from exchange.storage import tables as t
from exchange.testing import HubFixture
from tests.integration.console.conftest import Browser, file_identity_request, seed_case

SUBJECT = "110101199003071234"


async def _record(hub: HubFixture, action: str = "exchange.fetch", **fields) -> int:
    receipt = await hub.running.hub.record(AccessLogEntry(time_us=now_us(), action=action, **fields))
    return receipt.index


def _found(pattern: str, text: str) -> str:
    """The first group of a pattern that must match."""
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return match.group(1)


def _rows(body: str, table: str) -> list[str]:
    """The text of each body row of a table (tags dropped, entities decoded)."""
    found = re.search(rf'<table class="{table}">.*?<tbody>(.*?)</tbody>', body, re.S)
    assert found, table
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", row)) for row in rows]


async def test_a_log_entry_opens_from_the_list_with_all_its_fields_and_a_proof_that_checks(browser, console_hub):
    index = await _record(
        console_hub,
        request_id="req-7f3a",
        caller_department="SAMR",
        officer_id="li",
        officer_role="officer",
        dataset="identity_record",
        dataset_version="1.0",
        subject_id=SUBJECT,
        case_id="case-9",
        service_item="restaurant_permit",
        fields=("resident_id", "name"),
        latency_us=1234,
        response_digest="ab" * 32,
        details={"purpose_note": "window 3"},
    )
    checkpoint = await console_hub.running.hub.access_log.sign_checkpoint()
    await browser.sign_in("audrey")
    _, listing = await browser.get(f"/log?dataset=identity_record&subject={SUBJECT}")
    assert f'href="/console/log/entry/{index}"' in listing

    status, body = await browser.get(f"/log/entry/{index}")
    assert status == 200
    for shown in ("req-7f3a", "SAMR", "li (officer)", "identity_record", SUBJECT, "case-9", "restaurant_permit"):
        assert shown in body, shown
    assert "resident_id, name" in body and "ab" * 32 in body and "purpose_note" in body and "window 3" in body
    assert f"✓ in checkpoint {checkpoint.checkpoint.size}" in body
    assert f"exchange audit check-proof entry-{index}.proof --key" in body
    # The path on the page leads from the entry's leaf to the signed root: anyone can redo the hashing.
    leaf = bytes.fromhex(_found(r"Leaf hash</dt><dd><code class=\"hash\">([0-9a-f]{64})", body))
    root = bytes.fromhex(_found(r"Signed root hash</dt><dd><code class=\"hash\">([0-9a-f]{64})", body))
    path = _found(r'<ol class="proof-path">(.*?)</ol>', body)
    hashes = [bytes.fromhex(h) for h in re.findall(r"[0-9a-f]{64}", path)]
    assert root == checkpoint.checkpoint.root_hash
    verify_inclusion(leaf, index, checkpoint.checkpoint.size, hashes, root)

    # Reading an entry is oversight, logged like the other reads of the log; the person is not its subject.
    read = (await console_hub.log_entries())[-1]
    assert (read.action, read.decision, read.outcome) == ("audit.entry.read", "allow", "OK")
    assert (read.caller_department, read.officer_id) == ("HUB", "console:audrey") and "auditor" in read.officer_role
    assert read.details["index"] == str(index) and read.subject_id == ""


async def test_an_entry_not_yet_in_a_checkpoint_says_so_and_a_missing_one_is_a_404(browser, console_hub):
    index = await _record(console_hub, caller_department="SAMR", subject_id=SUBJECT)
    await browser.sign_in("audrey")
    status, body = await browser.get(f"/log/entry/{index}")
    assert status == 200 and "awaiting next checkpoint" in body and 'class="proof-path"' not in body
    status, body = await browser.get("/log/entry/999999")
    assert status == 404 and "ENTRY_NOT_FOUND" in body and "no entry #999999" in body


async def test_department_admins_cannot_open_a_log_entry(browser, console_hub):
    index = await _record(console_hub, caller_department="SAMR", subject_id=SUBJECT)
    await browser.sign_in("samr-admin")
    status, body = await browser.get(f"/log/entry/{index}")
    assert status == 403 and "ROLE_NOT_ALLOWED" in body
    refused = (await console_hub.log_entries())[-1]
    assert (refused.action, refused.decision, refused.reason) == ("audit.entry.read", "deny", "ROLE_NOT_ALLOWED")
    assert (refused.outcome, refused.officer_id, refused.subject_id) == ("PERMISSION_DENIED", "console:samr-admin", "")


async def test_the_charts_count_only_the_entries_every_filter_keeps(browser, console_hub):
    for subject, decision in ((SUBJECT, "allow"), (SUBJECT, "deny"), ("someone-else", "allow")):
        await _record(
            console_hub, caller_department="SAMR", dataset="identity_record", subject_id=subject, decision=decision
        )
    await _record(console_hub, caller_department="PSB", dataset="identity_record", subject_id=SUBJECT)
    await browser.sign_in("audrey")

    def bars(body: str) -> dict[str, int]:
        """Entries per department in the accesses chart (one hour: the entries were just recorded)."""
        found: dict[str, int] = {}
        for dept, n in re.findall(r"<rect [^>]*><title>(\w+) \d\d-\d\d \d\d:\d\d: (\d+)</title>", body):
            found[dept] = found.get(dept, 0) + int(n)
        return found

    def denial_shares(body: str) -> list[str]:
        return re.findall(r"<circle [^>]*><title>\d\d-\d\d \d\d:\d\d: (\d+%)</title>", body)

    _, body = await browser.get(f"/log?subject={SUBJECT}&department=SAMR")
    assert bars(body) == {"SAMR": 2} and denial_shares(body) == ["50%"]
    _, body = await browser.get(f"/log?subject={SUBJECT}&decision=allow")
    assert bars(body) == {"PSB": 1, "SAMR": 1} and denial_shares(body) == ["0%"]
    _, body = await browser.get("/log?case=no-such-case")
    assert bars(body) == {} and denial_shares(body) == []


async def test_the_dataset_form_starts_as_a_draft_with_one_empty_row_and_adds_rows_without_javascript(browser):
    await browser.sign_in("root")
    _, body = await browser.get("/catalog/new")
    assert re.search(r'<select name="status">.*?<option selected>draft</option>', body, re.S)
    assert 'name="schema.fields[0].name"' in body and 'name="schema.fields[1].name"' not in body
    form = {
        "editing": "0",
        "code": "food_sampling",
        "title": "Food sampling",
        "schema.fields[0].name": "sample_id",
        "schema.fields[0].type": "string",
        "add_field": "1",
    }
    status, body = await browser.post("/catalog/save", form)
    assert status == 200 and 'value="sample_id"' in body and 'value="Food sampling"' in body
    assert 'name="schema.fields[1].name" value=""' in body and 'name="schema.fields[2].name"' not in body
    # Asking again while the new row is still empty adds one more rather than nothing.
    more = {**form, "schema.fields[1].name": "", "schema.fields[1].type": ""}
    _, body = await browser.post("/catalog/save", more)
    assert 'name="schema.fields[2].name" value=""' in body and 'name="schema.fields[3].name"' not in body


async def test_a_dataset_registered_from_the_blank_form_is_a_draft(browser, console_hub):
    await browser.sign_in("root")
    _, body = await browser.get("/catalog/new")
    # Each select's preselected option, never reading past its own </select> (a select may have none).
    chosen = dict(re.findall(r'<select name="(\w+)">(?:(?!</select>).)*?<option selected>([^<]*)</option>', body, re.S))
    form = {
        "editing": "0",
        **chosen,
        "code": "food_sampling",
        "title": "Food sampling",
        "owner": "SAMR",
        "key_field": "sample_id",
        "version": "1.0",
        "schema.fields[0].name": "sample_id",
        "schema.fields[0].type": "string",
        "schema.fields[0].sensitivity": "internal",
        "schema.fields[0].required": "on",
    }
    status, body = await browser.post("/catalog/save", form)
    assert status == 200 and "Registered" in body, body[-2000:]
    ds = await console_hub.running.registry.get_dataset("food_sampling")
    assert ds.status.value == "draft"


async def test_the_overview_counts_overdue_cases_and_requests_and_links_to_them(browser, console_hub):
    await console_hub.add_department("FIRE")
    request_id = await file_identity_request(console_hub)
    await seed_case(console_hub, "case-late", SUBJECT, "MARKER-1")
    await seed_case(console_hub, "case-fire", SUBJECT, "MARKER-2", lead="FIRE", reviewers=())
    async with console_hub.hub.db.begin() as conn:
        await conn.execute(t.access_requests.update().values(answer_due_us=now_us() - 1))
    # Both cases accepted (their clocks start), then the desk's clock moves two months on.
    desk = console_hub.running.app.cases
    for case_id, lead in (("case-late", "SAMR"), ("case-fire", "FIRE")):
        await desk.transition(Caller(lead, "li", frozenset({Role.OFFICER}), "t", 0), case_id, CaseAction.ACCEPT, 1)
    desk.clock = lambda: now_us() + 60 * 24 * 3600 * 1_000_000
    await browser.sign_in("audrey")
    _, body = await browser.get("/")
    tile = _found(r'<div class="tile overdue-tile late" id="overdue">(.*?)</div>', body)
    assert re.search(r'href="/console/cases\?overdue=on"><b>2</b>', tile)
    assert re.search(r'href="/console/requests\?status=overdue"><b>1</b>', tile)
    _, listed = await browser.get("/requests?status=overdue")
    assert f'id="request-{request_id}"' in listed
    _, listed = await browser.get("/cases?overdue=on")
    assert "case-late" in listed and "case-fire" in listed
    # A department admin's tile counts its own department's work only.
    samr = browser.another()
    try:
        await samr.sign_in("samr-admin")
        _, body = await samr.get("/")
        tile = _found(r'id="overdue">(.*?)</div>', body)
        assert re.search(r"overdue=on\"><b>1</b>", tile) and re.search(r"status=overdue\"><b>0</b>", tile)
    finally:
        await samr.close()


async def test_the_citizen_report_is_newest_first_with_an_action_column_under_the_agency_header(tmp_path):
    from exchange.testing import start_test_hub
    from tests.integration.console.conftest import add_users

    hub = await start_test_hub(
        tmp_path / "hub",
        report_agency_name="某市政务服务数据管理局",
        report_agency_address="人民路 1 号",
        report_agency_contact="12345",
    )
    browser = Browser.of(hub, "zh-CN")
    try:
        await hub.add_department("SAMR")
        await add_users(hub, ("audrey", "auditor", "HUB"))
        await _record(hub, caller_department="SAMR", subject_id=SUBJECT, action="cases.read")
        await _record(hub, caller_department="SAMR", subject_id=SUBJECT, decision="deny", reason="NO_GRANT")
        await _record(hub, caller_department="SAMR", subject_id=SUBJECT)
        await browser.sign_in("audrey")
        _, body = await browser.get(f"/report?subject={SUBJECT}")
        assert "某市政务服务数据管理局" in body and "人民路 1 号 · 12345" in body
        rows = _rows(body, "report-table")
        refs = [int(n) for row in rows for n in re.findall(r"#(\d+)", row)]
        assert refs == sorted(refs, reverse=True) and len(refs) == 3
        assert "从数据提供部门调取" in rows[0] and "拒绝（从数据提供部门调取）" in rows[1] and "在办件中查阅" in rows[2]
    finally:
        await browser.close()
        await hub.stop()
