"""`exchange tickets`: correction tickets (校核纠错) — open on a case material, list, show, answer."""

from __future__ import annotations

from typing import Any

import click

from exchange import i18n, localtime
from exchange.cli.common import Profile, emit_rows, output_option, print_json, profile_options, run
from exchange.client_tickets import Ticket

ANSWERS = ("corrected", "no_error", "cannot_correct")


def _row(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id,
        "dataset": t.dataset,
        "case": t.case_id,
        "opened_by": t.opened_by_department,
        "issuer": t.issuer,
        "fields": ",".join(t.fields),
        "state": t.state,
        "answer": t.answer,
        "due": localtime.show(t.answer_due_us),
        "late": t.answered_late,
    }


def _full(t: Ticket) -> dict[str, Any]:
    return {
        **_row(t),
        "key": t.key,
        "material_version": t.material_version,
        "reason": t.reason,
        "evidence_text": t.evidence_text,
        "evidence_digest": t.evidence_digest,
        "answer_reason": t.answer_reason,
        "answered_by": t.answered_by,
        "notified_cases": list(t.notified_cases),
    }


@click.group("tickets")
def tickets() -> None:
    """校核纠错: correction tickets on documents received from other departments."""


@tickets.command("open")
@click.argument("case_id")
@click.argument("dataset")
@click.option("--field", "fields", multiple=True, required=True, help="A field believed wrong (repeat).")
@click.option("--reason", required=True, help="What is wrong or out of date.")
@click.option("--evidence", "evidence_text", default="", help="Evidence, as text.")
@click.option("--evidence-digest", default="", help="sha256:<hex> of an attachment your department keeps.")
@profile_options
def tickets_open(
    case_id: str,
    dataset: str,
    fields: tuple[str, ...],
    reason: str,
    evidence_text: str,
    evidence_digest: str,
    profile: Profile,
) -> None:
    """Open a ticket on a material the case holds; the issuing department must answer."""

    async def go() -> Ticket:
        async with profile.client() as hub:
            return await hub.open_ticket(
                case_id, dataset, list(fields), reason, evidence_text=evidence_text, evidence_digest=evidence_digest
            )

    t = run(go())
    said = i18n.translate("cli.tickets.opened", "ticket {id} opened; {issuer} must answer by {due}")
    click.echo(said.format(id=t.id, issuer=t.issuer, due=localtime.show(t.answer_due_us)))


@tickets.command("list")
@click.option("--dataset", default="", help="Only this dataset.")
@click.option("--state", type=click.Choice(["", "open", "answered"]), default="", help="Only open or answered.")
@click.option(
    "--role", type=click.Choice(["", "opened", "to_answer"]), default="", help="Opened by us, or ours to answer."
)
@output_option
@profile_options
def tickets_list(dataset: str, state: str, role: str, output: str, profile: Profile) -> None:
    """Tickets your department opened or must answer."""

    async def go() -> list[Ticket]:
        async with profile.client() as hub:
            return await hub.list_tickets(dataset=dataset, state=state, role=role)

    rows = [_row(t) for t in run(go())]
    emit_rows(rows, list(rows[0]) if rows else ["id", "dataset", "state"], output)


@tickets.command("show")
@click.argument("ticket_id")
@profile_options
def tickets_show(ticket_id: str, profile: Profile) -> None:
    """One ticket, with its reason, evidence and answer (as JSON)."""

    async def go() -> Ticket:
        async with profile.client() as hub:
            return await hub.get_ticket(ticket_id)

    print_json(_full(run(go())))


@tickets.command("answer")
@click.argument("ticket_id")
@click.argument("answer", type=click.Choice(ANSWERS))
@click.option("--reason", required=True, help="Why (always required).")
@profile_options
def tickets_answer(ticket_id: str, answer: str, reason: str, profile: Profile) -> None:
    """Answer a ticket on your department's data (department admins of the issuer)."""

    async def go() -> Ticket:
        async with profile.client() as hub:
            return await hub.answer_ticket(ticket_id, answer, reason)

    t = run(go())
    said = i18n.translate("cli.tickets.answered", "ticket {id} answered {answer}; open cases told: {cases}")
    click.echo(said.format(id=t.id, answer=t.answer, cases=len(t.notified_cases)))
