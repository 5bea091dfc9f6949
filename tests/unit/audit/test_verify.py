"""Verifying a whole log names the first tampering: changed, removed, inserted, reordered, forged."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.audit.entry import AccessLogEntry, encode_entry
from exchange.audit.merkle import inclusion_proof_from_leaves, leaf_hash, root_from_leaf_hashes
from exchange.audit.note import Checkpoint, NoteSigner, sign_checkpoint
from exchange.audit.verify import LogRow, embedded_index, verify_archive, verify_log

ORIGIN = "exchange.example.gov/access-log"
SIGNER = NoteSigner("exchange.example.gov", Ed25519PrivateKey.generate())
VERIFIER = SIGNER.verifier()
SIZE = 300
CHECKPOINT_SIZES = (0, 1, 64, 100, 257, 300)
SIGNED_AT = 1_764_000_000  # 2025-11-24T16:00:00Z


def _entry(index: int, **changes: object) -> AccessLogEntry:
    entry = AccessLogEntry(
        index=index,
        time_us=1_764_000_000_000_000 + index,
        request_id=f"req-{index}",
        action="exchange.fetch",
        caller_department="civil-affairs",
        officer_id="officer-0042",
        dataset="business-licence",
        subject_id=f"citizen-{index % 17}",
        fields=("name",),
        details={"index": "not the entry index"},
    )
    return dataclasses.replace(entry, **changes)  # type: ignore[arg-type]


def _row(position: int, entry: AccessLogEntry) -> LogRow:
    data = encode_entry(entry)
    return LogRow(position, data, leaf_hash(data))


ROWS = [_row(i, _entry(i)) for i in range(SIZE)]
LEAVES = [row.stored_leaf_hash or b"" for row in ROWS]


def _checkpoint(size: int, signer: NoteSigner = SIGNER, origin: str = ORIGIN) -> str:
    root = root_from_leaf_hashes(LEAVES[:size])
    return sign_checkpoint(Checkpoint(origin, size, root, SIGNED_AT + size), signer)


CHECKPOINTS = [_checkpoint(size) for size in CHECKPOINT_SIZES]


def _renumber(rows: list[LogRow]) -> list[LogRow]:
    """Return the rows as an export would list them: positions 0, 1, 2, ... in order."""
    return [row._replace(position=i) for i, row in enumerate(rows)]


def test_an_untouched_log_verifies_against_every_checkpoint() -> None:
    report = verify_log(ROWS, CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.ok
    assert (report.size, report.checked_checkpoints, report.first_problem) == (SIZE, len(CHECKPOINTS), None)


def test_checkpoints_may_arrive_in_any_order() -> None:
    report = verify_log(ROWS, list(reversed(CHECKPOINTS)), VERIFIER, origin=ORIGIN)
    assert report.ok and report.checked_checkpoints == len(CHECKPOINTS)


def test_the_embedded_index_is_the_entry_own_not_a_detail_named_index() -> None:
    assert embedded_index(ROWS[41].entry) == 41


def test_a_changed_field_is_caught_by_its_stored_leaf_hash() -> None:
    rows = list(ROWS)
    rows[41] = rows[41]._replace(entry=encode_entry(_entry(41, subject_id="someone-else")))
    report = verify_log(rows, CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert not report.ok
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("changed", 41)
    recomputed = leaf_hash(rows[41].entry).hex()
    assert report.first_problem.message == (
        f"entry 41 was changed: its content hashes to {recomputed}, the log recorded {LEAVES[41].hex()}"
    )
    assert report.size == 41


def test_a_changed_entry_with_a_forged_leaf_hash_is_caught_by_the_next_checkpoint() -> None:
    rows = list(ROWS)
    rows[80] = _row(80, _entry(80, subject_id="someone-else"))
    report = verify_log(rows, CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("root_mismatch", 64)
    assert report.first_problem.message.startswith(
        "the log differs from the checkpoint of size 100 signed at 2025-11-24T16:01:40Z"
    )
    assert report.first_problem.message.endswith("the first bad entry lies in [64, 100)")
    assert report.checked_checkpoints == 3


def test_a_deleted_row_leaving_a_gap_in_positions_is_named() -> None:
    rows = ROWS[:41] + ROWS[42:]
    report = verify_log(rows, CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("removed", 41)
    assert report.first_problem.message == "entry 41 was removed: the log jumps to position 42"


def test_a_deleted_entry_in_a_renumbered_export_is_named() -> None:
    report = verify_log(_renumber(ROWS[:41] + ROWS[42:]), CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("removed", 41)
    assert report.first_problem.message == "entry 41 was removed: position 41 holds the entry with index 42"


def test_several_deleted_entries_are_named_as_a_range() -> None:
    report = verify_log(_renumber(ROWS[:41] + ROWS[45:]), CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert report.first_problem.message.startswith("entries 41 to 44 were removed")


def test_an_inserted_entry_claiming_an_existing_index_is_named() -> None:
    forged = _row(41, _entry(41, subject_id="invented"))
    report = verify_log(_renumber([*ROWS[:41], forged, *ROWS[41:]]), CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("inserted", 41)
    assert report.first_problem.message == "an entry was inserted at 41: positions 41 and 42 both claim index 41"


def test_an_inserted_entry_claiming_a_far_index_is_named() -> None:
    forged = _row(41, _entry(9_999))
    report = verify_log(_renumber([*ROWS[:41], forged, *ROWS[41:]]), CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("inserted", 41)
    assert "it claims index 9999" in report.first_problem.message


def test_a_row_stored_twice_at_one_position_is_named() -> None:
    report = verify_log([*ROWS[:42], ROWS[41], *ROWS[42:]], CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("inserted", 41)


def test_two_swapped_entries_are_named() -> None:
    rows = _renumber([*ROWS[:41], ROWS[42], ROWS[41], *ROWS[43:]])
    report = verify_log(rows, CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("reordered", 41)
    assert report.first_problem.message == "entries 41 and 42 are out of order"


def test_a_truncated_log_is_caught_by_a_checkpoint_beyond_its_end() -> None:
    report = verify_log(ROWS[:280], CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("removed", 280)
    assert "covers 300: entries [280, 300) were removed" in report.first_problem.message
    assert report.checked_checkpoints == 5


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    impostor = NoteSigner("exchange.example.gov", Ed25519PrivateKey.generate())
    checkpoints = [*CHECKPOINTS, _checkpoint(SIZE, impostor)]
    report = verify_log(ROWS, checkpoints, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("bad_checkpoint", None)
    assert report.first_problem.message.startswith(
        f"checkpoint 7 is refused: the note has no signature by key exchange.example.gov+{SIGNER.key_id.hex()}"
    )


def test_a_checkpoint_of_another_log_is_refused() -> None:
    report = verify_log(ROWS, [_checkpoint(SIZE, origin="other.example/log")], VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert report.first_problem.kind == "bad_checkpoint"
    assert "expected log 'exchange.example.gov/access-log'" in report.first_problem.message


def test_a_checkpoint_signed_over_a_forged_tree_is_caught() -> None:
    leaves = [*LEAVES[:99], leaf_hash(b"forged")]
    forged = sign_checkpoint(Checkpoint(ORIGIN, 100, root_from_leaf_hashes(leaves), SIGNED_AT), SIGNER)
    report = verify_log(ROWS, [*CHECKPOINTS[:3], forged], VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("root_mismatch", 64)


def test_rows_without_stored_hashes_are_still_checked_against_checkpoints() -> None:
    rows = [row._replace(stored_leaf_hash=None) for row in ROWS]
    rows[150] = rows[150]._replace(entry=encode_entry(_entry(150, officer_id="officer-9999")))
    report = verify_log(rows, CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("root_mismatch", 100)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 64, 65])
def test_small_logs_verify(size: int) -> None:
    report = verify_log(ROWS[:size], [_checkpoint(size)], VERIFIER, origin=ORIGIN)
    assert report.ok and report.size == size and report.checked_checkpoints == 1


def test_a_change_that_breaks_the_entry_format_says_so() -> None:
    rows = list(ROWS)
    rows[7] = rows[7]._replace(entry=rows[7].entry.replace(b'"decision":"allow"', b'"decision":"alow"'))
    report = verify_log(rows, CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert report.first_problem.kind == "changed"
    assert report.first_problem.message.endswith("`decision` has 'alow'")


def test_an_entry_stripped_of_its_index_is_named_as_changed() -> None:
    rows = [row._replace(stored_leaf_hash=None) for row in ROWS]
    rows[9] = rows[9]._replace(entry=b"exchange-access-log/v1\n{}")
    report = verify_log(rows, CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("changed", 9)
    assert "no longer records its index; it is no longer a valid entry: " in report.first_problem.message


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(2, SIZE),
    data=st.data(),
    tamper=st.sampled_from(["change_and_forge_hash", "delete", "swap", "duplicate"]),
)
def test_any_single_tampering_is_found_no_later_than_where_it_happened(
    size: int, data: st.DataObject, tamper: str
) -> None:
    at = data.draw(st.integers(0, size - 2))
    rows = list(ROWS[:size])
    if tamper == "change_and_forge_hash":
        rows[at] = _row(at, _entry(at, officer_id="officer-forged"))
    elif tamper == "delete":
        del rows[at]
    elif tamper == "swap":
        rows[at], rows[at + 1] = rows[at + 1], rows[at]
    else:
        rows.insert(at, rows[at])
    report = verify_log(_renumber(rows), [_checkpoint(size)], VERIFIER, origin=ORIGIN)
    assert not report.ok
    assert report.first_problem is not None
    assert report.first_problem.position is not None and report.first_problem.position <= at


def _pruned(rows: list[LogRow], below: int) -> list[LogRow]:
    """The rows as the live database holds them after archiving entries below `below`."""
    return [row._replace(entry=b"") if row.position < below else row for row in rows]


def test_pruned_entries_are_vouched_for_by_their_leaf_hashes_and_the_checkpoints() -> None:
    report = verify_log(_pruned(ROWS, 100), CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.ok and report.pruned == 100 and report.size == SIZE


def test_a_forged_leaf_hash_of_a_pruned_entry_is_caught_by_the_checkpoint() -> None:
    rows = _pruned(ROWS, 100)
    rows[40] = rows[40]._replace(stored_leaf_hash=b"\x00" * 32)
    report = verify_log(rows, CHECKPOINTS, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None and report.first_problem.kind == "root_mismatch"
    assert "[1, 64)" in report.first_problem.message


def _archive(start: int, end: int) -> list[tuple[LogRow, list[bytes]]]:
    return [(ROWS[i], inclusion_proof_from_leaves(i, LEAVES)) for i in range(start, end)]


def test_an_archived_range_verifies_entry_by_entry_against_its_checkpoint() -> None:
    report = verify_archive(_archive(100, 180), CHECKPOINTS[-1], VERIFIER, origin=ORIGIN)
    assert report.ok and report.size == 80


def test_an_archive_missing_an_entry_or_holding_a_changed_one_is_named() -> None:
    rows = _archive(100, 180)
    del rows[10]
    report = verify_archive(rows, CHECKPOINTS[-1], VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None and (report.first_problem.kind, report.first_problem.position) == (
        "removed",
        110,
    )
    rows = _archive(100, 180)
    changed = encode_entry(_entry(120, officer_id="ghost"))
    rows[20] = (LogRow(120, changed, leaf_hash(changed)), rows[20][1])
    report = verify_archive(rows, CHECKPOINTS[-1], VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None and report.first_problem.position == 120
    assert "not in the signed tree" in report.first_problem.message


def test_an_archive_under_a_checkpoint_signed_by_another_key_is_refused() -> None:
    other = NoteSigner("exchange.example.gov", Ed25519PrivateKey.generate())
    report = verify_archive(_archive(0, 10), _checkpoint(SIZE, other), VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None and report.first_problem.kind == "bad_checkpoint"


def test_a_log_longer_than_one_fold_of_leaves_verifies_against_checkpoints_inside_and_after_it() -> None:
    rows = [_row(i, _entry(i)) for i in range(9_000)]
    leaves = [row.stored_leaf_hash or b"" for row in rows]
    notes = [
        sign_checkpoint(Checkpoint(ORIGIN, size, root_from_leaf_hashes(leaves[:size]), SIGNED_AT + size), SIGNER)
        for size in (1, 4_096, 4_097, 8_999, 9_000)
    ]
    report = verify_log(rows, notes, VERIFIER, origin=ORIGIN)
    assert (report.ok, report.size, report.checked_checkpoints) == (True, 9_000, 5)
    # Changed bytes with no recorded leaf hash to compare: only the checkpoint after them can tell.
    rows[8_500] = rows[8_500]._replace(entry=encode_entry(_entry(8_500, officer_id="ghost")), stored_leaf_hash=None)
    report = verify_log(rows, notes, VERIFIER, origin=ORIGIN)
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position, report.checked_checkpoints) == (
        "root_mismatch",
        4_097,
        3,
    )
