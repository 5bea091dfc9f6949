"""An adapter's configuration: one YAML file per department naming its datasets and where their data lives."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

from catalog.model import DEPARTMENT_CODE, ENDPOINT, VERSION, Dataset
from catalog.spec_reader import MISSING, SpecReader, kind_of
from catalog.specs import parse_dataset, parse_spec
from catalog.yaml_io import load_spec_file
from exchange.errors import FieldViolation, InvalidArgument, quote

from .signing import DocumentSigner
from .sources.base import Source
from .sources.files import FileSource

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Headers that carry credentials must come from the environment, never inline in a file.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})


DEFAULT_HUB_IDENTITY = "urn:exchange:hub:exchange-hub"
_HUB_IDENTITY = re.compile(r"^urn:exchange:hub:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class TlsConfig:
    """The adapter's server certificate, and who may call it: the hub's client identity, from the hub's CA.

    client_ca is required outside insecure_dev (`start_provider` refuses TLS without it): the CA alone
    is not enough, since it also issues every department's client certificate, so callers are
    admitted by name (hub_identity, a SAN URI) and refused when the CA's CRL lists them.
    """

    cert: Path
    key: Path
    client_ca: Path | None = None
    hub_identity: str = DEFAULT_HUB_IDENTITY
    crl: Path | None = None


@dataclass(frozen=True)
class SigningConfig:
    """The Ed25519 key the department signs documents with, and its key id as registered with the hub."""

    key_file: Path
    kid: str


@dataclass(frozen=True)
class RestSourceConfig:
    """Settings of a REST source (see RestSource)."""

    base_url: str
    lookup_path: str
    field_map: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    timeout_seconds: float = 10.0
    not_found_status: int = 404
    scan_path: str | None = None
    scan_items_path: str = "items"
    scan_next_path: str = "next"


@dataclass(frozen=True)
class SqlSourceConfig:
    """Settings of a SQL source (see SqlSource)."""

    url: str
    table: str
    key_column: str
    column_map: dict[str, str]
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class FileSourceConfig:
    """Settings of a file source (see FileSource)."""

    path: Path
    key_column: str
    column_map: dict[str, str]


SourceConfig = RestSourceConfig | SqlSourceConfig | FileSourceConfig


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset the adapter serves: its catalog spec and its source."""

    dataset: str
    version: str
    spec: Path
    source: SourceConfig
    setting: str = "datasets[0]"


@dataclass(frozen=True)
class AdapterConfig:
    """Everything one department's adapter needs to start."""

    department: str
    listen: str
    signing: SigningConfig
    datasets: tuple[DatasetConfig, ...]
    tls: TlsConfig | None = None
    path: Path | None = None
    insecure_dev: bool = False
    """Plain-text gRPC without TLS; for development on one machine only."""
    status_watch_seconds: float = 60.0
    """How often the licences the hub fetched are re-read for status changes to push (0: never)."""

    def dataset(self, code: str) -> DatasetConfig:
        """The configuration of dataset code, or InvalidArgument listing the configured ones."""
        for ds in self.datasets:
            if ds.dataset == code:
                return ds
        raise InvalidArgument(
            f"adapter {self.department} does not serve dataset {code!r}; it serves "
            f"{', '.join(d.dataset for d in self.datasets) or 'nothing'}",
            reason="DATASET_NOT_SERVED",
        )


def expand_env(value: Any, setting: str, env: Mapping[str, str], out: list[FieldViolation]) -> Any:
    """Replace ${NAME} in every string with the environment variable; note missing ones in out."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                out.append(FieldViolation(setting, f"environment variable {name} is not set"))
                return ""
            return env[name]

        return _ENV_REF.sub(substitute, value)
    if isinstance(value, Mapping):
        return {k: expand_env(v, f"{setting}.{k}" if setting else str(k), env, out) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, f"{setting}[{i}]", env, out) for i, v in enumerate(value)]
    return value


class SourceType(StrEnum):
    """Where a dataset's data lives: a REST API, a SQL database, or Parquet/CSV files."""

    REST = "rest"
    SQL = "sql"
    FILES = "files"


