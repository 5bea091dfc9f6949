"""The scan digest chain and closing manifest, followed as a client does (chain_0 learnt from the manifest)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from adapters.bulk import DigestChain, ScanBinding, manifest_json, next_link, verify_manifest
from adapters.signing import DocumentSigner, canonical_json
from exchange.auth.keys import generate_ed25519, key_id
from exchange.errors import DataLoss

KEY = generate_ed25519()
SIGNER = DocumentSigner("SAMR", key_id(KEY.public_key()), KEY)
SCHEMA = pa.schema([("code", pa.string()), ("capital", pa.int64())])
BINDING = ScanBinding.of(
    issuer="SAMR", dataset="register", version="1.0", schema=SCHEMA, filter="", request_id="r-1", nonce=b"\x01" * 16
)
MESSAGES = [f"batch {i}".encode() for i in range(4)]


def keys(issuer: str, kid: str) -> object:
    return KEY.public_key() if (issuer, kid) == ("SAMR", SIGNER.kid) else None


def signed_stream() -> tuple[list[tuple[bytes, bytes]], bytes, bytes]:
    chain = DigestChain(BINDING.chain_start(), "adapter")
    links = [(m, chain.extend(m, 10)) for m in MESSAGES]
    manifest = manifest_json(BINDING, chain, kid=SIGNER.kid, closed_at_us=1)
    return links, manifest, SIGNER.sign_scan_manifest(manifest)


def follow(links: list[tuple[bytes, bytes]], manifest: bytes, signature: bytes) -> object:
    chain = DigestChain(None, "client")
    for message, link in links:
        chain.check(message, 10, link)
    return verify_manifest(manifest, signature, chain, keys, {"dataset": "register"})  # type: ignore[arg-type]


def test_each_link_hashes_the_previous_link_the_batch_digest_and_its_number() -> None:
    chain = DigestChain(BINDING.chain_start(), "adapter")
    assert chain.extend(b"x", 1) == next_link(BINDING.chain_start(), b"x", 1)
    assert BINDING.chain_start() != ScanBinding(**{**BINDING.__dict__, "nonce": "other"}).chain_start()


def test_an_honest_stream_verifies_without_knowing_chain_zero_in_advance() -> None:
    links, manifest, signature = signed_stream()
    verified = follow(links, manifest, signature)
    assert (verified.rows, verified.batches) == (40, 4)  # type: ignore[attr-defined]


def test_a_wrong_first_batch_is_found_once_the_manifest_names_the_binding() -> None:
    links, manifest, signature = signed_stream()
    links[0] = (b"forged", links[0][1])
    with pytest.raises(DataLoss) as broken:
        follow(links, manifest, signature)
    assert broken.value.reason == "SCAN_CHAIN_BROKEN" and "batch 1" in broken.value.message


@pytest.mark.parametrize("change", [lambda ls: ls[1:], lambda ls: [ls[1], ls[0], *ls[2:]], lambda ls: ls[:-1]])
def test_a_reordered_or_shortened_stream_does_not_verify(change: object) -> None:
    links, manifest, signature = signed_stream()
    with pytest.raises(DataLoss) as broken:
        follow(change(links), manifest, signature)  # type: ignore[operator]
    assert broken.value.reason in {"SCAN_CHAIN_BROKEN", "SCAN_MANIFEST_INVALID"}


def test_a_manifest_changed_after_signing_or_not_canonical_is_refused() -> None:
    links, manifest, signature = signed_stream()
    body = json.loads(manifest)
    body["rows"] = 41
    for forged in (canonical_json(body), json.dumps(json.loads(manifest)).encode()):
        with pytest.raises(DataLoss) as refused:
            follow(links, forged, signature)
        assert refused.value.reason == "SCAN_MANIFEST_INVALID"
