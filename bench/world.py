"""What the hub benchmarks run against: a SAMR licence database, its adapter process, and a hub with a case.

Everything lives in one working directory: the SQLite file the adapter reads, the adapter's
configuration and keys, and the hub's data directory. Each server runs in a process of its own.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from catalog.identifiers import generate_uscc
from exchange.auth.keys import generate_ed25519, key_id, load_private_key, private_key_to_pem

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "catalog"
OWNER, CONSUMER = "SAMR", "FIRE"
DATASET = "business_licence"
ITEM = "restaurant_permit"


def fetch_case_id(n: int) -> str:
    """The open case of the n-th applicant company: a case may read its own parties' data only."""
    return f"bench-case-{n}"


# The item names four datasets of four departments; all must be registered for the item to be.
ITEM_DATASETS = {
    "business_licence": "SAMR",
    "identity_record": "PSB",
    "property_certificate": "MNR",
    "fire_safety_certificate": "FIRE",
}
COLUMNS = (
    "unified_social_credit_code",
    "name",
    "company_type",
    "legal_representative",
    "legal_representative_id",
    "registered_capital",
    "established_on",
    "address",
    "business_scope",
    "registration_authority",
    "status",
    "valid_until",
    "licence_id",
)
# A statistics item that needs the whole enterprise register, so a scan for its case moves every column.
BULK_CASE_ID = "bench-case-bulk"
BULK_ITEM = {
    "code": "bench_market_statistics",
    "name": "Market entity statistics (benchmark)",
    "lead_department": CONSUMER,
    "time_limit_days": 20,
    "required_materials": [
        {
            "dataset": "enterprise_register",
            "fields": [
                "unified_social_credit_code",
                "name",
                "company_type",
                "industry_code",
                "region_code",
                "registered_capital",
                "established_on",
                "employees",
                "status",
                "updated_at",
            ],
        }
    ],
}
_SCOPES = ("catering services", "retail of food", "software development", "wholesale of textiles", "consulting")


def licence_rows(count: int, seed: int = 7) -> list[tuple[Any, ...]]:
    """Deterministic business licences: valid keys, strings of several lengths, numbers, dates."""
    rng = random.Random(seed)
    rows: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    while len(rows) < count:
        code = generate_uscc(rng)
        if code in seen:
            continue
        seen.add(code)
        n = len(rows)
        rows.append(
            (
                code,
                f"Company {n} Trading Co., Ltd.",
                "limited liability company",
                f"Officer {n % 5000}",
                None,
                f"{rng.randrange(10_000, 100_000_000)}.00",
                f"20{rng.randrange(0, 25):02d}-0{rng.randrange(1, 10)}-1{rng.randrange(0, 9)}",
                f"{n} Jianguo Road, Chaoyang District, Beijing",
                _SCOPES[n % len(_SCOPES)],
                "Beijing AMR",
                "01",
                None,
                f"L{n:012d}",
            )
        )
    return rows


