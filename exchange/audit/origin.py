"""The access log's origin: the first line of every checkpoint, naming one log among all others.

Two hubs that both call their log ``exchange-hub/access-log`` cannot be told apart by an auditor holding
checkpoints from each, so a new deployment names its log ``<hub_name>/<deployment id>/access-log`` (C2SP
tlog-checkpoint origin form), with a random deployment id made once and kept in the data directory.
Replicas share the data directory's contents (the signing key, this id) and so the origin.

Which origin a hub uses, first match wins:

1. the ``log_origin`` setting, when set;
2. the origin of the newest stored checkpoint: a log keeps the name it was published under;
3. ``<hub_name>/<deployment id>/access-log`` when the data directory holds a deployment id (a restart
   before the first checkpoint keeps the name its receipts already carry);
4. for a log with entries but no deployment id, made before origins were per deployment, the fixed
   name it had then;
5. a new deployment id and the origin of 3.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from exchange.config import Settings
from exchange.errors import InvalidArgument
from exchange.storage import Database, log_store

DEPLOYMENT_ID_FILE = "deployment-id"
LEGACY_ORIGIN = "exchange-hub/access-log"
_DEPLOYMENT_ID = re.compile(r"[0-9a-f]{8}")


def deployment_id(data_dir: Path, *, create: bool = True) -> str | None:
    """This deployment's id (8 hex digits) from the data directory; made when missing if `create`."""
    path = data_dir / DEPLOYMENT_ID_FILE
    if path.exists():
        value = path.read_text(encoding="ascii").strip()
        if not _DEPLOYMENT_ID.fullmatch(value):
            raise InvalidArgument(
                f"{path} must hold 8 lowercase hex digits, found {value[:20]!r}; restore it from a backup "
                "or from another replica, or set log_origin",
                reason="SETTINGS",
            )
        return value
    if not create:
        return None
    value = secrets.token_hex(4)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n", encoding="ascii")
    return value


def deployment_origin(hub_name: str, deployment: str) -> str:
    """The origin of a deployment's log: ``<hub_name>/<deployment id>/access-log``."""
    return f"{hub_name}/{deployment}/access-log"


def key_name(origin: str) -> str:
    """The name the hub's checkpoint key signs under: the origin's first path segment."""
    return origin.split("/", 1)[0]


def provisional_origin(settings: Settings) -> str:
    """The origin as far as it is known without the database (enough for the signing key's name)."""
    return settings.log_origin or f"{settings.hub_name}/access-log"


async def resolve_log_origin(settings: Settings, db: Database) -> str:
    """The origin this hub's log has (see the module docstring for the order)."""
    if settings.log_origin:
        return settings.log_origin
    async with db.read() as conn:
        stored = await log_store.latest_checkpoint(conn)
        if stored is not None:
            return stored.note.split("\n", 1)[0]
        existing = deployment_id(settings.data_dir, create=False)
        if existing is not None:
            return deployment_origin(settings.hub_name, existing)
        if await log_store.has_entries(conn):
            return LEGACY_ORIGIN
    return deployment_origin(settings.hub_name, str(deployment_id(settings.data_dir)))
