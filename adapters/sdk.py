"""The adapter SDK: declare the datasets an adapter serves and answer lookups, scans and status checks.

Subclass `Adapter` and implement `lookup` (and `scan` for table datasets); the server
(`adapters.server`) checks every document against the catalog schema before signing it,
so a mistake in an adapter is an error naming the field, never a signed wrong document.
`SourceAdapter` is the adapter the built-in sources (rest, sql, files) make from a config file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from catalog.model import Dataset, DatasetKind
from exchange.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound

from .config import AdapterConfig, FileSourceConfig, RestSourceConfig, SqlSourceConfig, build_source, load_dataset
from .keys import dataset_key
from .sources.base import DEFAULT_BATCH_ROWS, Source, UpstreamDataInvalid, project_schema
from .sources.filters import RowFilter, parse_filter

log = logging.getLogger(__name__)

VALID_STATUS = "01"
_SOURCE_KIND = {RestSourceConfig: "rest", SqlSourceConfig: "sql", FileSourceConfig: "files"}


@dataclass(frozen=True)
class LicenceStatus:
    """The current status of one licence or certificate, as its issuer's data says now."""

    found: bool
    status_code: str = ""
    valid_until: dt.date | None = None
    checked_at_us: int = 0

    def valid_on(self, day: dt.date) -> bool:
        """Valid (status 01) and not past its validity end on day."""
        return self.found and self.status_code == VALID_STATUS and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class StatusChange:
    """A licence's status changed at its issuer (revoked, suspended, renewed): what the adapter tells the hub."""

    dataset: str
    key: str
    status_code: str
    valid_until: dt.date | None = None
    changed_at_us: int = 0


# Changes kept for a hub that reads slowly; beyond this the oldest is dropped (the hub's poll catches it).
WATCH_QUEUE_LIMIT = 1000
# Licences re-read for changes (the most recently asked for).
WATCHED_LIMIT = 10_000


def document_violations(ds: Dataset, key: str, document: Mapping[str, Any]) -> list[FieldViolation]:
    """Every way a document fails the dataset's schema, and a key field that is not the key asked for."""
    problems = ds.schema.validate_document(document)
    found = document.get(ds.key_field)
    if isinstance(found, str) and found.strip().upper() != key.strip().upper():
        problems.append(FieldViolation(ds.key_field, f"is {found!r}, but the lookup was for {key!r}"))
    return problems


