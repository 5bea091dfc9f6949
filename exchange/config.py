"""The hub's settings: one typed object, read from a YAML file and EXCHANGE_* environment variables.

Every setting has a default that runs a single hub on SQLite. A wrong value stops
start-up with a message naming the setting (``grpc_listen: expected host:port, got '50051'``).
Environment variables win over the file: ``EXCHANGE_DATABASE_URL`` sets ``database_url``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from catalog.model import DEPARTMENT_CODE
from catalog.spec_reader import MISSING, SpecReader
from catalog.yaml_io import load_yaml_text
from exchange.errors import FieldViolation, InvalidArgument

# What happens to an access request answered after its limit (Settings.late_answer).
LATE_ANSWER_RULES = ("allow_marked", "refuse")

_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")


@dataclass(frozen=True)
class Settings:
    """Everything an operator can set. Paths are relative to the data directory unless absolute."""

    data_dir: Path = Path("data")
    # Empty: SQLite in the data directory. Else sqlite:///PATH or postgresql://USER@HOST/DB.
    database_url: str = ""
    # PostgreSQL schema holding this hub's tables (several deployments on one database); empty: the default.
    database_schema: str = ""
    grpc_listen: str = "127.0.0.1:50051"
    # Console, /metrics and /healthz; empty to turn the HTTP listener off.
    http_listen: str = "127.0.0.1:8080"
    # The `aud` every token must carry, and the name in the hub's certificate.
    hub_name: str = "exchange-hub"
    # The hub operator's own department: the only one that can hold hub_admin and auditor.
    hub_department: str = "HUB"
    # The access log's origin line (C2SP tlog-checkpoint). Empty: the log's stored origin, or for a new log
    # "<hub_name>/<deployment id>/access-log" with the id kept in data_dir/deployment-id (exchange.audit.origin).
    log_origin: str = ""
    # Plain-text gRPC without TLS: development only, and the hub says so loudly.
    insecure_dev: bool = False
    tls_cert: str = "pki/server.crt"
    tls_key: str = "pki/server.key"
    # CA that signs department client certificates (mTLS) and adapters' server certificates.
    tls_client_ca: str = "pki/ca.crt"
    # What the hub presents to adapters: the hub client profile (clientAuth, urn:exchange:hub:<hub_name>).
    tls_client_cert: str = "pki/hub-client.crt"
    tls_client_key: str = "pki/hub-client.key"
    # The CA's revocation list (`exchange pki revoke`/`crl`); re-read when it changes; no file = nothing revoked.
    crl_file: str = "pki/crl.pem"
    # The hub's document-signing certificate (hub CA, digitalSignature + nonRepudiation) and key: the PAdES
    # signature of annotated copies (加注件). Made by `exchange pki init`.
    document_signing_cert: str = "pki/document-signing.crt"
    document_signing_key: str = "pki/document-signing.key"
    # The CJK font embedded (as a subset) in annotated copies: an OpenType/TrueType file or collection
    # (Debian fonts-noto-cjk); in a collection the Simplified Chinese face is used.
    annotated_copy_font: str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    # How long an annotated copy is valid (never past the licence's own validity).
    annotated_copy_valid_days: int = 30
    # Ed25519 key the hub signs checkpoints with (made by `exchange init`).
    signing_key: str = "hub-signing.key"
    # The checkpoint key's history (`exchange audit rotate-key` appends a handover statement); auditors need it.
    signing_key_history: str = "hub-signing.history"
    checkpoint_interval_seconds: float = 10.0
    adapter_timeout_seconds: float = 3.0
    adapter_retries: int = 2
    # Scans: how long the adapter may take to send its first message (the schema), how long it may then
    # fall silent between two messages, and the most a whole scan may take (the caller's deadline may be shorter).
    scan_first_message_timeout_seconds: float = 15.0
    scan_idle_timeout_seconds: float = 30.0
    scan_max_seconds: float = 3600.0
    # Consecutive failures that open a department's circuit breaker, and how long it stays open.
    breaker_failures: int = 5
    breaker_reset_seconds: float = 10.0
    max_message_bytes: int = 4 * 1024 * 1024
    max_concurrent_rpcs: int = 1000
    token_max_lifetime_seconds: int = 900
    token_leeway_seconds: int = 30
    # Working days a department admin has to answer a conditional access request.
    access_request_days: int = 10
    # Supervision (电子监察): reminders this many working days before a request's or a case's limit,
    # a case's yellow warning this many working days before its limit (red once it has passed).
    reminder_working_days: int = 2
    yellow_working_days: int = 1
    # An access request answered after its limit: allow_marked (allowed, marked late) or refuse.
    late_answer: str = "allow_marked"
    # Working days an issuing department has to answer a correction ticket (校核纠错); later answers count as late.
    ticket_answer_working_days: int = 5
    # How often the hub's supervision task looks at time limits (0: never; ticks are then run by hand).
    supervision_interval_seconds: float = 300.0
    # The periodic supervision report (weekly and monthly PDF and CSV), written into this directory.
    supervision_report_enabled: bool = False
    supervision_report_dir: str = "reports"
    # Holidays and make-up working days: the shipped years (2025, 2026) with this YAML file, or every YAML
    # file of this folder, laid over them; a year the operator's files declare replaces the shipped one.
    calendar_file: str = ""
    # Whether the shipped State Council arrangements count (off: only calendar_file).
    calendar_shipped: bool = True
    # The zone every time a person reads or types is in (console, CLI); storage and the log stay UTC.
    time_zone: str = "Asia/Shanghai"
    # The format of the national government-service item catalogue's codes a service item may carry
    # (unconfirmed defaults, local catalogues vary): the basic code (基本编码) as 12 digits or capitals, the
    # implementation code (实施编码) as the implementing agency's unified social credit code (18) followed
    # by 13 to 18 digits or capitals (a service-type digit, the basic code, an optional handling-item suffix).
    item_basic_code_pattern: str = r"^[0-9A-Z]{12}$"
    item_implementation_code_pattern: str = r"^[0-9A-HJ-NPQRTUWXY]{18}[0-9A-Z]{13,18}$"
    # The language of the console (zh-CN or en) when neither the account nor the browser chooses one.
    default_language: str = "zh-CN"
    # The agency that issues citizen access reports (the console's printable report): its name heads the
    # report, the address and contact line stand under it (e.g. where a citizen asks about an entry).
    report_agency_name: str = ""
    report_agency_address: str = ""
    report_agency_contact: str = ""
    # SQLite's synchronous pragma: FULL survives power loss, NORMAL only a process crash.
    sqlite_synchronous: str = "FULL"
    log_level: str = "INFO"
    # OTLP/gRPC endpoint for traces (e.g. http://otel-collector:4317); empty: no spans, trace context still passed on.
    otlp_endpoint: str = ""
    # Webhooks (docs/api.md, Notifications): the CA file that signs department webhook servers' certificates
    # (empty: the system trust store); plain http is refused but to loopback with webhook_loopback_http (dev).
    webhook_ca_file: str = ""
    webhook_loopback_http: bool = False
    webhook_timeout_seconds: float = 10.0
    # Attempts before an event becomes a dead letter; the wait doubles from the first retry's, up to the longest.
    webhook_max_attempts: int = 8
    webhook_retry_seconds: float = 30.0
    webhook_retry_max_seconds: float = 3600.0
    # How often each replica looks for due webhook deliveries and new events for its Subscribe streams.
    notification_poll_seconds: float = 1.0
    # How often the hub asks adapters the status of licences held by open cases (the fallback of WatchStatus).
    status_poll_seconds: float = 300.0

    def path(self, value: str) -> Path:
        """A configured path, resolved against the data directory."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.data_dir / p

    def read_file(self, name: str) -> bytes:
        """The contents of the file a path setting names, or an error that names the setting."""
        path = self.path(getattr(self, name))
        try:
            return path.read_bytes()
        except OSError as error:
            raise InvalidArgument(
                f"{name}: cannot read {path} ({error.strerror}); run `exchange init` to create the hub's keys "
                "and certificates, or set insecure_dev for development",
                reason="SETTINGS",
                violations=[FieldViolation(name, f"cannot read {path}")],
            ) from None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'exchange.db'}"


