"""`exchange audit`: query the access log, prove and verify it, export and archive it.

Commands that ask a running hub take the usual profile options (an auditor's or hub
admin's identity). `check-proof` and `verify` need no hub at all: only files, the
database, and the hub's public key (`exchange audit vkey` prints it). `export` and
`archive` read the database directly (run them where the hub's data lives).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from google.protobuf.json_format import MessageToDict

from catalog.errors import ExchangeError, InvalidArgument
from exchange import localtime
from exchange.audit.bundle import EvidenceBundle, verify_bundle
from exchange.audit.merkle import ConsistencyProofError, verify_consistency
from exchange.audit.note import NoteSigner, NoteVerifier, open_checkpoint
from exchange.audit.offline import archive_log, export_log, verify_database, verify_export
from exchange.audit.origin import key_name, resolve_log_origin
from exchange.audit.verify import VerifyReport
from exchange.cli.common import Profile, fail, print_json, print_table, profile_options, run
from exchange.config import Settings, load_settings
from exchange.storage import Database
from exchange.v1 import audit_pb2, common_pb2


@click.group("audit")
def audit() -> None:
    """The access log: query, citizen reports, checkpoints, proofs, export, verify, archive."""


# --- helpers -----------------------------------------------------------------------------------------


def _time_us(text: str, option: str, *, end_of_date: bool = False) -> int:
    """An ISO 8601 date or time, local (the hub's time_zone) unless it carries an offset."""
    try:
        return localtime.parse(text, option, end_of_date=end_of_date)
    except InvalidArgument as error:
        raise click.BadParameter(error.message, param_hint=option) from None


def _when(time_us: int) -> str:
    return localtime.show(time_us, seconds=True)


def _verifier(key: str) -> NoteVerifier:
    """A verifier key given inline (name+id+base64) or as a file holding one."""
    text = Path(key).read_text(encoding="utf-8").strip() if Path(key).is_file() else key
    return NoteVerifier.from_vkey(text)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidArgument(f"cannot read {path}: {error.strerror}", reason="MALFORMED_FILE") from None


def _origin(given: str, note: str) -> str:
    """The origin to insist on: the one given, or the first line of the checkpoint (the key still binds it)."""
    return given or note.split("\n", 1)[0]


def database_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options naming the hub's database directly (no running hub needed)."""
    options = [
        click.option("--config", type=click.Path(dir_okay=False, exists=True), help="The hub's settings file."),
        click.option("--data-dir", type=click.Path(file_okay=False), help="The hub's data directory (SQLite)."),
        click.option("--database-url", envvar="EXCHANGE_DATABASE_URL", help="sqlite:///PATH or postgresql://..."),
        click.option("--schema", default="", help="PostgreSQL schema holding the hub's tables."),
    ]
    for option in reversed(options):
        func = option(func)

    @functools.wraps(func)
    def wrapper(
        *args: Any, config: str | None, data_dir: str | None, database_url: str | None, schema: str, **kwargs: Any
    ) -> Any:
        overrides: dict[str, Any] = {"database_url": database_url} if database_url else {}
        try:
            settings = load_settings(config, data_dir=data_dir, **overrides)
        except ExchangeError as error:
            fail(error)
        return func(*args, settings=settings, schema=schema or None, **kwargs)

    return wrapper


async def _with_db(settings: Settings, schema: str | None, work: Callable[[Database], Any]) -> Any:
    db = Database(settings.effective_database_url, schema=schema)
    try:
        return await work(db)
    finally:
        await db.close()


def _report(report: VerifyReport, what: str) -> None:
    """Print a verification result; exit 1 when the log does not verify."""
    if report.ok:
        pruned = f", {report.pruned} of them archived and pruned" if report.pruned else ""
        click.echo(
            f"OK: {what} verifies: {report.size} entries{pruned}, {report.checked_checkpoints} checkpoint(s) matched"
        )
        return
    problem = report.first_problem
    assert problem is not None
    where = f" at entry {problem.position}" if problem.position is not None else ""
    click.secho(f"FAILED ({problem.kind}{where}): {problem.message}", fg="red", err=True)
    sys.exit(1)


# --- against a running hub ---------------------------------------------------------------------------


@audit.command("query")
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
    request = audit_pb2.QueryEntriesRequest(
        filter=audit_pb2.EntryFilter(
            from_us=_time_us(from_, "--from"),
            until_us=_time_us(until, "--until", end_of_date=True),
            department=caller_department,
            officer_id=officer_id,
            dataset=dataset,
            subject_id=subject,
            case_id=case_id,
            decision=common_pb2.Decision.Value(f"DECISION_{decision.upper() if decision else 'UNSPECIFIED'}"),
            reason=reason,
            action=action,
        ),
        page=common_pb2.PageRequest(page_size=page_size, page_token=page_token),
        newest_first=newest_first,
        limit=limit,
    )

    async def go() -> None:
        rows: list[dict[str, Any]] = []
        token = ""
        async with profile.client() as hub:
            async for page in hub.stream(hub.audit.QueryEntries, request):
                token = page.page.next_page_token
                for e in page.entries:
                    if as_json:
                        print_json(MessageToDict(e, preserving_proto_field_name=True))
                        continue
                    rows.append(
                        {
                            "index": e.index,
                            "time": _when(e.time_us),
                            "action": e.action,
                            "department": e.caller_department,
                            "officer": e.officer_id,
                            "dataset": e.dataset,
                            "subject": e.subject_id,
                            "case": e.case_id,
                            "decision": "allow" if e.decision == common_pb2.DECISION_ALLOW else "deny",
                            "reason": e.reason,
                        }
                    )
        if not as_json:
            print_table(rows, ["index", "time", "action", "department", "officer", "dataset", "subject", "case",
                               "decision", "reason"])  # fmt: skip
        if token:
            click.echo(f"more: --page-token {token}", err=True)

    run(go())


@audit.command("subject")
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
            report = await hub.call(
                hub.audit.GetSubjectReport,
                audit_pb2.GetSubjectReportRequest(
                    subject_id=subject_id,
                    from_us=_time_us(from_, "--from"),
                    until_us=_time_us(until, "--until", end_of_date=True),
                    page=common_pb2.PageRequest(page_size=page_size, page_token=page_token),
                ),
            )
        if as_json:
            print_json(MessageToDict(report, preserving_proto_field_name=True))
            return
        print_table(
            (
                {
                    "time": _when(a.time_us),
                    "department": f"{a.department_name or a.department} ({a.department})",
                    "role": a.officer_role,
                    "dataset": a.dataset_title or a.dataset,
                    "case": a.case_id,
                    "service item": a.service_item,
                    "decision": "allow" if a.decision == common_pb2.DECISION_ALLOW else "deny",
                    "log index": a.log_index,
                }
                for a in report.accesses
            ),
            ["time", "department", "role", "dataset", "case", "service item", "decision", "log index"],
        )
        if report.page.next_page_token:
            click.echo(f"more: --page-token {report.page.next_page_token}", err=True)

    run(go())


@audit.command("checkpoint")
@click.option("--sign", is_flag=True, help="Have the hub sign a fresh checkpoint of the current log now.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Also write the signed note to this file.")
@profile_options
def checkpoint(sign: bool, out: str | None, profile: Profile) -> None:
    """Print the latest signed checkpoint (C2SP signed note) and the hub's verifier key."""

    async def go() -> audit_pb2.GetCheckpointResponse:
        async with profile.client() as hub:
            return await hub.call(hub.audit.GetCheckpoint, audit_pb2.GetCheckpointRequest(sign_now=sign))

    answer = run(go())
    click.echo(answer.checkpoint.signed_note, nl=False)
    click.echo(f"verifier key: {answer.verifier_key}", err=True)
    if out:
        Path(out).write_text(answer.checkpoint.signed_note, encoding="utf-8")


@audit.command("consistency")
@click.option("--old", "old_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint you kept earlier.")  # fmt: skip
@click.option("--vkey", required=True, help="The hub's verifier key (name+id+base64), or a file holding it.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Keep the hub's latest checkpoint in this file.")
@profile_options
def consistency(old_file: str, vkey: str, out: str | None, profile: Profile) -> None:
    """Check that the hub's latest checkpoint extends one you kept: nothing signed before was changed."""
    verifier = _verifier(vkey)
    try:
        old = open_checkpoint(_read(old_file), verifier)
    except ExchangeError as error:
        fail(error)

    async def go() -> tuple[audit_pb2.GetCheckpointResponse, audit_pb2.GetConsistencyProofResponse | None]:
        async with profile.client() as hub:
            latest = await hub.call(hub.audit.GetCheckpoint, audit_pb2.GetCheckpointRequest())
            if latest.checkpoint.size < old.size:
                return latest, None
            request = audit_pb2.GetConsistencyProofRequest(old_size=old.size, new_size=latest.checkpoint.size)
            return latest, await hub.call(hub.audit.GetConsistencyProof, request)

    latest, proof = run(go())
    try:
        new = open_checkpoint(latest.checkpoint.signed_note, verifier, origin=old.origin)
        if proof is None:
            raise ConsistencyProofError(
                f"the hub's latest checkpoint covers {new.size} entries, fewer than the {old.size} you kept"
            )
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, list(proof.hashes))
    except ExchangeError as error:
        click.secho(f"FAILED: {error.message}", fg="red", err=True)
        click.echo(f"  (reason: {error.reason})", err=True)
        sys.exit(1)
    if out:
        Path(out).write_text(latest.checkpoint.signed_note, encoding="utf-8")
    click.echo(f"OK: the log of {new.size} entries extends the {old.size} entries of the checkpoint you kept")


