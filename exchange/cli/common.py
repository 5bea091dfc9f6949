"""What every `exchange` command shares: the connection profile, running coroutines, printing errors and output.

Commands that act on a running hub connect with a profile: the hub's address, the department and
officer acting, the department's token key, the roles claimed, and the TLS files. `exchange init`
writes one for the hub's own administrator, `exchange profile create` one for anybody else. Every
option can also come from an environment variable (EXCHANGE_HUB, EXCHANGE_DEPARTMENT, ...) and wins
over the profile's value. The keys are documented in docs/operations.md ("CLI profiles").
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import unicodedata
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import yaml

from catalog.spec_reader import MISSING, SpecReader
from catalog.yaml_io import load_yaml_text
from exchange import i18n
from exchange.cli.messages import EXIT_CONNECTION, EXIT_REFUSED, connection_hint
from exchange.client import ClientTLS, HubClient
from exchange.error_text import localized_text
from exchange.errors import ExchangeError, FieldViolation, InvalidArgument, Unavailable
from exchange.i18n import N_

T = TypeVar("T")

# Profile keys holding file names: relative names are taken from the profile file's folder.
FILE_KEYS = ("key", "ca", "cert", "client_key")
# Accepted in a profile file as another name for a key (written by older or other tools).
KEY_ALIASES = {"token_key": "key", "tls_key": "client_key"}
# An option or argument naming a file that must already exist.
EXISTING_FILE = click.Path(exists=True, dir_okay=False)


@dataclass(frozen=True)
class Profile:
    """Who calls which hub, how. One YAML mapping per file; every key optional.

    hub: host:port of the hub's gRPC listener; department: the acting department's code;
    officer: the token's subject; key: the department's token signing key (private PEM);
    roles: the roles the token asks for; ca: the hub's CA certificate; cert / client_key: the
    department's client certificate and its key (mTLS); server_name: the name to expect in the
    hub's certificate when --hub is an address not in it.
    """

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
        """Read a profile file with the catalog's SpecReader: a typo is named, not silently a default."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidArgument(
                f"cannot read the profile {path}: {getattr(error, 'strerror', None) or error}",
                reason="CLI_PROFILE_INVALID",
            ) from None
        data = load_yaml_text(text, str(path), reason="CLI_PROFILE_INVALID") or {}
        problems: list[FieldViolation] = []
        names = [f.name for f in fields(cls)]
        r = SpecReader(data, "", (*names, *KEY_ALIASES), problems)
        values: dict[str, Any] = {}
        for name in names:
            # A key by its own name, else by an alias.
            key = next((k for k in (name, *(a for a, n in KEY_ALIASES.items() if n == name)) if k in r.data), name)
            if name != "roles":
                value = r.text(key, required=False)
                if value is not None:
                    values[name] = value
            elif isinstance(r.data.get(key), str):  # roles: officer, case_officer
                values[name] = tuple(role.strip() for role in r.data[key].split(","))
            elif r.raw(key, False) is not MISSING:
                values[name] = r.strings(key)
        if problems:
            raise InvalidArgument(
                f"the profile {path} has {len(problems)} problem(s)",
                reason="CLI_PROFILE_INVALID",
                violations=problems,
            )
        base = Path(path).parent
        for name in FILE_KEYS:
            if values.get(name) and not Path(values[name]).is_absolute():
                values[name] = str(base / values[name])
        return cls(**values)

    def dump(self, path: Path) -> None:
        data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items() if v}
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @property
    def tls(self) -> bool:
        return bool(self.ca)

    def token(self, ttl_seconds: int = 300) -> str:
        """A fresh token for this profile's identity (for tools such as grpcurl; one per connection)."""
        from exchange.auth.identity import HUB_AUDIENCE_DEFAULT, Role
        from exchange.auth.keys import key_id, load_private_key
        from exchange.auth.tokens import mint_token

        self._require_identity()
        private_key = load_private_key(self.key)
        return mint_token(
            private_key,
            issuer=self.department,
            kid=key_id(private_key.public_key()),
            subject=self.officer,
            roles=[Role(r) for r in self.roles],
            audience=HUB_AUDIENCE_DEFAULT,
            ttl_seconds=ttl_seconds,
        )

    def _require_identity(self) -> None:
        """Refuse with a clear message when neither a profile nor --department and --token-key name an identity."""
        if not self.department or not self.key:
            raise InvalidArgument(
                "no identity to call the hub with: pass --profile (written by `exchange init` or "
                "`exchange profile create`) or --department and --token-key",
                reason="CLI_PROFILE_MISSING",
            )

    def client(self) -> HubClient:
        self._require_identity()
        try:
            tls = ClientTLS.from_files(self.ca, self.cert, self.client_key) if self.ca else None
        except OSError as error:
            raise InvalidArgument(
                f"the profile names a TLS file that cannot be read: {error.filename} ({error.strerror})",
                reason="CLI_PROFILE_INVALID",
            ) from None
        try:
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
        except (OSError, ValueError, TypeError) as error:
            raise InvalidArgument(
                f"the token key {self.key} (--token-key, profile key `key`) cannot be used: "
                f"{getattr(error, 'strerror', None) or error}; it must be the department's private token key "
                "(`exchange departments keygen`)",
                reason="CLI_PROFILE_INVALID",
            ) from None


