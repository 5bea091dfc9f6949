"""Console accounts: argon2id passwords, sign-in with a per-account-and-address limit, sessions."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from catalog import limits
from catalog.errors import FieldViolation, InvalidArgument, NotFound, ResourceExhausted, Unauthenticated
from catalog.model import DEPARTMENT_CODE
from exchange.audit.entry import AccessLogEntry
from exchange.auth.identity import Caller, Role
from exchange.clock import now_us
from exchange.console.strings import text
from exchange.hub import Hub
from exchange.storage import console_store
from exchange.storage.console_store import ConsoleSession, ConsoleUser

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


async def add_user(hub: Hub, username: str, password: str, role: str, department: str, display_name: str = "") -> bool:
    """Create or replace an account (True when new); the change is written to the access log."""
    problems = []
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        problems.append(FieldViolation("username", "1-64 letters, digits, '.', '-' or '_'"))
    if role not in CONSOLE_ROLES:
        problems.append(FieldViolation("role", f"one of {', '.join(CONSOLE_ROLES)}"))
    if not DEPARTMENT_CODE.fullmatch(department):
        problems.append(FieldViolation("department", "a department code such as SAMR"))
    elif role == "dept_admin" and hub.keyring.department(department) is None:
        # A department admin of an unknown department would sign in to empty pages.
        problems.append(FieldViolation("department", f"no department {department!r} is registered on this hub"))
    if problems:
        raise InvalidArgument(
            f"cannot create console account {username!r}", reason="INVALID_ACCOUNT", violations=problems
        )
    user = ConsoleUser(username, hash_password(password), role, department, display_name)
    async with hub.db.begin() as conn:
        created = await console_store.put_user(conn, user, now_us())
    await hub.record(
        AccessLogEntry(
            time_us=now_us(),
            request_id=uuid.uuid4().hex,
            action="console.add_user",
            caller_department=department,
            officer_id="system",
            decision="allow",
            details={"target": username, "summary": f"{'created' if created else 'replaced'} {role} account"},
        )
    )
    return created


async def list_users(hub: Hub) -> list[ConsoleUser]:
    async with hub.db.read() as conn:
        return await console_store.list_users(conn)


async def change_user(hub: Hub, username: str, change: str, reason: str) -> ConsoleUser:
    """Disable, enable or remove an account (`change`); the change is written to the access log."""
    async with hub.db.begin() as conn:
        user = await console_store.get_user(conn, username)
        if user is not None and change == "remove":
            await console_store.delete_user(conn, username)
        elif user is not None:
            await console_store.set_disabled(conn, username, change == "disable")
    if user is None:
        refusal = NotFound(f"no console account {username!r}; see `exchange console users`", reason="NO_SUCH_ACCOUNT")
        # A refused change is an attempt on an account all the same: the log keeps it.
        await hub.record(
            AccessLogEntry(
                time_us=now_us(),
                request_id=uuid.uuid4().hex,
                action=f"console.{change}_user",
                officer_id="system",
                decision="deny",
                reason=refusal.reason,
                message=refusal.message,
                outcome="NOT_FOUND",
                details={"target": username, "reason": reason[:500]},
            )
        )
        raise refusal
    await hub.record(
        AccessLogEntry(
            time_us=now_us(),
            request_id=uuid.uuid4().hex,
            action=f"console.{change}_user",
            caller_department=user.department,
            officer_id="system",
            decision="allow",
            details={"target": username, "summary": f"{change}d {user.role} account", "reason": reason[:500]},
        )
    )
    return user


async def _log_signin(hub: Hub, username: str, address: str, department: str, reason: str, message: str) -> None:
    allowed = not reason
    await hub.record(
        AccessLogEntry(
            time_us=now_us(),
            request_id=uuid.uuid4().hex,
            action="console.sign_in",
            caller_department=department,
            officer_id=f"console:{username}",  # cut to the officer-id limit by the recorder
            decision="allow" if allowed else "deny",
            reason=reason,
            message=message,
            outcome="OK" if allowed else "UNAUTHENTICATED",
            details={"address": address},
        )
    )


async def sign_in(hub: Hub, username: str, password: str, address: str) -> str:
    """Check a password and open a session; return the session cookie value."""
    # The name is stored with each failure: one beyond the column (or with a NUL) must not reach it.
    refused = limits.violation("username", username, limits.USERNAME)
    if refused is not None:
        await _log_signin(hub, username, address, "", refused.reason, refused.message)
        raise refused
    now = now_us()
    since = now - FAILURE_WINDOW_SECONDS * 1_000_000
    async with hub.db.read() as conn:
        failures = await console_store.count_failures(conn, username, address, since)
        user = await console_store.get_user(conn, username)
    department = user.department if user else ""
    if failures >= MAX_FAILURES:
        message = text("signin.rate_limited", username=username, minutes=FAILURE_WINDOW_SECONDS // 60)
        await _log_signin(hub, username, address, department, "SIGN_IN_RATE_LIMITED", message)
        raise ResourceExhausted(message, reason="SIGN_IN_RATE_LIMITED")
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and not user.disabled
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        async with hub.db.begin() as conn:
            await console_store.add_failure(conn, username, address, now)
        message = text("signin.failed")
        await _log_signin(hub, username, address, department, "SIGN_IN_FAILED", message)
        raise Unauthenticated(message, reason="SIGN_IN_FAILED")
    token = secrets.token_urlsafe(32)
    session = ConsoleSession(username, secrets.token_urlsafe(32), now + SESSION_SECONDS * 1_000_000)
    async with hub.db.begin() as conn:
        await console_store.clear_failures(conn, username, address)
        await console_store.delete_expired_sessions(conn, now)
        await console_store.add_session(conn, token_hash(token), session, now)
        if _hasher.check_needs_rehash(user.password_hash):
            await console_store.set_password_hash(conn, username, _hasher.hash(password))
    await _log_signin(hub, username, address, department, "", text("signin.done"))
    return token


async def account_for(hub: Hub, token: str) -> Account | None:
    """The account behind a session cookie, or None when it is unknown, expired or disabled."""
    async with hub.db.read() as conn:
        session = await console_store.get_session(conn, token_hash(token), now_us())
        user = await console_store.get_user(conn, session.username) if session else None
    if session is None or user is None or user.disabled or user.role not in CONSOLE_ROLES:
        return None
    return Account(user.username, user.role, user.department, user.display_name, session.csrf_token)


async def sign_out(hub: Hub, token: str, account: Account) -> None:
    """Delete the session on the server (a copied cookie stops working too) and log it."""
    async with hub.db.begin() as conn:
        await console_store.delete_session(conn, token_hash(token))
    await hub.record(
        AccessLogEntry(
            time_us=now_us(),
            request_id=uuid.uuid4().hex,
            action="console.sign_out",
            caller_department=account.department,
            officer_id=f"console:{account.username}",
            officer_role=account.role,
            decision="allow",
        )
    )
