"""Merkle edges: hashes of the wrong length anywhere, surplus and missing proof hashes refused by count
(never by luck of a root comparison), the empty frontier, and the facts each message names.
"""

from __future__ import annotations

import hashlib

import pytest

from exchange.audit.merkle import (
    EMPTY_ROOT,
    ConsistencyProofError,
    Frontier,
    InclusionProofError,
    consistency_proof,
    consistency_proof_from_leaves,
    inclusion_proof,
    inclusion_proof_from_leaves,
    leaf_hash,
    root_from_leaf_hashes,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)
from exchange.errors import InvalidArgument

LEAVES = [leaf_hash(bytes([i])) for i in range(11)]


def root(size: int) -> bytes:
    return root_from_leaf_hashes(LEAVES[:size])


def node(level: int, index: int) -> bytes:
    return root_from_leaf_hashes(LEAVES[index << level : (index + 1) << level])


# Frontier


@pytest.mark.parametrize("length", [31, 33, 0])
def test_frontier_refuses_a_leaf_hash_of_the_wrong_length_naming_it(length: int) -> None:
    frontier = Frontier()
    with pytest.raises(InvalidArgument) as caught:
        frontier.append(b"\x01" * length)
    assert caught.value.reason == "LEAF_HASH_INVALID"
    assert caught.value.message == f"a leaf hash must be 32 bytes, found {length}"
    with pytest.raises(InvalidArgument) as caught:
        frontier.extend([LEAVES[0], b"\x01" * length])
    assert caught.value.reason == "LEAF_HASH_INVALID"
    assert caught.value.message == f"a leaf hash must be 32 bytes, found {length}"
    assert frontier.size == 0 and frontier.root() == EMPTY_ROOT


def test_append_and_extend_report_the_same_completed_subtrees() -> None:
    appended = Frontier()
    one_by_one = [done for leaf in LEAVES for done in appended.append(leaf)]
    extended = Frontier()
    completed = extended.extend(LEAVES)
    assert completed == [done for done in one_by_one if done[0] > 0]
    assert one_by_one[:4] == [(0, 0, LEAVES[0]), (0, 1, LEAVES[1]), (1, 0, node(1, 0)), (0, 2, LEAVES[2])]
    assert appended.root() == extended.root() == root(11) and extended.size == 11
    assert appended.to_bytes() == extended.to_bytes()


def test_an_empty_frontier_is_saved_as_a_zero_size_and_restored_empty() -> None:
    saved = Frontier().to_bytes()
    assert saved == b"\x00" * 8
    restored = Frontier.from_bytes(saved)
    assert restored.size == 0 and restored.root() == EMPTY_ROOT
    restored.append(LEAVES[0])
    assert restored.root() == LEAVES[0]


def test_a_saved_frontier_holds_one_hash_per_set_bit_of_its_size() -> None:
    frontier = Frontier.from_leaf_hashes(LEAVES)  # 11 = 0b1011: subtrees of 8, 2 and 1 leaves
    saved = frontier.to_bytes()
    assert saved == (11).to_bytes(8, "big") + node(3, 0) + node(1, 4) + LEAVES[10]
    restored = Frontier.from_bytes(saved)
    assert restored.size == 11 and restored.root() == root(11)
    restored.append(LEAVES[0])
    assert restored.root() == root_from_leaf_hashes([*LEAVES, LEAVES[0]])


def test_a_saved_frontier_of_the_wrong_length_names_size_and_lengths() -> None:
    saved = Frontier.from_leaf_hashes(LEAVES[:3]).to_bytes()
    with pytest.raises(InvalidArgument) as caught:
        Frontier.from_bytes(saved[:-1])
    assert caught.value.reason == "FRONTIER_INVALID"
    assert caught.value.message == "a saved frontier of size 3 must be 72 bytes, found 71"
    with pytest.raises(InvalidArgument) as caught:
        Frontier.from_bytes(b"\x00" * 7)
    assert caught.value.reason == "FRONTIER_INVALID"
    assert caught.value.message == "a saved frontier starts with an 8-byte size, found 7 bytes"