# The command being run: `run` names the hub in connection hints.
_current_profile: list[Profile] = []


def profile_options(func: Callable[..., Any] | None = None, *, officer_flag: str = "--officer") -> Any:
    """Options naming the hub and the identity to call it with (each wins over the profile's key).

    A command whose own `--officer` names someone else (`departments roles`) takes the acting
    officer as another flag: `@profile_options(officer_flag="--as-officer")`.
    """
    if func is None:
        return functools.partial(profile_options, officer_flag=officer_flag)
    path = click.Path(dir_okay=False)
    options = [
        click.option("--profile", envvar="EXCHANGE_PROFILE", type=path, help="Profile file (see `exchange profile`)."),
        click.option("--hub", envvar="EXCHANGE_HUB", help="Hub address host:port."),
        click.option("--department", envvar="EXCHANGE_DEPARTMENT", help="Department acting."),
        click.option(
            officer_flag, "acting_officer", envvar="EXCHANGE_OFFICER", help="Officer id (the token's subject)."
        ),
        click.option("--roles", envvar="EXCHANGE_ROLES", help="Comma-separated roles to claim."),
        click.option("--token-key", envvar="EXCHANGE_TOKEN_KEY", type=path, help="The department's token key."),
        click.option("--ca", "ca", envvar="EXCHANGE_CA", type=path, help="The hub's CA certificate (PEM)."),
        click.option("--cert", envvar="EXCHANGE_CERT", type=path, help="Client certificate (PEM)."),
        click.option("--key", "tls_key", envvar="EXCHANGE_KEY", type=path, help="Client certificate's key (PEM)."),
        click.option("--server-name", envvar="EXCHANGE_SERVER_NAME", help="Name in the hub's certificate."),
    ]
    command: Callable[..., Any] = func
    for option in reversed(options):
        command = option(command)

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            chosen = choose_profile(kwargs)
        except ExchangeError as error:
            fail(error)
        _current_profile[:] = [chosen]
        return command(*args, profile=chosen, **kwargs)

    return wrapper


