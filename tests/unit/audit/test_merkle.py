"""The Merkle tree matches RFC 6962 test vectors and its proofs verify, and only when right."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    node_hash,
    root_from_leaf_hashes,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

# RFC 6962 test vectors as published in transparency-dev/merkle (testonly/constants.go,
# proof/verify_test.go). Inclusion vectors there number leaves from 1; here from 0.
LEAF_INPUTS = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
LEAF_HASHES = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
)]  # fmt: skip
ROOTS = [EMPTY_ROOT] + [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # fmt: skip
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _flip(value: bytes, bit: int = 0) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


def test_leaf_and_node_hashes_use_rfc6962_domain_separation() -> None:
    leaf = "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    node = "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    assert leaf_hash(b"L123456").hex() == leaf
    assert node_hash(b"N123", b"N456").hex() == node


def test_leaf_hashes_match_the_published_vectors() -> None:
    assert [leaf_hash(data) for data in LEAF_INPUTS] == LEAF_HASHES


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert root_from_leaf_hashes([]) == hashlib.sha256(b"").digest() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_root_at_every_size_matches_the_published_vectors(size: int) -> None:
    assert root_from_leaf_hashes(LEAF_HASHES[:size]) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_published_vectors(index: int, size: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in proof]
    assert inclusion_proof_from_leaves(index, LEAF_HASHES[:size]) == expected
    verify_inclusion(LEAF_HASHES[index], index, size, expected, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_published_vectors(old: int, new: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in proof]
    assert consistency_proof_from_leaves(old, LEAF_HASHES[:new]) == expected
    verify_consistency(old, new, ROOTS[old], ROOTS[new], expected)


def test_inclusion_proof_for_the_wrong_index_is_refused_naming_the_roots() -> None:
    proof = inclusion_proof_from_leaves(5, LEAF_HASHES)
    with pytest.raises(InclusionProofError, match="expected root 5dc9da79"):
        verify_inclusion(LEAF_HASHES[5], 4, 8, proof, ROOTS[8])


def test_inclusion_proof_with_an_extra_hash_is_refused() -> None:
    proof = [*inclusion_proof_from_leaves(5, LEAF_HASHES), ROOTS[8]]
    with pytest.raises(InclusionProofError, match="more than a tree of size 8 needs"):
        verify_inclusion(LEAF_HASHES[5], 5, 8, proof, ROOTS[8])


def test_inclusion_proof_missing_a_hash_is_refused() -> None:
    proof = inclusion_proof_from_leaves(5, LEAF_HASHES)[:-1]
    with pytest.raises(InclusionProofError, match="too few"):
        verify_inclusion(LEAF_HASHES[5], 5, 8, proof, ROOTS[8])


def test_inclusion_of_an_index_beyond_the_tree_is_refused() -> None:
    with pytest.raises(InclusionProofError, match="outside a tree of size 1"):
        verify_inclusion(LEAF_HASHES[0], 1, 1, [], ROOTS[1])


def test_consistency_with_swapped_roots_is_refused() -> None:
    proof = consistency_proof_from_leaves(6, LEAF_HASHES)
    with pytest.raises(ConsistencyProofError, match="old tree of size 6"):
        verify_consistency(6, 8, ROOTS[8], ROOTS[6], proof)


def test_consistency_from_a_larger_tree_is_refused() -> None:
    with pytest.raises(ConsistencyProofError, match="must not exceed"):
        verify_consistency(2, 1, ROOTS[2], ROOTS[1], [])


def test_consistency_between_equal_sizes_needs_equal_roots_and_no_proof() -> None:
    verify_consistency(3, 3, ROOTS[3], ROOTS[3], [])
    with pytest.raises(ConsistencyProofError, match="expected old root"):
        verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    with pytest.raises(ConsistencyProofError, match="expected an empty proof"):
        verify_consistency(3, 3, ROOTS[3], ROOTS[3], [ROOTS[1]])


def test_the_empty_tree_is_consistent_with_any_tree() -> None:
    verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [])
    with pytest.raises(ConsistencyProofError):
        verify_consistency(0, 8, ROOTS[1], ROOTS[8], [])


def test_an_empty_consistency_proof_between_different_sizes_is_refused() -> None:
    with pytest.raises(ConsistencyProofError, match="is empty"):
        verify_consistency(2, 5, ROOTS[2], ROOTS[5], [])


def test_subtree_hash_reads_only_perfect_subtrees() -> None:
    reads: list[tuple[int, int]] = []
    leaves = _leaves(13)

    def node(level: int, index: int) -> bytes:
        reads.append((level, index))
        return root_from_leaf_hashes(leaves[index << level : (index + 1) << level])

    assert subtree_hash(8, 13, node) == root_from_leaf_hashes(leaves[8:13])
    assert reads == [(2, 2), (0, 12)]


def test_a_range_that_is_not_an_rfc6962_subtree_is_refused() -> None:
    from exchange.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="multiple of 4"):
        subtree_hash(2, 5, lambda level, index: b"")


def test_a_node_reader_answers_a_proof_with_logarithmically_many_reads() -> None:
    leaves = _leaves(1000)
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    reads = 0

    def node(level: int, index: int) -> bytes:
        nonlocal reads
        reads += 1
        return levels[level][index]

    proof = inclusion_proof(3, 1000, node)
    assert reads <= 2 * 10
    verify_inclusion(leaves[3], 3, 1000, proof, root_from_leaf_hashes(leaves))


def test_frontier_reports_each_completed_subtree_once() -> None:
    frontier = Frontier()
    assert frontier.append(LEAF_HASHES[0]) == [(0, 0, LEAF_HASHES[0])]
    completed = frontier.append(LEAF_HASHES[1])
    assert completed == [(0, 1, LEAF_HASHES[1]), (1, 0, ROOTS[2])]
    frontier.append(LEAF_HASHES[2])
    completed = frontier.append(LEAF_HASHES[3])
    assert [(level, index) for level, index, _ in completed] == [(0, 3), (1, 1), (2, 0)]
    assert completed[-1][2] == ROOTS[4]


def test_frontier_survives_a_round_trip_through_bytes() -> None:
    frontier = Frontier.from_leaf_hashes(LEAF_HASHES[:7])
    restored = Frontier.from_bytes(frontier.to_bytes())
    assert (restored.size, restored.root()) == (7, ROOTS[7])
    restored.append(LEAF_HASHES[7])
    assert restored.root() == ROOTS[8]


def test_a_truncated_frontier_is_refused() -> None:
    from exchange.errors import InvalidArgument

    data = Frontier.from_leaf_hashes(LEAF_HASHES[:7]).to_bytes()
    with pytest.raises(InvalidArgument, match="size 7 must be 104 bytes, found 103"):
        Frontier.from_bytes(data[:-1])


sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=60, deadline=None)
@given(size=sizes, data=st.data())
def test_every_inclusion_proof_verifies_and_a_flipped_bit_fails(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    root = root_from_leaf_hashes(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof_from_leaves(index, leaves)
    verify_inclusion(leaves[index], index, size, proof, root)
    with pytest.raises(InclusionProofError):
        verify_inclusion(_flip(leaves[index]), index, size, proof, root)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:at], _flip(proof[at], 3), *proof[at + 1 :]]
        with pytest.raises(InclusionProofError):
            verify_inclusion(leaves[index], index, size, bad, root)


@settings(max_examples=60, deadline=None)
@given(size=sizes, data=st.data())
def test_every_consistency_proof_verifies_and_a_flipped_bit_fails(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    old = data.draw(st.integers(1, size))
    old_root, new_root = root_from_leaf_hashes(leaves[:old]), root_from_leaf_hashes(leaves)
    proof = consistency_proof_from_leaves(old, leaves)
    verify_consistency(old, size, old_root, new_root, proof)
    with pytest.raises(ConsistencyProofError):
        verify_consistency(old, size, _flip(old_root), new_root, proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:at], _flip(proof[at], 4), *proof[at + 1 :]]
        with pytest.raises(ConsistencyProofError):
            verify_consistency(old, size, old_root, new_root, bad)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 300))
def test_frontier_root_equals_the_root_of_all_leaves_at_every_size(size: int) -> None:
    leaves = _leaves(size)
    frontier = Frontier()
    stored: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        for level, index, h in frontier.append(leaf):
            stored[(level, index)] = h
    assert frontier.size == size
    assert frontier.root() == root_from_leaf_hashes(leaves)
    # What the frontier hands out is exactly what a node reader must serve.
    for (level, index), h in stored.items():
        assert h == root_from_leaf_hashes(leaves[index << level : (index + 1) << level])
    assert len(stored) == sum(size >> level for level in range(size.bit_length()))


@settings(max_examples=60, deadline=None)
@given(size=sizes, data=st.data())
def test_proofs_from_stored_subtrees_equal_proofs_from_the_leaf_list(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    stored: dict[tuple[int, int], bytes] = {}
    frontier = Frontier()
    for leaf in leaves:
        stored.update({(level, index): h for level, index, h in frontier.append(leaf)})

    def node(level: int, index: int) -> bytes:
        return stored[(level, index)]

    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    assert inclusion_proof(index, size, node) == inclusion_proof_from_leaves(index, leaves)
    assert consistency_proof(old, size, node) == consistency_proof_from_leaves(old, leaves)
