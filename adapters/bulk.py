"""Signed bulk: a scan's batches bound into a digest chain, closed by a manifest the issuer signs.

The adapter links every batch message it sends to the one before (`DigestChain.extend`), starting from a
value bound to the scan request (`ScanBinding`), and signs a closing manifest (`manifest_json`, signed by
`DocumentSigner.sign_scan_manifest`) holding the row and batch counts, the schema's fingerprint and the
chain head. The hub and the client follow the same
chain (`DigestChain.check`) and verify the manifest (`verify_manifest`); docs/document-format.md, "Signed
bulk", specifies the bytes.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from cryptography.exceptions import InvalidSignature

from adapters import jcs
from adapters.signing import SCAN_MANIFEST_CONTEXT as MANIFEST_CONTEXT
from adapters.signing import KeyLookup, canonical_json
from exchange.errors import DataLoss, FailedPrecondition

CHAIN_CONTEXT = b"exchange-scan-chain/v1\n"
NONCE_BYTES = 16


def new_nonce() -> bytes:
    """16 random bytes the hub draws for one scan, so no earlier stream can stand in for this one."""
    return secrets.token_bytes(NONCE_BYTES)


def schema_fingerprint(schema: pa.Schema) -> str:
    """SHA-256 (hex) of the JCS array of [column name, Arrow type] pairs the batches follow."""
    return hashlib.sha256(canonical_json([[f.name, str(f.type)] for f in schema])).hexdigest()


@dataclass(frozen=True)
class ScanBinding:
    """What a scan's chain starts from: who streams which rows of what, for which request."""

    issuer: str
    dataset: str
    version: str
    columns: tuple[str, ...]
    filter: str
    request_id: str
    nonce: str
    """base64url of the hub's nonce, without padding."""
    schema: str
    """schema_fingerprint of the streamed columns."""

    @classmethod
    def of(
        cls, *, issuer: str, dataset: str, version: str, schema: pa.Schema, filter: str, request_id: str, nonce: bytes
    ) -> ScanBinding:
        """The binding of a scan of schema's columns."""
        encoded = base64.urlsafe_b64encode(nonce).rstrip(b"=").decode("ascii")
        fingerprint = schema_fingerprint(schema)
        return cls(issuer, dataset, version, tuple(schema.names), filter, request_id, encoded, fingerprint)

    def as_json(self) -> dict[str, Any]:
        """The binding's members as the manifest holds them."""
        return {
            "issuer": self.issuer,
            "dataset": self.dataset,
            "version": self.version,
            "columns": list(self.columns),
            "filter": self.filter,
            "request_id": self.request_id,
            "nonce": self.nonce,
            "schema_sha256": self.schema,
        }

    def chain_start(self) -> bytes:
        """chain_0 = SHA-256("exchange-scan-chain/v1\\n" || JCS(binding))."""
        return hashlib.sha256(CHAIN_CONTEXT + canonical_json(self.as_json())).digest()


def next_link(previous: bytes, message: bytes | memoryview, n: int) -> bytes:
    """chain_n = SHA-256(chain_{n-1} || SHA-256(batch message) || n as an unsigned 64-bit big-endian)."""
    return hashlib.sha256(previous + hashlib.sha256(message).digest() + n.to_bytes(8, "big")).digest()


def chain_broken(what: str, message: str) -> DataLoss:
    """The one error for a batch that does not follow from the one before."""
    return DataLoss(
        f"{what}: {message}; a batch was dropped, reordered, duplicated or altered, and the scan was stopped",
        reason="SCAN_CHAIN_BROKEN",
    )


def manifest_invalid(what: str, message: str) -> DataLoss:
    """The one error for a closing manifest that does not vouch for the stream received."""
    return DataLoss(
        f"{what}: the closing manifest does not hold: {message}; the rows received cannot be trusted",
        reason="SCAN_MANIFEST_INVALID",
    )


def manifest_missing(what: str, batches: int, rows: int) -> DataLoss:
    """The one error for a stream that ended without its signed manifest (cut short)."""
    return DataLoss(
        f"{what} ended after {batches} batches ({rows} rows) without the issuer's signed manifest; "
        "the stream was cut short or is unsigned, and its rows cannot be trusted",
        reason="SCAN_MANIFEST_MISSING",
    )


