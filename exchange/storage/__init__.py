"""Storage: one async layer over SQLite (default, WAL) and PostgreSQL.

`tables` holds the schema (SQLAlchemy Core), `db.Database` the engine and the
migrations (Alembic), and one repository module per area reads and writes plain
domain objects. Nothing outside this package writes SQL.
"""

from exchange.storage.db import Database

__all__ = ["Database"]
