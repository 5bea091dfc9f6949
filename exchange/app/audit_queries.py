"""The access log's read side for the edges: pages of entries, one entry, a person's report with dataset
titles, the facts of an evidence-bundle request, the departments hidden from citizens' reports, and the
console's log view (a page with its checkpoint and hourly counts, a recomputed check, a filtered export)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from exchange.audit.export import Format, checkpoint_path
from exchange.audit.note import NoteVerifier
from exchange.audit.offline import export_selection, verify_database
from exchange.audit.verify import LogRow, VerifyReport
from exchange.hub import Hub
from exchange.storage import catalog_store, log_store
from exchange.storage.log_store import EntryFilter, StoredCheckpoint, StoredEntry

__all__ = ["AuditQueries", "EntryFilter", "LogPage", "StoredCheckpoint", "StoredEntry", "SubjectPage"]


@dataclass(frozen=True)
class SubjectPage:
    """One page of what was read about a person, with the title of each dataset named."""

    entries: list[StoredEntry]
    dataset_titles: dict[str, str]


@dataclass(frozen=True)
class LogPage:
    """A page of entries with the latest stored checkpoint and, for the charts, (hour, department, decision,
    entries) of every entry the filter matches in its window."""

    entries: list[StoredEntry]
    checkpoint: StoredCheckpoint | None
    hourly: list[tuple[int, str, str, int]]


class AuditQueries:
    """Reads of the access log and what an answer about it names (each in one snapshot)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.db = hub.db

    async def query_entries(
        self, wanted: EntryFilter, *, after: int | None, newest_first: bool, limit: int
    ) -> list[StoredEntry]:
        async with self.db.read() as conn:
            return await log_store.query_entries(conn, wanted, after=after, newest_first=newest_first, limit=limit)

    async def get_entry(self, index: int) -> StoredEntry | None:
        async with self.db.read() as conn:
            return await log_store.get_entry(conn, index)

    async def subject_page(self, wanted: EntryFilter, *, after: int | None, limit: int) -> SubjectPage:
        """Newest first, entries hidden from the subject left out."""
        titles: dict[str, str] = {}
        async with self.db.read() as conn:
            found = await log_store.query_entries(
                conn, wanted, after=after, newest_first=True, limit=limit, hide_hidden=True
            )
            for code in {s.entry.dataset for s in found if s.entry.dataset}:
                stored = await catalog_store.get_dataset(conn, code)
                titles[code] = stored.dataset.title if stored else ""
        return SubjectPage(found, titles)

    async def entry_and_dataset_owner(self, index: int) -> tuple[StoredEntry | None, str]:
        """An entry and the owner of the dataset it names ('' when none), for the evidence-bundle rule."""
        async with self.db.read() as conn:
            stored = await log_store.get_entry(conn, index)
            dataset = (
                await catalog_store.get_dataset(conn, stored.entry.dataset) if stored and stored.entry.dataset else None
            )
        return stored, dataset.dataset.owner if dataset else ""

    async def set_hidden(self, department: str, legal_basis: str, set_by: str, now_us: int) -> None:
        async with self.db.begin() as conn:
            await log_store.set_hidden(conn, department, legal_basis, set_by, now_us)

    async def clear_hidden(self, department: str) -> None:
        async with self.db.begin() as conn:
            await log_store.clear_hidden(conn, department)

    async def log_page(
        self, wanted: EntryFilter, *, after: int | None, limit: int, chart_window: tuple[int, int]
    ) -> LogPage:
        """Newest first, with the checkpoint and the hourly counts in `chart_window` (every filter applies)."""
        start, until = chart_window
        async with self.db.read() as conn:
            entries = await log_store.query_entries(conn, wanted, after=after, newest_first=True, limit=limit)
            checkpoint = await log_store.latest_checkpoint(conn)
            hourly = await log_store.hourly_counts(conn, replace(wanted, from_us=start, until_us=until))
        return LogPage(entries, checkpoint, hourly)

    async def entry_and_checkpoint(self, index: int) -> tuple[StoredEntry | None, StoredCheckpoint | None]:
        """One entry and the latest stored checkpoint, in one snapshot."""
        async with self.db.read() as conn:
            return await log_store.get_entry(conn, index), await log_store.latest_checkpoint(conn)

    async def selection(self, wanted: EntryFilter, *, limit: int, page: int = 5000) -> list[StoredEntry]:
        """Up to `limit` entries the filter matches, oldest first (what an export holds)."""
        found: list[StoredEntry] = []
        after: int | None = None
        async with self.db.read() as conn:
            while len(found) < limit:
                batch = await log_store.query_entries(conn, wanted, after=after, limit=page)
                found.extend(batch)
                if len(batch) < page:
                    break
                after = batch[-1].entry.index
        return found

    async def verify_now(self) -> VerifyReport:
        """Recompute the whole tree from the stored entries and check it against the latest signed checkpoint."""
        hub = self.hub
        checkpoint = await hub.access_log.latest_checkpoint()
        verifier = NoteVerifier(hub.signer.name, hub.signer.private_key.public_key())
        return await verify_database(hub.db, [checkpoint.note], verifier, origin=hub.access_log.origin)

    async def export_selection(
        self, entries: Sequence[StoredEntry], fmt: Format, *, filter_text: str
    ) -> tuple[bytes, str]:
        """The entries as the audit export's file, each with its inclusion proof in a signed checkpoint that
        covers them all (signed now when the latest does not): the file's bytes and the checkpoint note."""
        hub = self.hub
        signed = await hub.access_log.latest_checkpoint(covering=entries[-1].entry.index + 1 if entries else 0)
        with tempfile.TemporaryDirectory(prefix="console-export-") as tmp:
            path = Path(tmp) / f"export.{fmt}"
            rows = [LogRow(s.entry.index, s.canonical, s.leaf_hash) for s in entries]
            await export_selection(
                hub.db,
                path,
                rows,
                signed.note,
                signed.checkpoint.size,
                fmt=fmt,
                verifier_key=hub.signer.verifier().verifier_key(),
                filter_text=filter_text,
            )
            return path.read_bytes(), checkpoint_path(path).read_text(encoding="utf-8")
