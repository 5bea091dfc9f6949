"""Verifying a document the hub served, offline, as its last recipient would (docs/document-format.md).

A FetchResponse (or a case material) carries the minimised document, the issuer's signed envelope and
the disclosures of the returned fields. Checking it needs the issuer's public key and nothing of the
hub; with an evidence bundle and the hub's log key it also proves the access was logged. Each check that
passes is said in words, so a user can tell what holds and what was not checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf import json_format

from adapters.signing import SignedDocument, require_disclosed, verify_document
from exchange.audit.bundle import EvidenceBundle, verify_bundle
from exchange.audit.merkle import leaf_hash
from exchange.audit.note import NoteVerifier
from exchange.auth.keys import key_id, load_public_key
from exchange.errors import DataLoss, InvalidArgument
from exchange.i18n import Sentence
from exchange.v1 import common_pb2, exchange_pb2


@dataclass(frozen=True)
class DocumentCheck:
    """What holds about a served document, in words (English; `exchange.i18n.said` translates), and the fields."""

    document: dict[str, Any]
    holds: tuple[str, ...]
    not_checked: tuple[str, ...] = field(default=())


def load_fetch_response(path: str | Path) -> exchange_pb2.FetchResponse:
    """A FetchResponse saved as protobuf JSON (`exchange fetch -o FILE`, or `save_fetch_response`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidArgument(f"cannot read {path}: {error.strerror}", reason="MALFORMED_FILE") from None
    try:
        return json_format.Parse(text, exchange_pb2.FetchResponse(), ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise InvalidArgument(f"{path} is not a saved FetchResponse: {error}", reason="MALFORMED_FILE") from None


def fetch_response_json(response: exchange_pb2.FetchResponse) -> str:
    """The protobuf JSON form a served document is saved in (bytes as base64, field names as in the proto)."""
    return json_format.MessageToJson(response, preserving_proto_field_name=True, indent=2)


def issuer_key_from(text: str | bytes) -> Ed25519PublicKey:
    """The issuer's public key: a PEM SubjectPublicKeyInfo (as registered with the hub)."""
    key = load_public_key(text)
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidArgument("the issuer's document signing key must be Ed25519", reason="KEY_MALFORMED")
    return key


def verify_served(
    document_json: bytes,
    fields: Sequence[str],
    provenance: common_pb2.Provenance,
    issuer_key: Ed25519PublicKey,
) -> DocumentCheck:
    """Check the returned fields against the issuer's signed envelope; DataLoss naming the field if not."""
    if provenance.format != 2:
        raise DataLoss(
            f"this {provenance.dataset} document is in format {provenance.format or 1}, which the issuer signed "
            "whole: only the hub can verify it, a minimised copy cannot be checked by its recipient",
            reason="DOCUMENT_FORMAT_NOT_VERIFIABLE",
        )
    signed = SignedDocument(
        dataset=provenance.dataset,
        dataset_version=provenance.dataset_version,
        key=provenance.key,
        issuer=provenance.issuer,
        issued_at_us=provenance.issued_at_us,
        document_json=document_json,
        kid=provenance.kid,
        signature=provenance.signature,
        format=2,
        envelope_json=provenance.envelope_json,
        disclosures=tuple(provenance.disclosures),
    )
    registered = key_id(issuer_key)

    def keys(issuer: str, kid: str) -> Ed25519PublicKey | None:
        return issuer_key if kid == registered else None

    document = verify_document(signed, keys, complete=False)
    require_disclosed(document, fields)
    if provenance.content_digest and provenance.content_digest != signed.content_digest():
        raise DataLoss(
            "the provenance's content_digest is not the SHA-256 of the signed envelope",
            reason="ISSUER_SIGNATURE_INVALID",
        )
    envelope_fields = len(_envelope_digests(provenance.envelope_json))
    holds = (
        Sentence(
            "document.holds.signed",
            "the envelope is signed by {issuer} with key {kid} (Ed25519), for {dataset} v{version} key {key!r}",
            issuer=provenance.issuer,
            kid=provenance.kid,
            dataset=provenance.dataset,
            version=provenance.dataset_version,
            key=provenance.key,
        ),
        Sentence(
            "document.holds.fields",
            "each of the {count} returned field(s) ({fields}) is one the issuer signed, with the value it signed",
            count=len(document),
            fields=", ".join(sorted(document)),
        ),
        Sentence(
            "document.holds.withheld",
            "the issuer's document has {total} field(s); {withheld} were withheld "
            "and nothing else about them is revealed",
            total=envelope_fields,
            withheld=envelope_fields - len(document),
        ),
    )
    return DocumentCheck(document=document, holds=holds)


def _envelope_digests(envelope_json: bytes) -> list[str]:
    """The digest list of an envelope already verified."""
    return list(json.loads(envelope_json).get("digests", []))


def verify_receipt(
    document_json: bytes, receipt: common_pb2.Receipt, bundle: EvidenceBundle, log_key: NoteVerifier
) -> str:
    """The access that served these bytes is in the hub's signed log: the bundle proves the receipt's entry."""
    entry = verify_bundle(bundle, log_key, origin=receipt.log_origin or None)
    if bundle.index != receipt.log_index or leaf_hash(bundle.entry) != receipt.leaf_hash:
        raise DataLoss(
            f"the evidence bundle proves log entry {bundle.index}, not the receipt's entry {receipt.log_index} "
            f"(leaf {base64.b64encode(receipt.leaf_hash).decode()})",
            reason="RECEIPT_MISMATCH",
        )
    if entry.response_digest != hashlib.sha256(document_json).hexdigest():
        raise DataLoss(
            f"log entry {entry.index} records a response digest other than the SHA-256 of this document",
            reason="RECEIPT_MISMATCH",
        )
    return Sentence(
        "document.holds.logged",
        "log entry {index} ({action}, {decision}, by {who}) records exactly this response "
        "and is included in the log checkpoint signed by {signer}",
        index=entry.index,
        action=entry.action,
        decision=entry.decision,
        who="/".join((entry.caller_department, entry.officer_id)),
        signer=log_key.name,
    )


def verify_fetch_response(
    response: exchange_pb2.FetchResponse,
    issuer_key: Ed25519PublicKey,
    *,
    bundle: EvidenceBundle | None = None,
    log_key: NoteVerifier | None = None,
) -> DocumentCheck:
    """Verify a served FetchResponse: the disclosed fields, the issuer's signature and (with a bundle) the log."""
    check = verify_served(response.document_json, response.fields, response.provenance, issuer_key)
    if bundle is None or log_key is None:
        return DocumentCheck(
            check.document,
            check.holds,
            (
                Sentence(
                    "document.not_checked.receipt",
                    "the access-log receipt (give an evidence bundle and the hub's log key)",
                ),
            ),
        )
    return DocumentCheck(
        check.document, (*check.holds, verify_receipt(response.document_json, response.receipt, bundle, log_key))
    )
