"""The async engine for SQLite or PostgreSQL, and schema migrations with Alembic."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from catalog.errors import InvalidArgument

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
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


class Database:
    """One engine per process; connections come from its pool."""

    def __init__(self, url: str, *, synchronous: str = "FULL", pool_size: int = 10, schema: str | None = None) -> None:
        self.url = normalise_url(url)
        self.dialect = "sqlite" if self.url.startswith("sqlite") else "postgresql"
        kwargs: dict[str, Any] = {}
        if self.dialect == "postgresql":
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            if schema:
                # Tests and multi-tenant installs keep their tables in one PostgreSQL schema.
                kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        else:
            Path(self.url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, synchronous)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success, rolled back on error."""
        async with self.engine.connect() as conn:
            # SQLite: take the write lock at BEGIN, so two writers queue instead of one failing mid-way.
            await conn.execution_options(sqlite_immediate=True)
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self, *, snapshot: bool = True) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; `snapshot=False` (SQLite) skips the BEGIN, so each statement reads the
        newest committed state on its own, one round trip to the connection's thread fewer per use."""
        async with self.engine.connect() as conn:
            if not snapshot:
                await conn.execution_options(sqlite_no_begin=True)
            yield conn

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent, safe with several replicas)."""
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            await conn.run_sync(_upgrade)

    async def close(self) -> None:
        await self.engine.dispose()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(sync_connection: sa.Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    command.upgrade(config, "head")


def _configure_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, decides when a transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        options = conn.get_execution_options()
        if options.get("sqlite_no_begin", False):
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_immediate", False) else "BEGIN")
