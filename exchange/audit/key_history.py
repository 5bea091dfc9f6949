"""The log's checkpoint-key history: which key signs checkpoints of which tree sizes.

A rotation writes a handover statement, a signed note whose body is

    <origin>
    key-handover
    old <verifier key>
    new <verifier key>
    size <tree size>
    timestamp <unix seconds>

signed by the old key (it hands the log over) and by the new key (it holds its private half). The old
key signs checkpoints up to that size, the new key from it on; both may sign a checkpoint of exactly
that size (the old key's last, the new key's first). A verifier starts from the key it already trusts
and follows the statements in order, so a new key is believed only because the old one said so, and
a stolen old key cannot sign a checkpoint past the handover.

The history file is the statements one after another, each followed by a line ``%%``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.audit.note import (
    Checkpoint,
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    open_note,
    parse_checkpoint,
    split_note,
)
from exchange.auth.keys import generate_ed25519, load_private_key, write_private_key
from exchange.errors import FailedPrecondition, InvalidArgument

HANDOVER = "key-handover"
SEPARATOR = "%%\n"


@dataclass(frozen=True)
class KeyPeriod:
    """One checkpoint key and the tree sizes it may sign (``last_size`` None: the current key)."""

    verifier: NoteVerifier
    first_size: int
    last_size: int | None

    def covers(self, size: int) -> bool:
        """Whether this key may sign a checkpoint of ``size`` entries."""
        return size >= self.first_size and (self.last_size is None or size <= self.last_size)

    def describe(self) -> str:
        """The key and its range, for messages."""
        until = "on" if self.last_size is None else f"to {self.last_size}"
        return f"{self.verifier.name}+{self.verifier.key_id.hex()} (sizes {self.first_size} {until})"


def handover_statement(old: NoteSigner, new: NoteSigner, *, origin: str, size: int, timestamp: int) -> str:
    """The statement handing the log over from old to new at ``size``, signed by both."""
    body = "".join(
        line + "\n"
        for line in (
            origin,
            HANDOVER,
            f"old {old.verifier().verifier_key()}",
            f"new {new.verifier().verifier_key()}",
            f"size {size}",
            f"timestamp {timestamp}",
        )
    )
    return body + "\n" + old.signature_line(body) + new.signature_line(body)


def _fields(body: str, number: int) -> tuple[str, str, str, int]:
    """(origin, old vkey, new vkey, size) of a statement body, or a CheckpointError naming statement number."""
    lines = body[:-1].split("\n")
    if (
        len(lines) != 6
        or lines[1] != HANDOVER
        or not all(
            line.startswith(prefix)
            for line, prefix in zip(lines[2:], ("old ", "new ", "size ", "timestamp "), strict=True)
        )
    ):
        raise CheckpointError(
            f"key history statement {number} is not a '{HANDOVER}' statement (origin, {HANDOVER}, old, new, size, "
            "timestamp)",
            reason="KEY_HISTORY_MALFORMED",
        )
    try:
        size = int(lines[4].removeprefix("size "))
    except ValueError:
        raise CheckpointError(
            f"key history statement {number}: size must be a number, found {lines[4]!r}",
            reason="KEY_HISTORY_MALFORMED",
        ) from None
    return lines[0], lines[2].removeprefix("old "), lines[3].removeprefix("new "), size


def _same(one: NoteVerifier, other: NoteVerifier) -> bool:
    """Whether two verifiers are the same named key."""
    return (one.name, one.key_id) == (other.name, other.key_id)


class KeyHistory:
    """The keys a log's checkpoints were signed with, each valid for a range of tree sizes."""

    def __init__(self, periods: Sequence[KeyPeriod], statements: Sequence[str] = ()) -> None:
        self.periods = tuple(periods)
        self.statements = tuple(statements)

    @classmethod
    def single(cls, verifier: NoteVerifier) -> KeyHistory:
        """A log that never rotated its key."""
        return cls([KeyPeriod(verifier, 0, None)])

    @classmethod
    def from_text(cls, trusted: NoteVerifier, text: str) -> KeyHistory:
        """Follow the statements in text from the key already trusted; refuse any not signed by the key before it."""
        periods: list[KeyPeriod] = []
        current, first = trusted, 0
        statements = [part + SEPARATOR for part in text.split(SEPARATOR) if part.strip()]
        # An auditor may trust a later key only: it speaks for the sizes from its own handover on.
        started = not statements
        for number, statement in enumerate(statements, start=1):
            note = statement.removesuffix(SEPARATOR)
            body, _ = split_note(note)
            _origin, old_key, new_key, size = _fields(body, number)
            old, new = NoteVerifier.from_vkey(old_key), NoteVerifier.from_vkey(new_key)
            if not started:
                if _same(new, trusted):
                    open_note(note, new)
                    started, first = True, size
                    continue
                if not _same(old, trusted):
                    continue
                started = True
            if not _same(old, current):
                raise CheckpointError(
                    f"key history statement {number} hands over from {old.name}+{old.key_id.hex()}, but the key "
                    f"trusted at that point is {current.name}+{current.key_id.hex()}",
                    reason="KEY_HISTORY_BROKEN",
                )
            if size < first:
                raise CheckpointError(
                    f"key history statement {number} hands over at size {size}, "
                    f"before the previous handover at {first}",
                    reason="KEY_HISTORY_BROKEN",
                )
            open_note(note, old)
            open_note(note, new)
            periods.append(KeyPeriod(current, first, size))
            current, first = new, size
        if not started:
            raise CheckpointError(
                f"the key history never names the key {trusted.name}+{trusted.key_id.hex()}; it belongs to another log "
                "or you trust another key",
                reason="KEY_HISTORY_BROKEN",
            )
        periods.append(KeyPeriod(current, first, None))
        return cls(periods, statements)

    def to_text(self) -> str:
        """The statements as a history file."""
        return "".join(self.statements)

    @property
    def current(self) -> NoteVerifier:
        """The key that signs new checkpoints."""
        return self.periods[-1].verifier

    def open_checkpoint_note(self, note_text: str) -> Checkpoint:
        """Verify a checkpoint with the key that signed it and check that key was valid at its size."""
        _, signatures = split_note(note_text)
        ids = {(name, raw[:4]) for name, raw in signatures}
        signed_by = [p for p in self.periods if (p.verifier.name, p.verifier.key_id) in ids]
        if not signed_by:
            known = ", ".join(p.describe() for p in self.periods)
            raise CheckpointError(
                f"the checkpoint is signed by no key in the log's key history ({known})",
                reason="NOTE_NOT_SIGNED_BY_KEY",
            )
        checkpoint: Checkpoint | None = None
        for period in signed_by:
            checkpoint = parse_checkpoint(open_note(note_text, period.verifier))
            if period.covers(checkpoint.size):
                return checkpoint
        assert checkpoint is not None
        raise CheckpointError(
            f"the checkpoint of size {checkpoint.size} is signed by "
            + " and ".join(p.describe() for p in signed_by)
            + ", not valid at that size: a key signs only the sizes of its period in the log's key history",
            reason="CHECKPOINT_KEY_NOT_VALID",
        )


