"""Exports and archives of the access log as Parquet or CSV files, and reading them back for verification.

A file holds entries of the log: the canonical bytes that were hashed (``entry``), the
leaf hash recorded with them, and the metadata decoded into typed columns an analyst can
query (docs/audit.md lists them). The signed checkpoint they belong to rides along in the
Parquet footer (key ``exchange.checkpoint``) with the hub's verifier key
(``exchange.verifier_key``), so a Parquet file verifies from its footer alone, and in a
``<file>.checkpoint`` text file next to it (the only place for CSV). A file holding a
part of the log (an archived range, a filtered view) adds each entry's inclusion proof
against that checkpoint (``proof``), so it is still checkable on its own.
CSV carries binary values as base64 (entry, proof hashes joined by spaces) and hex (leaf hash).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from exchange.audit.entry import ENTRY_VERSION
from exchange.audit.note import CheckpointVerifier, NoteVerifier
from exchange.audit.verify import LogRow, VerifyReport, verify_archive, verify_log
from exchange.errors import DataLoss, InvalidArgument

Format = Literal["parquet", "csv"]
# What a file holds: the whole log up to its checkpoint, a consecutive range (an archive), or a filtered view.
Selection = Literal["full", "range", "filtered"]
FORMAT_VERSION = "exchange-access-log-export/v2"
CHECKPOINT_KEY = b"exchange.checkpoint"
VERIFIER_KEY = b"exchange.verifier_key"
SELECTION_KEY = b"exchange.selection"
FILTER_KEY = b"exchange.filter"
FORMAT_KEY = b"exchange.format"
_TEXT_COLUMNS = (
    "action",
    "caller_department",
    "officer_id",
    "officer_role",
    "dataset",
    "dataset_version",
    "subject_id",
    "case_id",
    "service_item",
    "decision",
    "reason",
    "outcome",
)
# The entry's other string fields, free text or per request, so without dictionaries.
_PLAIN_TEXT_COLUMNS = ("request_id", "message", "request_digest", "response_digest")
# Keys of `details` that mean the same in every entry that has them; each becomes a column (null when absent).
DETAIL_KEYS = ("target", "summary", "reason", "note", "trace_id", "filter")
UTC_MICROS = pa.timestamp("us", tz="UTC")
# The columns a file has, in order, with their Parquet types; CSV writes binary and lists as text.
COLUMNS = pa.schema(
    [pa.field("index", pa.int64(), nullable=False), pa.field("time", UTC_MICROS, nullable=False)]
    + [pa.field("request_id", pa.string(), nullable=False)]
    + [pa.field(name, pa.string(), nullable=False) for name in _TEXT_COLUMNS]
    + [pa.field("fields", pa.list_(pa.string()), nullable=False)]
    + [pa.field(name, pa.string(), nullable=False) for name in _PLAIN_TEXT_COLUMNS[1:]]
    + [pa.field("latency_us", pa.int64(), nullable=False), pa.field("hidden_from_subject", pa.bool_(), nullable=False)]
    + [pa.field(f"details_{key}", pa.string()) for key in DETAIL_KEYS]
)


def _schema(fmt: Format, with_proofs: bool) -> pa.Schema:
    if fmt == "parquet":
        fields = [*COLUMNS, pa.field("leaf_hash", pa.binary()), pa.field("entry", pa.binary())]
    else:
        as_text = {"time", "fields"}
        fields = [pa.field(f.name, pa.string(), f.nullable) if f.name in as_text else f for f in COLUMNS]
        fields += [pa.field("leaf_hash", pa.string()), pa.field("entry", pa.string())]
    if with_proofs:
        fields.append(pa.field("proof", pa.list_(pa.binary()) if fmt == "parquet" else pa.string()))
    return pa.schema(fields)


def _metadata(entry: bytes) -> dict[str, Any]:
    """The entry's fields for the analysts' columns; checking the bytes is verify's job, so no strict decode."""
    if not entry.startswith(ENTRY_VERSION):
        return {}
    try:
        values = json.loads(entry[len(ENTRY_VERSION) :])
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


_METADATA_SCHEMA = pa.schema(
    [pa.field("time_us", pa.int64()), pa.field("request_id", pa.string())]
    + [pa.field(name, pa.string()) for name in _TEXT_COLUMNS]
    + [pa.field("fields", pa.list_(pa.string()))]
    + [pa.field(name, pa.string()) for name in _PLAIN_TEXT_COLUMNS[1:]]
    + [pa.field("latency_us", pa.int64()), pa.field("hidden_from_subject", pa.bool_())]
    + [pa.field("details", pa.struct([pa.field(key, pa.string()) for key in DETAIL_KEYS]))]
)
_PARSE = pajson.ParseOptions(explicit_schema=_METADATA_SCHEMA, unexpected_field_behavior="ignore")


