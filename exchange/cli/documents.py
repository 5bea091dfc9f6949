"""`exchange fetch` and `exchange verify document`: fetch a document for a case, keep it, check it offline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from catalog.errors import ExchangeError
from exchange.cli.common import Profile, print_json, profile_options, run
from exchange.client import verify_document


@click.command("fetch")
@click.argument("dataset")
@click.argument("key")
@click.option("--case", "case_id", required=True, help="The case the document is fetched for.")
@click.option("--item", "service_item", default="", help="The service item, when the case has more than one.")
@click.option("--field", "fields", multiple=True, help="A field wanted (repeatable); default every field allowed.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Keep the served response as JSON in this file.")
@profile_options
def fetch(
    dataset: str, key: str, case_id: str, service_item: str, fields: tuple[str, ...], out: str | None, profile: Profile
) -> None:
    """Fetch DATASET by KEY for a case; print the fields (and keep the verifiable response with -o)."""

    async def go() -> None:
        async with profile.client() as hub:
            document = await hub.fetch(dataset, key, case_id=case_id, service_item=service_item, fields=fields)
        if out:
            document.save(out)
            click.echo(f"saved the served response to {out} (check it with `exchange verify document {out}`)")
        print_json({"data": document.data, "receipt": document.receipt.index, "issuer": document.provenance.issuer})

    run(go())


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
    """Check a served document (saved by `exchange fetch -o`): its fields, the issuer's signature, the log."""
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
