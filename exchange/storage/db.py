"""The async engine for SQLite or PostgreSQL, and schema migrations with Alembic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from exchange.errors import InvalidArgument

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
T = TypeVar("T")
# Serialises migrations between hub replicas sharing one PostgreSQL database.
_MIGRATION_LOCK_ID = 0x45584348


def sqlite_url(data_dir: Path) -> str:
    """The default database: one SQLite file in the data directory."""
    return f"sqlite+aiosqlite:///{data_dir / 'exchange.db'}"


def normalise_url(url: str) -> str:
    """Accept the plain scheme an operator writes and pick the async driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise InvalidArgument(
        f"database URL {url.split('://')[0]}://... is not supported; use sqlite:///PATH or postgresql://HOST/DB",
        reason="UNSUPPORTED_DATABASE",
    )


class Reader(Protocol):
    """What a read-only store function needs: statements executed one by one (an AsyncConnection is one)."""

    async def execute(
        self, statement: sa.Executable, parameters: Mapping[str, Any] | None = None
    ) -> sa.CursorResult[Any]: ...


class LoopReader:
    """Statements run on the event loop's own thread through one synchronous SQLite connection.

    For the fetch path's few indexed reads: in WAL mode a reader never waits for a writer, and an
    indexed read takes tens of microseconds, less than one handoff to a worker thread (the async
    driver costs several per statement). No transaction spans two statements: each reads the newest
    committed state on its own. A result must be consumed before the next await (`.all()`, `.first()`).
    """

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    async def execute(
        self, statement: sa.Executable, parameters: Mapping[str, Any] | None = None
    ) -> sa.CursorResult[Any]:
        return self._conn.execute(statement, parameters)


class Database:
    """One engine per process; connections come from its pool."""

    def __init__(self, url: str, *, synchronous: str = "FULL", pool_size: int = 10, schema: str | None = None) -> None:
        self.url = normalise_url(url)
        self.dialect = "sqlite" if self.url.startswith("sqlite") else "postgresql"
        self.schema = schema
        kwargs: dict[str, Any] = {}
        if self.dialect == "postgresql":
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            if schema:
                # Tests and multi-tenant installs keep their tables in one PostgreSQL schema.
                kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        else:
            Path(self.url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self._loop_engine: sa.Engine | None = None
        self._loop_reader: LoopReader | None = None
        self._synchronous = synchronous
        self._writer: tuple[sa.Engine, ThreadPoolExecutor] | None = None  # made by the first large write
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine.sync_engine, synchronous)
            self._loop_engine = _one_connection_engine(self.url)
            _configure_sqlite(self._loop_engine, synchronous, busy_timeout_ms=_LOOP_BUSY_TIMEOUT_MS)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success, rolled back on error."""
        async with self.engine.connect() as conn:
            # SQLite: take the write lock at BEGIN, so two writers queue instead of one failing mid-way.
            await conn.execution_options(sqlite_immediate=True)
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads, in one transaction (one snapshot on PostgreSQL and SQLite)."""
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def statements(self) -> AsyncIterator[Reader]:
        """For a few independent reads, each seeing the newest committed state (no snapshot across them).

        SQLite: a `LoopReader` on the loop's thread; PostgreSQL: a pooled connection (asyncpg needs no thread).
        """
        if self._loop_engine is None:
            async with self.engine.connect() as conn:
                yield conn
            return
        if self._loop_reader is None:
            self._loop_reader = LoopReader(self._loop_engine.connect().execution_options(isolation_level="AUTOCOMMIT"))
        yield self._loop_reader

    async def write(self, work: Callable[[sa.Connection], T], *, large: bool = False) -> T:
        """Run `work` (synchronous statements) in one write transaction and return what it returns.

        Through `run_sync` on a pooled connection, except a `large` transaction on SQLite: that runs on
        the writer thread with its own connection, so BEGIN IMMEDIATE, the statements and the COMMIT are
        one handoff from the loop instead of one per statement. For a few rows the thread does not pay:
        its Python work then competes with the loop's for the GIL (hub CPU per fetch 2.2 -> 3.3 ms in
        bench fetch, where log batches hold a few entries; appends 18,200 -> 22,900/s in batches of 512).
        """
        if not large or self.dialect != "sqlite":
            async with self.begin() as conn:
                return await conn.run_sync(work)
        if self._writer is None:
            engine = _one_connection_engine(self.url)
            _configure_sqlite(engine, self._synchronous)
            self._writer = engine, ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        engine, thread = self._writer
        return await asyncio.get_running_loop().run_in_executor(thread, _write_now, engine, work)

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent, safe with several replicas)."""
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            await conn.run_sync(_upgrade)

    async def schema_version(self) -> str | None:
        """The migration the schema is at (None for an empty database); raises whatever the driver raises."""
        async with self.read() as conn:
            exists = await conn.run_sync(lambda c: sa.inspect(c).has_table("alembic_version"))
            if not exists:
                return None
            version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
        return str(version) if version is not None else None

    @property
    def sqlite_file(self) -> str | None:
        """The database file when the data is in one (not PostgreSQL, not in memory)."""
        name = sa.engine.make_url(self.url).database
        return name if self.dialect == "sqlite" and name and name != ":memory:" else None

    async def close(self) -> None:
        await self.engine.dispose()
        if self._loop_engine is not None:
            self._loop_engine.dispose()
            self._loop_reader = None
        if self._writer is not None:
            engine, thread = self._writer
            self._writer = None
            # The connection is closed on the thread that used it, after any write still running.
            await asyncio.get_running_loop().run_in_executor(thread, engine.dispose)
            thread.shutdown(wait=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def newest_migration() -> str | None:
    """The migration `Database.migrate` brings a schema to (Alembic's head)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(sync_connection: sa.Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    command.upgrade(config, "head")


def _write_now(engine: sa.Engine, work: Callable[[sa.Connection], T]) -> T:
    """`work` in one BEGIN IMMEDIATE transaction on engine's connection (on the writer thread)."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            return work(conn)


def _one_connection_engine(url: str) -> sa.Engine:
    """A synchronous engine keeping one connection to the SQLite file (see `statements` and `write`)."""
    return sa.create_engine(
        "sqlite:///" + url.split("///", 1)[1],
        poolclass=sa.pool.StaticPool,
        # Used on one thread at a time (the loop's, or the writer's), closed from another at exit.
        connect_args={"check_same_thread": False},
    )


# A read on the loop's thread must never hold the loop long; WAL readers wait only in rare recovery cases.
_LOOP_BUSY_TIMEOUT_MS = 2000


def _configure_sqlite(engine: sa.Engine, synchronous: str, *, busy_timeout_ms: int = 10000) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, decides when a transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        conn.exec_driver_sql(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate", False) else "BEGIN"
        )
