"""Issuer signatures: what the hub accepts and what it refuses."""

import dataclasses
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.signing import (
    DocumentSigner,
    KeyLookup,
    SignedDocument,
    canonical_document_bytes,
    canonical_json,
    verify_batch,
    verify_document,
)
from exchange.errors import DataLoss, FailedPrecondition, InvalidArgument

LICENCE = {
    "holder_name": "张三餐饮有限公司",
    "status": "01",
    "registered_capital": 1000000,
    "scope": ["餐饮"],
}


@pytest.fixture
def signer() -> DocumentSigner:
    return DocumentSigner("SAMR", "samr-2026-01", Ed25519PrivateKey.generate())


def keys_of(*signers: DocumentSigner) -> KeyLookup:
    table = {(s.issuer, s.kid): s.public_key() for s in signers}
    return lambda issuer, kid: table.get((issuer, kid))


def test_canonical_bytes_are_deterministic_and_key_order_independent() -> None:
    a = canonical_document_bytes(
        dataset="business_licence",
        dataset_version="1.0",
        key="K",
        issued_at_us=5,
        issuer="SAMR",
        document={"b": 1, "a": "é"},
    )
    b = canonical_document_bytes(
        dataset="business_licence",
        dataset_version="1.0",
        key="K",
        issued_at_us=5,
        issuer="SAMR",
        document={"a": "é", "b": 1},
    )
    assert a == b
    assert a.startswith(b"exchange-document/v1\n")
    assert "é".encode() in a  # UTF-8, not \u escapes
    assert b" " not in a


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_cannot_be_signed(bad: float) -> None:
    with pytest.raises(InvalidArgument) as err:
        canonical_json({"nested": [1, {"x": bad}]})
    assert err.value.reason == "DOCUMENT_NOT_CANONICAL"
    assert "document.nested[1].x" in err.value.message


def test_signed_document_verifies_with_the_issuers_key(signer: DocumentSigner) -> None:
    doc = signer.sign("business_licence", "1.0", "91110000MA01234567", LICENCE, issued_at_us=1_700_000_000_000_000)
    verify_document(doc, keys_of(signer))
    assert doc.document() == LICENCE
    assert doc.document_json == canonical_json(LICENCE)
    assert doc.issuer == "SAMR" and doc.kid == "samr-2026-01"


def test_signing_time_defaults_to_now(signer: DocumentSigner) -> None:
    doc = signer.sign("business_licence", "1.0", "K", LICENCE)
    assert doc.issued_at_us > 1_700_000_000_000_000


def test_altered_document_is_data_loss_naming_issuer_dataset_key_and_kid(signer: DocumentSigner) -> None:
    doc = signer.sign("business_licence", "1.0", "K1", LICENCE)
    forged = dict(LICENCE, status="03")
    altered = dataclasses.replace(doc, document_json=canonical_json(forged))
    with pytest.raises(DataLoss) as err:
        verify_document(altered, keys_of(signer))
    assert err.value.reason == "ISSUER_SIGNATURE_INVALID"
    for part in ("SAMR", "business_licence", "K1", "samr-2026-01"):
        assert part in err.value.message


@pytest.mark.parametrize(
    "change",
    [
        {"key": "OTHER-KEY"},
        {"dataset": "identity_record"},
        {"dataset_version": "2.0"},
        {"issued_at_us": 1},
        {"signature": b"\x00" * 64},
    ],
)
def test_any_altered_provenance_field_breaks_the_signature(signer: DocumentSigner, change: dict[str, Any]) -> None:
    doc = signer.sign("business_licence", "1.0", "K1", LICENCE, issued_at_us=10)
    with pytest.raises(DataLoss) as err:
        verify_document(dataclasses.replace(doc, **change), keys_of(signer))
    assert err.value.reason == "ISSUER_SIGNATURE_INVALID"


def test_non_canonical_document_bytes_are_refused_even_if_they_parse_to_the_same_document(
    signer: DocumentSigner,
) -> None:
    doc = signer.sign("business_licence", "1.0", "K1", LICENCE)
    spaced = json.dumps(LICENCE, ensure_ascii=False, indent=2).encode()
    with pytest.raises(DataLoss):
        verify_document(dataclasses.replace(doc, document_json=spaced), keys_of(signer))


def test_document_bytes_that_are_not_json_are_data_loss(signer: DocumentSigner) -> None:
    doc = signer.sign("business_licence", "1.0", "K1", LICENCE)
    with pytest.raises(DataLoss):
        verify_document(dataclasses.replace(doc, document_json=b"\xff not json"), keys_of(signer))