_TOP_KEYS = ("department", "listen", "tls", "signing", "datasets", "insecure_dev", "status_watch_seconds")
_TLS_KEYS = ("cert", "key", "client_ca", "hub_identity", "crl")
_SIGNING_KEYS = ("key_file", "kid")
_DATASET_KEYS = ("dataset", "version", "spec", "source")
_SOURCE_KEYS: dict[SourceType, tuple[str, ...]] = {
    SourceType.REST: (
        "type",
        "base_url",
        "lookup_path",
        "field_map",
        "headers",
        "headers_from_env",
        "tls",
        "timeout_seconds",
        "not_found_status",
        "scan_path",
        "scan_items_path",
        "scan_next_path",
    ),
    SourceType.SQL: ("type", "url", "table", "key_column", "column_map", "timeout_seconds"),
    SourceType.FILES: ("type", "path", "key_column", "column_map"),
}
_REST_TLS_KEYS = ("ca", "cert", "key")


def _file(r: SpecReader, key: str, base: Path, *, required: bool = True) -> Path | None:
    """A path setting, relative to the config file's folder."""
    text = r.text(key, required=required)
    return None if text is None else (base / text).resolve()


def _rest(s: SpecReader, base: Path, env: Mapping[str, str]) -> RestSourceConfig | None:
    """The settings of a rest source."""
    base_url = s.text("base_url")
    if base_url is not None and not re.match(r"^https?://[^/]+", base_url):
        s.problem("base_url", "must be an http:// or https:// URL")
    lookup_path = s.text("lookup_path")
    if lookup_path is not None and (not lookup_path.startswith("/") or "{key}" not in lookup_path):
        s.problem("lookup_path", "must start with / and contain {key}")
    headers = s.string_map("headers", required=False)
    for name, variable in s.string_map("headers_from_env", required=False).items():
        if variable not in env:
            s.problem(f"headers_from_env.{name}", f"environment variable {variable} is not set")
        else:
            headers[name] = env[variable]
    tls = s.section("tls", _REST_TLS_KEYS, required=False)
    ca_file = cert_file = key_file = None
    if tls is not None:
        ca_file, cert_file, key_file = (
            _file(tls, "ca", base, required=False),
            _file(tls, "cert", base, required=False),
            _file(tls, "key", base, required=False),
        )
        if (cert_file is None) != (key_file is None):
            s.problem("tls", "cert and key go together")
    not_found = s.integer("not_found_status", 400, 499, required=False) or 404
    field_map = s.string_map("field_map", required=False)
    timeout = s.number("timeout_seconds", 10.0, 0.001, 600)
    scan_path = s.text("scan_path", required=False)
    scan_items_path = s.text("scan_items_path", required=False) or "items"
    scan_next_path = s.text("scan_next_path", required=False) or "next"
    if base_url is None or lookup_path is None:
        return None
    return RestSourceConfig(
        base_url=base_url,
        lookup_path=lookup_path,
        field_map=field_map,
        headers=headers,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
        timeout_seconds=timeout,
        not_found_status=not_found,
        scan_path=scan_path,
        scan_items_path=scan_items_path,
        scan_next_path=scan_next_path,
    )


def _sql(s: SpecReader, base: Path) -> SqlSourceConfig | None:
    """The settings of a sql source; a relative SQLite path is taken from the config file's folder."""
    # The built-in sources load their drivers (SQLAlchemy, aiohttp) only when a config names them.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from .sources.sql import IDENTIFIER

    url = s.text("url")
    table = s.text("table", pattern=IDENTIFIER)
    key_column = s.text("key_column", pattern=IDENTIFIER)
    column_map = s.string_map("column_map", required=False)
    for name, column in column_map.items():
        if not IDENTIFIER.fullmatch(column) or "." in column:
            s.problem(f"column_map.{name}", f"{quote(column)} is not a plain column name")
    timeout = s.number("timeout_seconds", 10.0, 0.001, 600)
    if url is not None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            s.problem("url", "not a database URL (sqlite+aiosqlite:///... or postgresql+asyncpg://...)")
            return None
        database = parsed.database or ""
        if parsed.get_backend_name() == "sqlite" and database and not database.startswith("file:"):
            url = parsed.set(database=str((base / database).resolve())).render_as_string(hide_password=False)
        elif parsed.get_backend_name() not in ("sqlite", "postgresql"):
            s.problem("url", "backend must be sqlite or postgresql")
    if url is None or table is None or key_column is None:
        return None
    return SqlSourceConfig(url, table, key_column, column_map, timeout)


