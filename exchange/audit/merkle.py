"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.

Pure functions over 32-byte SHA-256 hashes. Proofs are computed from a *node reader*
``node(level, index)`` that returns the hash of the perfect subtree covering leaves
``[index * 2**level, (index + 1) * 2**level)``: the live log stores only those hashes
(Trillian/Tessera style) and answers any proof with O(log n) reads.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence

from exchange.errors import DataLoss, InvalidArgument

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeReader = Callable[[int, int], bytes]
"""``node(level, index) -> bytes``: the hash of one perfect subtree."""


class ProofError(DataLoss):
    """A Merkle proof did not verify; ``reason`` is an UPPER_SNAKE_CASE code."""

    default_reason = "PROOF_INVALID"


class InclusionProofError(ProofError):
    """An inclusion proof does not lead from the leaf to the expected root."""

    default_reason = "INCLUSION_PROOF_INVALID"


class ConsistencyProofError(ProofError):
    """A consistency proof does not show the old tree is a prefix of the new one."""

    default_reason = "CONSISTENCY_PROOF_INVALID"


def leaf_hash(data: bytes) -> bytes:
    """Hash one log entry as a leaf: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two children into their parent: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Compute the RFC 6962 root of a tree whose leaves have these hashes."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    sha256 = hashlib.sha256
    while len(level) > 1:
        # An odd last node is promoted unchanged: RFC 6962 splits at the largest power
        # of two, so the right edge is never paired with an empty sibling.
        paired = [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly less than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_ranges(start: int, end: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into aligned perfect subtrees as (level, index), left to right."""
    ranges: list[tuple[int, int]] = []
    while start < end:
        # The largest aligned block starting at `start` that still fits before `end`.
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        ranges.append((level, start >> level))
        start += 1 << level
    return ranges


def subtree_hash(start: int, end: int, node: NodeReader) -> bytes:
    """Return MTH(D[start:end]) for an RFC 6962 subtree, reading perfect subtrees only."""
    if not 0 <= start < end:
        raise InvalidArgument(f"a subtree needs 0 <= start < end, got [{start}, {end})", reason="SUBTREE_RANGE_INVALID")
    width = end - start
    span = 1 << (width - 1).bit_length()
    if start % span:
        raise InvalidArgument(
            f"[{start}, {end}) is not an RFC 6962 subtree: start must be a multiple of {span}",
            reason="SUBTREE_RANGE_INVALID",
        )
    hashes = [node(level, index) for level, index in _perfect_ranges(start, end)]
    # The perfect blocks shrink left to right, so the RFC 6962 split folds from the right.
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_proof(index: int, size: int, node: NodeReader) -> list[bytes]:
    """Return the RFC 9162 inclusion path for leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise InvalidArgument(f"leaf index {index} is outside a tree of size {size}", reason="LEAF_INDEX_OUT_OF_RANGE")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            path.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, node))
            start += k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, node: NodeReader) -> list[bytes]:
    """Return the RFC 9162 consistency proof from the tree of ``old_size`` to ``new_size``."""
    if not 0 <= old_size <= new_size:
        raise InvalidArgument(
            f"a consistency proof needs 0 <= old size <= new size, got {old_size} and {new_size}",
            reason="TREE_SIZES_INVALID",
        )
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m = 0, new_size, old_size
    complete = True
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            proof.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, node))
            start += k
            m -= k
            complete = False
    if not complete:
        # The old tree's own root is not a node the verifier already holds.
        proof.append(subtree_hash(start, end, node))
    proof.reverse()
    return proof


def _levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Return every perfect subtree hash of an in-memory tree, level by level."""
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def _reader(leaf_hashes: Sequence[bytes]) -> NodeReader:
    """Return a node reader over an in-memory list of leaf hashes."""
    levels = _levels(leaf_hashes)

    def node(level: int, index: int) -> bytes:
        return levels[level][index]

    return node