class Adapter:
    """Base of every adapter: the datasets served, and lookup / scan / status over them."""

    def __init__(self, department: str, datasets: Iterable[Dataset], *, source_kind: str = "custom") -> None:
        self.department = department
        self.datasets: dict[str, Dataset] = {}
        for ds in datasets:
            if ds.owner != department:
                raise InvalidArgument(
                    f"dataset {ds.code} is owned by {ds.owner}; adapter {department} can only serve its own",
                    reason="DATASET_NOT_OWNED",
                )
            self.datasets[ds.code] = ds
        self.source_kinds: dict[str, str] = dict.fromkeys(self.datasets, source_kind)
        self._watchers: set[asyncio.Queue[StatusChange]] = set()
        # The status last seen of each licence the hub asked for, re-read by `watch_statuses`.
        self._watched: dict[tuple[str, str], str] = {}

    def dataset(self, code: str) -> Dataset:
        """The served dataset called code, or NotFound listing the served ones."""
        ds = self.datasets.get(code)
        if ds is None:
            raise NotFound(
                f"adapter {self.department} does not serve dataset {code[:64]!r}; it serves "
                f"{', '.join(self.datasets) or 'nothing'}",
                reason="DATASET_NOT_SERVED",
            )
        return ds

    # --- what a subclass implements ----------------------------------------------------------------

    async def lookup(self, dataset: Dataset, key: str) -> dict[str, Any] | None:
        """The JSON-shaped document for key (dates as ISO strings, decimals as strings), or None."""
        raise FailedPrecondition(f"adapter {self.department} does not implement lookups", reason="LOOKUP_NOT_SUPPORTED")

    def scan(
        self,
        dataset: Dataset,
        columns: Sequence[str] | None,
        row_filter: RowFilter | None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> AsyncIterator[pa.RecordBatch]:
        """Stream the rows matching row_filter with only the given columns, at most batch_rows per batch."""
        raise FailedPrecondition(
            f"adapter {self.department} does not stream {dataset.code}", reason="SCAN_NOT_SUPPORTED"
        )

    async def close(self) -> None:
        """Release connections and files."""

    # --- status changes, as they happen -------------------------------------------------------------

    def announce_status(
        self, dataset: str, key: str, status_code: str, *, valid_until: dt.date | None = None
    ) -> StatusChange:
        """Tell the hub now that a licence's status changed (the department's system calls this).

        Every open `WatchStatus` stream (the hub keeps one per adapter) gets the change; with none open,
        the hub's periodic `Status` check finds it later.
        """
        ds = self.dataset(dataset)
        if ds.status_field is None:
            raise FailedPrecondition(
                f"dataset {ds.code} has no status_field in the catalog, so it has no status to announce",
                reason="STATUS_NOT_SUPPORTED",
            )
        key = dataset_key(ds, key)
        change = StatusChange(ds.code, key, status_code, valid_until, time.time_ns() // 1000)
        for queue in self._watchers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(change)
        return change

    async def status_changes(self) -> AsyncIterator[StatusChange]:
        """Every change announced from now on, until the caller stops reading."""
        queue: asyncio.Queue[StatusChange] = asyncio.Queue(WATCH_QUEUE_LIMIT)
        self._watchers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._watchers.discard(queue)

    def remember_status(self, dataset: str, key: str, status_code: str) -> None:
        """Keep watching a licence the hub asked for (the oldest is forgotten beyond WATCHED_LIMIT)."""
        self._watched.pop((dataset, key), None)
        self._watched[(dataset, key)] = status_code
        if len(self._watched) > WATCHED_LIMIT:
            del self._watched[next(iter(self._watched))]

    async def check_watched(self) -> list[StatusChange]:
        """Re-read every watched licence and announce each whose status changed since it was last seen."""
        changes = []
        for (dataset, key), before in list(self._watched.items()):
            try:
                now = await self.status(dataset, key)
            except Exception as error:  # a source that fails now is asked again next round
                log.info("status of %s in %s not re-read: %s", key[:8], dataset, error)
                continue
            code = now.status_code if now.found else ""
            if code != before:
                self._watched[(dataset, key)] = code
                changes.append(self.announce_status(dataset, key, code, valid_until=now.valid_until))
        return changes

    async def watch_statuses(self, every_seconds: float) -> None:
        """Every few seconds, push the status changes of the licences the hub fetched (the file, sql and rest
        sources' way of announcing; a system that knows of a change at once calls `announce_status`)."""
        while True:
            await asyncio.sleep(every_seconds)
            await self.check_watched()

    # --- what the server calls ---------------------------------------------------------------------

    async def checked_lookup(self, dataset: str, key: str) -> tuple[Dataset, str, dict[str, Any] | None]:
        """Look up key after checking its format, and check the document against the schema."""
        ds = self.dataset(dataset)
        key = dataset_key(ds, key)
        document = await self.lookup(ds, key)
        if document is None:
            return ds, key, None
        if ds.status_field is not None and (ds.code, key) not in self._watched:
            self.remember_status(ds.code, key, str(document.get(ds.status_field) or ""))
        problems = document_violations(ds, key, document)
        if problems:
            raise UpstreamDataInvalid(
                f"adapter {self.department} produced a {ds.code} document for {key!r} that does not match the "
                f"catalog schema v{ds.version}: "
                + "; ".join(f"{p.field}: {p.description}" for p in problems[:5])
                + "; fix the source data or the field mapping",
                reason="DOCUMENT_SCHEMA_MISMATCH",
                violations=problems[:20],
                metadata={"dataset": ds.code, "field": problems[0].field},
            )
        return ds, key, document

    async def status(self, dataset: str, key: str) -> LicenceStatus:
        """The licence's status code and validity end, read from the dataset's status/validity fields."""
        ds = self.dataset(dataset)
        if ds.status_field is None:
            raise FailedPrecondition(
                f"dataset {ds.code} has no status_field in the catalog, so it has no status to check",
                reason="STATUS_NOT_SUPPORTED",
            )
        _, _, document = await self.checked_lookup(dataset, key)
        checked = time.time_ns() // 1000
        if document is None:
            return LicenceStatus(False, checked_at_us=checked)
        until = document.get(ds.validity_field) if ds.validity_field else None
        return LicenceStatus(
            True,
            str(document.get(ds.status_field) or ""),
            dt.date.fromisoformat(until) if isinstance(until, str) else None,
            checked,
        )

    def checked_scan(
        self, dataset: str, columns: Sequence[str], filter_text: str, batch_rows: int
    ) -> tuple[pa.Schema, AsyncGenerator[pa.RecordBatch, None]]:
        """The schema of the scan's output (checked up front) and its batches, each checked against it."""
        ds = self.dataset(dataset)
        if ds.kind != DatasetKind.TABLE:
            raise FailedPrecondition(
                f"dataset {ds.code} is a {ds.kind.value} dataset; only table datasets are scanned",
                reason="DATASET_NOT_TABLE",
            )
        full = ds.schema.arrow_schema()
        schema = project_schema(full, list(columns) or None)
        row_filter = parse_filter(filter_text, full) if filter_text.strip() else None
        return schema, self._conforming(ds, schema, self.scan(ds, list(columns) or None, row_filter, batch_rows))

    async def _conforming(
        self, ds: Dataset, schema: pa.Schema, batches: AsyncIterator[pa.RecordBatch]
    ) -> AsyncGenerator[pa.RecordBatch, None]:
        """Batches in exactly the promised schema (cast where lossless); a misfit names the column."""
        try:
            async for batch in batches:
                yield self._conform(ds, schema, batch)
        finally:
            # Close the source's scan now (files, cursors), not whenever the generator is collected.
            aclose = getattr(batches, "aclose", None)
            if aclose is not None:
                await aclose()

    def _conform(self, ds: Dataset, schema: pa.Schema, batch: pa.RecordBatch) -> pa.RecordBatch:
        """One batch in the promised schema."""
        if batch.schema.names != schema.names:
            raise UpstreamDataInvalid(
                f"adapter {self.department} produced {ds.code} columns {batch.schema.names}, expected {schema.names}",
                reason="DOCUMENT_SCHEMA_MISMATCH",
            )
        if not batch.schema.equals(schema):
            for name, got, want in zip(schema.names, batch.schema.types, schema.types, strict=True):
                if got != want:
                    try:
                        batch = batch.set_column(schema.get_field_index(name), name, batch.column(name).cast(want))
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                        raise UpstreamDataInvalid(
                            f"adapter {self.department} produced {ds.code} column {name!r} as {got}, "
                            f"expected {want}: {exc}",
                            reason="DOCUMENT_SCHEMA_MISMATCH",
                            violations=[FieldViolation(name, f"expected {want}, found {got}")],
                        ) from exc
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        return batch


class SourceAdapter(Adapter):
    """An adapter over the built-in sources, one source per dataset, as a config file describes."""

    def __init__(self, department: str, served: Mapping[str, tuple[Dataset, Source, str]]) -> None:
        super().__init__(department, [ds for ds, _, _ in served.values()])
        self.sources = {code: source for code, (_, source, _) in served.items()}
        self.source_kinds = {code: kind for code, (_, _, kind) in served.items()}

    @classmethod
    def from_config(cls, cfg: AdapterConfig) -> SourceAdapter:
        """Load each configured dataset's catalog spec and build its source."""
        served: dict[str, tuple[Dataset, Source, str]] = {}
        for item in cfg.datasets:
            ds = load_dataset(item)
            kind = _SOURCE_KIND[type(item.source)]
            served[ds.code] = (ds, build_source(item, ds.schema.arrow_schema()), kind)
        return cls(cfg.department, served)

    async def lookup(self, dataset: Dataset, key: str) -> dict[str, Any] | None:
        """The document from the dataset's source."""
        return await self.sources[dataset.code].lookup(key)

    def scan(
        self,
        dataset: Dataset,
        columns: Sequence[str] | None,
        row_filter: RowFilter | None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> AsyncIterator[pa.RecordBatch]:
        """The dataset's source streams it."""
        return self.sources[dataset.code].scan(columns, row_filter, batch_rows)

    async def close(self) -> None:
        """Close every source."""
        for source in self.sources.values():
            await source.close()
