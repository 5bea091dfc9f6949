"""`exchange grants`, `access-requests`, `authz` and `pki` against a real hub, as an administrator types them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner, Result

from exchange.cli import cli
from exchange.storage import tables as t
from exchange.testing import HubFixture

from .conftest import open_case


async def exchange(hub: HubFixture, tmp_path: Path, department: str, roles: str, *args: str) -> Result:
    """Run one `exchange` command in a worker thread (it runs its own event loop) as DEPARTMENT."""
    profile = hub.write_profile(department, tmp_path / department)
    identity = ["--profile", str(profile), "--roles", roles]
    return await asyncio.to_thread(CliRunner().invoke, cli, [*args, *identity], catch_exceptions=False)


async def test_grant_explain_revoke_from_the_command_line(permit_hub: HubFixture, tmp_path: Path) -> None:
    case = await open_case(permit_hub, "case-7")
    explain = ["authz", "explain", "--dataset", "business_licence", "--case", case]
    denied = await exchange(permit_hub, tmp_path, "FIRE", "officer", *explain)
    assert denied.exit_code == 0 and "DENIED (NO_GRANT)" in denied.output and "ask SAMR" in denied.output

    created = await exchange(
        permit_hub, tmp_path, "SAMR", "dept_admin",
        "grants", "create", "--consumer", "FIRE", "--dataset", "business_licence", "--field", "name,address",
        "--item", "restaurant_permit", "--valid-until", "2099-12-31", "--rate", "60",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    grant_id = created.output.split("granted: ")[1].split()[0]
    allowed = await exchange(permit_hub, tmp_path, "FIRE", "officer", *explain)
    assert f"ALLOWED: name, address (grant {grant_id})" in allowed.output

    listed = await exchange(permit_hub, tmp_path, "FIRE", "dept_admin", "grants", "list")
    assert grant_id in listed.output and "2099-12-31" in listed.output
    revoked = await exchange(permit_hub, tmp_path, "SAMR", "dept_admin", "grants", "revoke", grant_id, "--reason", "x")
    assert revoked.exit_code == 0 and f"revoked: {grant_id}" in revoked.output
    # A hub auditor asks about FIRE.
    after = await exchange(permit_hub, tmp_path, "HUB", "auditor", *explain, "--about", "FIRE")
    assert "DENIED (GRANT_REVOKED)" in after.output


async def test_refusal_is_a_readable_message_and_exit_status_2(permit_hub: HubFixture, tmp_path: Path) -> None:
    result = await exchange(
        permit_hub, tmp_path, "FIRE", "dept_admin",
        "grants", "create", "--consumer", "FIRE", "--dataset", "business_licence", "--field", "name",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "belongs to SAMR; only that department or the roles [hub_admin] may do this" in result.output
    assert "NOT_OWNER" in result.output


async def test_access_request_lifecycle_from_the_command_line(permit_hub: HubFixture, tmp_path: Path) -> None:
    ask = [
        "access-requests", "create", "--dataset", "identity_record", "--field", "resident_id", "--field", "name",
        "--item", "restaurant_permit", "--legal-basis", "Food Safety Law art. 35", "--justification", "identify",
    ]  # fmt: skip
    first = await exchange(permit_hub, tmp_path, "FIRE", "dept_admin", *ask)
    second = await exchange(permit_hub, tmp_path, "FIRE", "dept_admin", *ask)
    first_id = first.output.split("requested: ")[1].split(";")[0]
    second_id = second.output.split("requested: ")[1].split(";")[0]
    async with permit_hub.hub.db.begin() as conn:
        await conn.execute(t.access_requests.update().where(t.access_requests.c.id == first_id).values(answer_due_us=1))

    overdue = await exchange(permit_hub, tmp_path, "PSB", "dept_admin", "access-requests", "list", "--overdue")
    assert first_id in overdue.output and "OVERDUE" in overdue.output and second_id not in overdue.output

    approved = await exchange(permit_hub, tmp_path, "PSB", "dept_admin", "access-requests", "approve", first_id)
    assert approved.exit_code == 0 and "grant g-" in approved.output
    no_reason = await exchange(permit_hub, tmp_path, "PSB", "dept_admin", "access-requests", "deny", second_id)
    assert no_reason.exit_code == 1 and "--reason" in no_reason.output  # usage
    denied = await exchange(
        permit_hub, tmp_path, "PSB", "dept_admin", "access-requests", "deny", second_id, "--reason", "duplicate"
    )
    assert "denied" in denied.output and "duplicate" in denied.output
    mine = await exchange(permit_hub, tmp_path, "FIRE", "dept_admin", "access-requests", "list", "--status", "denied")
    assert second_id in mine.output and first_id not in mine.output


def test_pki_init_and_issue_write_a_ca_a_server_and_a_department_certificate(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["pki", "init", "--dir", str(tmp_path / "pki"), "--host", "hub.example.gov"])
    assert made.exit_code == 0, made.output
    issued = runner.invoke(cli, ["pki", "issue", "SAMR", "--dir", str(tmp_path / "pki"), "--out", str(tmp_path)])
    assert issued.exit_code == 0 and (tmp_path / "SAMR.crt").exists() and (tmp_path / "SAMR.key").exists()
    adapter = runner.invoke(
        cli, ["pki", "issue-server", "samr-adapter", "--host", "10.0.0.7", "--dir", str(tmp_path / "pki")]
    )
    assert adapter.exit_code == 0 and (tmp_path / "pki" / "samr-adapter.crt").exists()
    again = runner.invoke(cli, ["pki", "init", "--dir", str(tmp_path / "pki")])
    assert again.exit_code == 2 and "PKI_CA_EXISTS" in again.output