def inclusion_proof_from_leaves(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the inclusion path for leaf ``index`` in the tree of exactly these leaves."""
    return inclusion_proof(index, len(leaf_hashes), _reader(leaf_hashes))


def consistency_proof_from_leaves(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the consistency proof from the first ``old_size`` leaves to all of them."""
    return consistency_proof(old_size, len(leaf_hashes), _reader(leaf_hashes))


def _check_hash(name: str, value: bytes, error: type[ProofError]) -> None:
    """Refuse a value that is not a 32-byte hash."""
    if len(value) != HASH_SIZE:
        raise error(f"{name} must be a {HASH_SIZE}-byte SHA-256 hash, found {len(value)} bytes")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` is the leaf hash at ``index`` in the tree of ``size`` with ``root``."""
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hash("the leaf hash", leaf, InclusionProofError)
    _check_hash("the root hash", root, InclusionProofError)
    for i, element in enumerate(proof):
        _check_hash(f"proof element {i}", element, InclusionProofError)
    fn, sn, r = index, size - 1, leaf
    for element in proof:
        if sn == 0:
            raise InclusionProofError(
                f"the proof has {len(proof)} hashes, more than a tree of size {size} needs for leaf {index}"
            )
        if fn & 1 or fn == sn:
            r = node_hash(element, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InclusionProofError(
            f"the proof has {len(proof)} hashes, too few for leaf {index} in a tree of size {size}"
        )
    if r != root:
        raise InclusionProofError(
            f"leaf {index} does not lead to the root of the tree of size {size}: "
            f"expected root {root.hex()}, the proof computes {r.hex()}"
        )


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree of ``old_size`` with ``old_root`` is a prefix of ``new_root``'s tree."""
    if not 0 <= old_size <= new_size:
        raise ConsistencyProofError(f"the old tree size {old_size} must not exceed the new tree size {new_size}")
    _check_hash("the old root", old_root, ConsistencyProofError)
    _check_hash("the new root", new_root, ConsistencyProofError)
    for i, element in enumerate(proof):
        _check_hash(f"proof element {i}", element, ConsistencyProofError)
    if old_size == new_size or old_size == 0:
        if proof:
            raise ConsistencyProofError(
                f"expected an empty proof from size {old_size} to {new_size}, found {len(proof)} hashes"
            )
        expected = new_root if old_size == new_size else EMPTY_ROOT
        if old_root != expected:
            raise ConsistencyProofError(
                f"the trees of size {old_size} and {new_size} cannot be consistent: "
                f"expected old root {expected.hex()}, found {old_root.hex()}"
            )
        return
    if not proof:
        raise ConsistencyProofError(f"the proof from size {old_size} to {new_size} is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a perfect subtree of the new one; the proof leaves out its root.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ConsistencyProofError(
                f"the proof has {len(proof)} hashes, more than sizes {old_size} to {new_size} need"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(element, fr)
            sr = node_hash(element, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyProofError(f"the proof has {len(proof)} hashes, too few for sizes {old_size} to {new_size}")
    if fr != old_root:
        raise ConsistencyProofError(
            f"the proof does not rebuild the old tree of size {old_size}: "
            f"expected root {old_root.hex()}, the proof computes {fr.hex()}"
        )
    if sr != new_root:
        raise ConsistencyProofError(
            f"the proof does not rebuild the new tree of size {new_size}: "
            f"expected root {new_root.hex()}, the proof computes {sr.hex()}"
        )


class Frontier:
    """The right edge of a growing tree: one perfect subtree hash per set bit of the size."""

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []  # largest subtree first

    @property
    def size(self) -> int:
        """Return the number of leaves appended so far."""
        return self._size

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the perfect subtrees it completed as (level, index, hash)."""
        if len(leaf) != HASH_SIZE:
            raise InvalidArgument(
                f"a leaf hash must be {HASH_SIZE} bytes, found {len(leaf)}", reason="LEAF_HASH_INVALID"
            )
        index = self._size
        completed = [(0, index, leaf)]
        current = leaf
        level = 0
        # Each trailing one bit of the old size is a left sibling waiting for this leaf.
        while index & 1:
            current = node_hash(self._hashes.pop(), current)
            level += 1
            index >>= 1
            completed.append((level, index, current))
        self._hashes.append(current)
        self._size += 1
        return completed

    def extend(self, leaves: Sequence[bytes]) -> list[tuple[int, int, bytes]]:
        """Add leaf hashes in order; return the perfect subtrees above the leaves they completed."""
        for leaf in leaves:
            if len(leaf) != HASH_SIZE:
                raise InvalidArgument(
                    f"a leaf hash must be {HASH_SIZE} bytes, found {len(leaf)}", reason="LEAF_HASH_INVALID"
                )
        sha256 = hashlib.sha256
        edge = self._hashes
        completed: list[tuple[int, int, bytes]] = []
        size = self._size
        for current in leaves:
            index = size
            level = 0
            # As in `append`: each trailing one bit of the size is a left sibling waiting.
            while index & 1:
                current = sha256(b"\x01" + edge.pop() + current).digest()
                level += 1
                index >>= 1
                completed.append((level, index, current))
            edge.append(current)
            size += 1
        self._size = size
        return completed

    def root(self) -> bytes:
        """Return the root hash of the tree so far."""
        if not self._hashes:
            return EMPTY_ROOT
        result = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            result = node_hash(left, result)
        return result

    def to_bytes(self) -> bytes:
        """Serialise as an 8-byte big-endian size followed by the edge hashes."""
        return struct.pack(">Q", self._size) + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        """Restore a frontier saved by ``to_bytes``."""
        if len(data) < 8:
            raise InvalidArgument(
                f"a saved frontier starts with an 8-byte size, found {len(data)} bytes",
                reason="FRONTIER_INVALID",
            )
        (size,) = struct.unpack(">Q", data[:8])
        expected = 8 + HASH_SIZE * size.bit_count()
        if len(data) != expected:
            raise InvalidArgument(
                f"a saved frontier of size {size} must be {expected} bytes, found {len(data)}",
                reason="FRONTIER_INVALID",
            )
        frontier = cls()
        frontier._size = size
        frontier._hashes = [data[i : i + HASH_SIZE] for i in range(8, len(data), HASH_SIZE)]
        return frontier

    @classmethod
    def from_leaf_hashes(cls, hashes: Sequence[bytes]) -> Frontier:
        """Build a frontier by appending these leaf hashes in order."""
        frontier = cls()
        for h in hashes:
            frontier.append(h)
        return frontier