def test_a_saved_frontier_size_is_an_unsigned_64_bit_number() -> None:
    size = 2**63 + 1  # two subtrees: 2**63 leaves and one
    saved = size.to_bytes(8, "big") + LEAVES[0] + LEAVES[1]
    restored = Frontier.from_bytes(saved)
    assert restored.size == size and restored.root() == root_from_leaf_hashes(LEAVES[:2])
    assert restored.to_bytes() == saved


# Inclusion


@pytest.mark.parametrize("bad", ["leaf", "root", "element"])
def test_inclusion_refuses_a_hash_of_the_wrong_length_naming_which(bad: str) -> None:
    proof = inclusion_proof_from_leaves(2, LEAVES[:5])
    leaf, top = LEAVES[2], root(5)
    if bad == "leaf":
        leaf = leaf[:31]
    elif bad == "root":
        top = top + b"\x00"
    else:
        proof[1] = proof[1][:20]
    with pytest.raises(InclusionProofError) as caught:
        verify_inclusion(leaf, 2, 5, proof, top)
    expected = {
        "leaf": "the leaf hash must be a 32-byte SHA-256 hash, found 31 bytes",
        "root": "the root hash must be a 32-byte SHA-256 hash, found 33 bytes",
        "element": "proof element 1 must be a 32-byte SHA-256 hash, found 20 bytes",
    }[bad]
    assert caught.value.message == expected


def test_inclusion_with_a_surplus_or_missing_hash_is_refused_by_count() -> None:
    proof = inclusion_proof_from_leaves(4, LEAVES[:7])
    with pytest.raises(InclusionProofError) as caught:
        verify_inclusion(LEAVES[4], 4, 7, [*proof, root(7)], root(7))
    assert caught.value.message == "the proof has 4 hashes, more than a tree of size 7 needs for leaf 4"
    with pytest.raises(InclusionProofError) as caught:
        verify_inclusion(LEAVES[4], 4, 7, proof[:-1], root(7))
    assert caught.value.message == "the proof has 2 hashes, too few for leaf 4 in a tree of size 7"


@pytest.mark.parametrize(("index", "size"), [(5, 5), (-1, 5), (0, 0)])
def test_inclusion_of_an_index_outside_the_tree_is_refused_naming_both(index: int, size: int) -> None:
    with pytest.raises(InclusionProofError) as caught:
        verify_inclusion(LEAVES[0], index, size, [], root(1))
    assert caught.value.message == f"leaf index {index} is outside a tree of size {size}"
    with pytest.raises(InvalidArgument) as error:
        inclusion_proof(index, size, node)
    assert error.value.reason == "LEAF_INDEX_OUT_OF_RANGE"
    assert error.value.message == f"leaf index {index} is outside a tree of size {size}"


def test_the_last_leaf_and_a_single_leaf_tree_verify() -> None:
    verify_inclusion(LEAVES[10], 10, 11, inclusion_proof(10, 11, node), root(11))
    verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])
    assert inclusion_proof(0, 1, node) == []


# Consistency


@pytest.mark.parametrize("bad", ["old", "new", "element"])
def test_consistency_refuses_a_hash_of_the_wrong_length_naming_which(bad: str) -> None:
    proof = consistency_proof_from_leaves(3, LEAVES[:7])
    old, new = root(3), root(7)
    if bad == "old":
        old = old[:16]
    elif bad == "new":
        new = b""
    else:
        proof[-1] = proof[-1] + b"\x00"
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(3, 7, old, new, proof)
    expected = {
        "old": "the old root must be a 32-byte SHA-256 hash, found 16 bytes",
        "new": "the new root must be a 32-byte SHA-256 hash, found 0 bytes",
        "element": f"proof element {len(proof) - 1} must be a 32-byte SHA-256 hash, found 33 bytes",
    }[bad]
    assert caught.value.message == expected


