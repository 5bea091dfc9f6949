"""Exports carry the analysts' columns decoded from the hashed bytes, the same whichever way a page is parsed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exchange.audit.entry import ENTRY_VERSION, AccessLogEntry, encode_entry
from exchange.audit.export import (
    _METADATA_SCHEMA,
    DETAIL_KEYS,
    ExportReader,
    ExportWriter,
    _json_lines,
    _metadata,
    _metadata_columns,
)
from exchange.audit.merkle import leaf_hash
from exchange.audit.verify import LogRow


def _entries(n: int) -> list[bytes]:
    return [
        encode_entry(
            AccessLogEntry(
                index=i,
                time_us=1_764_000_000_000_000 + i,
                action="exchange.fetch",
                caller_department=("SAMR", "FIRE")[i % 2],
                officer_id=f"officer-{i}",
                officer_role="officer",
                dataset="business_licence",
                dataset_version="1.0",
                subject_id=f'subject "{i}" \\ 许可\n',
                case_id=f"case-{i}",
                service_item="restaurant_permit",
                fields=("name", "status"),
                decision=("allow", "deny")[i % 3 == 0],
                reason="" if i % 3 else "NO_GRANT",
                outcome="OK",
                request_id=f"req-{i}",
                message=f"message {i}",
                latency_us=1000 + i,
                request_digest=f"{i:064x}",
                response_digest="" if i % 3 == 0 else f"{i + 1:064x}",
                hidden_from_subject=i % 5 == 0,
                details={"note": '"index":3,', "other": "x"} if i % 7 == 0 else {"target": f"t{i}"},
            )
        )
        for i in range(n)
    ]


def _per_entry(entries: list[bytes]) -> dict[str, list[Any]]:
    """The columns as the per-entry reading gives them (the reference)."""
    metas = [_metadata(e) for e in entries]
    columns: dict[str, list[Any]] = {}
    for name in _METADATA_SCHEMA.names:
        if name in ("time_us", "latency_us"):
            columns[name] = [m.get(name, 0) for m in metas]
        elif name == "fields":
            columns[name] = [m.get(name, []) for m in metas]
        elif name == "hidden_from_subject":
            columns[name] = [bool(m.get(name, False)) for m in metas]
        elif name == "details":
            columns[name] = [{k: m.get("details", {}).get(k) for k in DETAIL_KEYS} for m in metas]
        else:
            columns[name] = [str(m.get(name, "")) for m in metas]
    return columns


def _as_lists(columns: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: column if isinstance(column, list) else column.to_pylist() for name, column in columns.items()}


def test_a_page_of_valid_entries_is_parsed_by_arrow_into_the_per_entry_columns() -> None:
    entries = _entries(200)
    columns = _metadata_columns(entries)
    assert not isinstance(columns["subject_id"], list)  # the Arrow path, not the fallback
    assert _as_lists(columns) == _per_entry(entries)


@pytest.mark.parametrize(
    "damage",
    [
        b"",  # pruned
        b"exchange-access-log/v2\n{}",
        b'exchange-access-log/v1\n{"action":7}',
        b'exchange-access-log/v1\n{"action":"a","action":"b"}',
        b'exchange-access-log/v1\n{"action":null}',
        b"exchange-access-log/v1\n[1,2]",
        b'exchange-access-log/v1\n{"action":"x\xff"}',
        b'exchange-access-log/v1\n{"action":"a"}\n{"action":"b"}',
        b"exchange-access-log/v1\n",
    ],
)
def test_a_page_with_a_damaged_or_pruned_entry_gets_the_per_entry_columns(damage: bytes) -> None:
    entries = _entries(30)
    entries[11] = damage
    assert _as_lists(_metadata_columns(entries)) == _per_entry(entries)


def test_a_parquet_export_reads_back_row_for_row(tmp_path: Path) -> None:
    entries = _entries(120)
    path = tmp_path / "log.parquet"
    with ExportWriter(path, "checkpoint note\n") as writer:
        writer.write_columns(list(range(60)), entries[:60], [leaf_hash(e) for e in entries[:60]])
        writer.write([LogRow(i, e, leaf_hash(e)) for i, e in enumerate(entries[60:], start=60)])
    assert [row for row in ExportReader(path).rows()] == [LogRow(i, e, leaf_hash(e)) for i, e in enumerate(entries)]
    table = pq.read_table(path)
    assert table.column("subject_id").to_pylist() == [f'subject "{i}" \\ 许可\n' for i in range(120)]
    assert table.column("hidden_from_subject").to_pylist() == [i % 5 == 0 for i in range(120)]
    assert ExportReader(path).checkpoint == "checkpoint note\n"


@pytest.mark.parametrize("damage", [None, b"", b'exchange-access-log/v1\n{"action":"a"}\n{"action":"b"}'])
def test_a_page_of_arrow_arrays_is_written_as_the_same_lists_would_be(tmp_path: Path, damage: bytes | None) -> None:
    entries = _entries(50)
    if damage is not None:
        entries[30] = damage
    leaves = [leaf_hash(e) for e in entries]
    # A slice, as a page of a larger Arrow batch is: its values start past the start of the data buffer.
    entry_array = pa.array([b"not an entry", *entries], pa.binary()).slice(1)
    leaf_array = pa.array([b"", *leaves], pa.binary()).slice(1)
    from_lists, from_arrays = tmp_path / "lists.parquet", tmp_path / "arrays.parquet"
    with ExportWriter(from_lists, "note\n") as writer:
        writer.write_columns(list(range(50)), entries, leaves)
    with ExportWriter(from_arrays, "note\n") as writer:
        writer.write_columns(pa.array(range(50), pa.int64()), entry_array, leaf_array)
    assert pq.read_table(from_arrays).equals(pq.read_table(from_lists))
    assert _as_lists(_metadata_columns(entry_array)) == _per_entry(entries)


def test_the_json_lines_of_a_sliced_page_are_its_bodies_one_per_line() -> None:
    entries = _entries(10)
    lines = _json_lines(pa.array(entries, pa.binary()).slice(3, 4))
    assert lines is not None
    assert lines.to_pybytes() == b"".join(b"\n" + e[len(ENTRY_VERSION) :] for e in entries[3:7])
    assert _json_lines(pa.array([entries[0], b"exchange-access-log/v2\n{}"], pa.binary())) is None
