"""Evidence bundles: one access log entry, provable offline with the hub's public key alone.

The text form is C2SP ``tlog-proof@v1``::

    c2sp.org/tlog-proof@v1
    extra <base64 canonical entry bytes>
    index <N>
    <base64 inclusion proof hash, one per line>

    <signed checkpoint note>

The spec's optional ``extra`` line carries opaque, application-defined data; we put the
entry's canonical encoding there, so the leaf hash is ``leaf_hash(extra)`` and the
bundle needs nothing else to check. Readers of plain tlog-proof ignore its meaning.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from exchange.audit.entry import AccessLogEntry, decode_entry
from exchange.audit.merkle import leaf_hash, verify_inclusion
from exchange.audit.note import CheckpointVerifier, open_checkpoint
from exchange.errors import DataLoss

HEADER = "c2sp.org/tlog-proof@v1"
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


class BundleError(DataLoss):
    """An evidence bundle is malformed or does not prove what it claims."""

    default_reason = "EVIDENCE_BUNDLE_INVALID"


class BundleFormatError(BundleError):
    """The bundle text does not follow the tlog-proof layout."""

    default_reason = "EVIDENCE_BUNDLE_MALFORMED"


class BundleIndexMismatch(BundleError):
    """The entry inside the bundle records a different log position than the bundle claims."""

    default_reason = "EVIDENCE_BUNDLE_INDEX_MISMATCH"


@dataclass(frozen=True)
class EvidenceBundle:
    """An entry's canonical bytes, its log index, its inclusion proof and a signed checkpoint."""

    entry: bytes
    index: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def to_text(self) -> str:
        """Return the bundle in C2SP tlog-proof@v1 text form."""
        lines = [HEADER, "extra " + base64.b64encode(self.entry).decode(), f"index {self.index}"]
        lines += [base64.b64encode(h).decode() for h in self.proof]
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def from_text(cls, text: str) -> EvidenceBundle:
        """Parse a bundle from its tlog-proof@v1 text form."""
        head, sep, checkpoint = text.partition("\n\n")
        if not sep or not checkpoint:
            raise BundleFormatError("the bundle has no blank line followed by a checkpoint")
        lines = head.split("\n")
        if lines[0] != HEADER:
            raise BundleFormatError(f"line 1 must be {HEADER!r}, found {lines[0]!r}")
        if len(lines) < 3 or not lines[1].startswith("extra "):
            raise BundleFormatError("line 2 must be 'extra <base64 entry>': this bundle carries no entry")
        entry = _b64(lines[1].removeprefix("extra "), 2)
        index_text = lines[2].removeprefix("index ")
        if not lines[2].startswith("index ") or not _DECIMAL.fullmatch(index_text):
            raise BundleFormatError(f"line 3 must be 'index <decimal>', found {lines[2]!r}")
        proof = tuple(_b64(line, number) for number, line in enumerate(lines[3:], start=4))
        return cls(entry=entry, index=int(index_text), proof=proof, checkpoint=checkpoint)


def _b64(text: str, number: int) -> bytes:
    """Decode one base64 line of a bundle, naming the line when it is bad."""
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise BundleFormatError(f"line {number} is not valid base64: {text[:40]!r}") from None


def verify_bundle(bundle: EvidenceBundle, verifier: CheckpointVerifier, *, origin: str | None = None) -> AccessLogEntry:
    """Check the bundle against the hub's key and return the entry it proves was logged."""
    checkpoint = open_checkpoint(bundle.checkpoint, verifier, origin=origin)
    verify_inclusion(leaf_hash(bundle.entry), bundle.index, checkpoint.size, bundle.proof, checkpoint.root_hash)
    entry = decode_entry(bundle.entry)
    if entry.index != bundle.index:
        raise BundleIndexMismatch(
            f"the bundle proves log position {bundle.index}, but the entry records index {entry.index}"
        )
    return entry
