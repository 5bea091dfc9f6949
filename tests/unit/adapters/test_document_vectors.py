"""The committed vectors of docs/document-format.md hold for our implementation, byte for byte."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from adapters.jcs import canonicalize
from adapters.signing import (
    DOCUMENT_CONTEXT_V2,
    Disclosure,
    SignedDocument,
    envelope_v2,
    verify_document,
)
from exchange.auth.keys import load_public_key
from exchange.served_document import verify_served
from exchange.v1 import common_pb2
from scripts.document_vectors import files

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "documents"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def public_key(pem: str) -> Ed25519PublicKey:
    key = load_public_key(pem)
    assert isinstance(key, Ed25519PublicKey)
    return key


def test_committed_vectors_are_what_the_generator_writes() -> None:
    for name, text in files().items():
        assert (VECTORS / name).read_text(encoding="utf-8") == text, f"run scripts/document_vectors.py ({name})"


@pytest.mark.parametrize("case", load("jcs.json")["cases"], ids=lambda c: c["name"])
def test_jcs_vector(case: dict[str, Any]) -> None:
    assert canonicalize(json.loads(case["input"])).hex() == case["canonical_hex"]


@pytest.mark.parametrize("case", load("format2.json")["cases"], ids=lambda c: c["name"])
def test_format2_vector_rebuilds_disclosures_envelope_and_signature(case: dict[str, Any]) -> None:
    vectors = load("format2.json")
    key = public_key(vectors["public_key_pem"])
    for f in case["fields"]:
        disclosure = Disclosure(f["salt"], f["name"], f["value"])
        assert disclosure.encoded() == f["disclosure"].encode() == base64.b64decode(f["disclosure_b64"])
        assert disclosure.digest() == f["digest"]
    envelope = envelope_v2(
        dataset=case["dataset"],
        version=case["dataset_version"],
        key=case["key"],
        issuer=case["issuer"],
        issued_at_us=case["issued_at_us"],
        kid=case["kid"],
        digests=[f["digest"] for f in case["fields"]],
    )
    assert canonicalize(envelope) == case["envelope_json"].encode()
    signed_bytes = base64.b64decode(case["signed_bytes_b64"])
    assert signed_bytes == DOCUMENT_CONTEXT_V2 + case["envelope_json"].encode()
    key.verify(base64.b64decode(case["signature_b64"]), signed_bytes)


@pytest.mark.parametrize("case", load("format2.json")["cases"], ids=lambda c: c["name"])
def test_format2_vector_served_copy_verifies_as_a_recipient(case: dict[str, Any]) -> None:
    key = public_key(load("format2.json")["public_key_pem"])
    served = case["served"]
    provenance = common_pb2.Provenance(
        issuer=case["issuer"],
        dataset=case["dataset"],
        dataset_version=case["dataset_version"],
        key=case["key"],
        issued_at_us=case["issued_at_us"],
        kid=case["kid"],
        signature=base64.b64decode(case["signature_b64"]),
        content_digest=case["content_digest"],
        format=2,
        envelope_json=case["envelope_json"].encode(),
        disclosures=[base64.b64decode(d) for d in served["disclosures_b64"]],
    )
    check = verify_served(served["document_json"].encode(), served["fields"], provenance, key)
    assert sorted(check.document) == sorted(served["fields"])


def test_format1_vector_still_verifies() -> None:
    v1 = load("format1.json")
    key = public_key(v1["public_key_pem"])
    envelope = json.loads(base64.b64decode(v1["signed_bytes_b64"]).split(b"\n", 1)[1])
    doc = SignedDocument(
        dataset=envelope["dataset"],
        dataset_version=envelope["version"],
        key=envelope["key"],
        issuer=envelope["issuer"],
        issued_at_us=envelope["issued_at_us"],
        document_json=json.dumps(v1["document"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
        kid=v1["kid"],
        signature=base64.b64decode(v1["signature_b64"]),
    )
    assert verify_document(doc, lambda issuer, kid: key if kid == v1["kid"] else None) == v1["document"]
