"""SqlSource against real SQLite files and the real PostgreSQL at 127.0.0.1:5432."""

import asyncio
import datetime as dt
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.sources.filters import parse_filter
from adapters.sources.sql import SqlSource
from exchange.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, Unavailable

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SCHEMA = pa.schema(
    [
        pa.field("id_number", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("birth_date", pa.date32()),
        pa.field("household_region", pa.string()),
        pa.field("deposit", pa.decimal128(12, 2)),
    ]
)
COLUMN_MAP = {
    "id_number": "sfzh",
    "name": "xm",
    "birth_date": "csrq",
    "household_region": "hjdq",
    "deposit": "deposit",
}
ROWS = [
    (
        f"11010119900101{i:04d}",
        f"Person {i}",
        dt.date(1990, 1, 1) + dt.timedelta(days=i),
        "110101" if i % 3 else "310101",
        Decimal(f"{i}.50"),
    )
    for i in range(1, 101)
]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "psb.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE residents (sfzh TEXT PRIMARY KEY, xm TEXT, csrq TEXT, hjdq TEXT, deposit TEXT)")
        conn.executemany(
            "INSERT INTO residents VALUES (?, ?, ?, ?, ?)",
            [(r[0], r[1], r[2].isoformat(), r[3], str(r[4])) for r in ROWS],
        )
    conn.close()
    yield path


def sqlite_source(path: Path, **options: object) -> SqlSource:
    return SqlSource(f"sqlite+aiosqlite:///{path}", "residents", "sfzh", COLUMN_MAP, SCHEMA, **options)  # type: ignore[arg-type]


def row_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        count = conn.execute("SELECT count(*) FROM residents").fetchone()[0]
    conn.close()
    return int(count)


async def test_sqlite_lookup_returns_the_row_in_json_shape(sqlite_db: Path) -> None:
    src = sqlite_source(sqlite_db)
    try:
        doc = await src.lookup("110101199001010007")
    finally:
        await src.close()
    assert doc == {
        "id_number": "110101199001010007",
        "name": "Person 7",
        "birth_date": "1990-01-08",
        "household_region": "110101",
        "deposit": "7.50",
    }


async def test_sqlite_unknown_key_is_none(sqlite_db: Path) -> None:
    src = sqlite_source(sqlite_db)
    try:
        assert await src.lookup("000000000000000000") is None
    finally:
        await src.close()


@pytest.mark.parametrize(
    "key", ["' OR 1=1 --", '"; DROP TABLE residents; --', "1; DELETE FROM residents", "../../etc/passwd"]
)
async def test_sqlite_injection_attempts_find_nothing_and_change_nothing(sqlite_db: Path, key: str) -> None:
    src = sqlite_source(sqlite_db)
    try:
        assert await src.lookup(key) is None
    finally:
        await src.close()
    assert row_count(sqlite_db) == len(ROWS)


async def test_sqlite_source_opens_the_file_read_only(sqlite_db: Path) -> None:
    src = sqlite_source(sqlite_db)
    try:
        async with src._db().connect() as conn:
            with pytest.raises(sa.exc.OperationalError, match="readonly"):
                await conn.execute(sa.text("DELETE FROM residents"))
    finally:
        await src.close()
    assert row_count(sqlite_db) == len(ROWS)


async def test_sqlite_lookups_use_a_read_only_connection_too(sqlite_db: Path) -> None:
    src = sqlite_source(sqlite_db)
    try:
        assert await src.lookup("110101199001010007") is not None
        lookups = src._sqlite
        assert lookups is not None
        loop = asyncio.get_running_loop()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await loop.run_in_executor(lookups._pool, lambda: lookups._local.conn.execute("DELETE FROM residents"))
    finally:
        await src.close()
    assert row_count(sqlite_db) == len(ROWS)


