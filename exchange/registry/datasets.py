"""Datasets in the catalog: registration (versioned by schema changes), reads and status."""

from __future__ import annotations

from dataclasses import replace

from catalog.model import Dataset, DatasetStatus
from catalog.versioning import diff_schemas, resolve_version
from exchange.auth.identity import Caller
from exchange.clock import now_us
from exchange.errors import FieldViolation, InvalidArgument, NotFound, quote
from exchange.policy import Facts, Thing, enforce
from exchange.registry.base import Registered, RegistryBase, logs_refusal
from exchange.storage import catalog_store
from exchange.storage.db import Reader


class DatasetDesk(RegistryBase):
    """Datasets: registration with schema versioning, reads (the current version cached), status."""

    # --- datasets ----------------------------------------------------------------------------------

    @logs_refusal("catalog.dataset.register")
    async def register_dataset(
        self, ds: Dataset, caller: Caller, *, dry_run: bool = False
    ) -> tuple[Dataset, Registered]:
        enforce(caller, "catalog.dataset.register", Facts(department=ds.owner, what=Thing("dataset", ds.code)))
        if self.hub.keyring.department(ds.owner) is None:
            await self.hub.registry_changed()
            if self.hub.keyring.department(ds.owner) is None:
                raise InvalidArgument(
                    f"dataset {ds.code} names owner {ds.owner!r}, which is not a registered department",
                    reason="UNKNOWN_OWNER",
                    violations=[FieldViolation("owner", f"no department {ds.owner!r}")],
                )
        async with self.hub.db.begin() as conn:
            current = await catalog_store.get_dataset(conn, ds.code)
            if current is None:
                stored, result = ds, Registered("created")
            else:
                old = current.dataset
                if old.owner != ds.owner:
                    enforce(
                        caller, "catalog.dataset.register", Facts(department=old.owner, what=Thing("dataset", ds.code))
                    )
                # A spec that does not state a version means "the next one"; compare against the current.
                candidate = ds if ds.version != "1.0" or old.version == "1.0" else replace(ds, version=old.version)
                version = resolve_version(old, candidate)
                changes = tuple(f"{c.field}: {c.kind} ({c.detail})" for c in diff_schemas(old, candidate))
                stored = replace(candidate, version=version)
                if version == old.version:
                    outcome = "unchanged" if stored == old else "metadata_updated"
                else:
                    outcome = "major_bump" if stored.major > old.major else "minor_bump"
                result = Registered(outcome, changes)
            if not dry_run and result.outcome != "unchanged":
                await catalog_store.put_dataset_version(conn, stored, now_us(), caller.officer_id)
        if not dry_run and result.outcome != "unchanged":
            self.hub.current_datasets.clear()
            await self._log_change(
                caller,
                "catalog.dataset.register",
                ds.code,
                f"{result.outcome}: version {stored.version}",
                dataset=ds.code,
            )
        return stored, result

    @logs_refusal("catalog.dataset.register")
    async def dataset_to_edit(self, dataset: str, caller: Caller) -> Dataset:
        """The newest version of `dataset`, for a caller who may register its next one (the edit form shows it)."""
        ds = await self.get_dataset(dataset)
        enforce(caller, "catalog.dataset.register", Facts(department=ds.owner, what=Thing("dataset", ds.code)))
        return ds

    async def get_dataset(self, code: str, version: str = "", *, conn: Reader | None = None) -> Dataset:
        """The dataset (newest version unless one is named); on `conn` when the caller already holds one."""
        if conn is None:
            async with self.hub.db.read() as own:
                return await self.get_dataset(code, version, conn=own)
        stored = await catalog_store.get_dataset(conn, code, version)
        if stored is None:
            what = f"version {version} of dataset {quote(code)}" if version else f"dataset {quote(code)}"
            raise NotFound(f"no {what} in the catalog; see `exchange catalog list`", reason="DATASET_NOT_FOUND")
        return stored.dataset

    async def current_dataset(self, code: str, *, conn: Reader | None = None) -> Dataset:
        """The current version, kept in memory between fetches (see `CurrentDatasets` for when it is reread)."""
        cache = self.hub.current_datasets
        ds = cache.get(code)
        if ds is None:
            generation = cache.generation
            ds = await self.get_dataset(code, conn=conn)
            cache.put(ds, generation)
        return ds

    @logs_refusal("catalog.dataset.set_status")
    async def set_dataset_status(self, code: str, status: str, caller: Caller) -> Dataset:
        ds = await self.get_dataset(code)
        enforce(caller, "catalog.dataset.set_status", Facts(department=ds.owner, what=Thing("dataset", code)))
        updated = replace(ds, status=DatasetStatus(status))
        async with self.hub.db.begin() as conn:
            await catalog_store.put_dataset_version(conn, updated, now_us(), caller.officer_id)
        self.hub.current_datasets.clear()
        await self._log_change(caller, "catalog.dataset.set_status", code, f"status {status}", dataset=code)
        return updated
