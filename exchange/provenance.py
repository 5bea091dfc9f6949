"""Where a fetched document came from. Shared by the hub's fetch and the client, which needs no hub."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provenance:
    """The issuer's signature and the dataset version a document was served under, and when it was fetched."""

    issuer: str
    dataset: str
    dataset_version: str
    key: str
    issued_at_us: int
    kid: str
    signature: bytes
    content_digest: str
    fetched_at_us: int
    # Format 2 (docs/document-format.md): the issuer's signed envelope and the disclosures of the returned
    # fields, so the recipient can verify them; empty for format 1.
    format: int = 1
    envelope_json: bytes = b""
    disclosures: tuple[bytes, ...] = ()