@audit.command("proof")
@click.argument("index", type=int)
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Bundle file (default entry-INDEX.proof).")
@profile_options
def proof(index: int, out: str | None, profile: Profile) -> None:
    """Write an evidence bundle for entry INDEX: the entry, its inclusion path and a signed checkpoint."""

    async def go() -> audit_pb2.GetEvidenceBundleResponse:
        async with profile.client() as hub:
            return await hub.call(hub.audit.GetEvidenceBundle, audit_pb2.GetEvidenceBundleRequest(index=index))

    path = Path(out or f"entry-{index}.proof")
    path.write_text(run(go()).bundle, encoding="utf-8")
    click.echo(f"wrote {path}; check it with: exchange audit check-proof {path} --key <hub verifier key>")


@audit.command("hide")
@click.argument("department")
@click.option("--legal-basis", required=True, help="The law that allows this department's accesses to stay hidden.")
@profile_options
def hide(department: str, legal_basis: str, profile: Profile) -> None:
    """Leave DEPARTMENT's future accesses out of citizen reports (auditors still see them)."""
    _set_hidden(department, True, legal_basis, profile)


@audit.command("unhide")
@click.argument("department")
@profile_options
def unhide(department: str, profile: Profile) -> None:
    """Show DEPARTMENT's future accesses in citizen reports again."""
    _set_hidden(department, False, "", profile)


