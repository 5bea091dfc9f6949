"""The read side of cases for the edges: what a case page shows beside the case itself (its materials'
metadata, never their documents, and the flags on the licences it holds)."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.app import case_records
from exchange.cases.materials import Material
from exchange.storage import Database, status_store

# (case, dataset, key, status code, previous code, source, raised at): a licence whose status changed.
Flag = tuple[str, str, str, str, str, str, int]


@dataclass(frozen=True)
class CaseHoldings:
    """Every version of every material of a case (metadata only) and the status flags on them."""

    materials: list[Material]
    flags: list[Flag]


class CaseQueries:
    """Reads about one case, each in one snapshot (the case desk decides who may see the case first)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def holdings(self, case_id: str) -> CaseHoldings:
        async with self.db.read() as conn:
            # Metadata only: nothing here reads the documents table.
            materials = await case_records.list_materials(conn, case_id)
            # Licences held by the case whose status changed since they were fetched (exchange.licence_status).
            flags = await status_store.list_flags(conn, case_id=case_id)
        return CaseHoldings(materials, flags)