class DigestChain:
    """A stream's chain, followed one batch at a time (32 bytes of state: never the batches themselves).

    Started from chain_0 when it is known (the adapter, the hub); a client that learns the binding only
    from the manifest starts from None, and link 1 is checked when the manifest arrives (`settle`).
    """

    def __init__(self, start: bytes | None, what: str) -> None:
        self.start = start
        self.head = start
        self.batches = 0
        self.rows = 0
        self.what = what
        self._first: tuple[bytes, bytes] | None = None

    def extend(self, message: bytes | memoryview, rows: int) -> bytes:
        """The issuer's side: the link of the next batch message."""
        assert self.head is not None
        self.batches += 1
        self.rows += rows
        self.head = next_link(self.head, message, self.batches)
        return self.head

    def check(self, message: bytes | memoryview, rows: int, link: bytes | memoryview) -> None:
        """The receiver's side: SCAN_CHAIN_BROKEN unless link follows from the chain so far and message."""
        n = self.batches + 1
        if self.head is None:
            self._first = (hashlib.sha256(message).digest(), bytes(link))
            expected = bytes(link)
        else:
            expected = next_link(self.head, message, n)
        if link != expected:
            got = bytes(link).hex()[:16] or "none"
            raise chain_broken(self.what, f"batch {n} carries chain link {got}…, {expected.hex()[:16]}… follows")
        self.batches, self.rows, self.head = n, self.rows + rows, expected

    def settle(self, start: bytes) -> None:
        """Check link 1 (and so the whole chain) against chain_0, once the binding is known."""
        if self.start is not None:
            if self.start != start:
                raise manifest_invalid(self.what, "its request binding is not the one this scan started from")
            return
        self.start = start
        if self._first is None:
            self.head = start
            return
        digest, link = self._first
        if hashlib.sha256(start + digest + (1).to_bytes(8, "big")).digest() != link:
            raise chain_broken(self.what, "batch 1 does not follow from the request binding the manifest names")


def manifest_json(binding: ScanBinding, chain: DigestChain, *, kid: str, closed_at_us: int) -> bytes:
    """The closing manifest (JCS) over a finished chain."""
    assert chain.head is not None
    return canonical_json(
        {
            "v": 1,
            "type": "exchange-scan-manifest",
            "alg": "Ed25519",
            "digest_alg": "sha-256",
            "kid": kid,
            **binding.as_json(),
            "batches": chain.batches,
            "rows": chain.rows,
            "chain_head": chain.head.hex(),
            "closed_at_us": closed_at_us,
        }
    )


@dataclass(frozen=True)
class VerifiedManifest:
    """A closing manifest that verified: what the issuer vouched for, and the manifest's own digest."""

    issuer: str
    kid: str
    dataset: str
    version: str
    batches: int
    rows: int
    chain_head: str
    closed_at_us: int
    digest: str
    """SHA-256 (hex) of the manifest bytes."""


_BINDING_MEMBERS = ("issuer", "dataset", "version", "columns", "filter", "request_id", "nonce", "schema_sha256")


def verify_manifest(
    manifest: bytes,
    signature: bytes,
    chain: DigestChain,
    keys: KeyLookup,
    expected: Mapping[str, Any],
) -> VerifiedManifest:
    """Check the manifest's form, signature, what it says against expected and the chain received.

    expected holds the binding members the receiver knows (the hub: all of them; a client: what it asked
    for and the schema it got). SCAN_MANIFEST_INVALID (or SCAN_CHAIN_BROKEN) when anything differs,
    ISSUER_KEY_UNKNOWN when no key is known for the manifest's kid.
    """
    what = chain.what
    try:
        body = jcs.parse(manifest)
    except ValueError as exc:
        raise manifest_invalid(what, f"it is not JSON ({exc})") from exc
    if not isinstance(body, dict) or not jcs.is_canonical(manifest):
        raise manifest_invalid(what, "it is not a JSON object in RFC 8785 canonical form")
    fixed = {"v": 1, "type": "exchange-scan-manifest", "alg": "Ed25519", "digest_alg": "sha-256"}
    for name, value in {**fixed, **expected}.items():
        if body.get(name) != value:
            raise manifest_invalid(what, f"its {name} is {body.get(name)!r}, expected {value!r}")
    issuer, kid = body.get("issuer"), body.get("kid")
    if not isinstance(issuer, str) or not isinstance(kid, str):
        raise manifest_invalid(what, "it names no issuer and key id")
    public_key = keys(issuer, kid)
    if public_key is None:
        raise FailedPrecondition(
            f"{what}: no signing key {kid!r} of {issuer} is known to check the closing manifest with",
            reason="ISSUER_KEY_UNKNOWN",
            metadata={"issuer": issuer, "kid": kid},
        )
    try:
        public_key.verify(signature, MANIFEST_CONTEXT + manifest)
    except InvalidSignature as exc:
        raise manifest_invalid(what, f"its Ed25519 signature does not verify with {issuer}'s key {kid}") from exc
    try:
        binding = ScanBinding(*(_binding_value(body, name) for name in _BINDING_MEMBERS))
    except (TypeError, ValueError) as exc:
        raise manifest_invalid(what, f"its request binding is malformed ({exc})") from exc
    chain.settle(binding.chain_start())
    assert chain.head is not None
    received = {"batches": chain.batches, "rows": chain.rows, "chain_head": chain.head.hex()}
    for name, value in received.items():
        if body.get(name) != value:
            raise manifest_invalid(what, f"it says {name} {body.get(name)!r}, the stream received gives {value!r}")
    closed = body.get("closed_at_us")
    if not isinstance(closed, int):
        raise manifest_invalid(what, "its closed_at_us is not an integer")
    return VerifiedManifest(
        issuer,
        kid,
        binding.dataset,
        binding.version,
        chain.batches,
        chain.rows,
        chain.head.hex(),
        closed,
        hashlib.sha256(manifest).hexdigest(),
    )


def _binding_value(body: Mapping[str, Any], name: str) -> Any:
    """One binding member of a manifest, typed as ScanBinding holds it."""
    value = body.get(name)
    if name == "columns":
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise ValueError("columns is not a list of names")
        return tuple(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    return value