def _set_hidden(department: str, hidden: bool, legal_basis: str, profile: Profile) -> None:
    async def go() -> None:
        async with profile.client() as hub:
            answer = await hub.call(
                hub.audit.SetHiddenAccesses,
                audit_pb2.SetHiddenAccessesRequest(department=department, hidden=hidden, legal_basis=legal_basis),
            )
        state = f"hidden from citizens ({answer.legal_basis})" if answer.hidden else "shown to citizens"
        click.echo(f"{answer.department}: accesses from now on are {state}")

    run(go())


# --- offline: files, the database and the hub's public key -------------------------------------------


@audit.command("check-proof")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", required=True, help="The hub's verifier key (name+id+base64), or a file holding it.")
@click.option("--origin", default="", help="The log's origin line to insist on.")
def check_proof(file: str, key: str, origin: str) -> None:
    """Verify an evidence bundle offline with the hub's public key alone."""
    try:
        bundle = EvidenceBundle.from_text(_read(file))
        entry = verify_bundle(bundle, _verifier(key), origin=origin or None)
    except ExchangeError as error:
        click.secho(f"FAILED: {error.message}", fg="red", err=True)
        click.echo(f"  (reason: {error.reason})", err=True)
        sys.exit(1)
    click.echo(f"OK: entry {entry.index} is in the log signed by {_verifier(key).name}")
    print_json(
        {
            "index": entry.index,
            "time": _when(entry.time_us),
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


@audit.command("vkey")
@database_options
def vkey(settings: Settings, schema: str | None) -> None:
    """Print the hub's verifier key (from its signing key file) for auditors to keep."""
    from exchange.hub import load_or_create_signing_key

    try:
        path = settings.path(settings.signing_key)
        if not path.exists():
            raise InvalidArgument(f"no hub signing key at {path}; run `exchange init`", reason="SIGNING_KEY_MISSING")
        key = load_or_create_signing_key(path)
    except ExchangeError as error:
        fail(error)
    # The key signs under the first segment of the log's origin, which the database may hold.
    origin = run(_with_db(settings, schema, lambda db: resolve_log_origin(settings, db)))
    signer = NoteSigner(key_name(origin), key)
    click.echo(signer.verifier().verifier_key())


@audit.command("export")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="File to write (.parquet or .csv).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default=None, help="Default: from --out.")
@database_options
def export(out: str, fmt: str | None, settings: Settings, schema: str | None) -> None:
    """Write the entries of the latest signed checkpoint, with it, to Parquet or CSV."""
    path = Path(out)
    chosen: Any = fmt or ("csv" if path.suffix.lower() == ".csv" else "parquet")
    written = run(_with_db(settings, schema, lambda db: export_log(db, path, fmt=chosen)))
    click.echo(f"wrote {written.end} entries to {path} (checkpoint of size {written.checkpoint_size} inside and in "
               f"{path.name}.checkpoint)")  # fmt: skip


@audit.command("verify")
@click.option("--export", "export_file", type=click.Path(exists=True, dir_okay=False), help="An export or archive.")
@click.option("--checkpoint", "checkpoints", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint file (repeatable); an export's own is used when none is given.")  # fmt: skip
@click.option("--key", required=True, help="The hub's verifier key (name+id+base64), or a file holding it.")
@click.option("--origin", default="", help="The log's origin line to insist on (default: the checkpoint's).")
@database_options
def verify(
    export_file: str | None,
    checkpoints: tuple[str, ...],
    key: str,
    origin: str,
    settings: Settings,
    schema: str | None,
) -> None:
    """Recompute the log (a database or an export) and check it against signed checkpoints; no hub needed."""
    notes = [_read(path) for path in checkpoints]
    verifier = _verifier(key)
    try:
        if export_file:
            path = Path(export_file)
            first = notes[0] if notes else _read(str(path.with_name(path.name + ".checkpoint")))
            report = verify_export(path, notes, verifier, origin=_origin(origin, first))
            _report(report, str(path))
            return
        if not notes:
            raise InvalidArgument(
                "verifying a database needs at least one signed checkpoint (--checkpoint FILE) kept apart from it",
                reason="CHECKPOINT_MISSING",
            )
        report = run(
            _with_db(
                settings,
                schema,
                lambda db: verify_database(db, notes, verifier, origin=_origin(origin, notes[0])),
            )
        )
    except ExchangeError as error:
        fail(error)
    _report(report, "the database")


@audit.command("archive")
@click.option("--before", required=True, type=int, help="Archive entries with index below this.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Archive file (.parquet or .csv).")
@click.option("--key", default="", help="The hub's verifier key to check the archive with (default: from data dir).")
@database_options
def archive(before: int, out: str, key: str, settings: Settings, schema: str | None) -> None:
    """Write entries below --before, with proofs and checkpoint, check the file, then prune them from the database."""
    path = Path(out)
    fmt: Any = "csv" if path.suffix.lower() == ".csv" else "parquet"
    from exchange.hub import load_or_create_signing_key

    given = _verifier(key) if key else None
    signing = settings.path(settings.signing_key)
    if given is None and not signing.exists():
        fail(InvalidArgument(f"no hub signing key at {signing}; pass --key", reason="SIGNING_KEY_MISSING"))

    async def archive_under_its_origin(db: Database) -> Any:
        # The log's own origin (and the key name it signs under), which the setting may leave unsaid.
        origin = await resolve_log_origin(settings, db)
        verifier = given or NoteSigner(key_name(origin), load_or_create_signing_key(signing)).verifier()
        return await archive_log(db, before, path, verifier, origin=origin, fmt=fmt)

    written = run(_with_db(settings, schema, archive_under_its_origin))
    click.echo(
        f"archived entries [{written.first}, {written.end}) to {path} with proofs against the checkpoint of size "
        f"{written.checkpoint_size}; pruned {written.pruned} entry bodies from the database"
    )
