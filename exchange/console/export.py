"""The filtered view of the access log as a download: each entry with its inclusion proof, the checkpoint and key.

The file is the audit export's own format (docs/audit.md). A Parquet download is a proof bundle:
its footer holds the signed checkpoint and the hub's verifier key, so `exchange audit verify-export`
checks it offline. CSV carries the same columns and proofs; its checkpoint comes as a separate file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from exchange.audit.export import Format, checkpoint_path
from exchange.audit.offline import export_selection
from exchange.audit.verify import LogRow
from exchange.storage import Database
from exchange.storage.log_store import StoredEntry


async def export_entries(
    db: Database,
    entries: Sequence[StoredEntry],
    checkpoint_note: str,
    checkpoint_size: int,
    fmt: Format,
    *,
    verifier_key: str,
    filter_text: str,
) -> tuple[bytes, str]:
    """The file's bytes and the checkpoint note (proofs are read from the stored tree, Arrow works off the loop)."""
    with tempfile.TemporaryDirectory(prefix="console-export-") as tmp:
        path = Path(tmp) / f"export.{fmt}"
        rows = [LogRow(s.entry.index, s.canonical, s.leaf_hash) for s in entries]
        await export_selection(
            db,
            path,
            rows,
            checkpoint_note,
            checkpoint_size,
            fmt=fmt,
            verifier_key=verifier_key,
            filter_text=filter_text,
        )
        return path.read_bytes(), checkpoint_path(path).read_text(encoding="utf-8")
