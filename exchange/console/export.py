"""The filtered view of the access log as a CSV or Parquet download, in the audit export's own file format."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

from exchange.audit.export import ExportWriter, Format
from exchange.audit.verify import LogRow
from exchange.storage.log_store import StoredEntry


def _write(entries: Sequence[StoredEntry], checkpoint_note: str, fmt: Format) -> bytes:
    with tempfile.TemporaryDirectory(prefix="console-export-") as tmp:
        path = Path(tmp) / f"export.{fmt}"
        with ExportWriter(path, checkpoint_note, fmt=fmt) as writer:
            # Canonical bytes and leaf hashes ride along, so each row can be checked against a proof later.
            writer.write([LogRow(s.entry.index, s.canonical, s.leaf_hash) for s in entries])
        return path.read_bytes()


async def export_entries(entries: Sequence[StoredEntry], checkpoint_note: str, fmt: Format) -> bytes:
    """The file's bytes (written off the event loop: a large view takes a moment)."""
    return await asyncio.to_thread(_write, entries, checkpoint_note, fmt)
