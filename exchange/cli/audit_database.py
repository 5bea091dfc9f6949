"""`exchange audit` commands that read the hub's database directly: verifier key, export, verify, archive.

Run them where the hub's data lives (a SQLite data directory or a PostgreSQL URL); no running hub
is needed, and nothing in the database is trusted: entries are checked against signed checkpoints.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from exchange import i18n, localtime
from exchange.app.audit_database import AuditDatabase, EntryFilter
from exchange.audit.export import ExportReader
from exchange.audit.offline import verify_export
from exchange.auth.identity import local_operator
from exchange.cli.audit_offline import KEY_HISTORY_HELP, keys_of, origin_of, read_text, show_report, verifier_of
from exchange.cli.common import CommandList, fail, run
from exchange.config import Settings, load_settings
from exchange.errors import ExchangeError, InvalidArgument

# Added to the `audit` group by exchange.cli.audit.
COMMANDS = CommandList()


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


@COMMANDS.command("vkey")
@database_options
def vkey(settings: Settings, schema: str | None) -> None:
    """Print the hub's verifier key (from its signing key file) for auditors to keep."""
    click.echo(run(AuditDatabase(settings, schema).verifier_key()))


@COMMANDS.command("export")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="File to write (.parquet or .csv).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default=None, help="Default: from --out.")
@click.option("--from", "from_", default="", help="Only entries from this time (ISO 8601, local unless offset).")
@click.option("--until", default="", help="Only entries before this time (a date includes that whole local day).")
@click.option("--caller", "caller_department", default="", help="Only this calling department (code).")
@click.option("--dataset", default="", help="Only this dataset (code).")
@click.option("--subject", default="", help="Only entries about this person or organisation.")
@click.option("--case", "case_id", default="", help="Only this case.")
@click.option("--decision", type=click.Choice(["allow", "deny"]), default=None, help="Only this decision.")
@click.option("--action", default="", help="Only this action, e.g. exchange.fetch.")
@database_options
def export(
    out: str,
    fmt: str | None,
    from_: str,
    until: str,
    caller_department: str,
    dataset: str,
    subject: str,
    case_id: str,
    decision: str | None,
    action: str,
    settings: Settings,
    schema: str | None,
) -> None:
    """Write the entries of the latest signed checkpoint, with it and the hub's key, to Parquet or CSV.

    With a filter, only the matching entries, each with its inclusion proof, so the file still verifies.

    \b
    Examples:
      exchange audit export --data-dir /var/lib/exchange -o log.parquet
      exchange audit export --data-dir /var/lib/exchange --subject 110101199001011234 -o subject.parquet
    """
    path = Path(out)
    chosen: Any = fmt or ("csv" if path.suffix.lower() == ".csv" else "parquet")
    try:
        f = EntryFilter(
            from_us=localtime.parse(from_, "--from"),
            until_us=localtime.parse(until, "--until", end_of_date=True),
            department=caller_department,
            dataset=dataset,
            subject_id=subject,
            case_id=case_id,
            decision=decision or "",
            action=action,
        )
    except ExchangeError as error:
        fail(error)

    # An embedded command: decided and logged as the local operator (audit.log.export).
    operator = local_operator(settings.hub_department)
    written = run(AuditDatabase(settings, schema).export(operator, path, f, fmt=chosen))
    click.echo(
        i18n.translate(
            "cli.audit.exported",
            "wrote {path}: entries of the checkpoint of size {size} (inside the file and in {name}.checkpoint); "
            "check it with: exchange audit verify-export {path}",
        ).format(path=path, size=written.checkpoint_size, name=path.name)
    )


@COMMANDS.command("verify")
@click.option("--export", "export_file", type=click.Path(exists=True, dir_okay=False), help="An export or archive.")
@click.option("--checkpoint", "checkpoints", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint file (repeatable); an export's own is used when none is given.")  # fmt: skip
@click.option("--key", required=True, help="The hub's verifier key (name+id+base64), or a file holding it.")
@click.option("--key-history", type=click.Path(exists=True, dir_okay=False), help=KEY_HISTORY_HELP)
@click.option("--origin", default="", help="The log's origin line to insist on (default: the checkpoint's).")
@database_options
def verify(
    export_file: str | None,
    checkpoints: tuple[str, ...],
    key: str,
    key_history: str | None,
    origin: str,
    settings: Settings,
    schema: str | None,
) -> None:
    """Recompute the log (a database or an export) and check it against signed checkpoints; no hub needed."""
    notes = [read_text(path) for path in checkpoints]
    try:
        verifier = keys_of(key, key_history)
        if export_file:
            path = Path(export_file)
            first = notes[0] if notes else ExportReader(path).checkpoint
            report = verify_export(path, notes, verifier, origin=origin_of(origin, first))
            show_report(report, str(path))
            return
        if not notes:
            raise InvalidArgument(
                "verifying a database needs at least one signed checkpoint (--checkpoint FILE) kept apart from it",
                reason="CHECKPOINT_MISSING",
            )
        report = run(AuditDatabase(settings, schema).verify(notes, verifier, origin=origin_of(origin, notes[0])))
    except ExchangeError as error:
        fail(error)
    show_report(report, "the database")


@COMMANDS.command("rotate-key")
@database_options
def rotate_key(settings: Settings, schema: str | None) -> None:
    """Replace the hub's checkpoint key; the old key signs a handover to the new one in the key history.

    Stop every hub replica first (each signs a last checkpoint with the old key as it stops), rotate,
    copy the new key and the history to every replica, start them again.
    """
    import time

    # An embedded command: decided and logged as the local operator (audit.signing_key.rotate).
    operator = local_operator(settings.hub_department)
    try:
        old, new, size = run(AuditDatabase(settings, schema).rotate_key(operator, timestamp=int(time.time())))
    except ExchangeError as error:
        fail(error)
    history = settings.path(settings.signing_key_history)
    click.echo(
        i18n.translate("cli.audit.key_rotated", "old key {old} signs up to {size} entries").format(
            old=old.verifier_key(), size=size
        )
    )
    click.echo(
        i18n.translate("cli.audit.key_new", "new key {new} signs from {size} entries on").format(
            new=new.verifier_key(), size=size
        )
    )
    click.echo(
        i18n.translate(
            "cli.audit.key_history", "key history: {history}; give it to auditors with the new verifier key"
        ).format(history=history)
    )


@COMMANDS.command("archive")
@click.option("--before", required=True, type=int, help="Archive entries with index below this.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Archive file (.parquet or .csv).")
@click.option("--key", default="", help="The hub's verifier key to check the archive with (default: from data dir).")
@database_options
def archive(before: int, out: str, key: str, settings: Settings, schema: str | None) -> None:
    """Write entries below --before, with proofs and checkpoint, check the file, then prune them from the database."""
    path = Path(out)
    fmt: Any = "csv" if path.suffix.lower() == ".csv" else "parquet"
    given = verifier_of(key) if key else None
    # An embedded command: decided and logged as the local operator (audit.log.archive).
    operator = local_operator(settings.hub_department)
    written = run(AuditDatabase(settings, schema).archive(operator, before, path, fmt=fmt, verifier=given))
    said = i18n.tr(
        "cli.audit.archived",
        "archived entries [{first}, {end}) to {path} with proofs against the checkpoint of size {size}; "
        "pruned {pruned} entry bodies from the database",
        first=written.first,
        end=written.end,
        path=path,
        size=written.checkpoint_size,
        pruned=written.pruned,
    )
    click.echo(said)