def _json_lines(entries: pa.BinaryArray) -> pa.Buffer | None:
    """The entries' JSON bodies as one JSON-lines buffer, or None unless every entry is a plain v1 entry.

    The version line ends in a newline: cutting the rest of it from every entry leaves the bodies end
    to end, each after a newline, in the new array's data buffer (one pass in C, no Python object per entry).
    """
    if not len(entries) or entries.null_count or not pc.all(pc.starts_with(entries, pattern=_VERSION_TEXT)).as_py():
        return None
    bodies = pc.binary_replace_slice(entries, start=0, stop=len(ENTRY_VERSION) - 1, replacement="")
    _, offset_buffer, data = bodies.buffers()
    offsets = pa.Array.from_buffers(pa.int32(), len(bodies) + 1, [None, offset_buffer], offset=bodies.offset)
    return data.slice(offsets[0].as_py(), offsets[-1].as_py() - offsets[0].as_py())


_VERSION_TEXT = ENTRY_VERSION.decode("ascii")


def _metadata_columns(entries: Sequence[bytes] | pa.BinaryArray) -> dict[str, pa.Array | list[Any]]:
    """The analysts' columns of a batch, parsed by Arrow's JSON reader in C++ (the entries as one JSON-lines buffer).

    Falls back to `_metadata` entry by entry when any entry is not a plain v1 entry (pruned, damaged,
    another version): then the columns are what that per-entry reading gives, so both paths agree.
    """
    array = entries if isinstance(entries, pa.Array) else pa.array(entries, pa.binary())
    lines = _json_lines(array)
    if lines is not None:
        try:
            table = pajson.read_json(pa.BufferReader(lines), parse_options=_PARSE)
            table.validate(full=True)
        except (pa.ArrowInvalid, ValueError):
            table = None
        # One row per entry with every field present; otherwise an entry was not one JSON object per line.
        if table is not None and table.num_rows == len(array) and not any(c.null_count for c in table.columns):
            return {name: table.column(name) for name in _METADATA_SCHEMA.names}
    columns: dict[str, list[Any]] = {name: [] for name in _METADATA_SCHEMA.names}
    for entry in array.to_pylist():
        meta = _metadata(entry)
        for name in ("time_us", "latency_us"):
            value = meta.get(name, 0)
            columns[name].append(value if type(value) is int and -(2**63) <= value < 2**63 else 0)
        for name in ("request_id", *_TEXT_COLUMNS, *_PLAIN_TEXT_COLUMNS[1:]):
            columns[name].append(str(meta.get(name, "")))
        fields = meta.get("fields", [])
        columns["fields"].append([str(f) for f in fields] if isinstance(fields, list) else [])
        columns["hidden_from_subject"].append(bool(meta.get("hidden_from_subject", False)))
        details = meta.get("details", {})
        details = details if isinstance(details, dict) else {}
        columns["details"].append({key: _text_or_none(details.get(key)) for key in DETAIL_KEYS})
    return dict(columns)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _file_columns(meta: dict[str, pa.Array | list[Any]]) -> dict[str, pa.Array]:
    """The parsed fields as the file's typed columns (COLUMNS), without index, hashes and bytes."""
    typed = {
        name: pa.array(v, _METADATA_SCHEMA.field(name).type) if isinstance(v, list) else v for name, v in meta.items()
    }
    columns = {name: typed[name] for name in COLUMNS.names if name in typed}
    columns["time"] = pc.cast(typed["time_us"], UTC_MICROS)
    details = typed["details"]
    for number, key in enumerate(DETAIL_KEYS):
        columns[f"details_{key}"] = pc.struct_field(details, [number])
    return columns


def checkpoint_path(path: Path) -> Path:
    """The text file holding the signed checkpoint of an export or archive."""
    return path.with_name(path.name + ".checkpoint")


