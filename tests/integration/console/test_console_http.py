"""The console over HTTP against a real hub: sign-in, CSRF, department isolation, forms, the log and its export."""

from __future__ import annotations

import html
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from exchange.app.console_accounts import MAX_FAILURES
from exchange.audit.entry import AccessLogEntry
from exchange.clock import now_us
from exchange.console.pages_log import PAGE_SIZE
from exchange.testing import ensure_test_pki, start_test_hub
from tests.integration.console.conftest import PASSWORD, Browser, add_users, file_identity_request, seed_case

ROOT = Path(__file__).resolve().parents[3]


async def test_sign_in_sets_a_strict_http_only_session_cookie_and_sign_out_ends_the_session(browser, console_hub):
    status, _ = await browser.get("/catalog", allow_redirects=False)
    assert status == 303
    async with browser.session.post(
        browser.base + "/signin",
        data={"username": "root", "password": PASSWORD, "csrf_token": await _signin_token(browser)},
        allow_redirects=False,
    ) as response:
        assert response.status == 303
        cookie = response.cookies["exchange_console"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/console/"
        assert cookie["secure"]  # the console is served over HTTPS: the cookie never travels in plain text
    status, body = await browser.get("/catalog")
    assert status == 200 and "business_licence" in body
    status, _ = await browser.post("/signout", {})
    assert status == 200  # followed the redirect to the sign-in page
    status, _ = await browser.get("/catalog", allow_redirects=False)
    assert status == 303


async def _signin_token(browser: Browser) -> str:
    await browser.get("/signin")
    return browser.csrf


async def test_a_form_posted_without_its_csrf_token_is_refused(browser):
    await browser.sign_in("root")
    status, body = await browser.post("/departments/SAMR/keys/whatever/retire", {}, csrf="forged")
    assert status == 403 and "did not come from this console" in body
    await browser.get("/signin")
    status, _ = await browser.post("/signin", {"username": "root", "password": PASSWORD}, csrf="forged")
    assert status == 403


async def test_failed_sign_ins_are_logged_and_rate_limited_per_account_and_address(browser, console_hub):
    for _ in range(MAX_FAILURES):
        status, body = await browser.sign_in("audrey", "wrong password!")
        assert status == 401 and "username or password is wrong" in body
    status, body = await browser.sign_in("audrey")  # even the right password waits now
    assert status == 429 and "wait 15 minutes" in body
    status, _ = await browser.sign_in("root")  # another account from the same address is not blocked
    assert status == 200
    reasons = [e.reason for e in await console_hub.log_entries() if e.action == "console.sign_in"]
    assert reasons == ["SIGN_IN_FAILED"] * MAX_FAILURES + ["SIGN_IN_RATE_LIMITED", ""]


async def test_a_department_admin_reads_every_dataset_and_changes_only_its_own(browser):
    await browser.sign_in("samr-admin")
    status, body = await browser.get("/catalog")
    assert "business_licence" in body and "identity_record" not in body
    # The catalog is readable by every role, in the console as over gRPC (one policy: catalog.dataset.read).
    status, body = await browser.get("/catalog/identity_record")
    assert status == 200
    status, body = await browser.get("/catalog/identity_record/edit")
    assert status == 403 and "belongs to PSB" in body
    form = {"code": "psb_takeover", "title": "Not mine", "owner": "PSB", "kind": "record", "key_field": "id"}
    form |= {"key_format": "free_text", "sharing_type": "unconditional", "update_frequency": "daily"}
    form |= {"status": "published", "schema.fields[0].name": "id", "schema.fields[0].type": "string"}
    form |= {"schema.fields[0].required": "on", "schema.fields[0].sensitivity": "public"}
    status, body = await browser.post("/catalog/save", form)
    assert status == 403 and "NOT_OWNER" in body


async def test_a_department_admin_answers_only_requests_for_its_own_datasets(browser, console_hub):
    request_id = await file_identity_request(console_hub)
    await browser.sign_in("samr-admin")
    status, body = await browser.get("/requests")
    assert request_id not in body  # SAMR asked; PSB owns the dataset and answers
    status, body = await browser.post(f"/requests/{request_id}/decide", {"decision": "approve", "reason": ""})
    assert status == 403 and "NOT_OWNER" in body
    other = browser.another()
    try:
        await other.sign_in("psb-admin")
        status, body = await other.get("/requests")
        assert request_id in body
        status, body = await other.post(f"/requests/{request_id}/decide", {"decision": "deny", "reason": ""})
        assert status == 400 and 'data-field="reason"' in body
        status, body = await other.post(f"/requests/{request_id}/decide", {"decision": "approve", "reason": "ok"})
        assert status == 200 and "grant" in body
    finally:
        await other.close()
    grants = await console_hub.running.registry.list_grants(_hub_admin(), dataset="identity_record")
    assert [g.consumer for g in grants] == ["SAMR"]


def _hub_admin():
    from exchange.testing import system_caller

    return system_caller()


async def test_form_errors_appear_next_to_the_field_at_fault(browser):
    await browser.sign_in("samr-admin")
    form = {"code": "market_inspection", "title": "Inspections", "owner": "SAMR", "kind": "record"}
    form |= {"key_field": "inspection_id", "key_format": "free_text", "sharing_type": "conditional"}
    form |= {"update_frequency": "daily", "status": "published", "version": "1.0"}
    form |= {"schema.fields[0].name": "", "schema.fields[0].type": ""}  # a blank row is dropped
    form |= {"schema.fields[1].name": "inspection_id", "schema.fields[1].type": "string"}
    form |= {"schema.fields[1].required": "on", "schema.fields[1].sensitivity": "public"}
    form |= {"schema.fields[2].name": "score", "schema.fields[2].type": "integer", "schema.fields[2].sensitivity": "x"}
    status, body = await browser.post("/catalog/save", form)
    assert status == 400
    assert 'data-field="legal_basis"' in body  # conditional sharing needs its law
    assert 'data-field="schema.fields[1].type"' in body  # renumbered after the blank row
    assert 'value="score"' in body  # what was typed is kept
    form["legal_basis"] = "Regulation 12"
    form["schema.fields[2].type"] = "int64"
    form["schema.fields[2].sensitivity"] = "internal"
    status, body = await browser.post("/catalog/save", form)
    assert status == 200 and "Registered: the dataset is in the catalog." in body


async def test_a_dataset_registers_from_an_uploaded_yaml_file_with_the_cli_rules(browser):
    import aiohttp

    await browser.sign_in("root")
    spec = (ROOT / "examples/catalog/datasets/fire_safety_certificate.yaml").read_text(encoding="utf-8")
    spec = spec.replace("owner: FIRE", "owner: SAMR")
    data = aiohttp.FormData()
    data.add_field("csrf_token", browser.csrf)
    data.add_field("spec_file", spec.encode(), filename="fire.yaml", content_type="application/yaml")
    async with browser.session.post(browser.base + "/catalog/upload", data=data) as response:
        body = await response.text()
    assert response.status == 200 and "fire_safety_certificate" in body and "Registered" in body
    data = aiohttp.FormData()
    data.add_field("csrf_token", browser.csrf)
    data.add_field("spec_file", b"kind: Dataset\nspec: [unclosed", filename="bad.yaml")
    async with browser.session.post(browser.base + "/catalog/upload", data=data) as response:
        body = await response.text()
    assert 'data-field="spec_file"' in body and "invalid YAML" in body


async def test_the_log_filters_by_subject_shows_proofs_and_exports_the_view(browser, console_hub):
    hub = console_hub.running.hub
    seen: list[tuple[str, Literal["allow", "deny"]]] = [("110101199003071234", "allow"), ("110101199003071234", "deny")]
    for subject, decision in [*seen, ("other", "allow")]:
        await hub.record(
            AccessLogEntry(
                time_us=now_us(),
                action="exchange.fetch",
                caller_department="SAMR",
                dataset="identity_record",
                subject_id=subject,
                decision=decision,
                reason="NO_GRANT" if decision == "deny" else "",
            )
        )
    await hub.access_log.sign_checkpoint()
    await browser.sign_in("audrey")
    status, body = await browser.get("/log?subject=110101199003071234")
    assert status == 200 and body.count("110101199003071234</td>") == 2 and ">other<" not in body
    assert "✓ in checkpoint" in body and "<svg" in body
    status, body = await browser.post("/log/verify", {})
    assert "Verified:" in body
    async with browser.session.get(browser.base + "/log/export.csv?subject=110101199003071234") as response:
        text_columns = pacsv.ConvertOptions(column_types={"subject_id": "string"})
        table = pacsv.read_csv(io.BytesIO(await response.read()), convert_options=text_columns)
    assert table.column("subject_id").to_pylist() == ["110101199003071234"] * 2
    async with browser.session.get(browser.base + "/log/export.parquet?decision=deny") as response:
        table = pq.read_table(io.BytesIO(await response.read()))
    assert table.column("reason").to_pylist() == ["NO_GRANT"]
    actions = [e.action for e in await console_hub.log_entries()]
    assert "audit.log.export" in actions and "audit.entries.query" in actions


async def test_auditors_read_the_log_but_cannot_change_the_registry(browser):
    await browser.sign_in("audrey")
    status, _ = await browser.get("/catalog/new")
    assert status == 403
    status, body = await browser.post("/departments", {"code": "EVIL", "name": "x", "level": "city"})
    assert status == 403 and "ROLE_NOT_ALLOWED" in body
    status, _ = await browser.get("/report?subject=nobody")
    assert status == 200


async def test_department_admins_cannot_read_the_access_log(browser):
    await browser.sign_in("samr-admin")
    status, _ = await browser.get("/log")
    assert status == 403


async def test_add_user_command_stores_an_argon2id_hash_the_console_accepts(tmp_path):
    data_dir = tmp_path / "hub"
    ensure_test_pki(data_dir)  # the hub the account is made for runs with its CA, as `exchange init` makes it
    env = {**os.environ, "EXCHANGE_CONSOLE_PASSWORD": PASSWORD}
    exchange = str(Path(sys.executable).parent / "exchange")
    command = [exchange, "console", "add-user", "ines", "--role", "auditor"]
    done = subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "created auditor account 'ines'" in done.stdout
    fixture = await start_test_hub(data_dir)
    browser = Browser.of(fixture)
    try:
        status, body = await browser.sign_in("ines")
        assert status == 200 and "auditor" in body
    finally:
        await browser.close()
        await fixture.stop()


async def test_overdue_requests_are_marked_in_the_inbox(browser, console_hub):
    from exchange.storage import tables as t

    request_id = await file_identity_request(console_hub)
    async with console_hub.hub.db.begin() as conn:
        await conn.execute(t.access_requests.update().values(answer_due_us=now_us() - 1))
    await browser.sign_in("psb-admin")
    _, body = await browser.get("/requests")
    assert f'class="request overdue" id="request-{request_id}"' in body and ">overdue</span>" in body


async def test_a_department_admin_rotates_its_own_keys_but_not_another_departments(browser, console_hub):
    from exchange.auth.keys import generate_ed25519, key_id, public_key_to_pem

    new_key = generate_ed25519()
    old_kid = console_hub.departments["SAMR"].token_kid
    await browser.sign_in("samr-admin")
    pem = public_key_to_pem(new_key)
    status, body = await browser.post("/departments/PSB/keys", {"use": "token", "public_key_pem": pem})
    assert status == 403 and "NOT_OWNER" in body
    status, body = await browser.post("/departments/SAMR/keys", {"use": "token", "public_key_pem": "not a key"})
    assert status == 400 and 'data-field="public_key_pem"' in body
    status, body = await browser.post("/departments/SAMR/keys", {"use": "token", "public_key_pem": pem})
    assert status == 200 and key_id(new_key.public_key()) in body
    status, body = await browser.get(f"/departments/SAMR/keys/{old_kid}/retire")  # asks first
    assert status == 200 and f"Retire key {old_kid} of SAMR?" in body
    assert old_kid in {k.kid for k in (await console_hub.running.registry.get_department("SAMR")).keys}
    status, body = await browser.post(f"/departments/SAMR/keys/{old_kid}/retire", {})
    assert status == 200
    dept = await console_hub.running.registry.get_department("SAMR")
    assert {k.kid: k.status.value for k in dept.keys}[old_kid] == "retired"
    actions = [e.action for e in await console_hub.log_entries()]
    assert "departments.key.add" in actions and "departments.key.retire" in actions


async def test_a_hub_admin_registers_and_edits_departments_and_service_items(browser, console_hub):
    await browser.sign_in("root")
    form = {"code": "MNR", "name": "Natural resources", "level": "city", "region_code": "110100"}
    status, body = await browser.post("/departments", form)
    assert status == 200 and "Natural resources" in body
    status, body = await browser.post("/departments", {**form, "name": "Natural Resources Bureau"})
    assert (await console_hub.running.registry.get_department("MNR")).name == "Natural Resources Bureau"
    status, body = await browser.post("/departments", {**form, "code": "bad code"})
    assert status == 400 and 'data-field="code"' in body
    spec = (ROOT / "examples/catalog/service_items/restaurant_permit.yaml").read_text(encoding="utf-8")
    status, body = await browser.post("/items", {"spec_text": spec})
    assert status == 400 and "co_reviewers[0]" in body  # FIRE is not registered on this hub
    item = {
        "code": "street_stall",
        "name": "Street stall permit",
        "lead_department": "SAMR",
        "co_reviewers": ["MNR"],
        "time_limit_days": 5,
        "required_materials": [{"dataset": "business_licence", "fields": ["name", "status"]}],
    }
    status, body = await browser.post("/items", {"spec_text": yaml.safe_dump({"kind": "ServiceItem", "spec": item})})
    assert status == 200 and "Street stall permit" in body and "business_licence" in body
    item["name"] = "Street stall and market permit"
    status, body = await browser.post("/items", {"spec_text": yaml.safe_dump(item)})
    assert (await console_hub.running.registry.get_service_item("street_stall")).name == item["name"]


async def test_cases_filter_by_state_and_department_and_a_department_admin_sees_only_its_own(browser, console_hub):
    await console_hub.add_department("FIRE")
    await console_hub.register_example_item("restaurant_permit", co_reviewers=[], required_materials=[])
    await seed_case(console_hub, "case-samr", "110101199003071234", "MARKER-1")
    await seed_case(console_hub, "case-fire", "110101199003075678", "MARKER-2", lead="FIRE", reviewers=())
    await browser.sign_in("audrey")
    _, body = await browser.get("/cases?department=FIRE")
    assert "case-fire" in body and "case-samr" not in body
    _, body = await browser.get("/cases?state=closed")
    assert "case-fire" not in body and "case-samr" not in body
    _, body = await browser.get("/cases?overdue=on")
    assert "No cases match." in body
    status, body = await browser.get("/cases/case-samr")
    assert status == 200 and "identity_record" in body and "MARKER-1" not in body
    psb = browser.another()
    try:
        await psb.sign_in("psb-admin")  # PSB co-reviews case-samr and has nothing to do with case-fire
        _, body = await psb.get("/cases?department=FIRE")
        assert "case-samr" in body and "case-fire" not in body
        status, _ = await psb.get("/cases/case-fire")
        assert status == 404
    finally:
        await psb.close()


async def test_the_log_is_paginated_newest_first(browser, console_hub):
    hub = console_hub.running.hub
    for i in range(PAGE_SIZE + 5):
        await hub.record(AccessLogEntry(time_us=now_us(), action="exchange.fetch", dataset="paged", subject_id=str(i)))
    await browser.sign_in("audrey")
    _, body = await browser.get("/log?dataset=paged")
    assert body.count(">paged</td>") == PAGE_SIZE and f">{PAGE_SIZE + 4}</a></td>" in body
    older = re.search(r'href="(/console/log\?dataset=paged&amp;after=\d+)"', body)
    assert older is not None
    _, body = await browser.get(older.group(1).replace("&amp;", "&").removeprefix("/console"))
    assert body.count(">paged</td>") == 5 and "Older entries" not in body


async def test_the_log_page_charts_and_export_work_on_each_backend(any_backend_hub):
    await add_users(any_backend_hub, ("audrey", "auditor", "HUB"))
    hub = any_backend_hub.running.hub
    for decision in ("allow", "deny", "deny"):
        await hub.record(
            AccessLogEntry(time_us=now_us(), action="exchange.fetch", caller_department="HUB", decision=decision)
        )
    browser = Browser.of(any_backend_hub)
    try:
        await browser.sign_in("audrey")
        status, body = await browser.get("/log")
        assert status == 200 and "HUB " in body and "<rect" in body
        assert re.search(r"<title>\d\d-\d\d \d\d:00: [1-9]\d?%</title>", body)  # the denials' share
        async with browser.session.get(browser.base + "/log/export.parquet") as response:
            table = pq.read_table(io.BytesIO(await response.read()))
        assert table.num_rows >= 3
    finally:
        await browser.close()


async def test_in_dev_mode_over_plain_http_the_session_cookie_is_not_marked_secure(tmp_path):
    # A Secure cookie set over plain HTTP would be dropped by the browser, and nobody could sign in.
    fixture = await start_test_hub(tmp_path / "hub", insecure_dev=True)
    browser = Browser.of(fixture)
    assert browser.base.startswith("http://")
    try:
        await add_users(fixture, ("root", "hub_admin", "HUB"))
        async with browser.session.post(
            browser.base + "/signin",
            data={"username": "root", "password": PASSWORD, "csrf_token": await _signin_token(browser)},
            allow_redirects=False,
        ) as response:
            cookie = response.cookies["exchange_console"]
        assert response.status == 303 and not cookie["secure"] and cookie["httponly"]
    finally:
        await browser.close()
        await fixture.stop()


async def test_editing_a_dataset_bumps_the_version_or_names_the_breaking_change_next_to_its_field(browser):
    await browser.sign_in("samr-admin")
    _, page = await browser.get("/catalog/business_licence/edit")
    form = _form_values(page)
    form["schema.fields[13].name"], form["schema.fields[13].type"] = "branch_count", "int32"
    form["schema.fields[13].sensitivity"] = "public"
    status, body = await browser.post("/catalog/save", form)
    assert status == 200 and "new minor version" in body and "Version 1.1" in body
    _, page = await browser.get("/catalog/business_licence/edit")
    form = _form_values(page)
    form["schema.fields[1].type"] = "int64"  # name: string -> int64 breaks every consumer
    status, body = await browser.post("/catalog/save", form)
    assert status == 409 and 'data-field="schema.fields[1].name"' in body and "write 2.0" in body
    form["version"] = "2.0"
    status, body = await browser.post("/catalog/save", form)
    assert status == 200 and "new major version" in body and "Version 2.0" in body


def _form_values(page: str) -> dict[str, str]:
    """What a browser would submit from the dataset form as the server rendered it."""
    form = page[page.index('<form class="dataset"') :]
    values = dict(re.findall(r'<input name="([^"]+)" value="([^"]*)"', form))
    values |= {name: "on" for name in re.findall(r'type="checkbox" name="([^"]+)" checked', form)}
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        # An option submits its value attribute when it has one, else its text; the first when none is selected.
        parsed = [
            (value.group(1) if (value := re.search(r'value="([^"]*)"', attrs)) else label, " selected" in attrs)
            for attrs, label in re.findall(r"<option([^>]*)>([^<]+)</option>", options)
        ]
        values[name] = next((value for value, selected in parsed if selected), parsed[0][0])
    return {k: html.unescape(v) for k, v in values.items()}


async def test_a_hub_admin_suspends_a_department_with_a_reason_and_its_officers_are_refused(browser, console_hub):
    await browser.sign_in("root")
    status, body = await browser.post("/departments/PSB/status", {"status": "suspended", "reason": ""})
    assert status == 400 and 'data-field="reason"' in body
    status, body = await browser.post("/departments/PSB/status", {"status": "suspended", "reason": "key leaked"})
    assert status == 200 and "suspended" in body
    assert (await console_hub.running.registry.get_department("PSB")).status.value == "suspended"
    samr_admin = browser.another()
    try:
        await samr_admin.sign_in("samr-admin")
        status, body = await samr_admin.post("/departments/SAMR/status", {"status": "revoked", "reason": "x"})
        assert status == 403 and "ROLE_NOT_ALLOWED" in body
    finally:
        await samr_admin.close()


async def test_after_sign_in_only_console_pages_are_followed_not_other_sites(browser):
    for given, expected in (
        ("/console/log", "/console/log"),
        ("https://evil.example/", "/console/"),
        ("//evil", "/console/"),
    ):
        token = await _signin_token(browser)
        form = {"username": "root", "password": PASSWORD, "csrf_token": token, "next": given}
        async with browser.session.post(browser.base + "/signin", data=form, allow_redirects=False) as response:
            assert response.headers["Location"] == expected


async def test_verify_now_reports_a_changed_entry(browser, console_hub):
    from exchange.storage import tables as t

    hub = console_hub.running.hub
    await hub.access_log.sign_checkpoint()
    async with hub.db.begin() as conn:
        row = (await conn.execute(t.log_entries.select().where(t.log_entries.c.idx == 2))).one()
        changed = row.entry.replace(b'"decision":"allow"', b'"decision":"deny"')
        assert changed != row.entry
        await conn.execute(t.log_entries.update().where(t.log_entries.c.idx == 2).values(entry=changed))
    await browser.sign_in("audrey")
    _, body = await browser.get("/log")
    assert re.search(r">2</a></td>.*?proof-failed", body, re.S) and body.count("proof-failed") == 1
    _, body = await browser.get("/log/entry/2")  # the entry's own page says so too
    assert '<p class="proof-failed">' in body
    status, body = await browser.post("/log/verify", {})
    assert status == 200 and "Verification FAILED" in body and "Verified:" not in body


async def test_a_department_admin_account_needs_a_registered_department(console_hub):
    import pytest

    from exchange.app.console_accounts import ConsoleAccounts
    from exchange.auth.identity import local_operator
    from exchange.errors import InvalidArgument

    accounts = ConsoleAccounts(console_hub.running.hub)
    with pytest.raises(InvalidArgument) as refused:
        await accounts.add_user(local_operator(), "zed", PASSWORD, "dept_admin", "NOPE")
    assert [v.field for v in refused.value.violations] == ["department"]
    with pytest.raises(InvalidArgument) as refused:
        await accounts.add_user(local_operator(), "zed", "short", "dept_admin", "SAMR")
    assert refused.value.reason == "PASSWORD_TOO_SHORT"


async def test_reading_cases_in_the_console_leaves_entries_under_the_applicant(browser, console_hub):
    """The console reads a case (the applicant's id included) through the case desk, which logs it."""
    await console_hub.add_department("FIRE")
    await console_hub.register_example_item("restaurant_permit", co_reviewers=[], required_materials=[])
    await seed_case(console_hub, "case-samr", "110101199003071234", "MARKER-1")
    await seed_case(console_hub, "case-fire", "110101199003075678", "MARKER-2", lead="FIRE", reviewers=())
    await browser.sign_in("audrey")
    status, _ = await browser.get("/cases/case-samr")
    assert status == 200
    read = (await console_hub.log_entries())[-1]
    assert (read.action, read.decision, read.case_id) == ("cases.read", "allow", "case-samr")
    assert (read.caller_department, read.officer_id) == ("HUB", "console:audrey")
    assert read.subject_id == "110101199003071234"
    await browser.get("/cases?department=FIRE")
    listed = (await console_hub.log_entries())[-1]
    assert (listed.action, listed.decision, listed.officer_id) == ("cases.list", "allow", "console:audrey")
    psb = browser.another()
    try:
        await psb.sign_in("psb-admin")
        status, _ = await psb.get("/cases/case-fire")
        assert status == 404
        refused = (await console_hub.log_entries())[-1]
        assert (refused.action, refused.decision, refused.reason) == ("cases.read", "deny", "NOT_INVOLVED")
        assert (refused.officer_id, refused.subject_id) == ("console:psb-admin", "110101199003075678")
    finally:
        await psb.close()


async def test_a_case_page_shows_the_licence_status_changes_flagged_on_it(browser, console_hub):
    from exchange.storage import status_store

    await console_hub.register_example_item("restaurant_permit", co_reviewers=[], required_materials=[])
    await seed_case(console_hub, "case-flagged", "110101199003071234", "MARKER-1")
    await seed_case(console_hub, "case-clean", "110101199003075678", "MARKER-2")
    async with console_hub.hub.db.begin() as conn:
        await status_store.raise_flag(
            conn,
            "case-flagged",
            "identity_record",
            "110101199003071234",
            status_code="03",
            previous_code="01",
            source="push",
            now_us=now_us(),
        )
    await browser.sign_in("audrey")
    status, body = await browser.get("/cases/case-flagged")
    assert status == 200 and "Licence status changes" in body
    assert "01 → <b>03</b>" in body and "the issuer&#39;s adapter, as it happened" in body
    _, body = await browser.get("/cases/case-clean")
    assert "Licence status changes" not in body