async def test_sqlite_lookup_behind_a_writers_lock_fails_in_time_naming_the_database(sqlite_db: Path) -> None:
    writer = sqlite3.connect(sqlite_db, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")  # rollback-journal mode: readers wait for this lock
    src = sqlite_source(sqlite_db, timeout_seconds=0.3)
    try:
        with pytest.raises((Unavailable, DeadlineExceeded)) as err:
            await src.lookup("110101199001010007")
        writer.execute("ROLLBACK")
        assert await src.lookup("110101199001010007") is not None  # the same source recovers
    finally:
        writer.close()
        await src.close()
    assert "psb.db" in err.value.message


async def test_sqlite_scan_streams_batches_with_projection_and_filter(sqlite_db: Path) -> None:
    src = sqlite_source(sqlite_db)
    try:
        batches = [
            b
            async for b in src.scan(
                ["id_number", "birth_date", "deposit"],
                parse_filter("household_region = '310101' and birth_date >= '1990-02-01'"),
                batch_rows=5,
            )
        ]
    finally:
        await src.close()
    table = pa.Table.from_batches(batches)
    expected = [r for r in ROWS if r[3] == "310101" and r[2] >= dt.date(1990, 2, 1)]
    assert table.schema.names == ["id_number", "birth_date", "deposit"]
    assert table.column("id_number").to_pylist() == [r[0] for r in expected]
    assert table.column("birth_date").to_pylist() == [r[2] for r in expected]
    assert table.column("deposit").to_pylist() == [r[4] for r in expected]
    assert max(b.num_rows for b in batches) <= 5


async def test_missing_table_is_failed_precondition(sqlite_db: Path) -> None:
    src = SqlSource(f"sqlite+aiosqlite:///{sqlite_db}", "no_such_table", "sfzh", COLUMN_MAP, SCHEMA)
    try:
        with pytest.raises(FailedPrecondition) as err:
            await src.lookup("K")
    finally:
        await src.close()
    assert err.value.reason == "UPSTREAM_SCHEMA_MISMATCH"


async def test_missing_database_file_is_unavailable(tmp_path: Path) -> None:
    src = SqlSource(f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}", "residents", "sfzh", COLUMN_MAP, SCHEMA)
    try:
        with pytest.raises(Unavailable) as err:
            await src.lookup("K")
    finally:
        await src.close()
    assert "gone.db" in err.value.message


async def test_wrong_typed_value_in_the_database_names_field_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE residents (sfzh TEXT, xm TEXT, csrq TEXT, hjdq TEXT, deposit TEXT)")
        conn.execute("INSERT INTO residents VALUES ('K', 'X', 'not a date', '110101', '1.00')")
    conn.close()
    src = sqlite_source(path)
    try:
        with pytest.raises(FailedPrecondition) as err:
            await src.lookup("K")
    finally:
        await src.close()
    assert err.value.reason == "UPSTREAM_DATA_INVALID"
    assert "birth_date" in err.value.message and "csrq" in err.value.message


@pytest.mark.parametrize(
    ("table", "key_column", "column_map"),
    [
        ("residents; DROP TABLE residents", "sfzh", COLUMN_MAP),
        ("residents", "sfzh OR 1=1", COLUMN_MAP),
        ("residents", "sfzh", {**COLUMN_MAP, "name": 'xm" FROM residents --'}),
        ("a.b.c", "sfzh", COLUMN_MAP),
    ],
)
def test_identifiers_from_config_are_validated(table: str, key_column: str, column_map: dict[str, str]) -> None:
    with pytest.raises(InvalidArgument):
        SqlSource("sqlite+aiosqlite:///x.db", table, key_column, column_map, SCHEMA)


def test_unsupported_backend_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument):
        SqlSource("mysql+aiomysql://u@h/db", "residents", "sfzh", COLUMN_MAP, SCHEMA)


@pytest.fixture
async def pg_table() -> AsyncIterator[str]:
    schema = f"adapters_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            await conn.execute(
                sa.text(
                    f'CREATE TABLE "{schema}".residents (sfzh text primary key, xm text, csrq date, '
                    "hjdq text, deposit numeric(12,2))"
                )
            )
            await conn.execute(
                sa.text(f'INSERT INTO "{schema}".residents VALUES (:a, :b, :c, :d, :e)'),
                [{"a": r[0], "b": r[1], "c": r[2], "d": r[3], "e": r[4]} for r in ROWS],
            )
    except (OSError, sa.exc.DBAPIError) as exc:
        await admin.dispose()
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not available: {exc}")
    try:
        yield f"{schema}.residents"
    finally:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def pg_count(table: str) -> int:
    engine = create_async_engine(PG_URL)
    try:
        async with engine.connect() as conn:
            schema, name = table.split(".")
            return int((await conn.execute(sa.text(f'SELECT count(*) FROM "{schema}".{name}'))).scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_lookup_converts_dates_and_decimals(pg_table: str) -> None:
    src = SqlSource(PG_URL, pg_table, "sfzh", COLUMN_MAP, SCHEMA)
    try:
        doc = await src.lookup("110101199001010042")
    finally:
        await src.close()
    assert doc is not None
    assert doc["birth_date"] == "1990-02-12"
    assert doc["deposit"] == "42.50"


@pytest.mark.postgres
@pytest.mark.parametrize("key", ["' OR 1=1 --", '"; DROP TABLE residents; --', "x'; DROP SCHEMA public CASCADE; --"])
async def test_postgres_injection_attempts_are_harmless(pg_table: str, key: str) -> None:
    src = SqlSource(PG_URL, pg_table, "sfzh", COLUMN_MAP, SCHEMA)
    try:
        assert await src.lookup(key) is None
    finally:
        await src.close()
    assert await pg_count(pg_table) == len(ROWS)


@pytest.mark.postgres
async def test_postgres_sessions_are_read_only(pg_table: str) -> None:
    src = SqlSource(PG_URL, pg_table, "sfzh", COLUMN_MAP, SCHEMA)
    schema, name = pg_table.split(".")
    try:
        async with src._db().connect() as conn:
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                await conn.execute(sa.text(f'DELETE FROM "{schema}".{name}'))
    finally:
        await src.close()
    assert await pg_count(pg_table) == len(ROWS)


@pytest.mark.postgres
async def test_postgres_scan_streams_server_side_with_filter(pg_table: str) -> None:
    src = SqlSource(PG_URL, pg_table, "sfzh", COLUMN_MAP, SCHEMA)
    try:
        batches = [
            b
            async for b in src.scan(
                ["id_number", "deposit"],
                parse_filter("household_region in ('310101') and deposit > 50"),
                batch_rows=7,
            )
        ]
    finally:
        await src.close()
    table = pa.Table.from_batches(batches)
    expected = [r for r in ROWS if r[3] == "310101" and r[4] > 50]
    assert sorted(table.column("id_number").to_pylist()) == [r[0] for r in expected]
    assert max(b.num_rows for b in batches) <= 7


async def test_unreachable_postgres_is_unavailable() -> None:
    src = SqlSource("postgresql+asyncpg://postgres@127.0.0.1:1/test", "residents", "sfzh", COLUMN_MAP, SCHEMA)
    try:
        with pytest.raises((Unavailable, DeadlineExceeded)):
            await src.lookup("K")
    finally:
        await src.close()
