"""Offline verification of a whole access log or an export of it.

Streams the rows once, keeping only the right edge of the Merkle tree, recomputes every
leaf hash and the root at each signed checkpoint's size, and names the first problem:
a changed, removed, inserted or reordered entry, or a checkpoint the log no longer matches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from exchange.audit.entry import EntryFormatError, decode_entry
from exchange.audit.merkle import Frontier, ProofError, leaf_hash, verify_inclusion
from exchange.audit.note import Checkpoint, CheckpointError, CheckpointVerifier, open_checkpoint

ProblemKind = Literal["changed", "removed", "inserted", "reordered", "root_mismatch", "bad_checkpoint"]

# In the canonical encoding (sorted keys, string-only nested values) the only place a key
# `"index"` is followed by a digit is the entry's own top-level index.
_INDEX = re.compile(rb'"index":(-?[0-9]+)[,}]')
# Leaf hashes held at most before they are folded into the right edge (memory stays bounded).
_FOLD = 4096


class LogRow(NamedTuple):
    """One stored entry: its position in the log, canonical bytes and the leaf hash recorded with it.

    A pruned entry (archived, its body removed from the live database) has empty bytes;
    its recorded leaf hash stands in for it, and the checkpoints still cover it.
    """

    position: int
    entry: bytes
    stored_leaf_hash: bytes | None = None


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong with a log: its kind, where, and what a person should know."""

    kind: ProblemKind
    position: int | None
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome: entries verified before any problem, checkpoints matched, the first problem if any."""

    ok: bool
    size: int
    checked_checkpoints: int
    first_problem: Problem | None
    # Entries known only by their recorded leaf hash (archived and pruned).
    pruned: int = 0


def _signed_at(checkpoint: Checkpoint) -> str:
    """Return the checkpoint's time as an ISO 8601 UTC string."""
    return datetime.fromtimestamp(checkpoint.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def embedded_index(entry: bytes) -> int | None:
    """Return the index an encoded entry records for itself, or None if it has none."""
    match = _INDEX.search(entry)
    return int(match.group(1)) if match else None


def _open_all(
    checkpoints: Sequence[str], verifier: CheckpointVerifier, origin: str
) -> tuple[list[Checkpoint], Problem | None]:
    """Open every checkpoint, sorted by size, or name the first one that is refused."""
    opened = []
    for number, note in enumerate(checkpoints, start=1):
        try:
            opened.append(open_checkpoint(note, verifier, origin=origin))
        except CheckpointError as exc:
            return [], Problem("bad_checkpoint", None, f"checkpoint {number} is refused: {exc.message}")
    opened.sort(key=lambda cp: cp.size)
    return opened, None


def _unreadable(entry: bytes) -> str:
    """Say why changed entry bytes are no longer a valid entry, or nothing if they still are."""
    try:
        decode_entry(entry)
    except EntryFormatError as exc:
        return f"; it is no longer a valid entry: {exc.message}"
    return ""


def _index_problem(position: int, entry: bytes, index: int | None, next_index: int | None) -> Problem:
    """Explain why the entry at ``position`` records ``index`` instead of its position."""
    if index is None:
        return Problem(
            "changed", position, f"entry {position} was changed: it no longer records its index{_unreadable(entry)}"
        )
    if index == position + 1 and next_index == position:
        return Problem("reordered", position, f"entries {position} and {position + 1} are out of order")
    if index > position and next_index == position:
        return Problem(
            "inserted",
            position,
            f"an entry was inserted at {position}: it claims index {index}, "
            f"and the entry with index {position} follows it",
        )
    if index > position:
        removed = f"entry {position} was" if index == position + 1 else f"entries {position} to {index - 1} were"
        return Problem(
            "removed", position, f"{removed} removed: position {position} holds the entry with index {index}"
        )
    return Problem(
        "inserted",
        index,
        f"an entry was inserted at {index}: positions {index} and {position} both claim index {index}",
    )


def verify_log(
    rows: Iterable[LogRow], checkpoints: Sequence[str], verifier: CheckpointVerifier, *, origin: str
) -> VerifyReport:
    """Recompute the log from its rows and check it against every signed checkpoint."""
    opened, problem = _open_all(checkpoints, verifier, origin)
    if problem is not None:
        return VerifyReport(False, 0, 0, problem)
    frontier = Frontier()
    pending = iter(opened)
    checkpoint = next(pending, None)
    checked = 0
    previous_size = 0
    count = 0
    pruned = 0

    def finish(problem: Problem | None) -> VerifyReport:
        return VerifyReport(problem is None, count, checked, problem, pruned)

    while checkpoint is not None and checkpoint.size == 0:
        checkpoint, checked = next(pending, None), checked + 1
    # Leaf hashes not yet in the frontier: folded in a run at a time, and where a root is compared.
    run: list[bytes] = []
    until = checkpoint.size if checkpoint is not None else -1
    sha256 = hashlib.sha256
    search = _INDEX.search
    iterator = iter(rows)
    for position, entry, stored in iterator:
        if position != count:
            if position > count:
                return finish(
                    Problem("removed", count, f"entry {count} was removed: the log jumps to position {position}")
                )
            return finish(
                Problem("inserted", position, f"an entry was inserted at {position}: the position appears twice")
            )
        if entry:
            leaf = sha256(b"\x00" + entry).digest()
            if stored is not None and stored != leaf:
                return finish(
                    Problem(
                        "changed",
                        count,
                        f"entry {count} was changed: its content hashes to {leaf.hex()}, "
                        f"the log recorded {stored.hex()}{_unreadable(entry)}",
                    )
                )
            match = search(entry)
            if match is None or int(match.group(1)) != count:
                following = next(iterator, None)
                next_index = embedded_index(following.entry) if following is not None else None
                return finish(_index_problem(count, entry, embedded_index(entry), next_index))
        elif stored is not None:
            # Pruned: only the checkpoints can vouch for this leaf; its body is checked in its archive.
            leaf = stored
            pruned += 1
        else:
            leaf = leaf_hash(entry)
        run.append(leaf)
        count += 1
        if count != until:
            if len(run) == _FOLD:
                frontier.extend(run)
                run = []
            continue
        frontier.extend(run)
        run = []
        while checkpoint is not None and checkpoint.size == count:
            root = frontier.root()
            if root != checkpoint.root_hash:
                return finish(
                    Problem(
                        "root_mismatch",
                        previous_size,
                        f"the log differs from the checkpoint of size {checkpoint.size} "
                        f"signed at {_signed_at(checkpoint)}: "
                        f"it commits to root {checkpoint.root_hash.hex()}, the entries give {root.hex()}; "
                        f"the first bad entry lies in [{previous_size}, {checkpoint.size})",
                    )
                )
            checked += 1
            previous_size = checkpoint.size
            checkpoint = next(pending, None)
        until = checkpoint.size if checkpoint is not None else -1
    if checkpoint is not None:
        return finish(
            Problem(
                "removed",
                count,
                f"the log ends after {count} entries, but the checkpoint signed at {_signed_at(checkpoint)} "
                f"covers {checkpoint.size}: entries [{count}, {checkpoint.size}) were removed",
            )
        )
    return finish(None)


def verify_archive(
    rows: Iterable[tuple[LogRow, Sequence[bytes]]],
    checkpoint: str,
    verifier: CheckpointVerifier,
    *,
    origin: str,
    consecutive: bool = True,
) -> VerifyReport:
    """Check entries one by one: bytes, index, inclusion proof in the checkpoint.

    An archived range must be `consecutive`; a filtered selection need only ascend, each index once.
    """
    opened, problem = _open_all([checkpoint], verifier, origin)
    if problem is not None:
        return VerifyReport(False, 0, 0, problem)
    signed = opened[0]
    count = 0
    expected: int | None = None
    for row, proof in rows:
        if not consecutive and expected is not None and row.position < expected:
            return VerifyReport(
                False,
                count,
                1,
                Problem(
                    "inserted" if row.position == expected - 1 else "reordered",
                    row.position,
                    f"the selection lists entry {row.position} after entry {expected - 1}: "
                    "each entry must appear once, in index order",
                ),
            )
        if consecutive and expected is not None and row.position != expected:
            kind: ProblemKind = "removed" if row.position > expected else "inserted"
            return VerifyReport(
                False, count, 1, Problem(kind, expected, f"the archive jumps from {expected - 1} to {row.position}")
            )
        leaf = leaf_hash(row.entry)
        if row.stored_leaf_hash is not None and row.stored_leaf_hash != leaf:
            return VerifyReport(
                False,
                count,
                1,
                Problem(
                    "changed",
                    row.position,
                    f"entry {row.position} was changed: its content hashes to {leaf.hex()}, "
                    f"the archive recorded {row.stored_leaf_hash.hex()}{_unreadable(row.entry)}",
                ),
            )
        index = embedded_index(row.entry)
        if index != row.position:
            return VerifyReport(False, count, 1, _index_problem(row.position, row.entry, index, None))
        try:
            verify_inclusion(leaf, row.position, signed.size, proof, signed.root_hash)
        except ProofError as exc:
            return VerifyReport(
                False,
                count,
                1,
                Problem("changed", row.position, f"entry {row.position} is not in the signed tree: {exc.message}"),
            )
        expected = row.position + 1
        count += 1
    return VerifyReport(True, count, 1, None)
