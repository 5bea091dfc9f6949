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
import unicodedata
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import yaml

from catalog.errors import ExchangeError, InvalidArgument
from exchange import i18n
from exchange.client import ClientTLS, HubClient
from exchange.error_text import localized_text
from exchange.i18n import N_

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
            language=i18n.current(),
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
    """Print a refusal in the CLI's language and exit 2.

    In English the error's own message is the text. In another language the text is the hub's
    LocalizedMessage (or the same table applied here), and the English message follows as the
    details: it names the values at fault, which a per-reason translation cannot.
    """
    language = i18n.current()
    label = i18n.translate("cli.error", "error")
    details = i18n.translate("cli.details", "details")
    reason = i18n.translate("cli.reason", "reason")
    if language == "en":
        click.secho(f"{label}: {error.message}", fg="red", err=True)
    else:
        shown = error.localized_message if error.locale == language else localized_text(error, language)
        click.secho(f"{label}: {shown}", fg="red", err=True)
        click.echo(f"  {details}: {error.message}", err=True)
    for violation in error.violations:
        click.echo(f"  {violation.field}: {violation.description}", err=True)
    if error.reason:
        click.echo(f"  ({reason}: {error.reason})", err=True)
    sys.exit(2)


HEADINGS = {
    "action": N_("cli.column.action", "ACTION"),
    "avoided": N_("cli.column.avoided", "SUBMISSIONS AVOIDED"),
    "case": N_("cli.column.case", "CASE"),
    "clock": N_("cli.column.clock", "CLOCK"),
    "code": N_("cli.column.code", "CODE"),
    "consumer": N_("cli.column.consumer", "CONSUMER"),
    "dataset": N_("cli.column.dataset", "DATASET"),
    "days_left": N_("cli.column.days_left", "WORKING DAYS LEFT"),
    "deadline": N_("cli.column.deadline", "DEADLINE"),
    "decision": N_("cli.column.decision", "DECISION"),
    "department": N_("cli.column.department", "DEPARTMENT"),
    "detail": N_("cli.column.detail", "DETAIL"),
    "due": N_("cli.column.due", "ANSWER DUE"),
    "fetched": N_("cli.column.fetched", "FETCHED ONCE"),
    "fields": N_("cli.column.fields", "FIELDS"),
    "id": N_("cli.column.id", "ID"),
    "index": N_("cli.column.index", "INDEX"),
    "item": N_("cli.column.item", "SERVICE ITEM"),
    "items": N_("cli.column.items", "SERVICE ITEMS"),
    "kind": N_("cli.column.kind", "KIND"),
    "lead": N_("cli.column.lead", "LEAD"),
    "name": N_("cli.column.name", "NAME"),
    "officer": N_("cli.column.officer", "OFFICER"),
    "owner": N_("cli.column.owner", "OWNER"),
    "rate": N_("cli.column.rate", "RATE"),
    "reads_from_case": N_("cli.column.reads_from_case", "READS FROM CASE"),
    "reason": N_("cli.column.reason", "REASON"),
    "relation": N_("cli.column.relation", "RELATION"),
    "state": N_("cli.column.state", "STATE"),
    "status": N_("cli.column.status", "STATUS"),
    "step": N_("cli.column.step", "STEP"),
    "subject": N_("cli.column.subject", "SUBJECT"),
    "time": N_("cli.column.time", "TIME"),
    "title": N_("cli.column.title", "TITLE"),
    "until": N_("cli.column.until", "VALID UNTIL"),
    "version": N_("cli.column.version", "VERSION"),
    "when": N_("cli.column.when", "WHEN"),
    "who": N_("cli.column.who", "WHO"),
}


def heading(column: str) -> str:
    """A column's heading in the CLI's language (unknown columns: the name in capitals)."""
    source = HEADINGS.get(column)
    context = "cli.column." + column
    return column.upper() if source is None else i18n.translate(context, source)


def _width(text: str) -> int:
    """Columns a terminal gives `text`: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def print_table(rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    """A plain text table, wide enough for its contents (Chinese characters count double)."""
    rows = list(rows)
    titles = {c: heading(c) for c in columns}
    widths = {c: max([_width(titles[c]), *(_width(str(r.get(c, ""))) for r in rows)]) for c in columns}
    click.echo("  ".join(_pad(titles[c], widths[c]) for c in columns).rstrip())
    for r in rows:
        click.echo("  ".join(_pad(str(r.get(c, "")), widths[c]) for c in columns).rstrip())


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
