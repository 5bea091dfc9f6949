"""The access log's read side for the edges: pages of entries, one entry, a person's report with dataset
titles, the facts of an evidence-bundle request, and the departments hidden from citizens' reports."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.storage import Database, catalog_store, log_store
from exchange.storage.log_store import EntryFilter, StoredEntry


@dataclass(frozen=True)
class SubjectPage:
    """One page of what was read about a person, with the title of each dataset named."""

    entries: list[StoredEntry]
    dataset_titles: dict[str, str]


class AuditQueries:
    """Reads of the access log and what an answer about it names (each in one snapshot)."""

    def __init__(self, db: Database) -> None:
        self.db = db

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
