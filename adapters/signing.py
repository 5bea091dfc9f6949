"""Issuer signatures: a department signs each document it serves; the hub verifies before storing it."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, MutableSet, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from catalog.errors import DataLoss, FailedPrecondition, InvalidArgument
from exchange.audit.merkle import (
    ProofError,
    inclusion_proof_from_leaves,
    leaf_hash,
    root_from_leaf_hashes,
    verify_inclusion,
)

DOCUMENT_CONTEXT = b"exchange-document/v1\n"
BATCH_CONTEXT = b"exchange-document-batch/v1\n"

KeyLookup = Callable[[str, str], Ed25519PublicKey | None]
"""Returns the issuer's public key for (issuer, kid), or None when the kid is unknown."""


def _reject_non_finite(value: Any, path: str = "document") -> None:
    """Raise InvalidArgument if a NaN or infinite float hides anywhere in the value."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(
            f"{path} is {value!r}; signed documents carry only finite numbers",
            reason="DOCUMENT_NOT_CANONICAL",
        )
    if isinstance(value, Mapping):
        for k, v in value.items():
            _reject_non_finite(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _reject_non_finite(v, f"{path}[{i}]")


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8, finite numbers only."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        _reject_non_finite(value)  # names where the NaN or infinity is
        raise
    except TypeError as exc:
        # A date or Decimal slipped through: sources must hand over JSON-shaped values.
        raise InvalidArgument(f"document is not JSON-shaped: {exc}", reason="DOCUMENT_NOT_CANONICAL") from exc
    return text.encode("utf-8")


def canonical_document_bytes(
    *,
    dataset: str,
    dataset_version: str,
    key: str,
    issued_at_us: int,
    issuer: str,
    document: Mapping[str, Any],
) -> bytes:
    """The exact bytes an issuer signs: context line + canonical JSON of the document and its provenance."""
    envelope = {
        "dataset": dataset,
        "version": dataset_version,
        "key": key,
        "issued_at_us": issued_at_us,
        "issuer": issuer,
        "document": document,
    }
    return DOCUMENT_CONTEXT + canonical_json(envelope)


@dataclass(frozen=True)
class BatchProof:
    """Where a document sits in a signed batch: an RFC 6962 inclusion path to the signed root."""

    index: int
    size: int
    path: tuple[bytes, ...]
    root: bytes


def batch_signed_bytes(size: int, root: bytes) -> bytes:
    """The bytes a batch signature covers: context line, the batch size and its Merkle root."""
    return BATCH_CONTEXT + f"{size}\n{root.hex()}".encode("ascii")


@dataclass(frozen=True)
class SignedDocument:
    """A document as its issuer served it, with the issuer's signature over it and its provenance."""

    dataset: str
    dataset_version: str
    key: str
    issuer: str
    issued_at_us: int
    document_json: bytes
    kid: str
    signature: bytes
    batch: BatchProof | None = None
    """Set when signature covers a batch root (X-Road style) rather than this document alone."""

    def document(self) -> dict[str, Any]:
        """The document as a dict, parsed from its canonical JSON."""
        parsed = json.loads(self.document_json)
        if not isinstance(parsed, dict):
            raise DataLoss(
                f"document {self.dataset}/{self.key} from {self.issuer} is not a JSON object",
                reason="DOCUMENT_NOT_OBJECT",
            )
        return parsed

    def signed_bytes(self, document: Mapping[str, Any] | None = None) -> bytes:
        """The bytes the signature covers, rebuilt from the fields (and the document, when already parsed)."""
        return canonical_document_bytes(
            dataset=self.dataset,
            dataset_version=self.dataset_version,
            key=self.key,
            issued_at_us=self.issued_at_us,
            issuer=self.issuer,
            document=self.document() if document is None else document,
        )


