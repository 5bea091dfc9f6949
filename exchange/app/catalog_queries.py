"""The catalog's read side for the edges: datasets, their versions, departments and service items, a page
at a time, and the counts of the console's overview (registration and every decision stay with the registry)."""

from __future__ import annotations

from catalog.model import Department, ServiceItem
from exchange.storage import Database, catalog_store, console_store
from exchange.storage.catalog_store import StoredDataset, StoredKey


class CatalogQueries:
    """Lists of the catalog, read in one snapshot each."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_datasets(
        self,
        *,
        owner: str = "",
        status: str = "",
        sharing_type: str = "",
        words: str = "",
        offset: int = 0,
        limit: int = 100,
    ) -> list[StoredDataset]:
        """Current datasets matching every filter given (``words``: see `search_datasets`), by code."""
        async with self.db.read() as conn:
            return await catalog_store.list_datasets(
                conn,
                owner=owner,
                status=status,
                sharing_type=sharing_type,
                query_text=words,
                offset=offset,
                limit=limit,
            )

    async def search_datasets(self, words: str, *, offset: int = 0, limit: int = 100) -> list[StoredDataset]:
        """Current datasets whose code, title, description, keywords or fields hold every word (200 characters read)."""
        async with self.db.read() as conn:
            return await catalog_store.list_datasets(conn, query_text=words[:200], offset=offset, limit=limit)

    async def list_dataset_versions(self, code: str) -> list[StoredDataset]:
        async with self.db.read() as conn:
            return await catalog_store.list_dataset_versions(conn, code)

    async def list_departments(self, *, offset: int = 0, limit: int = 1000) -> list[Department]:
        async with self.db.read() as conn:
            return await catalog_store.list_departments(conn, offset=offset, limit=limit)

    async def list_keys(self, department: str) -> list[StoredKey]:
        """A department's keys, retired ones included, oldest first."""
        async with self.db.read() as conn:
            return await catalog_store.list_keys(conn, department)

    async def list_service_items(
        self, *, department: str = "", national_code: str = "", after: str = "", limit: int = 100
    ) -> list[ServiceItem]:
        """Service items by code after ``after`` (a keyset page), only those ``department`` leads or reviews,
        only those whose basic or implementation code (基本编码, 实施编码) is ``national_code``."""
        async with self.db.read() as conn:
            return await catalog_store.list_service_items(
                conn, department=department, national_code=national_code, after=after, limit=limit
            )

    async def overview_counts(self, department: str = "") -> dict[str, int]:
        """What the console's home page shows: datasets, departments, pending access requests and cases
        (of one department when given)."""
        async with self.db.read() as conn:
            return await console_store.counts(conn, department)