_KINDS: dict[str, type] = {"Path": Path, "str": str, "int": int, "float": float, "bool": bool}
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def _from_text(raw: Any, kind: type) -> Any:
    """An environment variable's (or option's) text as the setting's type; as given when it does not convert,
    for the reader to name as it names the same mistake in the file."""
    if isinstance(raw, Path):
        return str(raw)
    if not isinstance(raw, str) or kind in (str, Path):
        return raw
    text = raw.strip()
    if kind is bool:
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else raw
    try:
        return kind(text)
    except ValueError:
        return raw


def _read(r: SpecReader, name: str, kind: type, default: Any) -> Any:
    """One setting read with the catalog's SpecReader; None when it is left out or wrong (the default stands)."""
    if kind is bool:
        return r.flag(name, default) if r.raw(name, False) is not MISSING else None
    if kind is int:
        return r.integer(name, 0, required=False)
    if kind is float:
        return r.number(name, default, 0) if r.raw(name, False) is not MISSING else None
    text = r.text(name, required=False)
    return None if text is None else Path(text) if kind is Path else text


def load_settings(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Read the file (if any), then the environment, then explicit overrides; validate all of it.

    The merged settings are read with the catalog's SpecReader, so a mistake reads as in any spec file.
    """
    environ = os.environ if environ is None else environ
    loaded: Any = {}
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidArgument(f"cannot read settings file {path}: {error.strerror}", reason="SETTINGS") from error
        loaded = load_yaml_text(text, str(path), reason="SETTINGS") or {}
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    kinds = {name: _KINDS[str(f.type)] for name, f in fields.items()}
    problems: list[FieldViolation] = []
    values: dict[str, Any] = dict(loaded) if isinstance(loaded, Mapping) else {}
    for name, kind in kinds.items():
        env_name = f"EXCHANGE_{name.upper()}"
        if env_name in environ:
            values[name] = _from_text(environ[env_name], kind)
    values.update({k: _from_text(v, kinds.get(k, str)) for k, v in overrides.items() if v is not None})
    r = SpecReader(values if isinstance(loaded, Mapping) else loaded, "", tuple(fields), problems)
    read = {name: _read(r, name, kind, fields[name].default) for name, kind in kinds.items()}
    # Validate what was read right too (defaults stand in for the rest), so every wrong setting is named at once.
    settings = Settings(**{name: value for name, value in read.items() if value is not None})
    named = {p.field for p in problems}
    problems.extend(p for p in _validate(settings) if p.field not in named)
    if problems:
        wrong = ", ".join(p.field for p in problems)
        raise InvalidArgument(
            f"{len(problems)} setting(s) are wrong: {wrong}",
            reason="SETTINGS",
            violations=problems,
            metadata={"settings": wrong},
        )
    return settings


def _validate(s: Settings) -> list[FieldViolation]:
    problems = []
    if s.database_schema and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", s.database_schema):
        problems.append(FieldViolation("database_schema", "lower-case letters, digits and _, at most 63"))
    if s.database_schema and not s.database_url.startswith("postgres"):
        problems.append(FieldViolation("database_schema", "a schema needs a PostgreSQL database_url"))
    for name in ("grpc_listen", "http_listen"):
        value = getattr(s, name)
        if name == "http_listen" and value == "":
            continue
        match = _HOST_PORT.match(value)
        if not match or int(match.group(2)) > 65535:
            problems.append(FieldViolation(name, f"expected host:port such as 127.0.0.1:50051, got {value!r}"))
    if not DEPARTMENT_CODE.match(s.hub_department):
        problems.append(
            FieldViolation("hub_department", f"a department code such as HUB (A-Z, 0-9, -), got {s.hub_department!r}")
        )
    if s.database_url and not s.database_url.startswith(("sqlite", "postgres")):
        problems.append(FieldViolation("database_url", "expected sqlite:///PATH or postgresql://USER@HOST/DB"))
    positive = (
        "checkpoint_interval_seconds",
        "adapter_timeout_seconds",
        "scan_first_message_timeout_seconds",
        "scan_idle_timeout_seconds",
        "scan_max_seconds",
        "max_message_bytes",
        "max_concurrent_rpcs",
        "token_max_lifetime_seconds",
        "access_request_days",
        "annotated_copy_valid_days",
        "webhook_timeout_seconds",
        "webhook_max_attempts",
        "webhook_retry_seconds",
        "webhook_retry_max_seconds",
        "notification_poll_seconds",
        "status_poll_seconds",
    )
    for name in positive:
        if getattr(s, name) <= 0:
            problems.append(FieldViolation(name, f"must be positive, got {getattr(s, name)}"))
    for name in (
        "reminder_working_days",
        "yellow_working_days",
        "supervision_interval_seconds",
        "ticket_answer_working_days",
    ):
        if getattr(s, name) < 0:
            problems.append(FieldViolation(name, f"must be 0 or more, got {getattr(s, name)}"))
    if s.late_answer not in LATE_ANSWER_RULES:
        problems.append(FieldViolation("late_answer", f"one of {', '.join(LATE_ANSWER_RULES)}, got {s.late_answer!r}"))
    if s.token_max_lifetime_seconds > 900:
        problems.append(FieldViolation("token_max_lifetime_seconds", "at most 900 (15 minutes)"))
    if s.adapter_retries < 0:
        problems.append(FieldViolation("adapter_retries", "must be 0 or more"))
    if s.sqlite_synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
        problems.append(FieldViolation("sqlite_synchronous", "one of FULL, NORMAL, EXTRA"))
    if s.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(FieldViolation("log_level", "one of DEBUG, INFO, WARNING, ERROR"))
    try:
        ZoneInfo(s.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(FieldViolation("time_zone", f"an IANA time zone such as Asia/Shanghai, got {s.time_zone!r}"))
    for name in ("item_basic_code_pattern", "item_implementation_code_pattern"):
        try:
            re.compile(getattr(s, name))
        except re.error as e:
            problems.append(FieldViolation(name, f"a regular expression, got {getattr(s, name)!r}: {e}"))
    if s.default_language not in ("zh-CN", "en"):
        problems.append(FieldViolation("default_language", f"one of zh-CN, en, got {s.default_language!r}"))
    if s.calendar_file and not s.path(s.calendar_file).exists():
        problems.append(FieldViolation("calendar_file", f"no such file or folder: {s.path(s.calendar_file)}"))
    if s.webhook_ca_file and not s.path(s.webhook_ca_file).is_file():
        problems.append(FieldViolation("webhook_ca_file", f"no such file: {s.path(s.webhook_ca_file)}"))
    return problems
