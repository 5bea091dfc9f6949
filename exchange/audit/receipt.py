"""A receipt: where an access-log entry landed. Kept apart from the log so that clients need no storage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Receipt:
    """Where an entry landed: its index and leaf hash, provable against a later checkpoint."""

    index: int
    leaf_hash: bytes
    origin: str
