"""A department adapter written in Python: serve datasets from a system no built-in source covers.

Run it with `python custom_adapter.py`; it serves plain text on 127.0.0.1:50071 for development.
In production pass tls=TlsConfig(cert, key, client_ca) to start_provider instead of insecure_dev.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from adapters.config import TlsConfig
from adapters.sdk import Adapter
from adapters.server import RunningAdapter, serve_until_signalled, start_provider
from adapters.signing import DocumentSigner
from adapters.sources.filters import RowFilter
from catalog.model import Dataset
from catalog.specs import parse_dataset
from catalog.yaml_io import load_spec_file
from exchange.auth.keys import generate_ed25519, key_id

SPECS = Path(__file__).resolve().parent.parent / "catalog" / "datasets"


class FireInspections(Adapter):
    """Fire-safety certificates from the detachment's own inspection system (here: a dict)."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        super().__init__("FIRE", datasets)
        self.certificates: dict[str, dict[str, Any]] = {}  # your system's client goes here

    async def lookup(self, dataset: Dataset, key: str) -> dict[str, Any] | None:
        """JSON-shaped: dates as "YYYY-MM-DD", decimals as strings; the server checks it against the schema."""
        row = self.certificates.get(key)
        if row is None:
            return None
        return {
            "licence_id": key,
            "holder_uscc": row["operator"],
            "holder_name": row["operator_name"],
            "premises_address": row["address"],
            "premises_area_m2": f"{row['area']:.2f}",
            "inspection_date": row["inspected"].isoformat(),
            "inspectors": list(row["inspectors"]),
            "status": row["status"],
            "valid_until": (row["inspected"] + dt.timedelta(days=3 * 365)).isoformat(),
        }

    async def scan(
        self, dataset: Dataset, columns: Sequence[str] | None, row_filter: RowFilter | None, batch_rows: int = 65536
    ) -> AsyncIterator[pa.RecordBatch]:
        """Only for table datasets; this adapter serves a record dataset, so it streams nothing."""
        return
        yield


async def main() -> None:
    spec = load_spec_file(SPECS / "fire_safety_certificate.yaml")["spec"]
    key = generate_ed25519()  # in production: load_private_key("keys/fire-signing-ed25519.pem")
    print(f"register this signing key with the hub, kid {key_id(key.public_key())}")
    tls: TlsConfig | None = None
    running = await start_provider(
        FireInspections([parse_dataset(spec)]),
        DocumentSigner("FIRE", key_id(key.public_key()), key),
        listen="127.0.0.1:50071",
        tls=tls,
        insecure_dev=tls is None,
    )

    def ready(r: RunningAdapter) -> None:
        print(f"adapter FIRE serving on port {r.port}", flush=True)

    await serve_until_signalled(running, ready)


if __name__ == "__main__":
    asyncio.run(main())
