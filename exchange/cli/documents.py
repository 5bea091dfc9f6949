"""`exchange verify document`: check offline a document the hub served (kept by `exchange fetch --save`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from catalog.errors import ExchangeError
from exchange.cli.common import print_json
from exchange.client import verify_document


@click.group("verify")
def verify() -> None:
    """Verify what the hub served, offline."""


@verify.command("document")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key",
    "issuer_key",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The issuer's document signing public key (PEM), as registered with the hub.",
)
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False), help="Evidence bundle of the receipt's entry.")
@click.option("--log-key", default="", help="The hub's log verifier key (name+id+base64, or a file), with --bundle.")
def verify_document_command(file: str, issuer_key: str, bundle: str | None, log_key: str) -> None:
    """Check a served document (saved by `exchange fetch --save`): its fields, the issuer's signature, the log."""
    if bundle and not log_key:
        raise click.BadParameter("--bundle needs --log-key, the hub's log verifier key", param_hint="--log-key")
    vkey = Path(log_key).read_text(encoding="utf-8").strip() if log_key and Path(log_key).is_file() else log_key
    try:
        check = verify_document(Path(file), Path(issuer_key), bundle=bundle, log_key=vkey or None)
    except ExchangeError as error:
        click.secho(f"FAILED: {error.message}", fg="red", err=True)
        click.echo(f"  (reason: {error.reason}{_field(error.metadata)})", err=True)
        sys.exit(1)
    click.echo(f"OK: {file}")
    for statement in check.holds:
        click.echo(f"  holds: {statement}")
    for statement in check.not_checked:
        click.echo(f"  not checked: {statement}")
    print_json(check.document)


def _field(metadata: dict[str, str]) -> str:
    """', field X' when the failure names a field."""
    return f", field {metadata['field']}" if "field" in metadata else ""
