"""A source backed by a department's REST API (JSON over HTTPS, optionally with a client certificate)."""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import aiohttp
import pyarrow as pa
import pyarrow.compute as pc
from yarl import URL

from exchange.errors import DeadlineExceeded, FailedPrecondition, FieldViolation, InvalidArgument, Unavailable

from .base import (
    DEFAULT_BATCH_ROWS,
    check_json_value,
    check_key,
    documents_to_batch,
    scan_schema,
    upstream_data_invalid,
)
from .filters import RowFilter, check_filter, to_arrow_expression

JsonPath = tuple[str | int, ...]
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


def parse_json_path(path: str) -> JsonPath:
    """``data.holders[0].name`` -> ("data", "holders", 0, "name"); InvalidArgument if malformed."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "." and parts and pos + 1 < len(path) and path[pos + 1] != "[":
            pos += 1
        match = _SEGMENT.match(path, pos)
        if match is None:
            raise InvalidArgument(
                f"JSON path {path!r} is malformed at position {pos}; write it like data.holder.name or items[0]",
                violations=[FieldViolation("field_map", f"bad JSON path {path!r}")],
            )
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not parts:
        raise InvalidArgument("JSON path is empty", violations=[FieldViolation("field_map", "empty JSON path")])
    return tuple(parts)


_MISSING = object()


def extract(document: Any, path: JsonPath) -> Any:
    """The value at path in a parsed JSON document, or _MISSING when any step is absent."""
    value = document
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return _MISSING
        elif not isinstance(value, dict) or step not in value:
            return _MISSING
        value = value[step]
    return value


def encode_key(key: str) -> str:
    """The key as one URL path segment: every reserved character escaped, dot segments too."""
    encoded = quote(key, safe="")
    # "." and ".." are path segments a server or proxy would resolve; escape them.
    return encoded.replace(".", "%2E") if set(encoded) == {"."} else encoded


class RestSource:
    """Lookups as GET base_url + lookup_path_template; scans page through scan_path."""

    def __init__(
        self,
        base_url: str,
        lookup_path_template: str,
        field_map: Mapping[str, str],
        schema: pa.Schema,
        *,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout_seconds: float = 10.0,
        not_found_status: int = 404,
        scan_path: str | None = None,
        scan_items_path: str = "items",
        scan_next_path: str = "next",
    ) -> None:
        if "{key}" not in lookup_path_template:
            raise InvalidArgument(
                f"lookup_path_template {lookup_path_template!r} must contain {{key}}",
                violations=[FieldViolation("lookup_path_template", "must contain {key}")],
            )
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(base_url).netloc or base_url
        self.lookup_path_template = lookup_path_template
        self.schema = schema
        self.paths: dict[str, JsonPath] = {f.name: parse_json_path(field_map.get(f.name, f.name)) for f in schema}
        self.raw_paths = {name: field_map.get(name, name) for name in schema.names}
        self.headers = dict(headers or {})
        self.ssl_context = ssl_context
        self.timeout_seconds = timeout_seconds
        self.not_found_status = not_found_status
        self.scan_path = scan_path
        self.scan_items_path = parse_json_path(scan_items_path)
        self.scan_next_path = parse_json_path(scan_next_path)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """The one session, created inside the running loop on first use."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                connector=aiohttp.TCPConnector(ssl=self.ssl_context if self.ssl_context else True),
                headers=self.headers,
            )
        return self._session

    def lookup_url(self, key: str) -> str:
        """The URL a lookup of key requests."""
        # replace, not format: other braces in the template are literal text.
        return self.base_url + self.lookup_path_template.replace("{key}", encode_key(check_key(key)))

    async def _get_json(self, url: str) -> Any | None:
        """GET url and parse JSON; None on the not-found status; errors translated by meaning."""
        try:
            async with self._client().get(URL(url, encoded=True), allow_redirects=False) as response:
                if response.status == self.not_found_status:
                    return None
                if response.status >= 500 or response.status == 429:
                    raise Unavailable(
                        f"upstream {self.host} answered HTTP {response.status} for {urlsplit(url).path}; "
                        "retry later or ask the department to check its service",
                        reason="UPSTREAM_UNAVAILABLE",
                        metadata={"upstream": self.host, "http_status": str(response.status)},
                    )
                if response.status != 200:
                    raise FailedPrecondition(
                        f"upstream {self.host} refused the request with HTTP {response.status}; "
                        "check the adapter's credentials and lookup_path_template",
                        reason="UPSTREAM_REJECTED",
                        metadata={"upstream": self.host, "http_status": str(response.status)},
                    )
                body = await response.content.read(MAX_RESPONSE_BYTES + 1)
        except TimeoutError as exc:
            raise DeadlineExceeded(
                f"upstream {self.host} did not answer within {self.timeout_seconds:g} s",
                reason="UPSTREAM_TIMEOUT",
                metadata={"upstream": self.host},
            ) from exc
        except aiohttp.ClientError as exc:
            raise Unavailable(
                f"cannot reach upstream {self.host}: {exc.__class__.__name__}: {exc}",
                reason="UPSTREAM_UNAVAILABLE",
                metadata={"upstream": self.host},
            ) from exc
        if len(body) > MAX_RESPONSE_BYTES:
            raise upstream_data_invalid(
                self.host, "(document)", url, f"response larger than {MAX_RESPONSE_BYTES} bytes"
            )
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            where = urlsplit(url).path
            raise upstream_data_invalid(self.host, "(document)", where, f"not JSON ({exc})") from exc

    def map_document(self, payload: Any) -> dict[str, Any]:
        """Pick each schema field out of an upstream JSON payload and check its type."""
        document: dict[str, Any] = {}
        for field in self.schema:
            value = extract(payload, self.paths[field.name])
            where = self.raw_paths[field.name]
            if value is _MISSING:
                raise upstream_data_invalid(self.host, field.name, where, "missing from the response")
            if value is None and not field.nullable:
                raise upstream_data_invalid(self.host, field.name, where, "null, but the field is required")
            try:
                document[field.name] = check_json_value(value, field.type)
            except ValueError as exc:
                raise upstream_data_invalid(self.host, field.name, where, str(exc)) from exc
        return document

    async def lookup(self, key: str) -> dict[str, Any] | None:
        """The mapped document for key, or None when the upstream answers not-found."""
        payload = await self._get_json(self.lookup_url(key))
        return None if payload is None else self.map_document(payload)

    def _same_origin(self, url: str) -> str:
        """Resolve a next link and refuse one that leaves the upstream (it would carry our credentials)."""
        absolute = urljoin(self.base_url + "/", url)
        if urlsplit(absolute)[:2] != urlsplit(self.base_url)[:2]:
            raise upstream_data_invalid(self.host, "(next)", url, "next link points to another host")
        return absolute

    async def scan(
        self,
        columns: Sequence[str] | None,
        row_filter: RowFilter | None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> AsyncIterator[pa.RecordBatch]:
        """Follow scan_path and its next links, yielding mapped, filtered, projected batches."""
        if self.scan_path is None:
            raise FailedPrecondition(
                f"the REST source for {self.host} has no scan_path configured; it serves lookups only",
                reason="SCAN_NOT_SUPPORTED",
            )
        out_schema = scan_schema(self.schema, columns, batch_rows)
        expression = to_arrow_expression(check_filter(row_filter, self.schema)) if row_filter else None
        url: str | None = self.base_url + self.scan_path
        pending: list[dict[str, Any]] = []
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                raise upstream_data_invalid(self.host, "(next)", url, "pagination loops back")
            seen.add(url)
            page = await self._get_json(url)
            if page is None:
                break
            items = extract(page, self.scan_items_path)
            if not isinstance(items, list):
                raise upstream_data_invalid(self.host, "(items)", "scan page", "items are not a list")
            pending.extend(self.map_document(item) for item in items)
            while len(pending) >= batch_rows:
                batch = self._finish(pending[:batch_rows], expression, out_schema)
                del pending[:batch_rows]
                if batch.num_rows:
                    yield batch
            link = extract(page, self.scan_next_path)
            url = self._same_origin(link) if isinstance(link, str) and link else None
        if pending:
            batch = self._finish(pending, expression, out_schema)
            if batch.num_rows:
                yield batch

    def _finish(
        self, documents: list[dict[str, Any]], expression: pc.Expression | None, out_schema: pa.Schema
    ) -> pa.RecordBatch:
        """Documents as a batch, filtered then projected."""
        table = pa.Table.from_batches([documents_to_batch(documents, self.schema)])
        if expression is not None:
            table = table.filter(expression)
        table = table.select(out_schema.names).combine_chunks()
        batches = table.to_batches()
        return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=out_schema)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def client_ssl_context(
    ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None
) -> ssl.SSLContext:
    """A TLS context verifying the upstream against ca_file and presenting a client certificate if given."""
    context = ssl.create_default_context(cafile=ca_file)
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    return context
