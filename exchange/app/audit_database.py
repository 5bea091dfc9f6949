"""The access log in the hub's own database, for the embedded `exchange audit` commands (no running hub): the
hub's verifier key, an export, a check against signed checkpoints, a new signing key and an archive. What
reads or changes what the hub keeps is decided and logged for the operator the command acts as
(exchange.auth.identity.local_operator), as the hub would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from exchange.audit.export import Format
from exchange.audit.note import CheckpointVerifier, NoteSigner, NoteVerifier
from exchange.audit.offline import Written, archive_log, export_as, rotate_key_as, verify_database
from exchange.audit.origin import key_name, resolve_log_origin
from exchange.audit.verify import VerifyReport
from exchange.auth.identity import Caller
from exchange.config import Settings
from exchange.errors import InvalidArgument
from exchange.storage import Database
from exchange.storage.log_store import EntryFilter

__all__ = ["AuditDatabase", "EntryFilter"]

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _load_key(path: Path) -> Ed25519PrivateKey:
    """The hub's checkpoint key from its file (which exists: it is never created here)."""
    from exchange.hub import load_or_create_signing_key  # the hub's stack loads when a command runs, not at start

    return load_or_create_signing_key(path)


@dataclass(frozen=True)
class AuditDatabase:
    """The hub's database named by its settings (and a PostgreSQL schema), opened for one command at a time."""

    settings: Settings
    schema: str | None = None

    @asynccontextmanager
    async def _opened(self) -> AsyncIterator[Database]:
        db = Database(self.settings.effective_database_url, schema=self.schema)
        try:
            yield db
        finally:
            await db.close()

    @property
    def _key_file(self) -> Path:
        return self.settings.path(self.settings.signing_key)

    def _missing_key(self, what_to_do: str) -> InvalidArgument:
        return InvalidArgument(f"no hub signing key at {self._key_file}; {what_to_do}", reason="SIGNING_KEY_MISSING")

    def _hub_verifier(self, origin: str) -> NoteVerifier:
        """The hub's verifier from its signing key file, under the log's origin (the key signs under its first
        segment)."""
        return NoteSigner(key_name(origin), _load_key(self._key_file)).verifier()

    async def verifier_key(self) -> str:
        """The hub's verifier key for auditors to keep; the log's origin, which names it, may be in the database."""
        if not self._key_file.exists():
            raise self._missing_key("run `exchange init`")
        key = _load_key(self._key_file)
        async with self._opened() as db:
            origin = await resolve_log_origin(self.settings, db)
        return NoteSigner(key_name(origin), key).verifier().verifier_key()

    async def export(self, operator: Caller, path: Path, wanted: EntryFilter, *, fmt: Format) -> Written:
        """The entries of the latest signed checkpoint that match `wanted`, written to `path` with it and the
        hub's verifier key (where its signing key file is; never created here): the operation
        `audit.log.export`, decided for `operator` and logged."""
        async with self._opened() as db:
            origin = await resolve_log_origin(self.settings, db)
            key = self._hub_verifier(origin).verifier_key() if self._key_file.exists() else ""
            return await export_as(operator, db, path, wanted, origin=origin, fmt=fmt, verifier_key=key)

    async def verify(self, checkpoints: Sequence[str], verifier: CheckpointVerifier, *, origin: str) -> VerifyReport:
        """The log the database holds, recomputed and checked against the signed checkpoints given."""
        async with self._opened() as db:
            return await verify_database(db, checkpoints, verifier, origin=origin)

    async def rotate_key(self, operator: Caller, *, timestamp: int) -> tuple[NoteVerifier, NoteVerifier, int]:
        """A new checkpoint key for the hub, handed over to by the old one in the key history: the operation
        `audit.signing_key.rotate`, decided for `operator` and logged. The old and new verifiers, and the size
        handed over at."""
        async with self._opened() as db:
            origin = await resolve_log_origin(self.settings, db)
            if not self._key_file.exists():
                raise self._missing_key("run `exchange init`")
            history = self.settings.path(self.settings.signing_key_history)
            return await rotate_key_as(operator, db, self._key_file, history, origin=origin, timestamp=timestamp)

    async def archive(
        self, operator: Caller, before: int, path: Path, *, fmt: Format, verifier: NoteVerifier | None
    ) -> Written:
        """The entries below `before` written to `path` with proofs and checkpoint, the file checked with
        `verifier` (None: the hub's own), then pruned: the operation `audit.log.archive`, decided for
        `operator` and logged."""
        if verifier is None and not self._key_file.exists():
            raise self._missing_key("pass --key")
        async with self._opened() as db:
            # The log's own origin (and the key name it signs under), which the setting may leave unsaid.
            origin = await resolve_log_origin(self.settings, db)
            checking = verifier or self._hub_verifier(origin)
            return await archive_log(db, before, path, checking, origin=origin, fmt=fmt, operator=operator)