class ExportWriter:
    """Writes batches of log rows (with proofs, for an archive or a filtered view) to one Parquet or CSV file."""

    def __init__(
        self,
        path: Path,
        checkpoint_note: str,
        *,
        fmt: Format = "parquet",
        with_proofs: bool = False,
        verifier_key: str = "",
        selection: Selection | None = None,
        filter_text: str = "",
    ) -> None:
        self.path = path
        self.fmt = fmt
        self.with_proofs = with_proofs
        self.rows = 0
        schema = _schema(fmt, with_proofs)
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint_path(path).write_text(checkpoint_note, encoding="utf-8")
        self._writer: pq.ParquetWriter | pacsv.CSVWriter
        if fmt == "parquet":
            footer = {
                FORMAT_KEY: FORMAT_VERSION.encode(),
                CHECKPOINT_KEY: checkpoint_note.encode(),
                SELECTION_KEY: (selection or ("range" if with_proofs else "full")).encode(),
            }
            if verifier_key:
                footer[VERIFIER_KEY] = verifier_key.encode()
            if filter_text:
                footer[FILTER_KEY] = filter_text.encode()
            schema = schema.with_metadata(footer)
            # Dictionaries only where values repeat: trying one on every entry's bytes costs time and saves nothing.
            # The entry bytes stay uncompressed in a file with proofs (they are most of what is small), so a
            # changed byte is a changed entry the verifier names, not a page the decoder cannot read.
            self._writer = pq.ParquetWriter(
                str(path),
                schema,
                compression={name: "zstd" for name in schema.names} | ({"entry": "none"} if with_proofs else {}),
                use_dictionary=[*_TEXT_COLUMNS, "hidden_from_subject"],
                # Min/max statistics of the entry bytes would be copies of two entries that nothing checks.
                write_statistics=[name for name in schema.names if name not in ("entry", "proof")],
            )
        else:
            self._writer = pacsv.CSVWriter(str(path), schema)
        self._schema = schema

    def write(self, rows: Sequence[LogRow], proofs: Sequence[Sequence[bytes]] | None = None) -> None:
        """Append one batch; `proofs` (one per row) only for files with proofs."""
        leaves = [r.stored_leaf_hash for r in rows]
        self.write_columns([r.position for r in rows], [r.entry for r in rows], leaves, proofs)

    def write_columns(
        self,
        positions: Sequence[int] | pa.Int64Array,
        entries: Sequence[bytes] | pa.BinaryArray,
        leaf_hashes: Sequence[bytes | None] | pa.BinaryArray,
        proofs: Sequence[Sequence[bytes]] | None = None,
    ) -> None:
        """Append one batch given column by column, as lists (`stream_columns`) or Arrow arrays (`arrow_pages`)."""
        self.write_table(self.table(positions, entries, leaf_hashes, proofs))

    def table(
        self,
        positions: Sequence[int] | pa.Int64Array,
        entries: Sequence[bytes] | pa.BinaryArray,
        leaf_hashes: Sequence[bytes | None] | pa.BinaryArray,
        proofs: Sequence[Sequence[bytes]] | None = None,
    ) -> pa.Table:
        """One batch in the file's schema, the analysts' columns parsed; `write_table` appends it."""
        entry_array = entries if isinstance(entries, pa.Array) else pa.array(entries, pa.binary())
        columns: dict[str, Any] = {"index": positions, **_file_columns(_metadata_columns(entry_array))}
        if isinstance(leaf_hashes, pa.Array):
            leaves = pc.fill_null(leaf_hashes, b"")
        else:
            leaves = pa.array([leaf or b"" for leaf in leaf_hashes], pa.binary())
        if self.fmt == "parquet":
            columns["leaf_hash"], columns["entry"] = leaves, entry_array
        else:
            columns["time"] = pc.strftime(columns["time"], format="%Y-%m-%dT%H:%M:%SZ")
            columns["fields"] = pc.binary_join(columns["fields"], ";")
            columns["leaf_hash"] = [leaf.hex() for leaf in leaves.to_pylist()]
            columns["entry"] = [base64.b64encode(entry).decode() for entry in entry_array.to_pylist()]
        if self.with_proofs:
            if proofs is None or len(proofs) != len(entries):
                raise InvalidArgument("an archive needs one proof per entry", reason="ARCHIVE_PROOFS_MISSING")
            if self.fmt == "parquet":
                columns["proof"] = [list(proof) for proof in proofs]
            else:
                columns["proof"] = [" ".join(base64.b64encode(h).decode() for h in proof) for proof in proofs]
        return pa.table(columns, schema=self._schema)

    def write_table(self, table: pa.Table) -> None:
        """Append a batch made by `table` (encoding and compression happen here)."""
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> ExportWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ExportDamaged(DataLoss):
    """An export file cannot be read as one: its bytes no longer decode."""

    default_reason = "EXPORT_DAMAGED"


