"""`exchange verify document`: check offline a document the hub served (kept by `exchange fetch --save`)."""

from __future__ import annotations

from pathlib import Path

import click

from exchange import i18n
from exchange.cli.common import EXISTING_FILE, failed_check, print_json
from exchange.client import verify_document
from exchange.errors import ExchangeError


@click.group("verify")
def verify() -> None:
    """Verify what the hub served, offline."""


ISSUER_KEY_HELP = "The issuer's document signing public key (PEM), as registered with the hub."


@verify.command("document")
@click.argument("file", type=EXISTING_FILE)
@click.option("--key", "issuer_key", required=True, type=EXISTING_FILE, help=ISSUER_KEY_HELP)
@click.option("--bundle", type=EXISTING_FILE, help="Evidence bundle of the receipt's entry.")
@click.option("--log-key", default="", help="The hub's log verifier key (name+id+base64, or a file), with --bundle.")
def verify_document_command(file: str, issuer_key: str, bundle: str | None, log_key: str) -> None:
    """Check a served document (saved by `exchange fetch --save`): its fields, the issuer's signature, the log."""
    if bundle and not log_key:
        raise click.BadParameter(
            i18n.translate("cli.verify.bundle_needs_key", "--bundle needs --log-key, the hub's log verifier key"),
            param_hint="--log-key",
        )
    vkey = Path(log_key).read_text(encoding="utf-8").strip() if log_key and Path(log_key).is_file() else log_key
    try:
        check = verify_document(Path(file), Path(issuer_key), bundle=bundle, log_key=vkey or None)
    except ExchangeError as error:
        failed_check(error)
    click.echo(i18n.tr("cli.verify.ok", "OK: {file}", file=file))
    for statement in check.holds:
        click.echo("  " + i18n.tr("cli.verify.holds", "holds: {statement}", statement=i18n.said(statement)))
    for statement in check.not_checked:
        click.echo("  " + i18n.tr("cli.verify.not_checked", "not checked: {statement}", statement=i18n.said(statement)))
    print_json(check.document)
