"""A source backed by a department's SQL database (SQLite or PostgreSQL), opened read-only."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from exchange.errors import DeadlineExceeded, FailedPrecondition, FieldViolation, InvalidArgument, Unavailable

from .base import (
    DEFAULT_BATCH_ROWS,
    check_json_value,
    check_key,
    from_json_value,
    scan_schema,
    to_json_value,
    upstream_data_invalid,
)
from .filters import RowFilter, check_filter, to_sql

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def check_identifier(name: str, setting: str) -> str:
    """A table or column name from the config, or InvalidArgument naming the setting."""
    if not IDENTIFIER.fullmatch(name):
        raise InvalidArgument(
            f"{setting} {name!r} is not a plain SQL identifier (letters, digits, underscore, optionally schema.name)",
            reason="SQL_IDENTIFIER_INVALID",
            violations=[FieldViolation(setting, "not a plain SQL identifier")],
        )
    return name


def read_only_url(url: str) -> tuple[sa.URL, dict[str, Any]]:
    """The database URL and connect arguments that open it read-only where the backend allows."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise InvalidArgument(
                "a SQL source needs a SQLite file, not an in-memory database",
                violations=[FieldViolation("url", "SQLite file path required")],
            )
        if not database.startswith("file:"):
            database = f"file:{database}"
        # mode=ro makes SQLite itself refuse writes, whatever SQL reaches it.
        query = {**parsed.query, "mode": "ro", "uri": "true"}
        return parsed.set(database=database, query=query), {}
    if parsed.get_backend_name() == "postgresql":
        if parsed.get_driver_name() != "asyncpg":
            parsed = parsed.set(drivername="postgresql+asyncpg")
        return parsed, {"server_settings": {"default_transaction_read_only": "on"}}
    raise InvalidArgument(
        f"SQL source backend {parsed.get_backend_name()!r} is not supported; use sqlite or postgresql",
        violations=[FieldViolation("url", "unsupported backend")],
    )