@pytest.mark.parametrize(("old", "new"), [(3, 7), (4, 7), (1, 2), (6, 11)])
def test_consistency_with_a_surplus_hash_is_refused_by_count_not_by_the_roots(old: int, new: int) -> None:
    proof = consistency_proof_from_leaves(old, LEAVES[:new])
    verify_consistency(old, new, root(old), root(new), proof)
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(old, new, root(old), root(new), [*proof, hashlib.sha256(b"x").digest()])
    assert caught.value.message == f"the proof has {len(proof) + 1} hashes, more than sizes {old} to {new} need"
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(old, new, root(old), root(new), proof[:-1] or [])
    assert "too few" in caught.value.message or "is empty" in caught.value.message


def test_consistency_names_which_root_the_proof_does_not_rebuild() -> None:
    proof = consistency_proof_from_leaves(3, LEAVES[:7])
    other = hashlib.sha256(b"other").digest()
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(3, 7, other, root(7), proof)
    assert caught.value.message == (
        f"the proof does not rebuild the old tree of size 3: expected root {other.hex()}, "
        f"the proof computes {root(3).hex()}"
    )
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(3, 7, root(3), other, proof)
    assert caught.value.message == (
        f"the proof does not rebuild the new tree of size 7: expected root {other.hex()}, "
        f"the proof computes {root(7).hex()}"
    )


def test_equal_sizes_or_an_empty_old_tree_take_no_proof_and_say_so() -> None:
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(5, 5, root(5), root(5), [root(1)])
    assert caught.value.message == "expected an empty proof from size 5 to 5, found 1 hashes"
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(0, 5, root(1), root(5), [])
    assert caught.value.message == (
        f"the trees of size 0 and 5 cannot be consistent: expected old root {EMPTY_ROOT.hex()}, found {root(1).hex()}"
    )
    verify_consistency(0, 5, EMPTY_ROOT, root(5), [])
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(6, 5, root(5), root(5), [])
    assert caught.value.message == "the old tree size 6 must not exceed the new tree size 5"
    with pytest.raises(ConsistencyProofError) as caught:
        verify_consistency(2, 5, root(2), root(5), [])
    assert caught.value.message == "the proof from size 2 to 5 is empty"


def test_consistency_proof_sizes_are_checked_and_trivial_ones_are_empty() -> None:
    assert consistency_proof(0, 5, node) == [] and consistency_proof(5, 5, node) == []
    with pytest.raises(InvalidArgument) as caught:
        consistency_proof(6, 5, node)
    assert caught.value.reason == "TREE_SIZES_INVALID"
    assert caught.value.message == "a consistency proof needs 0 <= old size <= new size, got 6 and 5"


@pytest.mark.parametrize(("start", "end", "message"), [
    (3, 3, "a subtree needs 0 <= start < end, got [3, 3)"),
    (-1, 2, "a subtree needs 0 <= start < end, got [-1, 2)"),
    (2, 5, "[2, 5) is not an RFC 6962 subtree: start must be a multiple of 4"),
])  # fmt: skip
def test_subtree_ranges_are_checked_naming_the_range(start: int, end: int, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        subtree_hash(start, end, node)
    assert caught.value.reason == "SUBTREE_RANGE_INVALID" and caught.value.message == message


def test_subtree_hashes_of_aligned_ranges_equal_the_roots_of_their_leaves() -> None:
    for start, end in [(0, 1), (0, 11), (8, 11), (4, 7), (10, 11), (8, 10)]:
        assert subtree_hash(start, end, node) == root_from_leaf_hashes(LEAVES[start:end])


@pytest.mark.parametrize(
    ("start", "end", "ranges"),
    [
        (0, 6, [(2, 0), (1, 2)]),
        (2, 8, [(1, 1), (2, 1)]),
        (3, 8, [(0, 3), (2, 1)]),
        (6, 16, [(1, 3), (3, 1)]),
        (4, 5, [(0, 4)]),
    ],
)
def test_any_range_splits_into_aligned_perfect_subtrees_left_to_right(
    start: int, end: int, ranges: list[tuple[int, int]]
) -> None:
    from exchange.audit.merkle import _perfect_ranges

    assert _perfect_ranges(start, end) == ranges
