"""Console accounts: argon2id passwords, sign-in with a per-account-and-address limit, sessions, and the hub
operator's account changes. Every change and every sign-in is logged through the one recorder; the account
commands are operations of the policy (``console.user.*``), decided for the caller like any other."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from catalog import limits
from catalog.model import DEPARTMENT_CODE
from exchange import i18n
from exchange.audit.recorder import entry_of, refusal_of
from exchange.auth.identity import Caller, Role
from exchange.clock import now_us
from exchange.errors import (
    ExchangeError,
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from exchange.hub import Hub
from exchange.i18n import N_
from exchange.storage import console_store
from exchange.storage.console_store import ConsoleSession, ConsoleUser

__all__ = ["CONSOLE_ROLES", "Account", "ConsoleAccounts", "ConsoleUser", "hash_password"]

# The roles a person can hold in the console (officers work through their department's systems).
CONSOLE_ROLES = {
    "hub_admin": Role.HUB_ADMIN,
    "dept_admin": Role.DEPT_ADMIN,
    "auditor": Role.AUDITOR,
    "supervisor": Role.SUPERVISOR,
}
SESSION_SECONDS = 8 * 3600
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60
MIN_PASSWORD_LENGTH = 12
# What a person signing in reads (the console's string table shows the same keys).
SIGN_IN_FAILED = N_("signin.failed", "the username or password is wrong (or the account is disabled)")
SIGN_IN_RATE_LIMITED = N_(
    "signin.rate_limited",
    "too many failed sign-ins for {username!r} from this address; wait {minutes} minutes and try again",
)
SIGNED_IN = N_("signin.done", "signed in")
# The changes `change_user` makes, by the operation each one is.
CHANGES = {"disable": "console.user.disable", "enable": "console.user.enable", "remove": "console.user.remove"}

# argon2id with the library's RFC 9106 "low memory" defaults (64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the account does not exist, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not a password of anyone " + secrets.token_hex(8))


@dataclass(frozen=True)
class Account:
    """The person signed in, and the caller the domain operations see."""

    username: str
    role: str
    department: str
    display_name: str
    csrf_token: str

    @property
    def caller(self) -> Caller:
        return Caller(self.department, f"console:{self.username}", frozenset({CONSOLE_ROLES[self.role]}), "console", 0)

    def is_role(self, *roles: str) -> bool:
        return self.role in roles


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}",
            reason="PASSWORD_TOO_SHORT",
            violations=[FieldViolation("password", f"at least {MIN_PASSWORD_LENGTH} characters")],
        )
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleAccounts:
    """The console's accounts and sessions, over the hub's database and access log."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def _decide(self, caller: Caller, operation: str, **details: str) -> None:
        """Decide `operation` for `caller`; a refusal is logged and raised."""
        refused = refusal_of(caller, operation, details=details)
        if refused is not None:
            error, entry = refused
            await self.hub.record(entry)
            raise error

    async def _refused(self, caller: Caller, operation: str, error: ExchangeError, **details: str) -> ExchangeError:
        """Log a change the policy allowed but the accounts refused (an attempt on an account all the same)."""
        await self.hub.record(entry_of(caller, operation, error=error, details=details))
        return error

    async def add_user(
        self, caller: Caller, username: str, password: str, role: str, department: str, display_name: str = ""
    ) -> bool:
        """Create or replace an account (True when new); the change is written to the access log."""
        operation = "console.user.add"
        await self._decide(caller, operation, target=username)
        problems = []
        if (
            not username
            or len(username) > 64
            or not username.replace("-", "").replace("_", "").replace(".", "").isalnum()
        ):
            problems.append(FieldViolation("username", "1-64 letters, digits, '.', '-' or '_'"))
        if role not in CONSOLE_ROLES:
            problems.append(FieldViolation("role", f"one of {', '.join(CONSOLE_ROLES)}"))
        if not DEPARTMENT_CODE.fullmatch(department):
            problems.append(FieldViolation("department", "a department code such as SAMR"))
        elif role == "dept_admin" and self.hub.keyring.department(department) is None:
            # A department admin of an unknown department would sign in to empty pages.
            problems.append(FieldViolation("department", f"no department {department!r} is registered on this hub"))
        if problems:
            refusal = InvalidArgument(
                f"cannot create console account {username!r}", reason="INVALID_ACCOUNT", violations=problems
            )
            raise await self._refused(caller, operation, refusal, target=username[:64])
        user = ConsoleUser(username, hash_password(password), role, department, display_name)
        async with self.hub.db.begin() as conn:
            created = await console_store.put_user(conn, user, now_us())
        summary = f"{'created' if created else 'replaced'} {role} account of {department}"
        await self.hub.record(entry_of(caller, operation, details={"target": username, "summary": summary}))
        return created

    async def list_users(self, caller: Caller) -> list[ConsoleUser]:
        """Every account, by username (the read is logged)."""
        await self._decide(caller, "console.user.list")
        async with self.hub.db.read() as conn:
            found = await console_store.list_users(conn)
        await self.hub.record(entry_of(caller, "console.user.list", details={"accounts": str(len(found))}))
        return found

    async def change_user(self, caller: Caller, username: str, change: str, reason: str) -> ConsoleUser:
        """Disable, enable or remove an account (`change`); the change is written to the access log."""
        operation = CHANGES[change]
        await self._decide(caller, operation, target=username, reason=reason[:500])
        async with self.hub.db.begin() as conn:
            user = await console_store.get_user(conn, username)
            if user is not None and change == "remove":
                await console_store.delete_user(conn, username)
            elif user is not None:
                await console_store.set_disabled(conn, username, change == "disable")
        if user is None:
            refusal = NotFound(
                f"no console account {username!r}; see `exchange console users`", reason="NO_SUCH_ACCOUNT"
            )
            raise await self._refused(caller, operation, refusal, target=username, reason=reason[:500])
        summary = f"{change}d {user.role} account of {user.department}"
        details = {"target": username, "summary": summary, "reason": reason[:500]}
        await self.hub.record(entry_of(caller, operation, details=details))
        return user

    async def has_user(self, username: str) -> bool:
        async with self.hub.db.read() as conn:
            return await console_store.get_user(conn, username) is not None

    async def _log_signin(self, username: str, address: str, department: str, error: ExchangeError | None) -> None:
        said: dict[str, Any] = {} if error else {"message": i18n.translate("signin.done", SIGNED_IN)}
        await self.hub.record(
            entry_of(
                None,
                "console.sign_in",
                error=error,
                department=department,
                officer_id=f"console:{username}",  # cut to the officer-id limit by the log
                details={"address": address},
                **said,
            )
        )

    async def sign_in(self, username: str, password: str, address: str) -> str:
        """Check a password and open a session; return the session cookie value."""
        # The name is stored with each failure: one beyond the column (or with a NUL) must not reach it.
        refused = limits.violation("username", username, limits.USERNAME)
        if refused is not None:
            await self._log_signin(username, address, "", refused)
            raise refused
        now = now_us()
        since = now - FAILURE_WINDOW_SECONDS * 1_000_000
        async with self.hub.db.read() as conn:
            failures = await console_store.count_failures(conn, username, address, since)
            user = await console_store.get_user(conn, username)
        department = user.department if user else ""
        if failures >= MAX_FAILURES:
            message = i18n.translate("signin.rate_limited", SIGN_IN_RATE_LIMITED).format(
                username=username, minutes=FAILURE_WINDOW_SECONDS // 60
            )
            limited = ResourceExhausted(message, reason="SIGN_IN_RATE_LIMITED")
            await self._log_signin(username, address, department, limited)
            raise limited
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
            ok = user is not None and not user.disabled
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None:
            async with self.hub.db.begin() as conn:
                await console_store.add_failure(conn, username, address, now)
            failed = Unauthenticated(i18n.translate("signin.failed", SIGN_IN_FAILED), reason="SIGN_IN_FAILED")
            await self._log_signin(username, address, department, failed)
            raise failed
        token = secrets.token_urlsafe(32)
        session = ConsoleSession(username, secrets.token_urlsafe(32), now + SESSION_SECONDS * 1_000_000)
        async with self.hub.db.begin() as conn:
            await console_store.clear_failures(conn, username, address)
            await console_store.delete_expired_sessions(conn, now)
            await console_store.add_session(conn, token_hash(token), session, now)
            if _hasher.check_needs_rehash(user.password_hash):
                await console_store.set_password_hash(conn, username, _hasher.hash(password))
        await self._log_signin(username, address, department, None)
        return token

    async def account_for(self, token: str) -> Account | None:
        """The account behind a session cookie, or None when it is unknown, expired or disabled."""
        async with self.hub.db.read() as conn:
            session = await console_store.get_session(conn, token_hash(token), now_us())
            user = await console_store.get_user(conn, session.username) if session else None
        if session is None or user is None or user.disabled or user.role not in CONSOLE_ROLES:
            return None
        return Account(user.username, user.role, user.department, user.display_name, session.csrf_token)

    async def sign_out(self, token: str, account: Account) -> None:
        """Delete the session on the server (a copied cookie stops working too) and log it."""
        async with self.hub.db.begin() as conn:
            await console_store.delete_session(conn, token_hash(token))
        await self.hub.record(entry_of(account.caller, "console.sign_out"))
