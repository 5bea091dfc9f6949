"""`exchange audit` commands that need only files and the hub's public key: no hub, no database.

`check-proof` checks one entry's evidence bundle; `verify-export` checks an export, an archive or a
console download (a proof bundle) against the checkpoint it carries. This module imports neither the
hub nor its storage (an import contract holds it to that), so an auditor can run it anywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from exchange import i18n, localtime
from exchange.audit.bundle import EvidenceBundle, verify_bundle
from exchange.audit.export import ExportReader, footer_verifier, verify_export
from exchange.audit.key_history import KeyHistory
from exchange.audit.note import CheckpointVerifier, NoteVerifier
from exchange.audit.verify import VerifyReport
from exchange.cli.common import CommandList, failed_check, print_json
from exchange.errors import ExchangeError, InvalidArgument

# Added to the `audit` group by exchange.cli.audit.
COMMANDS = CommandList()


def when(time_us: int) -> str:
    return localtime.show(time_us, seconds=True)


def verifier_of(key: str) -> NoteVerifier:
    """A verifier key given inline (name+id+base64) or as a file holding one."""
    text = Path(key).read_text(encoding="utf-8").strip() if Path(key).is_file() else key
    return NoteVerifier.from_vkey(text)


def keys_of(key: str, history: str | None) -> CheckpointVerifier:
    """The key given, followed through the log's key history when one is given (each key valid for its sizes)."""
    trusted = verifier_of(key)
    return KeyHistory.from_text(trusted, read_text(history)) if history else trusted


KEY_HISTORY_HELP = "The log's key history (hub-signing.history) when the hub rotated its checkpoint key."


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidArgument(f"cannot read {path}: {error.strerror}", reason="MALFORMED_FILE") from None


def origin_of(given: str, note: str) -> str:
    """The origin to insist on: the one given, or the first line of the checkpoint (the key still binds it)."""
    return given or note.split("\n", 1)[0]


def show_report(report: VerifyReport, what: str) -> None:
    """Print a verification result; exit 1 when the log does not verify."""
    if report.ok:
        values = {"what": what, "size": report.size, "checkpoints": report.checked_checkpoints}
        if report.pruned:
            said = i18n.tr(
                "cli.audit.verified_pruned",
                "OK: {what} verifies: {size} entries, {pruned} of them archived and pruned, "
                "{checkpoints} checkpoint(s) matched",
                pruned=report.pruned,
                **values,
            )
        else:
            said = i18n.tr(
                "cli.audit.verified",
                "OK: {what} verifies: {size} entries, {checkpoints} checkpoint(s) matched",
                **values,
            )
        click.echo(said)
        return
    problem = report.first_problem
    assert problem is not None
    if problem.position is None:
        said = i18n.tr(
            "cli.audit.not_verified", "FAILED ({kind}): {message}", kind=problem.kind, message=problem.message
        )
    else:
        said = i18n.tr(
            "cli.audit.not_verified_at",
            "FAILED ({kind} at entry {position}): {message}",
            kind=problem.kind,
            position=problem.position,
            message=problem.message,
        )
    click.secho(said, fg="red", err=True)
    sys.exit(1)


@COMMANDS.command("check-proof")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", required=True, help="The hub's verifier key (name+id+base64), or a file holding it.")
@click.option("--key-history", type=click.Path(exists=True, dir_okay=False), help=KEY_HISTORY_HELP)
@click.option("--origin", default="", help="The log's origin line to insist on.")
def check_proof(file: str, key: str, key_history: str | None, origin: str) -> None:
    """Verify an evidence bundle offline with the hub's public key alone (and its key history after a rotation)."""
    try:
        bundle = EvidenceBundle.from_text(read_text(file))
        entry = verify_bundle(bundle, keys_of(key, key_history), origin=origin or None)
    except ExchangeError as error:
        failed_check(error)
    said = i18n.tr(
        "cli.audit.proof_ok",
        "OK: entry {index} is in the log signed by {signer}",
        index=entry.index,
        signer=verifier_of(key).name,
    )
    click.echo(said)
    print_json(
        {
            "index": entry.index,
            "time": when(entry.time_us),
            "action": entry.action,
            "department": entry.caller_department,
            "officer": entry.officer_id,
            "dataset": entry.dataset,
            "subject": entry.subject_id,
            "case": entry.case_id,
            "decision": entry.decision,
            "reason": entry.reason,
        }
    )


@COMMANDS.command("verify-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", default="", help="The hub's verifier key (name+id+base64), or a file holding it.")
@click.option("--checkpoint", "checkpoints", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint file (repeatable); default: the one the file carries.")  # fmt: skip
@click.option("--origin", default="", help="The log's origin line to insist on (default: the checkpoint's).")
def verify_export_file(file: str, key: str, checkpoints: tuple[str, ...], origin: str) -> None:
    """Verify an export, an archive or a console download offline: each entry against the signed checkpoint.

    A Parquet file carries its checkpoint and the hub's verifier key in its footer, so it verifies
    alone; still compare that key with the one the operator gave you, or pass yours with --key.

    \b
    Examples:
      exchange audit verify-export access-log.parquet
      exchange audit verify-export log.csv --checkpoint log.csv.checkpoint --key 'exchange-hub+1a2b3c4d+AT...'
    """
    path = Path(file)
    notes = [read_text(name) for name in checkpoints]
    try:
        reader = ExportReader(path)
        if key:
            verifier = verifier_of(key)
        else:
            verifier = footer_verifier(path)
            click.echo(
                i18n.translate(
                    "cli.audit.footer_key",
                    "using the verifier key from the file's footer: {key}\n"
                    "compare it with the key the hub's operator gave you, or pass yours with --key",
                ).format(key=verifier.verifier_key()),
                err=True,
            )
        first = notes[0] if notes else reader.checkpoint
        result = verify_export(path, notes, verifier, origin=origin_of(origin, first))
    except ExchangeError as error:
        failed_check(error)
    if reader.selection == "filtered" and result.ok:
        click.echo(
            i18n.translate(
                "cli.audit.filtered_export",
                "a filtered export: each entry is proven in the log; the filter ({filter}) is not signed, "
                "so the file proves what it holds, not that nothing matching was left out",
            ).format(filter=reader.filter_text or "-"),
            err=True,
        )
    show_report(result, str(path))
