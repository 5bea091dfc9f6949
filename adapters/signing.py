"""Issuer signatures: a department signs each document it serves; the hub verifies before storing it.

Two formats (docs/document-format.md). v1 signs the whole document, so only the whole document verifies.
v2 (the default) signs an envelope of salted per-field digests, so any subset of fields the hub serves
verifies against the issuer's key, and a recipient learns nothing about the withheld fields but their count.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import time
from collections.abc import Callable, Mapping, MutableSet, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters import jcs
from exchange.audit.merkle import (
    ProofError,
    inclusion_proof_from_leaves,
    leaf_hash,
    root_from_leaf_hashes,
    verify_inclusion,
)
from exchange.errors import DataLoss, FailedPrecondition, InvalidArgument

DOCUMENT_CONTEXT = b"exchange-document/v1\n"
DOCUMENT_CONTEXT_V2 = b"exchange-document/v2\n"
BATCH_CONTEXT = b"exchange-document-batch/v1\n"
SCAN_MANIFEST_CONTEXT = b"exchange-scan-manifest/v1\n"
SALT_BYTES = 16
SALT_CHARS = 22
"""A salt is 16 random bytes, base64url without padding: 22 characters (128 bits against guessing values)."""

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
    """RFC 8785 (JCS) bytes: the canonical form of everything signed or hashed from now on."""
    return jcs.canonicalize(value)


def legacy_canonical_json(value: Any) -> bytes:
    """The v1 form (Python's sorted json.dumps), kept only so that v1 documents still verify."""
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
    return DOCUMENT_CONTEXT + legacy_canonical_json(envelope)


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


def disclosure_error(field: str, message: str, problem: str) -> DataLoss:
    """A disclosed field that does not match the issuer's commitments: metadata ``field`` names it.

    The reason code is the signature's (ISSUER_SIGNATURE_INVALID: the issuer did not vouch for what was
    served); metadata ``problem`` says how (DISCLOSURE_NOT_SIGNED, _MISSING, _DUPLICATE, _MALFORMED).
    """
    return DataLoss(message, reason="ISSUER_SIGNATURE_INVALID", metadata={"field": field[:128], "problem": problem})


@dataclass(frozen=True)
class Disclosure:
    """One field revealed: the salt the issuer drew for it, its name and its value."""

    salt: str
    name: str
    value: Any

    def encoded(self) -> bytes:
        """The disclosure as sent: the JCS bytes of the array [salt, name, value]."""
        return canonical_json([self.salt, self.name, self.value])

    def digest(self) -> str:
        """The commitment the issuer signed: SHA-256 of the encoded disclosure, hex."""
        return hashlib.sha256(self.encoded()).hexdigest()


def new_salt() -> str:
    """A fresh 128-bit salt, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(SALT_BYTES)).rstrip(b"=").decode("ascii")


def disclose(document: Mapping[str, Any]) -> list[Disclosure]:
    """A disclosure with a fresh salt for every field of the document."""
    return [Disclosure(new_salt(), name, value) for name, value in document.items()]


def parse_disclosure(data: bytes, position: int) -> Disclosure:
    """Read one disclosure, refusing any that is not exactly JCS([salt, name, value]) with a 22-character salt."""
    try:
        parsed = jcs.parse(data)
    except ValueError as exc:
        what = f"disclosure #{position} is not JSON ({exc})"
        raise disclosure_error(f"#{position}", what, "DISCLOSURE_MALFORMED") from exc
    shaped = isinstance(parsed, list) and len(parsed) == 3
    if not (shaped and isinstance(parsed[0], str) and isinstance(parsed[1], str)):
        raise disclosure_error(
            f"#{position}",
            f"disclosure #{position} is not an array [salt, name, value] of two strings and a value",
            "DISCLOSURE_MALFORMED",
        )
    disclosure = Disclosure(parsed[0], parsed[1], parsed[2])
    if len(disclosure.salt) != SALT_CHARS:
        raise disclosure_error(
            disclosure.name,
            f"field {disclosure.name!r}: its salt has {len(disclosure.salt)} characters, not {SALT_CHARS} "
            f"(base64url of {SALT_BYTES} bytes)",
            "DISCLOSURE_MALFORMED",
        )
    try:
        canonical = disclosure.encoded() == data
    except InvalidArgument:
        canonical = False
    if not canonical:
        raise disclosure_error(
            disclosure.name,
            f"field {disclosure.name!r}: its disclosure is not in RFC 8785 canonical form",
            "DISCLOSURE_MALFORMED",
        )
    return disclosure


def disclosed_fields(digests: Sequence[str], disclosures: Sequence[bytes]) -> dict[str, Any]:
    """The fields the disclosures reveal, each checked against the issuer's signed digest list.

    A changed value or an added field matches no digest; a field disclosed twice is refused. Every
    error names the field.
    """
    committed = set(digests)
    fields: dict[str, Any] = {}
    for position, data in enumerate(disclosures):
        disclosure = parse_disclosure(data, position)
        name = disclosure.name
        if name in fields:
            raise disclosure_error(name, f"field {name!r} is disclosed twice", "DISCLOSURE_DUPLICATE")
        if hashlib.sha256(data).hexdigest() not in committed:
            raise disclosure_error(
                name,
                f"field {name!r}: its disclosure matches none of the issuer's signed digests "
                "(the value was altered, or the field was added)",
                "DISCLOSURE_NOT_SIGNED",
            )
        fields[name] = disclosure.value
    return fields


def require_disclosed(fields: Mapping[str, Any], claimed: Sequence[str]) -> None:
    """Every field the hub says it returned must come with its disclosure."""
    for name in claimed:
        if name not in fields:
            raise disclosure_error(
                name,
                f"field {name!r} is listed as returned but no disclosure for it was served; it cannot be verified",
                "DISCLOSURE_MISSING",
            )


def envelope_v2(
    *, dataset: str, version: str, key: str, issuer: str, issued_at_us: int, kid: str, digests: Sequence[str]
) -> dict[str, Any]:
    """The v2 envelope an issuer signs: provenance and the sorted per-field digests (count, nothing more)."""
    return {
        "v": 2,
        "dataset": dataset,
        "version": version,
        "key": key,
        "issuer": issuer,
        "issued_at_us": issued_at_us,
        "kid": kid,
        "alg": "Ed25519",
        "digest_alg": "sha-256",
        "digests": sorted(digests),
    }


@dataclass(frozen=True)
class SignedDocument:
    """A document as its issuer served it, with the issuer's signature over it and its provenance.

    v1 (``format == 1``): ``document_json`` is the whole document and the signature covers it.
    v2: ``envelope_json`` is what the signature covers and ``disclosures`` reveal the fields; a
    ``document_json`` set alongside must be the JCS of exactly the disclosed fields.
    """

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
    format: int = 1
    envelope_json: bytes = b""
    disclosures: tuple[bytes, ...] = ()

    def document(self) -> dict[str, Any]:
        """The document as a dict: parsed from its JSON (v1), or the disclosed fields (v2, not checked here)."""
        if self.format == 2:
            return {d[1]: d[2] for d in (json.loads(data) for data in self.disclosures)}
        parsed = json.loads(self.document_json)
        if not isinstance(parsed, dict):
            raise DataLoss(
                f"document {self.dataset}/{self.key} from {self.issuer} is not a JSON object",
                reason="DOCUMENT_NOT_OBJECT",
            )
        return parsed

    def signed_bytes(self, document: Mapping[str, Any] | None = None) -> bytes:
        """The bytes the signature covers, rebuilt from the fields (and the document, when already parsed)."""
        if self.format == 2:
            return DOCUMENT_CONTEXT_V2 + self.envelope_json
        return canonical_document_bytes(
            dataset=self.dataset,
            dataset_version=self.dataset_version,
            key=self.key,
            issued_at_us=self.issued_at_us,
            issuer=self.issuer,
            document=self.document() if document is None else document,
        )

    def content_digest(self) -> str:
        """What identifies the issued document: SHA-256 of the v2 envelope, or of the v1 document JSON; hex."""
        return hashlib.sha256(self.envelope_json if self.format == 2 else self.document_json).hexdigest()

    def minimised(self, fields: Sequence[str]) -> SignedDocument:
        """The same signed document revealing only the named fields (v2); a v1 document cannot be minimised."""
        if self.format != 2:
            return self
        wanted = set(fields)
        kept = tuple(data for data in self.disclosures if json.loads(data)[1] in wanted)
        shown = {name: value for name, value in self.document().items() if name in wanted}
        return replace(self, disclosures=kept, document_json=canonical_json(shown))


class DocumentSigner:
    """Signs documents on behalf of one issuing department with one Ed25519 key (format v2 unless told v1)."""

    def __init__(self, issuer: str, kid: str, private_key: Ed25519PrivateKey, *, format_version: int = 2) -> None:
        if format_version not in (1, 2):
            raise InvalidArgument(f"document format {format_version} is unknown; use 1 or 2", reason="FORMAT_UNKNOWN")
        self.issuer = issuer
        self.kid = kid
        self.format_version = format_version
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
        unsigned = self._unsigned(dataset, version, key, document, self._at(issued_at_us))
        return replace(unsigned, signature=self._private_key.sign(unsigned.signed_bytes()))

    def sign_scan_manifest(self, manifest: bytes) -> bytes:
        """Sign a scan's closing manifest (adapters.bulk): Ed25519 over its context line and the JCS bytes."""
        return self._private_key.sign(SCAN_MANIFEST_CONTEXT + manifest)

    def sign_with_disclosures(
        self,
        dataset: str,
        version: str,
        key: str,
        disclosures: Sequence[Disclosure],
        issued_at_us: int,
    ) -> SignedDocument:
        """Sign a v2 document from given disclosures (fixed salts: test vectors, reproducible examples)."""
        unsigned = self._v2(dataset, version, key, disclosures, issued_at_us)
        return replace(unsigned, signature=self._private_key.sign(unsigned.signed_bytes()))

    @staticmethod
    def _at(issued_at_us: int | None) -> int:
        return time.time_ns() // 1000 if issued_at_us is None else issued_at_us

    def _unsigned(self, dataset: str, version: str, key: str, document: Mapping[str, Any], at: int) -> SignedDocument:
        """The document in this signer's format, its signature still empty."""
        if self.format_version == 2:
            return self._v2(dataset, version, key, disclose(document), at)
        _reject_non_finite(document)
        return SignedDocument(
            dataset=dataset,
            dataset_version=version,
            key=key,
            issuer=self.issuer,
            issued_at_us=at,
            document_json=legacy_canonical_json(document),
            kid=self.kid,
            signature=b"",
        )

    def _v2(self, dataset: str, version: str, key: str, disclosures: Sequence[Disclosure], at: int) -> SignedDocument:
        encoded = tuple(d.encoded() for d in disclosures)
        envelope = envelope_v2(
            dataset=dataset,
            version=version,
            key=key,
            issuer=self.issuer,
            issued_at_us=at,
            kid=self.kid,
            digests=[hashlib.sha256(e).hexdigest() for e in encoded],
        )
        return SignedDocument(
            dataset=dataset,
            dataset_version=version,
            key=key,
            issuer=self.issuer,
            issued_at_us=at,
            document_json=canonical_json({d.name: d.value for d in disclosures}),
            kid=self.kid,
            signature=b"",
            format=2,
            envelope_json=canonical_json(envelope),
            disclosures=encoded,
        )

    def sign_batch(
        self,
        items: Sequence[tuple[str, str, str, Mapping[str, Any]]],
        issued_at_us: int | None = None,
    ) -> list[SignedDocument]:
        """Sign several (dataset, version, key, document) at once: one signature over their Merkle root."""
        if not items:
            raise InvalidArgument("a signed batch needs at least one document", reason="BATCH_EMPTY")
        at = self._at(issued_at_us)
        unsigned = [self._unsigned(dataset, version, key, document, at) for dataset, version, key, document in items]
        leaves = [leaf_hash(doc.signed_bytes()) for doc in unsigned]
        root = root_from_leaf_hashes(leaves)
        signature = self._private_key.sign(batch_signed_bytes(len(leaves), root))
        return [
            replace(
                doc,
                signature=signature,
                batch=BatchProof(index, len(leaves), tuple(inclusion_proof_from_leaves(index, leaves)), root),
            )
            for index, doc in enumerate(unsigned)
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


def _envelope_of(doc: SignedDocument) -> dict[str, Any]:
    """The v2 envelope, checked to be canonical and to say what the document's provenance says."""
    try:
        envelope = jcs.parse(doc.envelope_json)
    except ValueError as exc:
        raise _signature_invalid(doc, f"the envelope is not JSON ({exc})") from exc
    if not isinstance(envelope, dict) or not jcs.is_canonical(doc.envelope_json):
        raise _signature_invalid(doc, "the envelope is not a JSON object in RFC 8785 canonical form")
    expected = {
        "v": 2,
        "dataset": doc.dataset,
        "version": doc.dataset_version,
        "key": doc.key,
        "issuer": doc.issuer,
        "issued_at_us": doc.issued_at_us,
        "kid": doc.kid,
        "alg": "Ed25519",
        "digest_alg": "sha-256",
    }
    for name, value in expected.items():
        if envelope.get(name) != value:
            raise _signature_invalid(doc, f"the envelope's {name} is {envelope.get(name)!r}, expected {value!r}")
    digests = envelope.get("digests")
    if not isinstance(digests, list) or digests != sorted(digests) or not all(isinstance(d, str) for d in digests):
        raise _signature_invalid(doc, "the envelope's digests are not a sorted list of hex strings")
    return envelope


def _document_of(doc: SignedDocument, *, complete: bool) -> dict[str, Any]:
    """The document the signature vouches for (v2: only after every disclosure matched a digest)."""
    if doc.format == 1:
        try:
            document = doc.document()
        except ValueError as exc:
            # document_json that does not parse cannot be what the issuer signed.
            raise _signature_invalid(doc, f"document bytes are not canonical JSON ({exc})") from exc
        if legacy_canonical_json(document) != doc.document_json:
            raise _signature_invalid(doc, "document bytes are not in canonical form")
        return document
    if doc.format != 2:
        raise _signature_invalid(doc, f"document format {doc.format} is unknown (1 and 2 are)")
    envelope = _envelope_of(doc)
    document = disclosed_fields(envelope["digests"], doc.disclosures)
    if complete and len(document) != len(envelope["digests"]):
        raise _signature_invalid(
            doc, f"the issuer committed to {len(envelope['digests'])} fields but disclosed {len(document)}"
        )
    if doc.document_json:
        _same_as_disclosed(doc.document_json, document)
    return document


def _same_as_disclosed(document_json: bytes, disclosed: Mapping[str, Any]) -> None:
    """The document bytes beside the disclosures hold exactly the disclosed fields (names the first that differs)."""
    try:
        shown = jcs.parse(document_json)
    except ValueError as exc:
        raise disclosure_error("#document", f"the document bytes are not JSON ({exc})", "DISCLOSURE_MALFORMED") from exc
    if not isinstance(shown, dict):
        raise disclosure_error("#document", "the document bytes are not a JSON object", "DISCLOSURE_MALFORMED")
    require_disclosed(disclosed, sorted(shown))
    for name, value in disclosed.items():
        if name not in shown:
            raise disclosure_error(
                name, f"field {name!r} is disclosed but missing from the document", "DISCLOSURE_MISSING"
            )
        if canonical_json(shown[name]) != canonical_json(value):
            raise disclosure_error(
                name,
                f"field {name!r}: the document says {shown[name]!r}, the signed disclosure {value!r}",
                "DISCLOSURE_NOT_SIGNED",
            )
    if canonical_json(shown) != document_json:
        raise disclosure_error(
            "#document", "the document bytes are not in RFC 8785 canonical form", "DISCLOSURE_MALFORMED"
        )


def verify_document(
    doc: SignedDocument,
    keys: KeyLookup,
    verified_roots: MutableSet[tuple[str, str, int, bytes]] | None = None,
    *,
    complete: bool = True,
) -> dict[str, Any]:
    """Check the issuer's signature and return the document; DataLoss if it fails, FailedPrecondition if
    the key is unknown.

    ``complete`` (the hub, receiving from the issuer) requires a v2 document to disclose every committed
    field; a recipient of a minimised copy passes False. For batch-signed documents, ``verified_roots``
    (issuer, kid, size, root) remembers batch signatures already checked, so a batch costs one Ed25519
    verification.
    """
    public_key = _lookup_key(doc.issuer, doc.kid, keys)
    try:
        document = _document_of(doc, complete=complete)
        payload = doc.signed_bytes(document)
    except DataLoss as exc:
        if "field" not in exc.metadata:
            raise
        raise DataLoss(
            f"{doc.issuer}'s {doc.dataset} v{doc.dataset_version} key {doc.key!r} (kid {doc.kid}): {exc.message}; "
            "the document was altered after the issuer signed it",
            reason=exc.reason,
            metadata={**exc.metadata, "issuer": doc.issuer, "dataset": doc.dataset, "kid": doc.kid},
        ) from exc
    except InvalidArgument as exc:
        raise _signature_invalid(doc, f"document is not canonical JSON ({exc.message})") from exc
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