class DocumentSigner:
    """Signs documents on behalf of one issuing department with one Ed25519 key."""

    def __init__(self, issuer: str, kid: str, private_key: Ed25519PrivateKey) -> None:
        self.issuer = issuer
        self.kid = kid
        self._private_key = private_key

    def public_key(self) -> Ed25519PublicKey:
        """The public half, to register with the hub."""
        return self._private_key.public_key()

    def sign(
        self,
        dataset: str,
        version: str,
        key: str,
        document: Mapping[str, Any],
        issued_at_us: int | None = None,
    ) -> SignedDocument:
        """Sign one document now (or at the given time, in microseconds since the epoch)."""
        at = time.time_ns() // 1000 if issued_at_us is None else issued_at_us
        payload = canonical_document_bytes(
            dataset=dataset,
            dataset_version=version,
            key=key,
            issued_at_us=at,
            issuer=self.issuer,
            document=document,
        )
        return SignedDocument(
            dataset=dataset,
            dataset_version=version,
            key=key,
            issuer=self.issuer,
            issued_at_us=at,
            document_json=canonical_json(document),
            kid=self.kid,
            signature=self._private_key.sign(payload),
        )

    def sign_batch(
        self,
        items: Sequence[tuple[str, str, str, Mapping[str, Any]]],
        issued_at_us: int | None = None,
    ) -> list[SignedDocument]:
        """Sign several (dataset, version, key, document) at once: one signature over their Merkle root."""
        if not items:
            raise InvalidArgument("a signed batch needs at least one document", reason="BATCH_EMPTY")
        at = time.time_ns() // 1000 if issued_at_us is None else issued_at_us
        payloads = [
            canonical_document_bytes(
                dataset=dataset,
                dataset_version=version,
                key=key,
                issued_at_us=at,
                issuer=self.issuer,
                document=document,
            )
            for dataset, version, key, document in items
        ]
        leaves = [leaf_hash(p) for p in payloads]
        root = root_from_leaf_hashes(leaves)
        signature = self._private_key.sign(batch_signed_bytes(len(leaves), root))
        return [
            SignedDocument(
                dataset=dataset,
                dataset_version=version,
                key=key,
                issuer=self.issuer,
                issued_at_us=at,
                document_json=canonical_json(document),
                kid=self.kid,
                signature=signature,
                batch=BatchProof(index, len(leaves), tuple(inclusion_proof_from_leaves(index, leaves)), root),
            )
            for index, (dataset, version, key, document) in enumerate(items)
        ]


def _signature_invalid(doc: SignedDocument, why: str) -> DataLoss:
    """The one error for a document whose signature does not hold."""
    return DataLoss(
        f"issuer signature on {doc.dataset} v{doc.dataset_version} key {doc.key!r} from {doc.issuer} "
        f"(kid {doc.kid}) does not verify: {why}; the document was altered or not signed by that key",
        reason="ISSUER_SIGNATURE_INVALID",
        metadata={"issuer": doc.issuer, "dataset": doc.dataset, "kid": doc.kid},
    )


def _lookup_key(issuer: str, kid: str, keys: KeyLookup) -> Ed25519PublicKey:
    """Find the issuer's key or explain that the hub does not know it."""
    public_key = keys(issuer, kid)
    if public_key is None:
        raise FailedPrecondition(
            f"no signing key {kid!r} is registered for issuer {issuer}; register the key with the hub "
            "before serving documents signed with it",
            reason="ISSUER_KEY_UNKNOWN",
            metadata={"issuer": issuer, "kid": kid},
        )
    return public_key


def verify_document(
    doc: SignedDocument,
    keys: KeyLookup,
    verified_roots: MutableSet[tuple[str, str, int, bytes]] | None = None,
) -> dict[str, Any]:
    """Check the issuer's signature and return the document; DataLoss if it fails, FailedPrecondition if
    the key is unknown.

    For batch-signed documents, ``verified_roots`` (issuer, kid, size, root) remembers batch signatures
    already checked, so a batch costs one Ed25519 verification.
    """
    public_key = _lookup_key(doc.issuer, doc.kid, keys)
    try:
        document = doc.document()
        payload = doc.signed_bytes(document)
    except (ValueError, InvalidArgument) as exc:
        # document_json that does not parse cannot be what the issuer signed.
        raise _signature_invalid(doc, f"document bytes are not canonical JSON ({exc})") from exc
    if canonical_json(document) != doc.document_json:
        raise _signature_invalid(doc, "document bytes are not in canonical form")
    if doc.batch is None:
        signed = payload
    else:
        proof = doc.batch
        try:
            verify_inclusion(leaf_hash(payload), proof.index, proof.size, proof.path, proof.root)
        except ProofError as exc:
            raise _signature_invalid(doc, f"not in the signed batch ({exc})") from exc
        seen = (doc.issuer, doc.kid, proof.size, proof.root)
        if verified_roots is not None and seen in verified_roots:
            return document
        signed = batch_signed_bytes(proof.size, proof.root)
    try:
        public_key.verify(doc.signature, signed)
    except InvalidSignature as exc:
        raise _signature_invalid(doc, "Ed25519 verification failed") from exc
    if doc.batch is not None and verified_roots is not None:
        verified_roots.add((doc.issuer, doc.kid, doc.batch.size, doc.batch.root))
    return document


def verify_batch(docs: Sequence[SignedDocument], keys: KeyLookup) -> None:
    """Verify documents answered together, checking each distinct batch signature once."""
    verified: set[tuple[str, str, int, bytes]] = set()
    for doc in docs:
        verify_document(doc, keys, verified)
