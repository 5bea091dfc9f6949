"""`exchange serve --check`: what start-up would refuse, found without starting anything.

Every problem is named at once, each as one sentence with the setting, the file or the port and what to
do; the settings themselves are already validated when they load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from exchange.cases.calendar import hub_calendar, uncovered_years
from exchange.config import Settings
from exchange.errors import ExchangeError
from exchange.storage.db import Database, newest_migration

TLS_FILES = ("tls_cert", "tls_key", "tls_client_ca", "tls_client_cert", "tls_client_key")


@dataclass(frozen=True)
class Finding:
    """One line of the check: ok or not, and what it says."""

    ok: bool
    text: str


def _files(settings: Settings) -> list[Finding]:
    if settings.insecure_dev:
        return [Finding(True, "insecure_dev: no TLS files needed (development only)")]
    found = []
    for name in TLS_FILES:
        try:
            settings.read_file(name)
            found.append(Finding(True, f"{name}: {settings.path(getattr(settings, name))}"))
        except ExchangeError as error:
            found.append(Finding(False, error.message))
    return found


def _ports(settings: Settings) -> list[Finding]:
    from exchange.server import refuse_busy_ports

    try:
        refuse_busy_ports(settings)
    except ExchangeError as error:
        return [Finding(False, error.message)]
    return [Finding(True, f"ports free: gRPC {settings.grpc_listen}, console {settings.http_listen or 'off'}")]


async def _database(settings: Settings) -> list[Finding]:
    head = newest_migration()
    if not settings.database_url and not (settings.data_dir / "exchange.db").exists():
        # A check creates nothing: the SQLite file is made by `exchange init` or the first start.
        return [
            Finding(True, f"database: {settings.data_dir / 'exchange.db'} is made at first start (migration {head})")
        ]
    db = Database(settings.effective_database_url)
    try:
        version = await db.schema_version()
    except Exception as error:  # any driver's connection failure, named for the operator
        return [Finding(False, f"database_url: cannot open the database ({type(error).__name__}: {str(error)[:200]})")]
    finally:
        await db.close()
    if version == head:
        return [Finding(True, f"database: schema at migration {head}")]
    if version is None:
        return [Finding(True, f"database: empty; `exchange serve` creates the schema (migration {head})")]
    return [Finding(True, f"database: at migration {version}; `exchange serve` upgrades it to {head}")]


def _calendar(settings: Settings, today: date | None = None) -> list[Finding]:
    """The holiday data deadlines are counted with: an unreadable file refuses the start; a missing year warns."""
    try:
        extra = settings.path(settings.calendar_file) if settings.calendar_file else None
        working = hub_calendar(extra, shipped=settings.calendar_shipped)
    except ExchangeError as error:
        details = "; ".join(f"{v.field}: {v.description}" for v in error.violations)
        return [Finding(False, f"calendar_file: {error.message}" + (f" ({details})" if details else ""))]
    known = ", ".join(map(str, sorted(working.years))) or "none"
    missing = uncovered_years(working, today or date.today())
    if missing:
        years = ", ".join(map(str, missing))
        return [
            Finding(
                True,
                f"calendar: holidays known for {known}; none for {years} yet, so deadlines there count Mon-Fri "
                "only: add the State Council's notice to calendar_file (docs/operations.md, 'Working-day calendar')",
            )
        ]
    return [Finding(True, f"calendar: holidays known for {known}")]


async def check(settings: Settings) -> list[Finding]:
    """Every finding, ok or not, in the order an operator reads them."""
    return [*_files(settings), *_ports(settings), *_calendar(settings), *await _database(settings)]
