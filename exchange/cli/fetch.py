"""`exchange fetch`: one document from its issuing department, for a case (what a department system does)."""

from __future__ import annotations

import click

from exchange import i18n
from exchange.cli.common import Profile, emit_record, output_option, profile_options, run


@click.command("fetch")
@click.argument("dataset")
@click.argument("key")
@click.option("--case", "case_id", required=True, help="The open case this fetch is for (the purpose).")
@click.option("--field", "fields", multiple=True, help="Only this field (repeatable; default: all granted).")
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    help="Keep the served response (fields, disclosures, signed envelope, receipt) for `exchange verify document`.",
)
@output_option
@profile_options
def fetch(
    dataset: str, key: str, case_id: str, fields: tuple[str, ...], save: str | None, output: str, profile: Profile
) -> None:
    """Fetch the DATASET document KEY for an open case; prints it with its access-log receipt.

    The hub checks the grant, the case and its parties, calls the issuing department's adapter,
    verifies its signature and logs the access; a refusal prints the reason (exit 2).

    \b
    Examples:
      exchange fetch fire_safety_certificate FS-2026-0001 --case c-1a2b3c --profile svc.yaml
      exchange fetch business_licence 91110105MA01XXXXXX --case c-1a2b3c --field name -o json
      exchange fetch business_licence 91110105MA01XXXXXX --case c-1a2b3c --save licence.json
    """

    async def go() -> None:
        async with profile.client() as hub:
            document = await hub.fetch(dataset, key, case_id=case_id, fields=fields)
        if save:
            document.save(save)
            said = i18n.tr(
                "cli.fetch.saved", "saved to {path}: check it with `exchange verify document {path}`", path=save
            )
            click.echo(said, err=True)
        emit_record(
            {
                "dataset": dataset,
                "key": key,
                "data": document.data,
                "issuer": document.provenance.issuer,
                "receipt": {"log_index": document.receipt.index, "leaf_hash": document.receipt.leaf_hash.hex()},
            },
            output,
        )

    run(go())