def _files(s: SpecReader, base: Path) -> FileSourceConfig | None:
    """The settings of a files source."""
    path = _file(s, "path", base)
    if path is not None and path.suffix.lower() not in (".parquet", ".csv"):
        s.problem("path", "must end in .parquet or .csv")
    key_column = s.text("key_column")
    column_map = s.string_map("column_map", required=False)
    if path is None or key_column is None:
        return None
    return FileSourceConfig(path, key_column, column_map)


def _source(r: SpecReader, base: Path, env: Mapping[str, str]) -> SourceConfig | None:
    """A dataset entry's source, read with the keys its type allows."""
    data = r.raw("source", True)
    if data is MISSING:
        return None
    named = data.get("type") if isinstance(data, Mapping) else None
    kind = next((t for t in SourceType if t.value == named), None)
    # Until the type is known, no other key can be called unknown: only the type's problem is reported.
    allowed = _SOURCE_KEYS[kind] if kind else tuple(str(k) for k in data) if isinstance(data, Mapping) else ()
    s = SpecReader(data, r.at("source"), allowed, r.out)
    if s.enum("type", SourceType) is None:
        return None
    if kind is SourceType.REST:
        return _rest(s, base, env)
    if kind is SourceType.SQL:
        return _sql(s, base)
    return _files(s, base)


def _dataset(
    data: Any, path: str, out: list[FieldViolation], base: Path, env: Mapping[str, str]
) -> DatasetConfig | None:
    """One entry of datasets:."""
    r = SpecReader(data, path, _DATASET_KEYS, out)
    code = r.text("dataset")
    version = r.text("version", pattern=VERSION)
    spec = _file(r, "spec", base)
    source = _source(r, base, env) if r.ok else None
    if code is None or version is None or spec is None or source is None:
        return None
    return DatasetConfig(code, version, spec, source, path)


def _inline_credentials(data: Any) -> list[FieldViolation]:
    """Credential headers written into the file itself (before ${NAME} expansion) instead of referenced."""
    found: list[FieldViolation] = []
    datasets = data.get("datasets") if isinstance(data, Mapping) else None
    for i, item in enumerate(datasets if isinstance(datasets, list) else []):
        source = item.get("source") if isinstance(item, Mapping) else None
        headers = source.get("headers") if isinstance(source, Mapping) else None
        for name, value in (headers or {}).items() if isinstance(headers, Mapping) else ():
            if str(name).lower() in _SECRET_HEADERS and not _ENV_REF.search(str(value)):
                found.append(
                    FieldViolation(
                        f"datasets[{i}].source.headers.{name}",
                        "carries a credential; use an environment variable (${NAME}) or headers_from_env",
                    )
                )
    return found


def _raise_invalid(out: list[FieldViolation], path: Path | None) -> NoReturn:
    where = f" in {path}" if path else ""
    raise InvalidArgument(
        f"adapter configuration{where} is not valid; fix the settings listed",
        reason="ADAPTER_CONFIG_INVALID",
        violations=out,
    )