def test_signature_by_another_department_under_the_issuers_name_fails(signer: DocumentSigner) -> None:
    impostor = DocumentSigner("SAMR", "samr-2026-01", Ed25519PrivateKey.generate())
    doc = impostor.sign("business_licence", "1.0", "K1", LICENCE)
    with pytest.raises(DataLoss):
        verify_document(doc, keys_of(signer))


def test_unknown_kid_is_failed_precondition(signer: DocumentSigner) -> None:
    doc = signer.sign("business_licence", "1.0", "K1", LICENCE)
    with pytest.raises(FailedPrecondition) as err:
        verify_document(dataclasses.replace(doc, kid="samr-1999"), keys_of(signer))
    assert err.value.reason == "ISSUER_KEY_UNKNOWN"
    assert "samr-1999" in err.value.message and "SAMR" in err.value.message


def test_unknown_issuer_is_failed_precondition(signer: DocumentSigner) -> None:
    doc = signer.sign("business_licence", "1.0", "K1", LICENCE)
    with pytest.raises(FailedPrecondition):
        verify_document(dataclasses.replace(doc, issuer="PSB"), keys_of(signer))


def test_retired_key_still_verifies_documents_it_signed() -> None:
    old = DocumentSigner("SAMR", "samr-2025-01", Ed25519PrivateKey.generate())
    new = DocumentSigner("SAMR", "samr-2026-01", Ed25519PrivateKey.generate())
    old_doc = old.sign("business_licence", "1.0", "K1", LICENCE)
    # The hub still returns the retired key for old documents; the caller decides what it returns.
    keys = keys_of(old, new)
    verify_document(old_doc, keys)
    verify_document(new.sign("business_licence", "1.0", "K1", LICENCE), keys)
    with pytest.raises(DataLoss):
        verify_document(dataclasses.replace(old_doc, kid="samr-2026-01"), keys)


def test_signed_document_is_immutable(signer: DocumentSigner) -> None:
    doc: SignedDocument = signer.sign("business_licence", "1.0", "K1", LICENCE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.key = "other"  # type: ignore[misc]


def batch_items(n: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [("business_licence", "1.0", f"K{i}", dict(LICENCE, seq=i)) for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8])
def test_every_document_of_a_signed_batch_verifies(signer: DocumentSigner, n: int) -> None:
    docs = signer.sign_batch(batch_items(n))
    assert len({d.signature for d in docs}) == 1
    verify_batch(docs, keys_of(signer))
    for doc in docs:
        verify_document(doc, keys_of(signer))


def test_batch_costs_one_signature_check(signer: DocumentSigner) -> None:
    docs = signer.sign_batch(batch_items(5))
    calls = []
    public = signer.public_key()

    def counting(issuer: str, kid: str) -> Any:
        class Counting:
            def verify(self, signature: bytes, data: bytes) -> None:
                calls.append(data)
                public.verify(signature, data)

        return Counting()

    verify_batch(docs, counting)
    assert len(calls) == 1


def test_altered_document_in_a_batch_is_data_loss(signer: DocumentSigner) -> None:
    docs = signer.sign_batch(batch_items(4))
    forged = dataclasses.replace(docs[2], document_json=canonical_json(dict(LICENCE, status="03")))
    with pytest.raises(DataLoss) as err:
        verify_batch([docs[0], docs[1], forged, docs[3]], keys_of(signer))
    assert "K2" in err.value.message


def test_batch_document_moved_to_another_position_is_data_loss(signer: DocumentSigner) -> None:
    docs = signer.sign_batch(batch_items(4))
    assert docs[1].batch is not None
    moved = dataclasses.replace(docs[1], batch=dataclasses.replace(docs[1].batch, index=2))
    with pytest.raises(DataLoss):
        verify_document(moved, keys_of(signer))


def test_forged_root_with_valid_path_is_data_loss(signer: DocumentSigner) -> None:
    impostor = DocumentSigner("SAMR", "samr-2026-01", Ed25519PrivateKey.generate())
    forged = impostor.sign_batch(batch_items(3))
    with pytest.raises(DataLoss):
        verify_batch(forged, keys_of(signer))


def test_empty_batch_is_refused(signer: DocumentSigner) -> None:
    with pytest.raises(InvalidArgument):
        signer.sign_batch([])
