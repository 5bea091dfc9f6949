"""What every `exchange` command shares: the connection profile, running coroutines, printing errors.

Commands that act on a running hub connect with a profile: the hub's address, the
department and officer acting, the department's token key, the roles claimed, and
the TLS files. `exchange init` writes one for the hub's own administrator; any
option can also come from EXCHANGE_HUB, EXCHANGE_DEPARTMENT, ... environment variables.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import yaml

from catalog.errors import ExchangeError, InvalidArgument
from exchange.client import ClientTLS, HubClient

T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    hub: str = "127.0.0.1:50051"
    department: str = ""
    officer: str = "admin"
    key: str = ""
    roles: tuple[str, ...] = ("hub_admin",)
    ca: str = ""
    cert: str = ""
    client_key: str = ""
    server_name: str = ""

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        base = Path(path).parent
        for name in ("key", "ca", "cert", "client_key"):
            if data.get(name) and not Path(data[name]).is_absolute():
                data[name] = str(base / data[name])
        if "roles" in data:
            data["roles"] = tuple(data["roles"])
        return cls(**data)

    def dump(self, path: Path) -> None:
        data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items() if v}
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    def client(self) -> HubClient:
        if not self.department or not self.key:
            raise InvalidArgument(
                "no identity to call the hub with: pass --profile (written by `exchange init`) or "
                "--department and --key",
                reason="CLI_PROFILE_MISSING",
            )
        try:
            tls = ClientTLS.from_files(self.ca, self.cert, self.client_key) if self.ca else None
        except OSError as error:
            raise InvalidArgument(
                f"the profile names a TLS file that cannot be read: {error.filename} ({error.strerror})",
                reason="CLI_PROFILE_INVALID",
            ) from None
        return HubClient.connect(
            self.hub,
            department=self.department,
            officer=self.officer,
            key=self.key,
            roles=self.roles,
            tls=tls,
            server_name=self.server_name or None,
        )


def profile_options(func: Callable[..., Any] | None = None, *, officer_flag: str = "--officer") -> Any:
    """Options naming the hub and the identity to call it with.

    A command whose own `--officer` names someone else (`departments roles`) takes the acting
    officer as another flag: `@profile_options(officer_flag="--as-officer")`.
    """
    if func is None:
        return functools.partial(profile_options, officer_flag=officer_flag)
    options = [
        click.option("--profile", envvar="EXCHANGE_PROFILE", type=click.Path(dir_okay=False), help="Profile file."),
        click.option("--hub", envvar="EXCHANGE_HUB", help="Hub address host:port."),
        click.option("--department", envvar="EXCHANGE_DEPARTMENT", help="Department acting."),
        click.option(
            officer_flag, "acting_officer", envvar="EXCHANGE_OFFICER", help="Officer id (the token's subject)."
        ),
        click.option("--key", envvar="EXCHANGE_KEY", type=click.Path(dir_okay=False), help="Token signing key."),
        click.option("--roles", envvar="EXCHANGE_ROLES", help="Comma-separated roles to claim."),
    ]
    command: Callable[..., Any] = func
    for option in reversed(options):
        command = option(command)

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        profile: str | None,
        hub: str | None,
        department: str | None,
        acting_officer: str | None,
        key: str | None,
        roles: str | None,
        **kwargs: Any,
    ) -> Any:
        base = Profile.load(profile) if profile else Profile()
        chosen = Profile(
            hub=hub or base.hub,
            department=department or base.department,
            officer=acting_officer or base.officer,
            key=key or base.key,
            roles=tuple(r.strip() for r in roles.split(",")) if roles else base.roles,
            ca=base.ca,
            cert=base.cert,
            client_key=base.client_key,
            server_name=base.server_name,
        )
        return command(*args, profile=chosen, **kwargs)

    return wrapper


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; print a domain error as a person-readable message and exit 2."""
    try:
        return asyncio.run(coro)
    except ExchangeError as error:
        fail(error)


def fail(error: ExchangeError) -> NoReturn:
    click.secho(f"error: {error.message}", fg="red", err=True)
    for violation in error.violations:
        click.echo(f"  {violation.field}: {violation.description}", err=True)
    if error.reason:
        click.echo(f"  (reason: {error.reason})", err=True)
    sys.exit(2)


def print_table(rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    """A plain text table, wide enough for its contents."""
    rows = list(rows)
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        click.echo("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
