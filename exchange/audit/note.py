"""C2SP signed notes and tlog-checkpoints, signed with Ed25519.

A checkpoint body is ``origin``, decimal size and base64 root hash, one per line,
followed by our extension line ``timestamp <unix seconds>`` and any further extension
lines. A signed note is the body, a blank line and one line per signature:
``— <key name> <base64(4-byte key id ‖ 64-byte signature)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from exchange.errors import DataLoss, InvalidArgument

ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash and a space
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


class CheckpointError(DataLoss):
    """A checkpoint or signed note cannot be trusted: malformed, unsigned or forged."""

    default_reason = "CHECKPOINT_INVALID"


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed claim: the tree of ``size`` leaves has ``root_hash`` at ``timestamp``."""

    origin: str
    size: int
    root_hash: bytes
    timestamp: int
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """Return the checkpoint body text that gets signed."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root_hash).decode(),
            f"timestamp {self.timestamp}",
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines)


def key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte C2SP key id: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:4]


def _check_key_name(name: str) -> None:
    """Refuse a key name the signed-note format cannot carry."""
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise InvalidArgument(
            f"a note key name must be non-empty, without spaces or '+', got {name!r}",
            reason="NOTE_KEY_NAME_INVALID",
        )


def _raw_public(key: Ed25519PublicKey) -> bytes:
    """Return the 32 raw bytes of an Ed25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class NoteVerifier:
    """Checks signatures made by one named Ed25519 key."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        _check_key_name(name)
        self.name = name
        self.public_key = public_key
        self.key_id = key_id(name, _raw_public(public_key))

    def verifier_key(self) -> str:
        """Return the C2SP verifier key ``<name>+<hex key id>+<base64(0x01 ‖ public key)>``."""
        encoded = base64.b64encode(ED25519_TYPE + _raw_public(self.public_key)).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        """Parse a C2SP verifier key and check its key id."""
        # The base64 key may itself contain '+', so split only twice.
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise InvalidArgument(
                f"a verifier key has the form <name>+<hex key id>+<base64 key>, got {text!r}",
                reason="VERIFIER_KEY_INVALID",
            )
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise InvalidArgument(
                f"the key in verifier key {name!r} is not valid base64", reason="VERIFIER_KEY_INVALID"
            ) from exc
        if len(raw) != 33 or raw[:1] != ED25519_TYPE:
            raise InvalidArgument(
                f"verifier key {name!r} must hold 0x01 and a 32-byte Ed25519 key, found {len(raw)} bytes"
                f" of type 0x{raw[:1].hex()}",
                reason="VERIFIER_KEY_INVALID",
            )
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        if verifier.key_id.hex() != hex_id.lower():
            raise InvalidArgument(
                f"verifier key {name!r} names key id {hex_id}, but its key has id {verifier.key_id.hex()}",
                reason="VERIFIER_KEY_INVALID",
            )
        return verifier

    def verify(self, body: str, signature: bytes) -> bool:
        """Return whether ``signature`` (64 bytes, no key id) signs ``body``."""
        try:
            self.public_key.verify(signature, body.encode())
        except InvalidSignature:
            return False
        return True


class NoteSigner:
    """Signs note bodies with one named Ed25519 key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_key_name(name)
        self.name = name
        self.private_key = private_key
        self.key_id = key_id(name, _raw_public(private_key.public_key()))

    @classmethod
    def from_skey(cls, text: str) -> NoteSigner:
        """Parse a C2SP signer key ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>``."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise InvalidArgument(
                "a signer key has the form PRIVATE+KEY+<name>+<hex key id>+<base64 key>",
                reason="SIGNER_KEY_INVALID",
            )
        _, _, name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise InvalidArgument(
                f"the key in signer key {name!r} is not valid base64", reason="SIGNER_KEY_INVALID"
            ) from exc
        if len(raw) != 33 or raw[:1] != ED25519_TYPE:
            raise InvalidArgument(
                f"signer key {name!r} must hold 0x01 and a 32-byte Ed25519 seed, found {len(raw)} bytes",
                reason="SIGNER_KEY_INVALID",
            )
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id.hex() != hex_id.lower():
            raise InvalidArgument(
                f"signer key {name!r} names key id {hex_id}, but its key has id {signer.key_id.hex()}",
                reason="SIGNER_KEY_INVALID",
            )
        return signer

    def signer_key(self) -> str:
        """Return the C2SP signer key text; it is a secret, store it like one."""
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(ED25519_TYPE + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    def verifier(self) -> NoteVerifier:
        """Return the verifier for this signer's public key."""
        return NoteVerifier(self.name, self.private_key.public_key())

    def signature_line(self, body: str) -> str:
        """Return this key's signature line for ``body``, ending in a newline."""
        signature = self.private_key.sign(_check_body(body).encode())
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(self.key_id + signature).decode()}\n"

    def sign(self, body: str) -> str:
        """Return the signed note: body, a blank line, this key's signature line."""
        return body + "\n" + self.signature_line(body)