def parse_adapter_config(
    data: Any, base: Path, env: Mapping[str, str] | None = None, path: Path | None = None
) -> AdapterConfig:
    """Validate an adapter configuration mapping; InvalidArgument lists every setting that is wrong."""
    out: list[FieldViolation] = _inline_credentials(data)
    environment = os.environ if env is None else env
    top = SpecReader(expand_env(data, "", environment, out), "", _TOP_KEYS, out)
    if not top.ok:
        _raise_invalid(out, path)
    department = top.text("department", pattern=DEPARTMENT_CODE)
    listen = top.text("listen", required=False, pattern=ENDPOINT) or "127.0.0.1:50061"
    tls_settings = top.section("tls", _TLS_KEYS, required=False)
    tls = None
    if tls_settings is not None:
        cert, key, client_ca, crl = (
            _file(tls_settings, "cert", base),
            _file(tls_settings, "key", base),
            _file(tls_settings, "client_ca", base, required=False),
            _file(tls_settings, "crl", base, required=False),
        )
        identity = tls_settings.text("hub_identity", required=False, pattern=_HUB_IDENTITY) or DEFAULT_HUB_IDENTITY
        tls = TlsConfig(cert, key, client_ca, identity, crl) if cert and key else None
    before = len(out)
    insecure_dev = top.flag("insecure_dev", False)
    if len(out) > before:
        pass  # a wrong insecure_dev says nothing about whether tls is needed
    elif tls_settings is None and not insecure_dev:
        top.problem("tls", "required: cert, key and client_ca (or insecure_dev: true, for development only)")
    elif (
        tls_settings is not None
        and tls_settings.ok
        and not insecure_dev
        and tls_settings.raw("client_ca", False) is MISSING
    ):
        top.problem(
            "tls.client_ca",
            "required: the hub's CA, so only the hub's client certificate is admitted (or insecure_dev: true)",
        )
    watch = top.number("status_watch_seconds", 60.0, 0)
    signing_settings = top.section("signing", _SIGNING_KEYS, required=False)
    signing = None
    if signing_settings is None:
        top.problem("signing", "required: key_file (and kid, else derived from the key)")
    else:
        key_file, kid = _file(signing_settings, "key_file", base), signing_settings.text("kid", required=False)
        # Without a kid the key's own id is used: the one `exchange departments add-key` registers.
        signing = SigningConfig(key_file, kid or "") if key_file else None
    raw = top.raw("datasets", False)
    datasets: list[DatasetConfig] = []
    if raw is MISSING or raw == []:
        top.problem("datasets", "required: a list of at least one dataset")
    elif not isinstance(raw, list):
        top.problem("datasets", f"expected a list of datasets, found {kind_of(raw)}")
    else:
        for i, item in enumerate(raw):
            parsed = _dataset(item, f"datasets[{i}]", out, base, environment)
            if parsed is not None:
                datasets.append(parsed)
        seen: set[str] = set()
        for ds in datasets:
            if ds.dataset in seen:
                out.append(FieldViolation(f"{ds.setting}.dataset", f"{quote(ds.dataset)} is configured twice"))
            seen.add(ds.dataset)
    if out or department is None or signing is None:
        _raise_invalid(out, path)
    assert department is not None and signing is not None
    return AdapterConfig(department, listen, signing, tuple(datasets), tls, path, insecure_dev, watch)


def load_adapter_config(path: str | Path, env: Mapping[str, str] | None = None) -> AdapterConfig:
    """Read and validate an adapter configuration file; relative paths in it are from its folder."""
    file = Path(path).resolve()
    return parse_adapter_config(load_spec_file(file), file.parent, env, file)


def load_dataset(cfg: DatasetConfig) -> Dataset:
    """The catalog Dataset the configured spec file describes, checked against the code and version."""
    data = load_spec_file(cfg.spec)
    parsed = parse_spec(data) if "spec" in data and "kind" in data else parse_dataset(data)
    if not isinstance(parsed, Dataset):
        raise InvalidArgument(
            f"{cfg.spec} describes a {type(parsed).__name__}, not a dataset",
            reason="ADAPTER_CONFIG_INVALID",
            violations=[FieldViolation(f"{cfg.setting}.spec", "not a dataset spec")],
        )
    problems = []
    if parsed.code != cfg.dataset:
        problems.append(FieldViolation(f"{cfg.setting}.dataset", f"spec {cfg.spec} describes {parsed.code!r}"))
    elif parsed.version != cfg.version:
        problems.append(FieldViolation(f"{cfg.setting}.version", f"spec {cfg.spec} is version {parsed.version}"))
    if problems:
        raise InvalidArgument(
            f"dataset spec {cfg.spec} does not match the adapter configuration",
            reason="ADAPTER_CONFIG_INVALID",
            violations=problems,
        )
    return parsed


