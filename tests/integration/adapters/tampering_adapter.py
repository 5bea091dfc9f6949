"""An adapter process that changes each document after signing it (a compromised relay), for tests.

Run as `python tampering_adapter.py CONFIG`; prints 'adapter DEPT serving on port N' like `exchange adapter serve`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Mapping
from typing import Any

from adapters.config import load_adapter_config, load_signer
from adapters.sdk import SourceAdapter
from adapters.server import RunningAdapter, serve_until_signalled, start_provider
from adapters.signing import Disclosure, DocumentSigner, SignedDocument, canonical_json


class TamperingSigner(DocumentSigner):
    """Signs honestly, then hands out a document with the status changed to valid."""

    def sign(
        self, dataset: str, version: str, key: str, document: Mapping[str, Any], issued_at_us: int | None = None
    ) -> SignedDocument:
        signed = super().sign(dataset, version, key, document, issued_at_us)
        altered = {**document, "status": "01", "name": f"{document['name']} (altered)"}
        if signed.format == 1:
            return dataclasses.replace(signed, document_json=canonical_json(altered))
        # Format 2: the same salts, the values changed (what a relay rewriting a field would send).
        disclosures = [json.loads(d) for d in signed.disclosures]
        rewritten = tuple(Disclosure(salt, name, altered[name]).encoded() for salt, name, _ in disclosures)
        return dataclasses.replace(signed, disclosures=rewritten, document_json=canonical_json(altered))


async def main(path: str) -> None:
    cfg = load_adapter_config(path)
    honest = load_signer(cfg)
    signer = TamperingSigner(honest.issuer, honest.kid, honest._private_key)
    running = await start_provider(
        SourceAdapter.from_config(cfg), signer, listen="127.0.0.1:0", tls=cfg.tls, insecure_dev=cfg.insecure_dev
    )

    def ready(r: RunningAdapter) -> None:
        print(f"adapter {cfg.department} serving on port {r.port}", flush=True)

    await serve_until_signalled(running, ready)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
