"""An evidence bundle proves one entry to a third party holding only the hub's public key."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.audit.bundle import BundleFormatError, BundleIndexMismatch, EvidenceBundle, verify_bundle
from exchange.audit.entry import AccessLogEntry, EntryFormatError, encode_entry
from exchange.audit.merkle import InclusionProofError, inclusion_proof_from_leaves, leaf_hash, root_from_leaf_hashes
from exchange.audit.note import Checkpoint, CheckpointError, NoteSigner, sign_checkpoint

ORIGIN = "exchange.example.gov/access-log"
SIGNER = NoteSigner("exchange.example.gov", Ed25519PrivateKey.generate())


def _entries(n: int) -> list[bytes]:
    return [
        encode_entry(AccessLogEntry(index=i, action="exchange.fetch", subject_id=f"citizen-{i % 7}")) for i in range(n)
    ]


ENTRIES = _entries(21)
LEAVES = [leaf_hash(e) for e in ENTRIES]
NOTE = sign_checkpoint(Checkpoint(ORIGIN, 21, root_from_leaf_hashes(LEAVES), 1_764_000_000), SIGNER)


def _bundle(index: int) -> EvidenceBundle:
    proof = tuple(inclusion_proof_from_leaves(index, LEAVES))
    return EvidenceBundle(entry=ENTRIES[index], index=index, proof=proof, checkpoint=NOTE)


def test_a_bundle_verifies_and_returns_the_entry() -> None:
    entry = verify_bundle(_bundle(13), SIGNER.verifier(), origin=ORIGIN)
    assert (entry.index, entry.subject_id) == (13, "citizen-6")


def test_the_text_form_is_c2sp_tlog_proof_with_the_entry_as_extra_data() -> None:
    bundle = _bundle(13)
    lines = bundle.to_text().split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1] == "extra " + base64.b64encode(ENTRIES[13]).decode()
    assert lines[2] == "index 13"
    assert [base64.b64decode(x) for x in lines[3 : 3 + len(bundle.proof)]] == list(bundle.proof)
    assert bundle.to_text().endswith("\n\n" + NOTE)


def test_a_bundle_survives_a_round_trip_through_text() -> None:
    bundle = _bundle(20)
    assert EvidenceBundle.from_text(bundle.to_text()) == bundle
    verify_bundle(EvidenceBundle.from_text(bundle.to_text()), SIGNER.verifier())


def test_a_changed_entry_fails_the_inclusion_proof() -> None:
    forged = encode_entry(AccessLogEntry(index=13, action="exchange.fetch", subject_id="someone-else"))
    with pytest.raises(InclusionProofError, match="leaf 13 does not lead to the root"):
        verify_bundle(dataclasses.replace(_bundle(13), entry=forged), SIGNER.verifier())


def test_a_bundle_claiming_another_position_is_refused() -> None:
    bundle = dataclasses.replace(_bundle(13), index=12, proof=tuple(inclusion_proof_from_leaves(12, LEAVES)))
    with pytest.raises(InclusionProofError):
        verify_bundle(bundle, SIGNER.verifier())


def test_an_entry_logged_at_a_different_index_than_it_records_is_refused() -> None:
    # A log that appended an entry recording index 5 at position 0 is caught by the bundle.
    entries = [encode_entry(AccessLogEntry(index=5))]
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, leaf_hash(entries[0]), 1), SIGNER)
    bundle = EvidenceBundle(entry=entries[0], index=0, proof=(), checkpoint=note)
    with pytest.raises(BundleIndexMismatch, match="proves log position 0, but the entry records index 5"):
        verify_bundle(bundle, SIGNER.verifier())


def test_a_bundle_signed_by_another_key_is_refused() -> None:
    other = NoteSigner("exchange.example.gov", Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError, match="no signature by key"):
        verify_bundle(_bundle(3), other.verifier())


def test_a_proved_leaf_that_is_not_an_entry_is_refused() -> None:
    leaves = [leaf_hash(b"not an entry")]
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, leaves[0], 1), SIGNER)
    bundle = EvidenceBundle(entry=b"not an entry", index=0, proof=(), checkpoint=note)
    with pytest.raises(EntryFormatError):
        verify_bundle(bundle, SIGNER.verifier())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("c2sp.org/tlog-proof@v1\nindex 1\n", "no blank line followed by a checkpoint"),
        ("c2sp.org/tlog-proof@v2\nextra AA==\nindex 1\n\nnote\n", "line 1 must be"),
        ("c2sp.org/tlog-proof@v1\nindex 1\n\nnote\n", "carries no entry"),
        ("c2sp.org/tlog-proof@v1\nextra AA==\nindex -1\n\nnote\n", "line 3 must be 'index <decimal>'"),
        ("c2sp.org/tlog-proof@v1\nextra AA==\nindex 1\n!!\n\nnote\n", "line 4 is not valid base64"),
    ],
)
def test_malformed_bundle_text_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(BundleFormatError, match=problem):
        EvidenceBundle.from_text(text)
