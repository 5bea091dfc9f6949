"""Department adapters: issuer signatures and the built-in data sources (REST, SQL, Parquet/CSV files).

An adapter runs next to a department's own system, answers the hub's lookups and scans from that
department's real data, and signs every document it serves so the hub can check where it came from.
`adapters.sdk` is the base for writing one (`Adapter`), `adapters.server` serves it as the Provider gRPC
service (`start_adapter`, `start_provider`); they are imported on their own so the hub, which only
verifies signatures, does not load the sources' drivers.
"""

from adapters.signing import (
    BatchProof,
    DocumentSigner,
    SignedDocument,
    canonical_document_bytes,
    canonical_json,
    verify_batch,
    verify_document,
)

__all__ = [
    "BatchProof",
    "DocumentSigner",
    "SignedDocument",
    "canonical_document_bytes",
    "canonical_json",
    "verify_batch",
    "verify_document",
]
