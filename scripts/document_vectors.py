"""Write the test vectors of docs/document-format.md to tests/vectors/documents/ (or check them: --check).

Everything is fixed: the Ed25519 test key is the 32 bytes 00 01 .. 1f, salts are derived from the field
names, times are constants. Ed25519 is deterministic, so the files are the same on every run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.jcs import canonicalize
from adapters.signing import DOCUMENT_CONTEXT_V2, Disclosure, DocumentSigner, canonical_document_bytes
from exchange.auth.keys import key_id

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "documents"
SEED = bytes(range(32))
ISSUED_AT_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z

# JSON texts whose canonical bytes every JCS implementation must agree on.
JCS_CASES: dict[str, str] = {
    "numbers at the edges": (
        "[0, -0.0, 1, -1, 1.0, 100, 1e-7, 0.000001, 1e-6, 1.5e-10, 123.456, 1e20, 1e21, 1E+21, "
        "9007199254740991, -9007199254740991, 9007199254740992, 5e-324, 1.7976931348623157e308, "
        "0.1, 0.30000000000000004, 4.35, 333333333.3333333, 2e-7]"
    ),
    "keys sorted by UTF-16 code units (non-BMP before U+E000..U+FFFF)": (
        '{"\\ufb01": 1, "\\ud83d\\ude00": 2, "\\ud840\\udc0b": 3, "z": 4, "\\u00e9": 5, "A": 6, "\\u4e2d": 7, "": 8}'
    ),
    "empty and nested values": (
        '{"a": {}, "b": [], "c": "", "d": null, "e": [[], {}, [{"y": [], "x": {}}]], "f": false}'
    ),
    "string escapes": '["\\u0000\\u001f", "\\"\\\\/", "\\b\\f\\n\\r\\t", "\\u007f\\u2028\\u2029", "\\ud83d\\ude00"]',
    "Chinese text is written as UTF-8, never escaped": '{"名称": "北京红灯笼餐饮有限公司", "𠀋": "非基本平面"}',
}


def _salt(name: str, index: int) -> str:
    """A fixed 22-character salt for a vector (real issuers draw 16 random bytes)."""
    digest = hashlib.sha256(f"vector salt {index} {name}".encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


DOCUMENTS: list[dict[str, Any]] = [
    {
        "name": "business licence, two of its fields served",
        "dataset": "business_licence",
        "version": "1.0",
        "key": "91110105MA01ABCD13",
        "document": {
            "unified_social_credit_code": "91110105MA01ABCD13",
            "name": "北京红灯笼餐饮有限公司",
            "legal_representative": "王芳",
            "registered_capital": "500000.00",
            "status": "01",
        },
        "served": ["name", "status"],
    },
    {
        "name": "non-BMP names, numbers at the edges, empty and nested values",
        "dataset": "edge_cases",
        "version": "2.1",
        "key": "𠀋-1",
        "document": {
            "𠀋名": "𠀋",
            "ﬁ": "U+FB01 sorts after the surrogate pair of U+2000B",
            "tiny": 1e-7,
            "minus_zero": -0.0,
            "big": 1e21,
            "max_safe": 9007199254740991,
            "fraction": 0.1,
            "empty_object": {},
            "empty_list": [],
            "empty_string": "",
            "nothing": None,
            "nested": {"b": [1, {"d": [], "c": "x"}], "a": True},
        },
        "served": ["𠀋名", "tiny", "minus_zero", "nested", "empty_object"],
    },
    {
        "name": "nothing served but the envelope",
        "dataset": "business_licence",
        "version": "1.0",
        "key": "91110105MA01ABCD13",
        "document": {"name": "x", "status": "02"},
        "served": [],
    },
]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key() -> tuple[Ed25519PrivateKey, str, str]:
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private, pem, key_id(private.public_key())


def jcs_vectors() -> dict[str, Any]:
    cases = []
    for name, text in JCS_CASES.items():
        canonical = canonicalize(json.loads(text))
        cases.append({"name": name, "input": text, "canonical_hex": canonical.hex(), "canonical": canonical.decode()})
    return {"description": "RFC 8785: parse `input`, canonicalize, expect the bytes `canonical_hex`.", "cases": cases}


def document_vectors() -> dict[str, Any]:
    private, pem, kid = _key()
    signer = DocumentSigner("SAMR", kid, private)
    cases = []
    for spec in DOCUMENTS:
        disclosures = [Disclosure(_salt(n, i), n, v) for i, (n, v) in enumerate(spec["document"].items())]
        signed = signer.sign_with_disclosures(spec["dataset"], spec["version"], spec["key"], disclosures, ISSUED_AT_US)
        served = signed.minimised(spec["served"])
        cases.append(
            {
                "name": spec["name"],
                "issuer": "SAMR",
                "kid": kid,
                "dataset": spec["dataset"],
                "dataset_version": spec["version"],
                "key": spec["key"],
                "issued_at_us": ISSUED_AT_US,
                "fields": [
                    {
                        "salt": d.salt,
                        "name": d.name,
                        "value": d.value,
                        "disclosure": d.encoded().decode(),
                        "disclosure_b64": _b64(d.encoded()),
                        "digest": d.digest(),
                    }
                    for d in disclosures
                ],
                "envelope": json.loads(signed.envelope_json),
                "envelope_json": signed.envelope_json.decode(),
                "signed_bytes_b64": _b64(signed.signed_bytes()),
                "signature_b64": _b64(signed.signature),
                "content_digest": signed.content_digest(),
                "served": {
                    "fields": list(spec["served"]),
                    "document_json": served.document_json.decode(),
                    "disclosures_b64": [_b64(d) for d in served.disclosures],
                },
            }
        )
    return {
        "description": "Format 2 documents signed with the test key; `served` is the hub's minimised copy.",
        "context": DOCUMENT_CONTEXT_V2.decode(),
        "public_key_pem": pem,
        "private_key_seed_hex": SEED.hex(),
        "cases": cases,
    }


def legacy_vectors() -> dict[str, Any]:
    private, pem, kid = _key()
    document = {"name": "北京红灯笼餐饮有限公司", "status": "01"}
    signed = canonical_document_bytes(
        dataset="business_licence",
        dataset_version="1.0",
        key="91110105MA01ABCD13",
        issued_at_us=ISSUED_AT_US,
        issuer="SAMR",
        document=document,
    )
    return {
        "description": "Format 1 (whole document, Python sorted json.dumps): verifies only with every field.",
        "public_key_pem": pem,
        "kid": kid,
        "document": document,
        "signed_bytes_b64": _b64(signed),
        "signature_b64": _b64(private.sign(signed)),
    }


def files() -> dict[str, str]:
    """File name to content, as committed."""
    made = {"jcs.json": jcs_vectors(), "format2.json": document_vectors(), "format1.json": legacy_vectors()}
    return {name: json.dumps(data, ensure_ascii=False, indent=2) + "\n" for name, data in made.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="Fail if the committed vectors differ.")
    args = parser.parse_args()
    stale = []
    for name, text in files().items():
        path = OUT / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale vectors: {', '.join(stale)}; run scripts/document_vectors.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
