"""The export formats are a contract with auditors: typed Parquet columns, a self-verifying footer, stable CSV."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.audit.entry import AccessLogEntry, encode_entry
from exchange.audit.export import ExportDamaged, ExportWriter, footer_verifier, verify_export
from exchange.audit.merkle import inclusion_proof_from_leaves, leaf_hash, root_from_leaf_hashes
from exchange.audit.note import Checkpoint, NoteSigner, sign_checkpoint
from exchange.audit.verify import LogRow

ORIGIN = "exchange-hub/0123abcd/access-log"
SIGNER = NoteSigner("exchange-hub", Ed25519PrivateKey.generate())
T0 = 1_764_000_000_123_456  # 2025-11-24T16:00:00.123456Z

CSV_HEADER = (
    '"index","time","request_id","action","caller_department","officer_id","officer_role","dataset",'
    '"dataset_version","subject_id","case_id","service_item","decision","reason","outcome","fields","message",'
    '"request_digest","response_digest","latency_us","hidden_from_subject","details_target","details_summary",'
    '"details_reason","details_note","details_trace_id","details_filter","leaf_hash","entry"'
)


def _entry(i: int) -> bytes:
    return encode_entry(
        AccessLogEntry(
            index=i,
            time_us=T0 + i,
            request_id=f"req-{i}",
            action="exchange.fetch",
            caller_department="SAMR",
            officer_id="li.wei",
            officer_role="officer",
            dataset="business_licence",
            dataset_version="1.0",
            subject_id=f"9111000010000000{i:02d}",
            case_id=f"case-{i}",
            service_item="restaurant_permit",
            fields=("name", "status") if i % 2 else (),
            decision="allow" if i % 2 else "deny",
            reason="" if i % 2 else "NO_GRANT",
            message="" if i % 2 else "没有授权 / no grant",
            outcome="OK" if i % 2 else "PERMISSION_DENIED",
            latency_us=1500 + i,
            request_digest="ab" * 32,
            response_digest="cd" * 32 if i % 2 else "",
            details={"note": "", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"} if i % 2 else {"target": "x"},
        )
    )


ENTRIES = [_entry(i) for i in range(11)]
LEAVES = [leaf_hash(e) for e in ENTRIES]
NOTE = sign_checkpoint(Checkpoint(ORIGIN, len(ENTRIES), root_from_leaf_hashes(LEAVES), 1_764_000_100), SIGNER)
VKEY = SIGNER.verifier().verifier_key()


def _write(path: Path, indices: list[int], *, proofs: bool) -> None:
    with ExportWriter(
        path,
        NOTE,
        fmt="csv" if path.suffix == ".csv" else "parquet",
        with_proofs=proofs,
        verifier_key=VKEY,
        selection="filtered" if proofs else "full",
        filter_text="decision=deny",
    ) as writer:
        rows = [LogRow(i, ENTRIES[i], LEAVES[i]) for i in indices]
        writer.write(rows, [inclusion_proof_from_leaves(i, LEAVES) for i in indices] if proofs else None)


def test_parquet_columns_are_typed_and_time_is_a_utc_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    _write(path, list(range(11)), proofs=False)
    table = pq.read_table(path)
    types = {f.name: f.type for f in table.schema}
    assert types["time"] == pa.timestamp("us", tz="UTC")
    assert types["index"] == types["latency_us"] == pa.int64()
    assert types["fields"] == pa.list_(pa.string())
    assert types["hidden_from_subject"] == pa.bool_()
    assert types["entry"] == types["leaf_hash"] == pa.binary()
    first, second = table.slice(0, 2).to_pylist()
    assert first["time"].isoformat() == "2025-11-24T16:00:00.123456+00:00"
    assert (first["request_id"], first["message"], first["latency_us"]) == ("req-0", "没有授权 / no grant", 1500)
    assert (first["fields"], second["fields"]) == ([], ["name", "status"])
    assert (second["request_digest"], second["response_digest"]) == ("ab" * 32, "cd" * 32)
    # A detail the entry lacks is null; one it has, even empty, is its text.
    assert (first["details_target"], first["details_note"], second["details_note"]) == ("x", None, "")
    assert second["details_trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_the_parquet_footer_holds_checkpoint_key_and_selection(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    _write(path, [0, 4, 9], proofs=True)
    footer = pq.read_schema(path).metadata
    assert footer[b"exchange.checkpoint"].decode() == NOTE
    assert footer[b"exchange.verifier_key"].decode() == VKEY
    assert footer[b"exchange.selection"] == b"filtered"
    assert footer[b"exchange.filter"] == b"decision=deny"
    assert footer[b"exchange.format"] == b"exchange-access-log-export/v2"


def test_a_csv_export_has_a_pinned_header_and_stable_types(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    _write(path, [0, 1], proofs=False)
    header, deny, allow = path.read_text(encoding="utf-8").splitlines()
    assert header == CSV_HEADER
    # Integers unquoted, times ISO 8601 UTC with Z, text quoted ("" is empty text), an absent detail unquoted empty.
    assert deny.startswith('0,"2025-11-24T16:00:00.123456Z","req-0","exchange.fetch","SAMR","li.wei","officer",')
    assert ',"deny","NO_GRANT","PERMISSION_DENIED","","没有授权 / no grant",' in deny
    assert f',"{"ab" * 32}","",1500,false,"x",,,,,,"{LEAVES[0].hex()}",' in deny
    assert ',"allow","","OK","name;status","",' in allow
    assert f',"{"cd" * 32}",1501,false,,,,"","4bf92f3577b34da6a3ce929d0e0e4736",,"{LEAVES[1].hex()}",' in allow


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_filtered_export_verifies_entry_by_entry_from_its_proofs(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"log{suffix}"
    _write(path, [0, 4, 9], proofs=True)
    report = verify_export(path, [], SIGNER.verifier(), origin=ORIGIN)
    assert (report.ok, report.size) == (True, 3)


def test_a_parquet_export_verifies_with_the_key_in_its_footer_alone(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    _write(path, list(range(11)), proofs=False)
    (tmp_path / "log.parquet.checkpoint").unlink()  # the footer alone
    verifier = footer_verifier(path)
    assert verifier.verifier_key() == VKEY
    report = verify_export(path, [], verifier, origin=ORIGIN)
    assert (report.ok, report.size, report.checked_checkpoints) == (True, 11, 1)


def test_a_filtered_export_whose_entries_repeat_or_go_back_fails(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    _write(path, [0, 4, 4], proofs=True)
    report = verify_export(path, [], SIGNER.verifier(), origin=ORIGIN)
    assert not report.ok and report.first_problem is not None
    assert (
        report.first_problem.message
        == "the selection lists entry 4 after entry 4: each entry must appear once, in index order"
    )


def test_a_changed_entry_byte_in_a_filtered_export_is_named(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    _write(path, [0, 4, 9], proofs=True)
    data = path.read_bytes()
    needle = b'"officer_id":"li.wei"'
    assert data.count(needle) == 3  # the entry bytes are stored as they were hashed, uncompressed
    at = data.index(needle, data.index(needle) + 1) + len(b'"officer_id":"')
    path.write_bytes(data[:at] + b"m" + data[at + 1 :])
    report = verify_export(path, [], SIGNER.verifier(), origin=ORIGIN)
    assert not report.ok and report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == ("changed", 4)
    assert report.first_problem.message.startswith("entry 4 was changed: its content hashes to ")


def test_a_damaged_parquet_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    _write(path, list(range(11)), proofs=False)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ExportDamaged, match="cannot be read as an export"):
        verify_export(path, [NOTE], SIGNER.verifier(), origin=ORIGIN)