class SqlSource:
    """Lookups as ``SELECT ... WHERE key_column = :key``; scans stream rows server-side."""

    def __init__(
        self,
        url: str,
        table: str,
        key_column: str,
        column_map: Mapping[str, str],
        schema: pa.Schema,
        *,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.url, self._connect_args = read_only_url(url)
        self.upstream = self.url.render_as_string(hide_password=True)
        schema_name, _, table_name = check_identifier(table, "table").rpartition(".")
        self.schema = schema
        self.column_map = {f.name: column_map.get(f.name, f.name) for f in schema}
        for field, column in self.column_map.items():
            check_identifier(column, f"column_map.{field}")
            if "." in column:
                raise InvalidArgument(
                    f"column_map.{field} {column!r} must be a column name, not schema.column",
                    violations=[FieldViolation(f"column_map.{field}", "not a column name")],
                )
        self.key_column = check_identifier(key_column, "key_column")
        columns = dict.fromkeys([*self.column_map.values(), self.key_column])
        self.table = sa.table(table_name, *(sa.column(c) for c in columns), schema=schema_name or None)
        self.timeout_seconds = timeout_seconds
        self._engine: AsyncEngine | None = None
        self._lookup_query = (
            sa.select(*(self.table.c[c] for c in dict.fromkeys(self.column_map.values())))
            .where(self.table.c[self.key_column] == sa.bindparam("key", type_=sa.String))
            .limit(2)
        )
        self._sqlite: _SqliteLookups | None = None
        if self.url.get_backend_name() == "sqlite":
            # The identifiers passed check_identifier: quoting them is enough, the key stays a parameter.
            selected = ", ".join(f'"{c}"' for c in dict.fromkeys(self.column_map.values()))
            where = ".".join(f'"{part}"' for part in table.split("."))
            sql = f'SELECT {selected} FROM {where} WHERE "{self.key_column}" = :key LIMIT 2'
            options = urlencode({k: v for k, v in self.url.query.items() if k != "uri"}, doseq=True)
            self._sqlite = _SqliteLookups(f"{self.url.database}?{options}", sql, timeout_seconds)

    def _db(self) -> AsyncEngine:
        """The engine, created on first use inside the running loop."""
        database = self.url.database or ""
        if self.url.get_backend_name() == "sqlite" and not Path(database.removeprefix("file:")).is_file():
            # Checked here because a failed aiosqlite connect leaves its worker thread behind.
            raise Unavailable(
                f"database file {database.removeprefix('file:')} does not exist or is not a file",
                reason="UPSTREAM_UNAVAILABLE",
                metadata={"upstream": self.upstream},
            )
        if self._engine is None:
            self._engine = create_async_engine(self.url, connect_args=self._connect_args)
        return self._engine

    def _translate(self, exc: Exception) -> Exception:
        """A database error as the domain error it means."""
        if isinstance(exc, TimeoutError):
            return DeadlineExceeded(
                f"database {self.upstream} did not answer within {self.timeout_seconds:g} s",
                reason="UPSTREAM_TIMEOUT",
                metadata={"upstream": self.upstream},
            )
        text = str(exc).lower()
        if isinstance(exc, sa.exc.ProgrammingError) or "no such" in text or "does not exist" in text:
            return FailedPrecondition(
                f"database {self.upstream} does not have the configured table or columns "
                f"({self.table.fullname}): {str(exc).splitlines()[0]}",
                reason="UPSTREAM_SCHEMA_MISMATCH",
                metadata={"upstream": self.upstream},
            )
        return Unavailable(
            f"cannot query database {self.upstream}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}",
            reason="UPSTREAM_UNAVAILABLE",
            metadata={"upstream": self.upstream},
        )

    def _document(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        """One database row as a JSON-shaped document, each value checked against its field type."""
        document: dict[str, Any] = {}
        for field in self.schema:
            column = self.column_map[field.name]
            value = to_json_value(row[column])
            if value is None and not field.nullable:
                raise upstream_data_invalid(self.upstream, field.name, f"column {column}", "null")
            try:
                document[field.name] = check_json_value(value, field.type)
            except ValueError as exc:
                raise upstream_data_invalid(self.upstream, field.name, f"column {column}", str(exc)) from exc
        return document

    async def lookup(self, key: str) -> dict[str, Any] | None:
        """The row whose key column equals key, as a document; None if there is none."""
        params = {"key": check_key(key)}
        try:
            if self._sqlite is not None:
                # A missing file fails sqlite3's read-only open, named like any other database error.
                rows: Sequence[Mapping[Any, Any]] = await self._sqlite.rows(params)
            else:
                async with asyncio.timeout(self.timeout_seconds), self._db().connect() as conn:
                    rows = (await conn.execute(self._lookup_query, params)).mappings().all()
        except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError, TimeoutError) as exc:
            raise self._translate(exc) from exc
        if not rows:
            return None
        if len(rows) > 1:
            raise upstream_data_invalid(
                self.upstream, "(key)", f"column {self.key_column}", f"more than one row has key {key!r}"
            )
        return self._document(rows[0])

    def _batch(self, rows: Sequence[Sequence[Any]], out_schema: pa.Schema) -> pa.RecordBatch:
        """Rows (in out_schema order) as a record batch, converting values Arrow does not take directly."""
        arrays = []
        for index, field in enumerate(out_schema):
            values = [row[index] for row in rows]
            try:
                arrays.append(pa.array(values, type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                # SQLite keeps dates as text and numbers loosely typed: go through the JSON shape.
                column = self.column_map[field.name]
                try:
                    converted = [
                        from_json_value(check_json_value(to_json_value(v), field.type), field.type) for v in values
                    ]
                    arrays.append(pa.array(converted, type=field.type))
                except (ValueError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise upstream_data_invalid(self.upstream, field.name, f"column {column}", str(exc)) from exc
        return pa.RecordBatch.from_arrays(arrays, schema=out_schema)

    async def scan(
        self,
        columns: Sequence[str] | None,
        row_filter: RowFilter | None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> AsyncIterator[pa.RecordBatch]:
        """Stream matching rows with only the requested columns, batch_rows at a time."""
        out_schema = scan_schema(self.schema, columns, batch_rows)
        query = sa.select(*(self.table.c[self.column_map[name]] for name in out_schema.names))
        if row_filter is not None:
            query = query.where(to_sql(check_filter(row_filter, self.schema), self.table, self.column_map))
        try:
            async with self._db().connect() as conn:
                result = await conn.stream(query.execution_options(yield_per=batch_rows))
                async for partition in result.partitions(batch_rows):
                    yield self._batch(partition, out_schema)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise self._translate(exc) from exc

    async def close(self) -> None:
        """Close the connection pool."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        if self._sqlite is not None:
            self._sqlite.close()


class _SqliteLookups:
    """Key lookups on a read-only SQLite file: one worker thread with its own connection, one hop per lookup.

    Through SQLAlchemy's async layer and aiosqlite a lookup costs six handoffs between the loop and the
    connection's thread (checkout, execute, fetch, rollback, return); here it is one.
    """

    def __init__(self, database: str, sql: str, timeout_seconds: float) -> None:
        self.database = database
        self.sql = sql
        self.timeout_seconds = timeout_seconds
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sql-lookup")

    def _query(self, params: dict[str, Any]) -> Sequence[Mapping[Any, Any]]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # mode=ro: SQLite itself refuses writes; the busy timeout waits out a writer's lock.
            conn = sqlite3.connect(self.database, uri=True, timeout=self.timeout_seconds, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        # sqlite3.Row reads by column name like a mapping (typeshed does not say so).
        return cast("list[Mapping[Any, Any]]", conn.execute(self.sql, params).fetchall())

    async def rows(self, params: dict[str, Any]) -> Sequence[Mapping[Any, Any]]:
        """The matching rows (at most two), read on the worker thread."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeout_seconds):
            return await loop.run_in_executor(self._pool, self._query, params)

    def close(self) -> None:
        """Stop the worker thread (its connection closes with it)."""
        self._pool.submit(self._close_connection)
        self._pool.shutdown(wait=True)

    def _close_connection(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
