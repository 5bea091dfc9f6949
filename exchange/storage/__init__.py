"""Storage: one async layer over SQLite (default, WAL) and PostgreSQL.

`tables` holds the schema (SQLAlchemy Core), `db.Database` the engine and the
migrations (Alembic), and one repository module per area reads and writes
rows and plain records; it imports no policy, case or application code (the
application, `exchange.app`, maps rows to domain types). Nothing outside this
package writes SQL or imports SQLAlchemy.
"""

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from exchange.storage.db import Database

__all__ = ["Connection", "Database", "IntegrityError"]
