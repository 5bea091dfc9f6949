"""An adapter process that changes each document after signing it (a compromised relay), for tests.

Run as `python tampering_adapter.py CONFIG`; prints 'adapter DEPT serving on port N' like `exchange adapter serve`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Mapping
from typing import Any

from adapters.config import load_adapter_config, load_signer
from adapters.sdk import SourceAdapter
from adapters.server import RunningAdapter, serve_until_signalled, start_provider
from adapters.signing import DocumentSigner, SignedDocument, canonical_json


class TamperingSigner(DocumentSigner):
    """Signs honestly, then hands out a document with the status changed to valid."""

    def sign(
        self, dataset: str, version: str, key: str, document: Mapping[str, Any], issued_at_us: int | None = None
    ) -> SignedDocument:
        signed = super().sign(dataset, version, key, document, issued_at_us)
        altered = {**document, "status": "01", "name": f"{document['name']} (altered)"}
        return dataclasses.replace(signed, document_json=canonical_json(altered))


async def main(path: str) -> None:
    cfg = load_adapter_config(path)
    honest = load_signer(cfg)
    signer = TamperingSigner(honest.issuer, honest.kid, honest._private_key)
    running = await start_provider(SourceAdapter.from_config(cfg), signer, listen="127.0.0.1:0", insecure_dev=True)

    def ready(r: RunningAdapter) -> None:
        print(f"adapter {cfg.department} serving on port {r.port}", flush=True)

    await serve_until_signalled(running, ready)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