def make_licence_db(path: Path, count: int) -> list[str]:
    """The SQLite file the SAMR adapter reads (table `licences`); returns the keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE licences ({', '.join(COLUMNS)}, PRIMARY KEY (unified_social_credit_code))")
        keys: list[str] = []
        for start in range(0, count, 200_000):
            rows = licence_rows(min(200_000, count - start), seed=start + 7)
            conn.executemany(f"INSERT OR IGNORE INTO licences VALUES ({', '.join('?' * len(COLUMNS))})", rows)
            keys.extend(r[0] for r in rows[:1000])
    return keys


@dataclass(frozen=True)
class DepartmentKeyFiles:
    """PEM keys of one department, as bytes so they travel to spawned processes."""

    code: str
    token_pem: bytes
    signing_pem: bytes

    @classmethod
    def fresh(cls, code: str) -> DepartmentKeyFiles:
        return cls(code, private_key_to_pem(generate_ed25519()), private_key_to_pem(generate_ed25519()))

    def token_key(self) -> Ed25519PrivateKey:
        key = load_private_key(self.token_pem)
        assert isinstance(key, Ed25519PrivateKey)
        return key

    def signing_key(self) -> Ed25519PrivateKey:
        key = load_private_key(self.signing_pem)
        assert isinstance(key, Ed25519PrivateKey)
        return key

    @property
    def token_kid(self) -> str:
        return key_id(self.token_key().public_key())

    @property
    def signing_kid(self) -> str:
        return key_id(self.signing_key().public_key())


def write_adapter_config(
    workdir: Path,
    db_file: Path,
    keys: DepartmentKeyFiles,
    tables: dict[str, Path] | None = None,
    *,
    tls: dict[str, str] | None = None,
) -> Path:
    """The SAMR adapter: business_licence from the SQLite file, table datasets from Parquet files.

    It serves TLS with the ``tls`` section (BenchPki.adapter_section); plain-text dev mode without one.
    """
    (workdir / "samr-signing.pem").write_bytes(keys.signing_pem)
    transport: dict[str, Any] = {"tls": tls} if tls else {"insecure_dev": True}
    config: dict[str, Any] = {
        "department": OWNER,
        "listen": "127.0.0.1:0",
        **transport,
        "signing": {"key_file": "samr-signing.pem", "kid": keys.signing_kid},
        "datasets": [
            {
                "dataset": DATASET,
                "version": "1.0",
                "spec": str(EXAMPLES / "datasets" / f"{DATASET}.yaml"),
                "source": {
                    "type": "sql",
                    "url": f"sqlite+aiosqlite:///{db_file}",
                    "table": "licences",
                    "key_column": "unified_social_credit_code",
                },
            }
        ],
    }
    for code, parquet in (tables or {}).items():
        config["datasets"].append(
            {
                "dataset": code,
                "version": "1.0",
                "spec": str(EXAMPLES / "datasets" / f"{code}.yaml"),
                "source": {"type": "files", "path": str(parquet), "key_column": "unified_social_credit_code"},
            }
        )
    path = workdir / ("samr-adapter.yaml" if tls else "samr-adapter-plain.yaml")
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


Stop = Callable[[], Awaitable[None]]


async def serve_adapter(settings: dict[str, Any]) -> tuple[dict[str, Any], Stop]:
    """Server body: the SAMR adapter from its configuration file (the adapter SDK's own server)."""
    from adapters.config import load_adapter_config
    from adapters.server import start_adapter

    running = await start_adapter(load_adapter_config(settings["config"]), listen="127.0.0.1:0")

    async def stop() -> None:
        await running.stop(1.0)

    return {"address": f"127.0.0.1:{running.port}"}, stop


async def _grant_and_case(hub: Any, table_datasets: list[str], applicants: list[str]) -> None:
    """Grants for FIRE (licence fields the item needs, every ordinary column of tables), an open case with FIRE
    for each applicant company (whose licence the fetch benchmark reads)."""
    from exchange.app import grant_records
    from exchange.policy import Grant
    from exchange.storage import tables as t

    now = time.time_ns() // 1000
    async with hub.db.begin() as conn:
        await grant_records.insert_grant(
            conn,
            Grant(
                f"bench-{uuid.uuid4().hex[:8]}",
                CONSUMER,
                DATASET,
                ("*", "legal_representative"),
                granted_by=OWNER,
                created_at_us=now,
            ),
        )
        for table in table_datasets:
            grant = Grant(f"bench-{uuid.uuid4().hex[:8]}", CONSUMER, table, ("*",), granted_by=OWNER, created_at_us=now)
            await grant_records.insert_grant(conn, grant)
        # Until cases can be opened over CaseService here, the case rows are written directly.
        for n, applicant in enumerate(applicants):
            await conn.execute(
                t.cases.insert().values(
                    id=fetch_case_id(n),
                    service_item=ITEM,
                    applicant_id=applicant,
                    lead_department=OWNER,
                    state="in_review",
                    version=1,
                    submitted_at_us=now,
                    updated_at_us=now,
                    case_json="{}",
                )
            )
            await conn.execute(
                t.case_departments.insert(),
                [
                    {"case_id": fetch_case_id(n), "department": OWNER, "role": "lead"},
                    {"case_id": fetch_case_id(n), "department": CONSUMER, "role": "co_reviewer"},
                ],
            )
        if table_datasets:
            await conn.execute(
                t.cases.insert().values(
                    id=BULK_CASE_ID,
                    service_item=BULK_ITEM["code"],
                    applicant_id="bench-applicant",
                    lead_department=CONSUMER,
                    state="in_review",
                    version=1,
                    submitted_at_us=now,
                    updated_at_us=now,
                    case_json="{}",
                )
            )
            await conn.execute(
                t.case_departments.insert().values(case_id=BULK_CASE_ID, department=CONSUMER, role="lead")
            )


async def _set_up_hub(settings: dict[str, Any]) -> Any:
    """A test hub with the departments, item, grant and cases the benchmarks use (the HubFixture)."""
    from exchange.testing import DepartmentKeys, start_test_hub

    extra = {"database_url": settings["database_url"]} if settings.get("database_url") else {}
    fixture = await start_test_hub(
        Path(settings["data_dir"]),
        sqlite_synchronous=settings.get("synchronous", "FULL"),
        adapter_timeout_seconds=30.0,
        insecure_dev=bool(settings.get("insecure")),
        **extra,
    )
    keys: dict[str, DepartmentKeyFiles] = settings["keys"]
    for code, owner in ((c, o) for c, o in ((OWNER, True), (CONSUMER, False), ("PSB", False), ("MNR", False))):
        if code in keys:
            k = keys[code]
            fixture.departments[code] = DepartmentKeys(code, k.token_key(), k.signing_key())
        await fixture.add_department(code, adapter_endpoint=settings["adapter"] if owner else None)
    for dataset in ITEM_DATASETS:
        await fixture.register_example_dataset(dataset)
    await fixture.register_example_item(ITEM)
    for table in settings.get("tables", []):
        await fixture.register_example_dataset(table)
    if settings.get("tables"):
        from catalog.specs import parse_service_item
        from exchange.testing import system_caller

        await fixture.running.registry.register_service_item(parse_service_item(BULK_ITEM), system_caller())
    await _grant_and_case(fixture.hub, settings.get("tables", []), settings.get("applicants", []))
    await fixture.hub.registry_changed()
    return fixture


async def serve_hub(settings: dict[str, Any]) -> tuple[dict[str, Any], Stop]:
    """Server body: a hub (durable SQLite log, FULL sync) with the departments, item, grant and case.

    mTLS with the CA in its data directory (BenchPki), unless settings['insecure'] asks for dev mode.
    """
    profiler = None
    if settings.get("profile"):
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
    fixture = await _set_up_hub(settings)
    if profiler is not None:
        profiler.start()

    async def stop() -> None:
        if profiler is not None:
            profiler.stop()
            Path(settings["profile"]).write_text(profiler.output_html(), encoding="utf-8")
            Path(settings["profile"]).with_suffix(".txt").write_text(
                # The hub idles through the ceilings' runs too: keep frames down to 0.1 % of the recording.
                profiler.output_text(
                    unicode=False, color=False, show_all=False, processor_options={"filter_threshold": 0.001}
                ),
                encoding="utf-8",
            )
        await fixture.stop()

    return {"address": fixture.address, "db": str(fixture.settings.effective_database_url)}, stop


async def serve_hub_workers(settings: dict[str, Any]) -> tuple[dict[str, Any], Stop]:
    """Server body: `exchange serve --workers N` on a fresh PostgreSQL database, set up as serve_hub sets up.

    The world (departments, item, grant, cases) is made by an in-process hub that then stops; the workers
    start from the same settings file on fixed loopback ports. Their CPU counts as this process's children.
    """
    import dataclasses
    import os
    import subprocess
    import sys
    import threading

    from exchange.config import Settings
    from exchange.testing import create_pg_database, drop_pg_database, free_port

    url = await create_pg_database()
    fixture = await _set_up_hub({**settings, "database_url": url})
    hub_settings = fixture.settings
    await fixture.stop()
    port, http_port = free_port(), free_port()
    values = {
        field.name: str(v) if isinstance(v := getattr(hub_settings, field.name), Path) else v
        for field in dataclasses.fields(Settings)
    }
    values.update(grpc_listen=f"127.0.0.1:{port}", http_listen=f"127.0.0.1:{http_port}", database_url=url)
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    config = Path(settings["data_dir"]) / "workers.yaml"
    config.write_text(yaml.safe_dump(values), encoding="utf-8")
    workers = int(settings["workers"])
    process = subprocess.Popen(
        [sys.executable, "-m", "exchange.cli", "serve", "--config", str(config), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert process.stderr is not None
    serving, seen = 0, []
    for line in process.stderr:
        seen.append(line)
        serving += "hub serving gRPC on port" in line
        if serving == workers:
            break
    if serving < workers:
        raise RuntimeError(f"the {workers} hub workers did not start: {''.join(seen[-20:])}")
    threading.Thread(target=lambda: [None for _ in process.stderr or ()], daemon=True).start()

    async def stop() -> None:
        process.terminate()
        process.wait(60)
        await drop_pg_database(url)

    return {"address": f"127.0.0.1:{port}", "db": url, "workers": workers}, stop


def database_rows(url: str, table: sa.Table) -> int:
    """Rows in one table of the hub's SQLite database (for sanity checks after a run)."""
    path = url.split("///", 1)[1]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])
