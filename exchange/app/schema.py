"""The hub's database schema, brought up to date by `exchange migrate` (a deployment's migration job) without a
running hub; a hub migrates at start too."""

from __future__ import annotations

from exchange.config import Settings
from exchange.storage.db import Database, newest_migration


async def migrate(settings: Settings) -> str:
    """Bring the hub's database to the newest migration (safe twice, and beside running hubs); the migration it
    is at now."""
    db = Database(settings.effective_database_url)
    try:
        await db.migrate()
    finally:
        await db.close()
    return str(newest_migration())