def choose_profile(options: dict[str, Any]) -> Profile:
    """The profile file's values, overridden by each option given (popped from `options`)."""
    path = options.pop("profile")
    given = {name: options.pop(name) for name in ("hub", "department", "acting_officer", "roles", "server_name")}
    token_key, ca, cert, tls_key = (options.pop(n) for n in ("token_key", "ca", "cert", "tls_key"))
    base = Profile.load(path) if path else Profile()
    if tls_key and not token_key and not (cert or base.cert):
        # Before --token-key existed, --key named the token key; without a client certificate it still does.
        token_key, tls_key = tls_key, None
    return replace(
        base,
        hub=given["hub"] or base.hub,
        department=given["department"] or base.department,
        officer=given["acting_officer"] or base.officer,
        roles=tuple(r.strip() for r in given["roles"].split(",")) if given["roles"] else base.roles,
        key=token_key or base.key,
        ca=ca or base.ca,
        cert=cert or base.cert,
        client_key=tls_key or base.client_key,
        server_name=given["server_name"] or base.server_name,
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; print a domain error as a person-readable message and exit 2 (3: no connection)."""
    try:
        return asyncio.run(coro)
    except ExchangeError as error:
        fail(error)


def fail(error: ExchangeError) -> NoReturn:
    """Print a refusal in the CLI's language and exit 2 (3: no connection to the hub, with a hint)."""
    say_error(error, i18n.translate("cli.error", "error"))
    # The hub's own UNAVAILABLE (an adapter down) carries its reason; a transport failure has none but the code.
    if isinstance(error, Unavailable) and error.reason == "UNAVAILABLE" and _current_profile:
        profile = _current_profile[0]
        hint = connection_hint(error.message, hub=profile.hub, tls=profile.tls)
        click.echo("  " + i18n.tr("cli.probably", "probably: {hint}", hint=hint), err=True)
        sys.exit(EXIT_CONNECTION)
    sys.exit(EXIT_REFUSED)


def failed_check(error: ExchangeError) -> NoReturn:
    """Print why an offline check (a document, a proof, an export) does not hold, and exit 1."""
    say_error(error, i18n.translate("cli.failed", "FAILED"))
    sys.exit(1)


def say_error(error: ExchangeError, label: str) -> None:
    """An error on stderr in the CLI's language: ``label: text``, the fields at fault and the reason code.

    In English the error's own message is the text. In another language the text is the hub's
    LocalizedMessage (or the same table applied here), and the English message follows as the
    details: it names the values at fault, which a per-reason translation cannot.
    """
    language = i18n.current()
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
        field = error.metadata.get("field", "")
        where = i18n.tr("cli.error_field", ", field {field}", field=field) if field else ""
        click.echo(f"  ({reason}: {error.reason}{where})", err=True)


class CommandList(list[click.Command]):
    """A module's commands, declared with ``@COMMANDS.command(name)``, for a group elsewhere to add."""

    def command(self, name: str) -> Callable[[Callable[..., Any]], click.Command]:
        def add(func: Callable[..., Any]) -> click.Command:
            command = click.command(name)(func)
            self.append(command)
            return command

        return add


# --- output ---------------------------------------------------------------------------------------

OUTPUT_FORMATS = ("table", "json", "yaml")


def output_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--output table|json|yaml` (`-o`): human tables by default, JSON or YAML for scripts."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(OUTPUT_FORMATS),
        default="table",
        show_default=True,
        help="Output format: a table for people, json or yaml for scripts.",
    )(func)


def emit_rows(rows: Iterable[Mapping[str, Any]], columns: list[str], output: str) -> None:
    """A list: a table, or every row as JSON/YAML."""
    rows = [dict(r) for r in rows]
    if output == "json":
        print_json(rows)
    elif output == "yaml":
        print_yaml(rows)
    else:
        print_table(rows, columns)


def emit_record(record: Mapping[str, Any], output: str) -> None:
    """One thing: readable `key: value` lines (nested lists as YAML), or JSON/YAML."""
    if output == "json":
        print_json(record)
    else:
        print_yaml(dict(record))


def show_record(
    profile: Profile, record: Callable[[HubClient], Coroutine[Any, Any, Mapping[str, Any]]], output: str
) -> None:
    """Ask the hub for one thing (`record` of a connected client) and print it in the `--output` format."""

    async def go() -> None:
        async with profile.client() as hub:
            emit_record(await record(hub), output)

    run(go())


def show_rows(
    profile: Profile,
    rows: Callable[[HubClient], Coroutine[Any, Any, Iterable[Mapping[str, Any]]]],
    columns: list[str],
    output: str,
) -> None:
    """Ask the hub for a list (`rows` of a connected client) and print it in the `--output` format."""

    async def go() -> None:
        async with profile.client() as hub:
            emit_rows(await rows(hub), columns, output)

    run(go())


HEADINGS = {
    "action": N_("cli.column.action", "ACTION"),
    "answered": N_("cli.column.answered", "ANSWERED IN TIME"),
    "attempts": N_("cli.column.attempts", "ATTEMPTS"),
    "avg_days": N_("cli.column.avg_days", "AVERAGE WORKING DAYS"),
    "avoided": N_("cli.column.avoided", "SUBMISSIONS AVOIDED"),
    "case": N_("cli.column.case", "CASE"),
    "clock": N_("cli.column.clock", "CLOCK"),
    "code": N_("cli.column.code", "CODE"),
    "consumer": N_("cli.column.consumer", "CONSUMER"),
    "dataset": N_("cli.column.dataset", "DATASET"),
    "escalations": N_("cli.column.escalations", "ESCALATIONS"),
    "days_left": N_("cli.column.days_left", "WORKING DAYS LEFT"),
    "deadline": N_("cli.column.deadline", "DEADLINE"),
    "decision": N_("cli.column.decision", "DECISION"),
    "department": N_("cli.column.department", "DEPARTMENT"),
    "detail": N_("cli.column.detail", "DETAIL"),
    "digest": N_("cli.column.digest", "DIGEST"),
    "due": N_("cli.column.due", "ANSWER DUE"),
    "error": N_("cli.column.error", "LAST ERROR"),
    "event": N_("cli.column.event", "EVENT"),
    "fetched": N_("cli.column.fetched", "FETCHED ONCE"),
    "fields": N_("cli.column.fields", "FIELDS"),
    "id": N_("cli.column.id", "ID"),
    "index": N_("cli.column.index", "INDEX"),
    "issuer": N_("cli.column.issuer", "ISSUER"),
    "item": N_("cli.column.item", "SERVICE ITEM"),
    "key": N_("cli.column.key", "KEY"),
    "items": N_("cli.column.items", "SERVICE ITEMS"),
    "kind": N_("cli.column.kind", "KIND"),
    "lead": N_("cli.column.lead", "LEAD"),
    "level": N_("cli.column.level", "WARNING"),
    "material": N_("cli.column.material", "MATERIAL"),
    "ms": N_("cli.column.ms", "MS"),
    "name": N_("cli.column.name", "NAME"),
    "officer": N_("cli.column.officer", "OFFICER"),
    "on_time": N_("cli.column.on_time", "ON TIME"),
    "owner": N_("cli.column.owner", "OWNER"),
    "pauses": N_("cli.column.pauses", "PAUSES"),
    "previous": N_("cli.column.previous", "PREVIOUS STATUS"),
    "rate": N_("cli.column.rate", "RATE"),
    "reads_from_case": N_("cli.column.reads_from_case", "READS FROM CASE"),
    "reason": N_("cli.column.reason", "REASON"),
    "reference": N_("cli.column.reference", "REFERENCE"),
    "result": N_("cli.column.result", "RESULT"),
    "relation": N_("cli.column.relation", "RELATION"),
    "reused": N_("cli.column.reused", "REUSED"),
    "scope": N_("cli.column.scope", "SCOPE"),
    "source": N_("cli.column.source", "SOURCE"),
    "state": N_("cli.column.state", "STATE"),
    "status": N_("cli.column.status", "STATUS"),
    "step": N_("cli.column.step", "STEP"),
    "subject": N_("cli.column.subject", "SUBJECT"),
    "time": N_("cli.column.time", "TIME"),
    "title": N_("cli.column.title", "TITLE"),
    "until": N_("cli.column.until", "VALID UNTIL"),
    "certificate": N_("cli.column.certificate", "CERTIFICATE"),
    "days_to_expiry": N_("cli.column.days_to_expiry", "DAYS TO EXPIRY"),
    "file": N_("cli.column.file", "FILE"),
    "identity": N_("cli.column.identity", "IDENTITY"),
    "version": N_("cli.column.version", "VERSION"),
    "volume": N_("cli.column.volume", "VOLUME"),
    "warnings": N_("cli.column.warnings", "YELLOW/RED"),
    "when": N_("cli.column.when", "WHEN"),
    "adapter": N_("cli.column.adapter", "ADAPTER"),
    "basic_code": N_("cli.column.basic_code", "BASIC CODE"),
    "classification": N_("cli.column.classification", "CLASSIFICATION"),
    "days": N_("cli.column.days", "DAYS"),
    "implementation_code": N_("cli.column.implementation_code", "IMPLEMENTATION CODE"),
    "keys": N_("cli.column.keys", "KEYS"),
    "materials": N_("cli.column.materials", "MATERIALS"),
    "resource_code": N_("cli.column.resource_code", "RESOURCE CODE"),
    "reviewers": N_("cli.column.reviewers", "CO-REVIEWERS"),
    "role": N_("cli.column.role", "ROLE"),
    "sharing": N_("cli.column.sharing", "SHARING TYPE"),
    "username": N_("cli.column.username", "USERNAME"),
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


def print_table(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> None:
    """A plain text table, wide enough for its contents (Chinese characters count double)."""
    rows = list(rows)
    titles = {c: heading(c) for c in columns}
    widths = {c: max([_width(titles[c]), *(_width(str(r.get(c, ""))) for r in rows)]) for c in columns}
    click.echo("  ".join(_pad(titles[c], widths[c]) for c in columns).rstrip())
    for r in rows:
        click.echo("  ".join(_pad(str(r.get(c, "")), widths[c]) for c in columns).rstrip())


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_yaml(data: Any) -> None:
    click.echo(yaml.safe_dump(json.loads(json.dumps(data, default=str)), allow_unicode=True, sort_keys=False), nl=False)
