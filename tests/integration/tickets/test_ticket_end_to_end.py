"""THE DONE-WHEN TEST of correction tickets (校核纠错), through a real adapter process.

An officer of the receiving department opens a ticket from a case material (the company's name is out of
date); the issuer's source data is corrected; the issuer's department admin answers "corrected"; the open
case is flagged and its department told (a signed webhook, EventKind.TICKET); the officer refreshes the
material from the issuer (a new version in the case) and holds the corrected licence; the supervision
figures count the ticket per dataset; every step is in the access log under the company's id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pyarrow.parquet as pq
import pytest
import pytest_asyncio

from catalog.specs import parse_service_item
from exchange.auth.identity import Role
from exchange.auth.keys import generate_ed25519
from exchange.client import HubClient, verify_webhook
from exchange.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.testing import HubFixture, ensure_test_pki, start_test_hub, system_caller
from tests.integration.adapters.hubsetup import CONSUMER, AdapterProcess, grant, spawn_adapter
from tests.integration.adapters.test_issuer_signatures import FIELDS, write_licences
from tests.integration.notifications.receiver import Receiver, start_receiver

DATASET = "business_licence"
NEW_NAME = "北京新名称科技有限公司"


@dataclass
class World:
    hub: HubFixture
    adapter: AdapterProcess
    receiver: Receiver
    officer: HubClient
    issuer_admin: HubClient
    secret: str
    case_id: str
    uscc: str
    parquet: Path


def rename(parquet: Path, uscc: str, name: str) -> None:
    """The issuer corrects its own data: the company's name is rewritten in the adapter's source file."""
    table = pq.read_table(parquet)
    rows = table.to_pylist()
    for row in rows:
        if row["unified_social_credit_code"] == uscc:
            row["name"] = name
    pq.write_table(table.from_pylist(rows, schema=table.schema), parquet)


@pytest_asyncio.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    pki = ensure_test_pki(tmp_path / "hub")
    hub = await start_test_hub(
        tmp_path / "hub", webhook_ca_file=str(pki / "ca.crt"), notification_poll_seconds=0.05, status_poll_seconds=3600
    )
    parquet = tmp_path / "licences.parquet"
    suspended = write_licences(parquet)
    rows = pq.read_table(parquet).to_pylist()
    uscc = next(
        r["unified_social_credit_code"]
        for r in rows
        if r["status"] == "01"
        and r["unified_social_credit_code"] != suspended
        and (r["valid_until"] is None or r["valid_until"] > dt.date.today())
    )
    key = generate_ed25519()
    source = {"type": "files", "path": str(parquet), "key_column": "unified_social_credit_code"}
    spec = str(Path(__file__).parents[3] / "examples" / "catalog" / "datasets" / f"{DATASET}.yaml")
    adapter = await spawn_adapter(
        tmp_path / "samr",
        "SAMR",
        [{"dataset": DATASET, "version": "1.0", "spec": spec, "source": source}],
        key,
        tls=hub.adapter_tls_section("SAMR"),
        extra={"status_watch_seconds": 0},
    )
    receiver = await start_receiver(pki)
    try:
        await hub.add_department("SAMR", adapter_endpoint=adapter.endpoint, signing_public_key=key.public_key())
        await hub.add_department(CONSUMER)
        await hub.add_department("FIRE")
        await hub.register_example_dataset(DATASET)
        item: dict[str, Any] = {"code": "licence_check", "name": "Licence check", "lead_department": CONSUMER}
        item.update(time_limit_days=5, required_materials=[{"dataset": DATASET, "fields": list(FIELDS)}])
        await hub.running.registry.register_service_item(parse_service_item(item), system_caller())
        await grant(hub, DATASET, FIELDS)
        officer = hub.client(CONSUMER)
        case_id = (await officer.create_case("licence_check", uscc)).id
        await officer.attach_material(case_id, DATASET, uscc)
        admin = hub.client(CONSUMER, officer="admin-1", roles=(Role.DEPT_ADMIN,))
        made = await admin.set_webhook(receiver.url, kinds=["ticket"])
        issuer_admin = hub.client("SAMR", officer="samr-admin", roles=(Role.DEPT_ADMIN,))
        yield World(hub, adapter, receiver, officer, issuer_admin, made.secret, case_id, uscc, parquet)
    finally:
        await receiver.close()
        await adapter.stop()
        await hub.stop()


async def test_a_corrected_licence_reaches_the_open_case_and_the_figures_count_it(world: World) -> None:
    hub, officer = world.hub, world.officer
    since = hub.hub.clock()
    held = await officer.get_material(world.case_id, DATASET)
    assert held.version == 1 and held.data is not None and held.data["name"] != NEW_NAME

    ticket = await officer.open_ticket(
        world.case_id,
        DATASET,
        ["name"],
        "企业已更名，执照名称过期 (the company was renamed; the name is out of date)",
        evidence_text="更名通知书 2026-11-30",
        evidence_digest="sha256:" + "ab" * 32,
    )
    assert (ticket.state, ticket.issuer, ticket.opened_by_department, list(ticket.fields)) == (
        "open",
        "SAMR",
        CONSUMER,
        ["name"],
    )
    assert ticket.answer_due_us > ticket.opened_at_us and ticket.key == world.uscc
    (to_answer,) = await world.issuer_admin.list_tickets(role="to_answer")
    assert to_answer.id == ticket.id

    rename(world.parquet, world.uscc, NEW_NAME)
    answered = await world.issuer_admin.answer_ticket(ticket.id, "corrected", "已按更名登记更正 (corrected)")
    assert (answered.state, answered.answer, answered.answered_late) == ("answered", "corrected", False)
    assert list(answered.notified_cases) == [world.case_id]

    # The department that asked hears the answer; the open case is flagged and its department told, by
    # signed webhooks naming the ticket and the case, never the licence's key.
    deliveries = await world.receiver.wait_for(2)
    events = [verify_webhook(d.body, d.headers, world.secret) for d in deliveries]
    assert sorted((e["kind"], e["department"], e["reference"]) for e in events) == sorted(
        [("ticket", CONSUMER, ticket.id), ("ticket", CONSUMER, world.case_id)]
    )
    (told,) = [e for e in events if e["reference"] == world.case_id]
    assert told["data"]["ticket"] == ticket.id and told["data"]["answer"] == "corrected"
    assert all(world.uscc not in d.body.decode() for d in deliveries)
    (flag,) = await officer.list_case_flags(world.case_id)
    assert (flag.dataset, flag.key, flag.status_code, flag.source) == (DATASET, world.uscc, "corrected", "ticket")

    # The case refreshes the material from the issuer: version 2 holds the corrected licence.
    refreshed, fetched = await officer.attach_material(world.case_id, DATASET, refresh=True)
    assert fetched and refreshed.version == 2
    now_held = await officer.get_material(world.case_id, DATASET)
    assert now_held.version == 2 and now_held.data is not None and now_held.data["name"] == NEW_NAME

    # The data-quality figures count it, per dataset.
    supervisor = hub.client("HUB", officer="sup-1", roles=(Role.SUPERVISOR,))
    figures = await supervisor.supervision_figures(since_us=since)
    (row,) = [r for r in figures.rows if (r.scope, r.key) == ("dataset", DATASET)]
    assert (row.tickets_opened, row.tickets_answered, row.tickets_answered_in_time, row.tickets_corrected) == (
        1,
        1,
        1,
        1,
    )

    # Every step is in the access log, under the company whose data it is.
    entries = await hub.log_entries()
    steps = [
        (e.action, e.caller_department, e.decision, e.outcome, e.case_id)
        for e in entries
        if e.action.startswith("tickets.") and e.action != "tickets.list"
    ]
    assert steps == [
        ("tickets.open", CONSUMER, "allow", "OK", world.case_id),
        ("tickets.answer", "SAMR", "allow", "OK", world.case_id),
        ("tickets.case_notified", "SAMR", "allow", "OK", world.case_id),
    ]
    assert all(e.subject_id == world.uscc for e in entries if e.action in {a for a, *_ in steps})
    refresh = [e for e in entries if e.action == "cases.material.attach"][-1]
    assert (refresh.case_id, refresh.subject_id, refresh.decision) == (world.case_id, world.uscc, "allow")


async def test_only_the_issuers_admin_answers_and_outsiders_do_not_see_the_ticket(world: World) -> None:
    ticket = await world.officer.open_ticket(world.case_id, DATASET, ["name"], "名称有误 (the name is wrong)")

    with pytest.raises(PermissionDenied) as refused:
        await world.hub.client(CONSUMER, officer="admin-1", roles=(Role.DEPT_ADMIN,)).answer_ticket(
            ticket.id, "no_error", "我们自己说没错"
        )
    assert refused.value.grpc_code == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.reason == "NOT_ISSUER"
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.subject_id, entry.caller_department) == (
        "tickets.answer",
        "deny",
        "NOT_ISSUER",
        "PERMISSION_DENIED",
        world.uscc,
        CONSUMER,
    )

    with pytest.raises(NotFound) as hidden:
        await world.hub.client("FIRE", officer="fire-admin", roles=(Role.DEPT_ADMIN,)).get_ticket(ticket.id)
    assert hidden.value.grpc_code == grpc.StatusCode.NOT_FOUND
    assert hidden.value.reason == "TICKET_NOT_FOUND"
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.subject_id, entry.caller_department) == (
        "tickets.read",
        "deny",
        "TICKET_NOT_FOUND",
        "NOT_FOUND",
        world.uscc,
        "FIRE",
    )

    # Answered after its limit (a controlled clock): accepted, marked late, and counted as not in time.
    since = ticket.opened_at_us
    world.hub.hub.clock = lambda: ticket.answer_due_us + 1
    answered = await world.issuer_admin.answer_ticket(ticket.id, "no_error", "登记信息无误 (the register is right)")
    assert (answered.answer, answered.answered_late, list(answered.notified_cases)) == ("no_error", True, [])
    logged = [e for e in await world.hub.log_entries() if e.action == "tickets.answer" and e.decision == "allow"]
    assert [(e.reason, e.details["late"], e.subject_id) for e in logged] == [
        ("TICKET_ANSWERED_LATE", "true", world.uscc)
    ]
    supervisor = world.hub.client("HUB", officer="sup-1", roles=(Role.SUPERVISOR,))
    figures = await supervisor.supervision_figures(since_us=since, until_us=ticket.answer_due_us + 2)
    (row,) = [r for r in figures.rows if (r.scope, r.key) == ("dataset", DATASET)]
    assert (row.tickets_opened, row.tickets_answered, row.tickets_answered_in_time, row.tickets_corrected) == (
        1,
        1,
        0,
        0,
    )
    assert await world.officer.list_case_flags(world.case_id) == []
    read = await world.officer.get_ticket(ticket.id)
    assert (read.state, read.answer_reason) == ("answered", "登记信息无误 (the register is right)")
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.subject_id, entry.caller_department) == (
        "tickets.read",
        "allow",
        world.uscc,
        CONSUMER,
    )


async def test_the_cli_opens_lists_shows_and_answers_a_ticket(world: World, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from exchange.cli import cli

    officer = str(world.hub.write_profile(CONSUMER, tmp_path / "svc"))
    issuer = str(world.hub.write_profile("SAMR", tmp_path / "samr", officer="samr-admin", roles=(Role.DEPT_ADMIN,)))

    async def invoke(profile: str, *args: str) -> str:
        result = await asyncio.to_thread(CliRunner().invoke, cli, [*args, "--profile", profile], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    opened = await invoke(
        officer, "tickets", "open", world.case_id, DATASET, "--field", "name", "--reason", "名称已变更"
    )
    ticket_id = opened.split()[1]
    assert ticket_id.startswith("tk-") and "SAMR" in opened
    listed = json.loads(await invoke(issuer, "tickets", "list", "--role", "to_answer", "--output", "json"))
    assert [(r["id"], r["state"], r["fields"]) for r in listed] == [(ticket_id, "open", "name")]
    answered = await invoke(issuer, "tickets", "answer", ticket_id, "cannot_correct", "--reason", "档案待核实")
    assert ticket_id in answered and "cannot_correct" in answered
    shown = json.loads(await invoke(officer, "tickets", "show", ticket_id))
    assert (shown["answer"], shown["answer_reason"], shown["notified_cases"]) == ("cannot_correct", "档案待核实", [])


async def test_opening_is_refused_outside_the_case_and_for_fields_the_material_lacks_and_answers_are_once(
    world: World,
) -> None:
    outsider = world.hub.client("FIRE")
    with pytest.raises(PermissionDenied) as refused:
        await outsider.open_ticket(world.case_id, DATASET, ["name"], "not mine to say")
    assert (refused.value.grpc_code, refused.value.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_INVOLVED")
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.subject_id, entry.caller_department) == (
        "tickets.open",
        "deny",
        "NOT_INVOLVED",
        "PERMISSION_DENIED",
        world.uscc,
        "FIRE",
    )

    with pytest.raises(InvalidArgument) as invalid:
        await world.officer.open_ticket(world.case_id, DATASET, ["legal_representative_id"], "wrong")
    assert (invalid.value.grpc_code, invalid.value.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TICKET")
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.subject_id) == (
        "tickets.open",
        "deny",
        "INVALID_TICKET",
        "INVALID_ARGUMENT",
        world.uscc,
    )

    ticket = await world.officer.open_ticket(world.case_id, DATASET, ["status"], "已注销 (deregistered)")
    await world.issuer_admin.answer_ticket(ticket.id, "cannot_correct", "须本人申请 (the company must apply)")
    with pytest.raises(FailedPrecondition) as again:
        await world.issuer_admin.answer_ticket(ticket.id, "corrected", "second thoughts")
    assert (again.value.grpc_code, again.value.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TICKET_ANSWERED")
    entry = (await world.hub.log_entries())[-1]
    # The policy allowed the issuer's admin; the ticket's state ended the attempt (the recorder's rule).
    assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.subject_id) == (
        "tickets.answer",
        "allow",
        "TICKET_ANSWERED",
        "FAILED_PRECONDITION",
        world.uscc,
    )