def _check_mapping(cfg: DatasetConfig, mapping: Mapping[str, str], name: str, schema: pa.Schema) -> None:
    """Every mapped field must be a field of the dataset."""
    unknown = [f for f in mapping if schema.get_field_index(f) < 0]
    if unknown:
        raise InvalidArgument(
            f"{cfg.setting}.source.{name} maps fields the dataset {cfg.dataset} does not have",
            reason="ADAPTER_CONFIG_INVALID",
            violations=[
                FieldViolation(f"{cfg.setting}.source.{name}.{f}", "not a field of the dataset") for f in unknown
            ],
        )


def build_source(cfg: DatasetConfig, schema: pa.Schema) -> Source:
    """The source the dataset configuration describes, serving documents with the given schema."""
    source = cfg.source
    if isinstance(source, RestSourceConfig):
        from .sources.rest import RestSource, client_ssl_context

        _check_mapping(cfg, source.field_map, "field_map", schema)
        context = None
        if source.base_url.startswith("https://") or source.ca_file or source.cert_file:
            try:
                context = client_ssl_context(
                    str(source.ca_file) if source.ca_file else None,
                    str(source.cert_file) if source.cert_file else None,
                    str(source.key_file) if source.key_file else None,
                )
            except (OSError, ssl.SSLError) as exc:
                # Fail at start-up, naming the setting, rather than on the first lookup.
                raise InvalidArgument(
                    f"{cfg.setting}.source.tls: cannot load the TLS files for {source.base_url}: {exc}",
                    reason="ADAPTER_CONFIG_INVALID",
                    violations=[FieldViolation(f"{cfg.setting}.source.tls", f"unreadable: {exc}")],
                ) from exc
        return RestSource(
            source.base_url,
            source.lookup_path,
            source.field_map,
            schema,
            headers=source.headers,
            ssl_context=context,
            timeout_seconds=source.timeout_seconds,
            not_found_status=source.not_found_status,
            scan_path=source.scan_path,
            scan_items_path=source.scan_items_path,
            scan_next_path=source.scan_next_path,
        )
    if isinstance(source, SqlSourceConfig):
        from .sources.sql import SqlSource

        _check_mapping(cfg, source.column_map, "column_map", schema)
        return SqlSource(
            source.url,
            source.table,
            source.key_column,
            source.column_map,
            schema,
            timeout_seconds=source.timeout_seconds,
        )
    _check_mapping(cfg, source.column_map, "column_map", schema)
    return FileSource(source.path, source.key_column, source.column_map, schema)


def load_signer(cfg: AdapterConfig) -> DocumentSigner:
    """The department's document signer, from the PEM (PKCS#8) Ed25519 key file in the configuration."""
    try:
        key = load_pem_private_key(cfg.signing.key_file.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise InvalidArgument(
            f"signing key file {cfg.signing.key_file} cannot be read as an unencrypted PEM key: {exc}",
            reason="ADAPTER_CONFIG_INVALID",
            violations=[FieldViolation("signing.key_file", "unreadable PEM private key")],
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidArgument(
            f"signing key file {cfg.signing.key_file} holds a {type(key).__name__}; documents are signed with Ed25519",
            reason="ADAPTER_CONFIG_INVALID",
            violations=[FieldViolation("signing.key_file", "not an Ed25519 key")],
        )
    return DocumentSigner(cfg.department, cfg.signing.kid or _key_id(key), key)


def _key_id(key: Ed25519PrivateKey) -> str:
    """The key's registered id (as the hub derives it): base64url of SHA-256 over the SPKI DER, 12 bytes."""
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode("ascii")