def _check_body(body: str) -> str:
    """Refuse a body that a signed note cannot carry."""
    if not body.endswith("\n"):
        raise InvalidArgument("a note body must end with a newline", reason="NOTE_BODY_INVALID")
    if "\n\n" in body:
        raise InvalidArgument("a note body must not contain a blank line", reason="NOTE_BODY_INVALID")
    return body


def split_note(note_text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a signed note into its body and its (key name, key id ‖ signature) pairs."""
    cut = note_text.rfind("\n\n")
    if cut < 0:
        raise CheckpointError(
            "malformed note: no blank line between the body and the signatures", reason="NOTE_MALFORMED"
        )
    body, block = note_text[: cut + 1], note_text[cut + 2 :]
    if not block.endswith("\n"):
        raise CheckpointError("malformed note: the last signature line has no newline", reason="NOTE_MALFORMED")
    signatures: list[tuple[str, bytes]] = []
    for number, line in enumerate(block[:-1].split("\n"), start=1):
        fields = line[len(SIGNATURE_PREFIX) :].split(" ") if line.startswith(SIGNATURE_PREFIX) else []
        if len(fields) != 2:
            raise CheckpointError(
                f"malformed note: signature line {number} is not '— <name> <base64 signature>': {line!r}",
                reason="NOTE_MALFORMED",
            )
        try:
            raw = base64.b64decode(fields[1], validate=True)
        except binascii.Error as exc:
            raise CheckpointError(
                f"malformed note: signature line {number} by {fields[0]!r} is not valid base64",
                reason="NOTE_MALFORMED",
            ) from exc
        if len(raw) < 5:
            raise CheckpointError(
                f"malformed note: signature line {number} by {fields[0]!r} is too short",
                reason="NOTE_MALFORMED",
            )
        signatures.append((fields[0], raw))
    return body, signatures


def open_note(note_text: str, verifier: NoteVerifier) -> str:
    """Return the body of a note after checking the verifier's key signed it."""
    body, signatures = split_note(note_text)
    expected = f"{verifier.name}+{verifier.key_id.hex()}"
    found = [(name, raw) for name, raw in signatures if name == verifier.name and raw[:4] == verifier.key_id]
    if not found:
        signers = ", ".join(f"{name}+{raw[:4].hex()}" for name, raw in signatures) or "nobody"
        raise CheckpointError(
            f"the note has no signature by key {expected}; it is signed by {signers}",
            reason="NOTE_NOT_SIGNED_BY_KEY",
        )
    for _, raw in found:
        if len(raw) != 4 + 64 or not verifier.verify(body, raw[4:]):
            raise CheckpointError(
                f"the signature by key {expected} does not verify: the note was changed or forged",
                reason="NOTE_SIGNATURE_INVALID",
            )
    return body


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """Return the checkpoint as a note signed by ``signer``."""
    return signer.sign(checkpoint.body())


def _malformed(number: int, problem: str) -> CheckpointError:
    """Build the error for a bad checkpoint body line."""
    return CheckpointError(f"malformed checkpoint body: line {number} {problem}", reason="CHECKPOINT_MALFORMED")


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint body (without signatures)."""
    lines = body[:-1].split("\n") if body.endswith("\n") else []
    if len(lines) < 4:
        raise CheckpointError(
            f"malformed checkpoint body: expected at least 4 lines (origin, size, root hash, timestamp), "
            f"found {len(lines)}",
            reason="CHECKPOINT_MALFORMED",
        )
    origin, size_text, root_text, stamp, *extensions = lines
    if not origin:
        raise _malformed(1, "(origin) is empty")
    if not _DECIMAL.fullmatch(size_text):
        raise _malformed(2, f"(tree size) must be a decimal number without leading zeros, found {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise _malformed(3, f"(root hash) is not valid base64: {root_text!r}") from None
    if len(root) != 32:
        raise _malformed(3, f"(root hash) must decode to 32 bytes, found {len(root)}")
    seconds = stamp.removeprefix("timestamp ")
    if not stamp.startswith("timestamp ") or not _DECIMAL.fullmatch(seconds):
        raise _malformed(4, f"must be 'timestamp <unix seconds>', found {stamp!r}")
    for number, line in enumerate(extensions, start=5):
        if not line:
            raise _malformed(number, "(extension) is empty")
    return Checkpoint(origin, int(size_text), root, int(seconds), tuple(extensions))


class CheckpointKeys(Protocol):
    """Keys valid for ranges of tree sizes (`exchange.audit.key_history.KeyHistory`)."""

    def open_checkpoint_note(self, note_text: str) -> Checkpoint:
        """Verify a checkpoint note with the key valid at its size."""
        ...


# What a verifier of checkpoints is given: one key, or the log's key history.
CheckpointVerifier = NoteVerifier | CheckpointKeys


def open_checkpoint(note_text: str, verifier: CheckpointVerifier, *, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint note (with the key, or the key of the history valid at its size)."""
    if isinstance(verifier, NoteVerifier):
        checkpoint = parse_checkpoint(open_note(note_text, verifier))
    else:
        checkpoint = verifier.open_checkpoint_note(note_text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"the checkpoint is for log {checkpoint.origin!r}, expected log {origin!r}",
            reason="CHECKPOINT_ORIGIN_MISMATCH",
        )
    return checkpoint
