"""Selective disclosure (format 2) and the RFC 8785 canonical form: every failure names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.jcs import canonicalize, number
from adapters.signing import Disclosure, DocumentSigner, SignedDocument, verify_batch, verify_document
from exchange.auth.keys import key_id
from exchange.errors import DataLoss, InvalidArgument
from exchange.served_document import verify_served
from exchange.v1 import common_pb2

KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))
KID = key_id(KEY.public_key())
DOCUMENT = {"name": "北京红灯笼餐饮有限公司", "status": "02", "capital": "500000.00", "𠀋": {"nested": [1, 0.5]}}


def keys(issuer: str, kid: str) -> Any:
    return KEY.public_key() if kid == KID else None


def signed() -> SignedDocument:
    return DocumentSigner("SAMR", KID, KEY).sign("business_licence", "1.0", "91110105MA01ABCD13", DOCUMENT)


def provenance(doc: SignedDocument) -> common_pb2.Provenance:
    return common_pb2.Provenance(
        issuer=doc.issuer,
        dataset=doc.dataset,
        dataset_version=doc.dataset_version,
        key=doc.key,
        issued_at_us=doc.issued_at_us,
        kid=doc.kid,
        signature=doc.signature,
        content_digest=doc.content_digest(),
        format=doc.format,
        envelope_json=doc.envelope_json,
        disclosures=list(doc.disclosures),
    )


def served(fields: tuple[str, ...] = ("name", "status")) -> tuple[bytes, list[str], common_pb2.Provenance]:
    copy = signed().minimised(fields)
    return copy.document_json, list(fields), provenance(copy)


def test_any_subset_of_fields_verifies_and_says_how_many_were_withheld() -> None:
    document_json, fields, prov = served()
    check = verify_served(document_json, fields, prov, KEY.public_key())
    assert check.document == {"name": DOCUMENT["name"], "status": "02"}
    assert any("4 field(s); 2 were withheld" in line for line in check.holds)


def test_the_envelope_holds_digests_only_never_a_withheld_value() -> None:
    _, _, prov = served(("name",))
    assert b"500000" not in prov.envelope_json and "capital" not in prov.envelope_json.decode()
    assert len(json.loads(prov.envelope_json)["digests"]) == len(DOCUMENT)


def reject(document_json: bytes, fields: list[str], prov: common_pb2.Provenance) -> DataLoss:
    with pytest.raises(DataLoss) as err:
        verify_served(document_json, fields, prov, KEY.public_key())
    assert err.value.reason == "ISSUER_SIGNATURE_INVALID"
    return err.value


def altered_disclosure(prov: common_pb2.Provenance, name: str, value: Any) -> None:
    for i, data in enumerate(prov.disclosures):
        salt, field, _ = json.loads(data)
        if field == name:
            prov.disclosures[i] = Disclosure(salt, name, value).encoded()


def test_an_altered_value_is_refused_naming_the_field() -> None:
    _, fields, prov = served()
    altered_disclosure(prov, "status", "01")
    error = reject(
        json.dumps({"name": DOCUMENT["name"], "status": "01"}, ensure_ascii=False, separators=(",", ":")).encode(),
        fields,
        prov,
    )
    assert error.metadata["field"] == "status" and "'status'" in error.message


def test_an_altered_document_beside_honest_disclosures_is_refused_naming_the_field() -> None:
    _, fields, prov = served()
    error = reject(canonicalize({"name": DOCUMENT["name"], "status": "01"}), fields, prov)
    assert error.metadata["field"] == "status"


def test_an_added_field_is_refused_naming_it() -> None:
    document_json, fields, prov = served()
    prov.disclosures.append(Disclosure("A" * 22, "valid_until", "2099-12-31").encoded())
    error = reject(
        canonicalize({**json.loads(document_json), "valid_until": "2099-12-31"}), [*fields, "valid_until"], prov
    )
    assert error.metadata["field"] == "valid_until"


@pytest.mark.parametrize("keep_in_document", [True, False])
def test_a_dropped_disclosure_of_a_claimed_field_is_refused_naming_it(keep_in_document: bool) -> None:
    document_json, fields, prov = served()
    kept = [d for d in prov.disclosures if json.loads(d)[1] != "status"]
    del prov.disclosures[:]
    prov.disclosures.extend(kept)
    shown = document_json if keep_in_document else canonicalize({"name": DOCUMENT["name"]})
    error = reject(shown, fields, prov)
    assert error.metadata["field"] == "status" and error.metadata["problem"] == "DISCLOSURE_MISSING"


def test_a_duplicated_disclosure_is_refused_naming_the_field() -> None:
    document_json, fields, prov = served()
    prov.disclosures.append(prov.disclosures[0])
    error = reject(document_json, fields, prov)
    assert error.metadata["problem"] == "DISCLOSURE_DUPLICATE" and error.metadata["field"] in fields


@pytest.mark.parametrize("salt", ["short", "A" * 23, ""])
def test_a_salt_of_the_wrong_length_is_refused_naming_the_field(salt: str) -> None:
    document_json, fields, prov = served()
    name = json.loads(prov.disclosures[0])[1]
    prov.disclosures[0] = Disclosure(salt, name, json.loads(document_json)[name]).encoded()
    error = reject(document_json, fields, prov)
    assert (error.metadata["field"], error.metadata["problem"]) == (name, "DISCLOSURE_MALFORMED")


def test_a_changed_envelope_breaks_the_signature() -> None:
    document_json, fields, prov = served()
    prov.envelope_json = prov.envelope_json.replace(b'"1.0"', b'"1.1"')
    prov.dataset_version = "1.1"
    prov.content_digest = ""
    error = reject(document_json, fields, prov)
    assert "Ed25519 verification failed" in error.message


def test_the_hub_requires_every_committed_field_from_the_issuer() -> None:
    partial = signed().minimised(("name",))
    with pytest.raises(DataLoss) as err:
        verify_document(partial, keys)
    assert "committed to 4 fields but disclosed 1" in err.value.message


def test_a_format2_batch_costs_one_signature_and_its_members_minimise() -> None:
    signer = DocumentSigner("SAMR", KID, KEY)
    docs = signer.sign_batch([("business_licence", "1.0", f"K{i}", {**DOCUMENT, "i": i}) for i in range(3)])
    verify_batch(docs, keys)
    assert verify_document(docs[1].minimised(("i",)), keys, complete=False) == {"i": 1}


def test_format1_signers_still_sign_and_verify() -> None:
    doc = DocumentSigner("SAMR", KID, KEY, format_version=1).sign("business_licence", "1.0", "K", DOCUMENT)
    assert doc.format == 1 and not doc.envelope_json
    assert verify_document(doc, keys) == DOCUMENT


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e-7, "1e-7"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1.0, "1"),
        (0.000001, "0.000001"),
        (5e-324, "5e-324"),
        (-1.5e-10, "-1.5e-10"),
        (123456789.123, "123456789.123"),
    ],
)
def test_numbers_print_as_ecmascript_prints_them(value: float, text: str) -> None:
    assert number(value) == text


def test_member_names_sort_by_utf16_code_units_not_code_points() -> None:
    # U+FB01 is above the surrogates (D800-DFFF) that encode U+1F600, so JCS puts it last; Python's sort would not.
    assert canonicalize({"\ufb01": 1, "\U0001f600": 2}) == '{"😀":2,"ﬁ":1}'.encode()
    assert sorted(["\ufb01", "\U0001f600"]) == ["\ufb01", "\U0001f600"]


@pytest.mark.parametrize("bad", [2**53 + 1, -(2**53) - 1, float("nan"), float("inf"), "\ud800", object()])
def test_values_jcs_cannot_carry_are_refused_naming_where(bad: Any) -> None:
    with pytest.raises(InvalidArgument) as err:
        canonicalize({"outer": [bad]})
    assert err.value.reason == "DOCUMENT_NOT_CANONICAL"


def test_big_integers_are_refused_with_advice() -> None:
    with pytest.raises(InvalidArgument) as err:
        canonicalize({"outer": [2**53 + 1]})
    assert "document.outer[0]" in err.value.message and "as a string" in err.value.message