class ExportReader:
    """Reads an export or archive back: its checkpoint, the key and selection its footer names, its rows in order."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise InvalidArgument(f"no export at {path}", reason="EXPORT_NOT_FOUND")
        self.path = path
        self.fmt: Format = "csv" if path.suffix.lower() == ".csv" else "parquet"
        footer: dict[bytes, bytes] = {}
        try:
            if self.fmt == "parquet":
                self._file = pq.ParquetFile(str(path))
                names = self._file.schema_arrow.names
                footer = dict(self._file.schema_arrow.metadata or {})
            else:
                names = pacsv.open_csv(str(path)).schema.names
        except (pa.ArrowException, OSError) as error:
            raise ExportDamaged(f"{path} cannot be read as an export: {error}") from None
        note = footer.get(CHECKPOINT_KEY, b"").decode(errors="replace")
        if not note and checkpoint_path(path).exists():
            note = checkpoint_path(path).read_text(encoding="utf-8")
        missing = {"index", "entry", "leaf_hash"} - set(names)
        if missing:
            raise InvalidArgument(
                f"{path} is not an access log export: it lacks the columns {sorted(missing)}",
                reason="EXPORT_MALFORMED",
            )
        self.checkpoint = note
        self.verifier_key = footer.get(VERIFIER_KEY, b"").decode(errors="replace")
        self.has_proofs = "proof" in names
        # CSV has no footer to say: a file with proofs is then checked as a selection (ascending, each proven).
        selection = footer.get(SELECTION_KEY, b"").decode(errors="replace")
        unsaid: Selection = ("range" if self.fmt == "parquet" else "filtered") if self.has_proofs else "full"
        self.selection: Selection = unsaid
        for known in ("full", "range", "filtered"):
            if selection == known:
                self.selection = known
        self.filter_text = footer.get(FILTER_KEY, b"").decode(errors="replace")

    def batches(self) -> Iterator[list[tuple[LogRow, tuple[bytes, ...]]]]:
        """Rows with their proofs (empty when the file has none), a batch at a time."""
        columns = ["index", "entry", "leaf_hash"] + (["proof"] if self.has_proofs else [])
        if self.fmt == "parquet":
            for batch in self._file.iter_batches(batch_size=10_000, columns=columns):
                data = batch.to_pydict()
                proofs = data.get("proof") or [()] * batch.num_rows
                yield [
                    (LogRow(i, e, h or None), tuple(p or ()))
                    for i, e, h, p in zip(data["index"], data["entry"], data["leaf_hash"], proofs, strict=True)
                ]
            return
        text = {name: pa.string() for name in ("entry", "leaf_hash", "proof")}
        reader = pacsv.open_csv(
            str(self.path),
            convert_options=pacsv.ConvertOptions(column_types=text, include_columns=columns, strings_can_be_null=False),
        )
        for batch in reader:
            data = batch.to_pydict()
            proofs = data.get("proof") or [""] * batch.num_rows
            yield [
                (
                    LogRow(i, base64.b64decode(e or ""), bytes.fromhex(h) if h else None),
                    tuple(base64.b64decode(x) for x in (p or "").split()),
                )
                for i, e, h, p in zip(data["index"], data["entry"], data["leaf_hash"], proofs, strict=True)
            ]

    def rows(self) -> Iterator[LogRow]:
        """The rows alone, in file order."""
        for batch in self.batches():
            for row, _ in batch:
                yield row


def verify_export(path: Path, checkpoints: Sequence[str], verifier: CheckpointVerifier, *, origin: str) -> VerifyReport:
    """Check an export against its own checkpoint and any given, or a file with proofs entry by entry.

    A whole-log export is recomputed to the checkpoint's root; an archived range must hold consecutive
    entries; a filtered view holds entries in increasing index order, each proven on its own.
    """
    reader = ExportReader(path)
    notes = list(checkpoints) or ([reader.checkpoint] if reader.checkpoint else [])
    if not notes:
        raise InvalidArgument(f"{path} carries no checkpoint; pass one with --checkpoint", reason="CHECKPOINT_MISSING")
    try:
        if reader.has_proofs:
            pairs = (pair for batch in reader.batches() for pair in batch)
            return verify_archive(pairs, notes[0], verifier, origin=origin, consecutive=reader.selection != "filtered")
        return verify_log(reader.rows(), notes, verifier, origin=origin)
    except (pa.ArrowException, OSError, ValueError) as error:
        # A changed byte in a compressed page or in the file's structure: the decoder, not the tree, finds it.
        raise ExportDamaged(f"{path} is damaged and cannot be read to the end: {error}") from None


def footer_verifier(path: Path) -> NoteVerifier:
    """The hub's verifier key recorded in a Parquet export's footer (compare it with the one you trust)."""
    key = ExportReader(path).verifier_key
    if not key:
        raise InvalidArgument(
            f"{path} names no verifier key in its footer; pass the hub's key with --key", reason="VERIFIER_KEY_MISSING"
        )
    return NoteVerifier.from_vkey(key)
