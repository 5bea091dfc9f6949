"""The key history: a new key is believed only because the key before it handed the log over."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.audit.key_history import SEPARATOR, KeyHistory, handover_statement
from exchange.audit.note import CheckpointError, NoteSigner

ORIGIN = "hub.example.gov/log"


def signer() -> NoteSigner:
    return NoteSigner("hub.example.gov", Ed25519PrivateKey.generate())


def test_each_key_is_valid_from_its_handover_to_the_next() -> None:
    first, second, third = signer(), signer(), signer()
    text = (
        handover_statement(first, second, origin=ORIGIN, size=10, timestamp=1)
        + SEPARATOR
        + handover_statement(second, third, origin=ORIGIN, size=25, timestamp=2)
        + SEPARATOR
    )
    history = KeyHistory.from_text(first.verifier(), text)
    assert [(p.verifier.key_id, p.first_size, p.last_size) for p in history.periods] == [
        (first.verifier().key_id, 0, 10),
        (second.verifier().key_id, 10, 25),
        (third.verifier().key_id, 25, None),
    ]
    # An auditor who only ever trusted the second key: it speaks from its own handover on.
    later = KeyHistory.from_text(second.verifier(), text)
    assert [(p.first_size, p.last_size) for p in later.periods] == [(10, 25), (25, None)]


def test_a_handover_not_signed_by_the_trusted_key_is_refused() -> None:
    first, intruder, new = signer(), signer(), signer()
    text = (
        handover_statement(first, new, origin=ORIGIN, size=10, timestamp=1)
        + SEPARATOR
        + handover_statement(intruder, signer(), origin=ORIGIN, size=12, timestamp=2)
        + SEPARATOR
    )
    with pytest.raises(CheckpointError) as refused:
        KeyHistory.from_text(first.verifier(), text)
    assert refused.value.reason == "KEY_HISTORY_BROKEN"
    assert "statement 2" in refused.value.message


def test_a_handover_whose_signature_was_forged_is_refused() -> None:
    first, new = signer(), signer()
    statement = handover_statement(first, new, origin=ORIGIN, size=10, timestamp=1)
    tampered = statement.replace("size 10", "size 99")
    with pytest.raises(CheckpointError) as refused:
        KeyHistory.from_text(first.verifier(), tampered + SEPARATOR)
    assert refused.value.reason == "NOTE_SIGNATURE_INVALID"


def test_a_history_that_never_names_the_trusted_key_is_refused() -> None:
    text = handover_statement(signer(), signer(), origin=ORIGIN, size=10, timestamp=1) + SEPARATOR
    with pytest.raises(CheckpointError) as refused:
        KeyHistory.from_text(signer().verifier(), text)
    assert refused.value.reason == "KEY_HISTORY_BROKEN"
