"""The newest checkpoint this hub ever signed, kept beside the database, so a rolled-back log is loud.

Auditors and departments hold signed checkpoints and receipts. If the database is restored from a backup
older than a checkpoint already handed out, the log would silently have forgotten entries that those
checkpoints commit to, and the hub would sign a second, different history for the same sizes. So every
checkpoint the hub signs is also recorded in the data directory (`log-high-water.json`, written atomically),
and at start the hub refuses a log that is shorter than that checkpoint, or that does not extend it
(a consistency proof from the recorded root to the current one).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from exchange.errors import FailedPrecondition

FILE_NAME = "log-high-water.json"


@dataclass(frozen=True)
class HighWater:
    """The size, root and time of the newest checkpoint signed, and its origin."""

    origin: str
    size: int
    root_hash: bytes
    timestamp: int

    def describe(self) -> str:
        signed = datetime.fromtimestamp(self.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"checkpoint of size {self.size} (root {self.root_hash.hex()[:16]}…, signed {signed})"


def read_high_water(path: Path) -> HighWater | None:
    """The recorded checkpoint, or None when this hub has signed none yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return HighWater(data["origin"], int(data["size"]), base64.b64decode(data["root_hash"]), int(data["timestamp"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        raise FailedPrecondition(
            f"{path} is damaged ({error}); it records the newest checkpoint this hub signed. Restore it from the "
            "backup of the data directory, or remove it only if you know the log was not rolled back",
            reason="HIGH_WATER_UNREADABLE",
        ) from None


def record_high_water(path: Path, mark: HighWater) -> None:
    """Record `mark` if it is newer than the recorded one (atomically: a crash leaves the old or the new)."""
    current = read_high_water(path)
    if current is not None and current.size >= mark.size:
        return
    data = {
        "origin": mark.origin,
        "size": mark.size,
        "root_hash": base64.b64encode(mark.root_hash).decode("ascii"),
        "timestamp": mark.timestamp,
    }
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    with scratch.open("w", encoding="utf-8") as out:
        json.dump(data, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)


def log_behind(mark: HighWater, size: int) -> FailedPrecondition:
    return FailedPrecondition(
        f"the access log holds {size} entries, but this hub already signed a {mark.describe()}: the database "
        "was restored from an older backup, and entries that auditors' checkpoints commit to are missing. "
        "Restore the newest backup (docs/operations.md, 'Back up and restore'); the hub will not start on a "
        "rolled-back log",
        reason="LOG_ROLLED_BACK",
    )


def log_forked(mark: HighWater, size: int) -> FailedPrecondition:
    return FailedPrecondition(
        f"the access log ({size} entries) does not extend the {mark.describe()} this hub signed: its history "
        "differs from what auditors hold. Restore the database that belongs to this data directory",
        reason="LOG_FORKED",
    )