def current_key_of(history_text: str) -> str | None:
    """The verifier key the last statement hands over to (None for an empty history)."""
    statements = [part for part in history_text.split(SEPARATOR) if part.strip()]
    if not statements:
        return None
    body, _ = split_note(statements[-1])
    return _fields(body, len(statements))[2]


def rotate_signing_key(
    key_path: Path, history_path: Path, *, origin: str, key_name: str, size: int, timestamp: int
) -> tuple[NoteVerifier, NoteVerifier, str]:
    """Make a new checkpoint key at key_path, keep the old one beside it, append the handover to the history.

    Returns (old verifier, new verifier, statement). Run it with no hub signing: the old key's last
    checkpoint must be the one of ``size`` entries.
    """
    old_key = load_private_key(key_path)
    if not isinstance(old_key, Ed25519PrivateKey):
        raise InvalidArgument(f"{key_path} must hold an Ed25519 key", reason="SIGNING_KEY_INVALID")
    old, new_key = NoteSigner(key_name, old_key), generate_ed25519()
    new = NoteSigner(key_name, new_key)
    if history_path.exists():
        expected = current_key_of(history_path.read_text(encoding="utf-8"))
        if expected is not None and expected != old.verifier().verifier_key():
            raise FailedPrecondition(
                f"{key_path} is not the key {history_path} names as current ({expected}); restore the right key",
                reason="SIGNING_KEY_NOT_CURRENT",
            )
    statement = handover_statement(old, new, origin=origin, size=size, timestamp=timestamp)
    retired = key_path.with_name(f"{key_path.name}.{old.verifier().key_id.hex()}.retired")
    write_private_key(retired, old_key)
    with history_path.open("a", encoding="utf-8") as history:
        history.write(statement + SEPARATOR)
    temporary = key_path.with_name(key_path.name + ".new")
    temporary.unlink(missing_ok=True)
    write_private_key(temporary, new_key)
    temporary.replace(key_path)
    return old.verifier(), new.verifier(), statement


def check_current_key(history_path: Path, signer: NoteSigner) -> None:
    """Refuse to sign with a key the log's key history does not name as current (a retired key restored)."""
    if not history_path.exists():
        return
    expected = current_key_of(history_path.read_text(encoding="utf-8"))
    found = signer.verifier().verifier_key()
    if expected is not None and expected != found:
        raise FailedPrecondition(
            f"the hub's signing key ({found}) is not the one the key history {history_path} names as current "
            f"({expected}); checkpoints it signed would be refused. Restore the current key",
            reason="SIGNING_KEY_NOT_CURRENT",
        )
