"""`exchange scan`: a table dataset for a case, streamed into a Parquet or CSV file, its issuer's signature checked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from adapters.bulk import VerifiedManifest
from exchange import i18n
from exchange.audit.receipt import Receipt
from exchange.cli.common import Profile, emit_record, output_option, profile_options, run
from exchange.i18n import N_

SIGNED = N_(
    "cli.scan.signed",
    "signed: {issuer} (key {kid}) vouches for {rows} rows in {batches} batches; each batch followed from the one "
    "before, and the hub logged the manifest",
)
SAVED = N_("cli.scan.saved", "written to {path}")


class _Writer:
    """Batches to a Parquet or CSV file, one at a time (a scan is never held whole)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Any = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            csv = self.path.suffix.lower() == ".csv"
            self._writer = (pacsv.CSVWriter if csv else pq.ParquetWriter)(str(self.path), batch.schema)
        self._writer.write_batch(batch)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


@click.command("scan")
@click.argument("dataset")
@click.option("--case", "case_id", required=True, help="The open case this scan is for (the purpose).")
@click.option("--column", "columns", multiple=True, help="Only this column (repeatable; default: all granted).")
@click.option("--filter", "row_filter", default="", help="Row filter, e.g. \"status = '01' and capital >= 1000000\".")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="The file to write: .parquet (default) or .csv."
)
@click.option(
    "--issuer-key",
    "issuer_key",
    type=click.Path(exists=True, dir_okay=False),
    help="The issuer's signing public key (PEM) to check the manifest with (default: the key the hub lists).",
)
@output_option
@profile_options
def scan(
    dataset: str,
    case_id: str,
    columns: tuple[str, ...],
    row_filter: str,
    out: str,
    issuer_key: str | None,
    output: str,
    profile: Profile,
) -> None:
    """Stream the table DATASET for an open case into a file, and check the issuer's signed manifest.

    The hub checks the grant and the case, logs the scan before the first row, and passes on the issuer's
    batches after checking each link of their digest chain; this command checks the chain and the issuer's
    signature again. The file appears only when every row is confirmed; a refusal or a stream that does
    not verify prints the reason (exit 2) and leaves no file.

    \b
    Examples:
      exchange scan enterprise_register --case c-1a2b3c --out register.parquet --profile svc.yaml
      exchange scan enterprise_register --case c-1a2b3c --column name --filter "status = '01'" --out r.csv
    """
    path = Path(out)
    partial = path.with_name(path.name + ".partial")
    key = Path(issuer_key).read_bytes() if issuer_key else None
    writer = _Writer(partial)

    async def go() -> tuple[VerifiedManifest | None, Receipt | None]:
        async with profile.client() as hub:
            async for batch in hub.scan(
                dataset, case_id=case_id, columns=columns, row_filter=row_filter, issuer_key=key, require_signed=True
            ):
                writer.write(batch)
            return hub.last_scan_manifest, hub.last_scan_receipt

    try:
        manifest, receipt = run(go())
    except BaseException:
        # A refusal or a stream that did not verify (run exits 2): rows that are not confirmed leave no file.
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    writer.close()
    assert manifest is not None  # require_signed: a stream without a verified manifest raised above
    if partial.exists():
        os.replace(partial, path)
    else:
        path.write_bytes(b"")  # no row matched
    click.echo(i18n.translate("cli.scan.signed", SIGNED).format(**vars(manifest)), err=True)
    click.echo(i18n.translate("cli.scan.saved", SAVED).format(path=path), err=True)
    emit_record(
        {
            "dataset": dataset,
            "rows": manifest.rows,
            "batches": manifest.batches,
            "file": str(path),
            "issuer": manifest.issuer,
            "kid": manifest.kid,
            "manifest_sha256": manifest.digest,
            "chain_head": manifest.chain_head,
            "receipt": {"log_index": receipt.index, "leaf_hash": receipt.leaf_hash.hex()} if receipt else None,
        },
        output,
    )
