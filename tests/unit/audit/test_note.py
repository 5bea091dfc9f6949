"""Checkpoints are C2SP signed notes: interoperable, and refused when not signed by our key."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.audit.note import (
    Checkpoint,
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    sign_checkpoint,
)
from exchange.errors import InvalidArgument

# The signed-note example published with golang.org/x/mod/sumdb/note.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

ORIGIN = "exchange.example.gov/access-log"
CHECKPOINT = Checkpoint(ORIGIN, 1000, bytes(range(32)), 1_764_000_000)


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner("exchange.example.gov", Ed25519PrivateKey.generate())


def test_signing_matches_the_published_go_signed_note_example() -> None:
    signer = NoteSigner.from_skey(GO_SKEY)
    assert signer.sign(GO_TEXT) == GO_TEXT + "\n" + GO_SIGNATURE
    assert signer.verifier().verifier_key() == GO_VKEY
    assert signer.signer_key() == GO_SKEY


def test_a_verifier_key_from_text_opens_the_published_note() -> None:
    verifier = NoteVerifier.from_vkey(GO_VKEY)
    assert verifier.key_id.hex() == "c74f20a3"
    assert open_note(GO_TEXT + "\n" + GO_SIGNATURE, verifier) == GO_TEXT


def test_a_verifier_key_with_the_wrong_key_id_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="names key id 00000000, but its key has id c74f20a3"):
        NoteVerifier.from_vkey(GO_VKEY.replace("c74f20a3", "00000000"))


def test_checkpoint_body_has_origin_size_root_and_timestamp_lines() -> None:
    body = Checkpoint(ORIGIN, 7, b"\xff" * 32, 1_764_000_000, ("note x",)).body()
    assert body == f"{ORIGIN}\n7\n{'/' * 42}8=\ntimestamp 1764000000\nnote x\n"


def test_a_signed_checkpoint_opens_to_the_same_checkpoint(signer: NoteSigner) -> None:
    note = sign_checkpoint(CHECKPOINT, signer)
    assert note.splitlines()[-1].startswith("\u2014 exchange.example.gov ")
    assert open_checkpoint(note, signer.verifier(), origin=ORIGIN) == CHECKPOINT


def test_a_checkpoint_signed_by_another_key_is_refused_naming_the_expected_key(signer: NoteSigner) -> None:
    other = NoteSigner("exchange.example.gov", Ed25519PrivateKey.generate())
    note = sign_checkpoint(CHECKPOINT, other)
    expected = f"exchange.example.gov+{signer.key_id.hex()}"
    with pytest.raises(CheckpointError, match=re.escape(f"no signature by key {expected}")) as caught:
        open_checkpoint(note, signer.verifier())
    assert caught.value.reason == "NOTE_NOT_SIGNED_BY_KEY"
    assert other.key_id.hex() in caught.value.message


def test_a_changed_checkpoint_does_not_verify(signer: NoteSigner) -> None:
    note = sign_checkpoint(CHECKPOINT, signer).replace("\n1000\n", "\n1001\n")
    with pytest.raises(CheckpointError, match="does not verify") as caught:
        open_checkpoint(note, signer.verifier())
    assert caught.value.reason == "NOTE_SIGNATURE_INVALID"


def test_a_checkpoint_for_another_log_is_refused(signer: NoteSigner) -> None:
    note = sign_checkpoint(CHECKPOINT, signer)
    expected = "the checkpoint is for log 'exchange.example.gov/access-log', expected log 'x'"
    with pytest.raises(CheckpointError, match=re.escape(expected)):
        open_checkpoint(note, signer.verifier(), origin="x")


def test_other_signatures_on_the_note_are_ignored(signer: NoteSigner) -> None:
    witness = NoteSigner("witness.example", Ed25519PrivateKey.generate())
    body = CHECKPOINT.body()
    note = body + "\n" + witness.signature_line(body) + signer.signature_line(body)
    assert open_checkpoint(note, signer.verifier()) == CHECKPOINT


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("o\n10\n", "expected at least 4 lines"),
        ("\n10\nAA==\ntimestamp 1\n", "line 1 (origin) is empty"),
        ("o\n010\nAA==\ntimestamp 1\n", "line 2 (tree size) must be a decimal"),
        ("o\n10\n!!\ntimestamp 1\n", "line 3 (root hash) is not valid base64"),
        ("o\n10\nAA==\ntimestamp 1\n", "line 3 (root hash) must decode to 32 bytes, found 1"),
        (f"o\n10\n{'A' * 43}=\ntime 1\n", "line 4 must be 'timestamp <unix seconds>'"),
    ],
)
def test_a_malformed_checkpoint_body_names_the_bad_line(body: str, problem: str) -> None:
    with pytest.raises(CheckpointError, match=re.escape(problem)) as caught:
        parse_checkpoint(body)
    assert caught.value.reason == "CHECKPOINT_MALFORMED"


def test_a_note_without_signatures_is_malformed(signer: NoteSigner) -> None:
    with pytest.raises(CheckpointError, match="no blank line"):
        open_checkpoint(CHECKPOINT.body(), signer.verifier())


def test_a_garbled_signature_line_is_named(signer: NoteSigner) -> None:
    note = CHECKPOINT.body() + "\n- exchange.example.gov abc\n"
    with pytest.raises(CheckpointError, match="signature line 1 is not"):
        open_checkpoint(note, signer.verifier())


def test_a_key_name_with_a_space_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="without spaces"):
        NoteSigner("two words", Ed25519PrivateKey.generate())
