"""`exchange audit` commands that ask a running hub: queries, citizen reports, checkpoints, proofs, hiding.

They take the usual profile options (an auditor's or hub admin's identity) and speak gRPC only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from exchange import i18n, localtime
from exchange.audit.merkle import ConsistencyProofError, verify_consistency
from exchange.audit.note import open_checkpoint
from exchange.cli.audit_offline import KEY_HISTORY_HELP, keys_of, read_text, when
from exchange.cli.common import (
    CommandList,
    Profile,
    fail,
    failed_check,
    print_json,
    print_table,
    profile_options,
    run,
)
from exchange.client_audit import CheckpointInfo
from exchange.errors import ExchangeError, InvalidArgument

# Added to the `audit` group by exchange.cli.audit.
COMMANDS = CommandList()


def more_pages(token: str) -> str:
    """The hint that a listing goes on: the option to continue with."""
    return i18n.tr("cli.audit.more", "more: --page-token {token}", token=token)


def _time_us(text: str, option: str, *, end_of_date: bool = False) -> int:
    """An ISO 8601 date or time, local (the hub's time_zone) unless it carries an offset."""
    try:
        return localtime.parse(text, option, end_of_date=end_of_date)
    except InvalidArgument as error:
        raise click.BadParameter(error.message, param_hint=option) from None


@COMMANDS.command("query")
@click.option("--from", "from_", default="", help="From this time (ISO 8601; local unless it has an offset).")
@click.option("--until", default="", help="Up to this time (a date includes that whole local day).")
@click.option("--caller", "caller_department", default="", help="Calling department (code).")
@click.option("--officer-id", default="", help="Officer id.")
@click.option("--dataset", default="", help="Dataset code.")
@click.option("--subject", default="", help="Whose data (person or organisation id).")
@click.option("--case", "case_id", default="", help="Case id.")
@click.option("--decision", type=click.Choice(["allow", "deny"]), default=None, help="Decision.")
@click.option("--reason", default="", help="Reason code.")
@click.option("--action", default="", help="Action, e.g. exchange.fetch.")
@click.option("--newest-first", is_flag=True, help="Newest entries first.")
@click.option("--limit", default=100, show_default=True, help="At most this many entries (0 = all).")
@click.option("--page-size", default=100, show_default=True, help="Entries per streamed page.")
@click.option("--page-token", default="", help="Continue after a page (printed at the end).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@profile_options
def query(
    from_: str,
    until: str,
    caller_department: str,
    officer_id: str,
    dataset: str,
    subject: str,
    case_id: str,
    decision: str | None,
    reason: str,
    action: str,
    newest_first: bool,
    limit: int,
    page_size: int,
    page_token: str,
    as_json: bool,
    profile: Profile,
) -> None:
    """Search the access log (metadata only)."""
    from_us = _time_us(from_, "--from")
    until_us = _time_us(until, "--until", end_of_date=True)

    async def go() -> None:
        rows: list[dict[str, Any]] = []
        token = ""
        async with profile.client() as hub:
            pages = hub.query_entries(
                from_us=from_us,
                until_us=until_us,
                department=caller_department,
                officer_id=officer_id,
                dataset=dataset,
                subject_id=subject,
                case_id=case_id,
                decision=decision or "",
                reason=reason,
                action=action,
                newest_first=newest_first,
                limit=limit,
                page_size=page_size,
                page_token=page_token,
            )
            async for page in pages:
                token = page.next_page_token
                for e in page.entries:
                    if as_json:
                        print_json(e.record)
                        continue
                    rows.append(
                        {
                            "index": e.index,
                            "time": when(e.time_us),
                            "action": e.action,
                            "department": e.caller_department,
                            "officer": e.officer_id,
                            "dataset": e.dataset,
                            "subject": e.subject_id,
                            "case": e.case_id,
                            "decision": e.decision,
                            "reason": e.reason,
                        }
                    )
        if not as_json:
            print_table(rows, ["index", "time", "action", "department", "officer", "dataset", "subject", "case",
                               "decision", "reason"])  # fmt: skip
        if token:
            click.echo(more_pages(token), err=True)

    run(go())


@COMMANDS.command("subject")
@click.argument("subject_id")
@click.option("--from", "from_", default="", help="From this time (ISO 8601; local unless it has an offset).")
@click.option("--until", default="", help="Up to this time (a date includes that whole local day).")
@click.option("--page-size", default=100, show_default=True, help="Accesses per page.")
@click.option("--page-token", default="", help="Continue after a page (printed at the end).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@profile_options
def subject(
    subject_id: str, from_: str, until: str, page_size: int, page_token: str, as_json: bool, profile: Profile
) -> None:
    """Every access to one person's or organisation's data, newest first (the citizen report)."""

    async def go() -> None:
        async with profile.client() as hub:
            report = await hub.get_subject_report(
                subject_id,
                from_us=_time_us(from_, "--from"),
                until_us=_time_us(until, "--until", end_of_date=True),
                page_size=page_size,
                page_token=page_token,
            )
        if as_json:
            print_json(report.record)
            return
        print_table(
            (
                {
                    "time": when(a.time_us),
                    "department": f"{a.department_name or a.department} ({a.department})",
                    "role": a.officer_role,
                    "dataset": a.dataset_title or a.dataset,
                    "case": a.case_id,
                    "item": a.service_item,
                    "decision": a.decision,
                    "index": a.log_index,
                }
                for a in report.accesses
            ),
            ["time", "department", "role", "dataset", "case", "item", "decision", "index"],
        )
        if report.next_page_token:
            click.echo(more_pages(report.next_page_token), err=True)

    run(go())


@COMMANDS.command("checkpoint")
@click.option("--sign", is_flag=True, help="Have the hub sign a fresh checkpoint of the current log now.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Also write the signed note to this file.")
@profile_options
def checkpoint(sign: bool, out: str | None, profile: Profile) -> None:
    """Print the latest signed checkpoint (C2SP signed note) and the hub's verifier key."""

    async def go() -> CheckpointInfo:
        async with profile.client() as hub:
            return await hub.get_checkpoint(sign_now=sign)

    answer = run(go())
    click.echo(answer.signed_note, nl=False)
    click.echo(i18n.tr("cli.audit.verifier_key", "verifier key: {key}", key=answer.verifier_key), err=True)
    if out:
        Path(out).write_text(answer.signed_note, encoding="utf-8")


@COMMANDS.command("consistency")
@click.option("--old", "old_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint you kept earlier.")  # fmt: skip
@click.option("--vkey", required=True, help="The hub's verifier key (name+id+base64), or a file holding it.")
@click.option("--key-history", type=click.Path(exists=True, dir_okay=False), help=KEY_HISTORY_HELP)
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Keep the hub's latest checkpoint in this file.")
@profile_options
def consistency(old_file: str, vkey: str, key_history: str | None, out: str | None, profile: Profile) -> None:
    """Check that the hub's latest checkpoint extends one you kept: nothing signed before was changed."""
    try:
        verifier = keys_of(vkey, key_history)
        old = open_checkpoint(read_text(old_file), verifier)
    except ExchangeError as error:
        fail(error)

    async def go() -> tuple[CheckpointInfo, list[bytes] | None]:
        async with profile.client() as hub:
            latest = await hub.get_checkpoint()
            if latest.size < old.size:
                return latest, None
            return latest, await hub.get_consistency_proof(old.size, latest.size)

    latest, proof = run(go())
    try:
        new = open_checkpoint(latest.signed_note, verifier, origin=old.origin)
        if proof is None:
            raise ConsistencyProofError(
                f"the hub's latest checkpoint covers {new.size} entries, fewer than the {old.size} you kept"
            )
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except ExchangeError as error:
        failed_check(error)
    if out:
        Path(out).write_text(latest.signed_note, encoding="utf-8")
    said = i18n.tr(
        "cli.audit.consistent",
        "OK: the log of {size} entries extends the {old_size} entries of the checkpoint you kept",
        size=new.size,
        old_size=old.size,
    )
    click.echo(said)


@COMMANDS.command("proof")
@click.argument("index", type=int)
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Bundle file (default entry-INDEX.proof).")
@profile_options
def proof(index: int, out: str | None, profile: Profile) -> None:
    """Write an evidence bundle for entry INDEX: the entry, its inclusion path and a signed checkpoint."""

    async def go() -> str:
        async with profile.client() as hub:
            return await hub.get_evidence_bundle(index)

    path = Path(out or f"entry-{index}.proof")
    path.write_text(run(go()), encoding="utf-8")
    said = i18n.tr(
        "cli.audit.proof_written",
        "wrote {path}; check it with: exchange audit check-proof {path} --key <hub verifier key>",
        path=path,
    )
    click.echo(said)


# Not named `department`: that is the profile option naming who acts (--department).
hidden_department = click.argument("hidden_department", metavar="DEPARTMENT")


@COMMANDS.command("hide")
@hidden_department
@click.option("--legal-basis", required=True, help="The law that allows this department's accesses to stay hidden.")
@profile_options
def hide(hidden_department: str, legal_basis: str, profile: Profile) -> None:
    """Leave DEPARTMENT's future accesses out of citizen reports (auditors still see them)."""
    _set_hidden(hidden_department, True, legal_basis, profile)


@COMMANDS.command("unhide")
@hidden_department
@profile_options
def unhide(hidden_department: str, profile: Profile) -> None:
    """Show DEPARTMENT's future accesses in citizen reports again."""
    _set_hidden(hidden_department, False, "", profile)


def _set_hidden(department: str, hidden: bool, legal_basis: str, profile: Profile) -> None:
    async def go() -> None:
        async with profile.client() as hub:
            answer = await hub.set_hidden_accesses(department, hidden=hidden, legal_basis=legal_basis)
        if answer.hidden:
            said = i18n.tr(
                "cli.audit.hidden",
                "{department}: accesses from now on are hidden from citizens ({legal_basis})",
                department=answer.department,
                legal_basis=answer.legal_basis,
            )
        else:
            said = i18n.tr(
                "cli.audit.shown",
                "{department}: accesses from now on are shown to citizens",
                department=answer.department,
            )
        click.echo(said)

    run(go())
