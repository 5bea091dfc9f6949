"""RestSource against a real aiohttp server on loopback standing in for a department's REST API."""

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator
from typing import Any

import pyarrow as pa
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.sources.filters import parse_filter
from adapters.sources.rest import RestSource
from exchange.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, Unavailable

SCHEMA = pa.schema(
    [
        pa.field("uscc", pa.string(), nullable=False),
        pa.field("holder_name", pa.string()),
        pa.field("status", pa.string()),
        pa.field("registered_capital", pa.int64()),
        pa.field("issued_on", pa.date32()),
        pa.field("main_scope", pa.string()),
    ]
)
FIELD_MAP = {
    "uscc": "data.uscc",
    "holder_name": "data.holder.name",
    "status": "data.status",
    "registered_capital": "data.capital",
    "issued_on": "data.issued",
    "main_scope": "data.scope[0]",
}


def upstream_record(uscc: str, status: str = "01", capital: Any = 1_000_000) -> dict[str, Any]:
    return {
        "data": {
            "uscc": uscc,
            "holder": {"name": f"Holder of {uscc}"},
            "status": status,
            "capital": capital,
            "issued": "2024-03-01",
            "scope": ["catering", "retail"],
        }
    }


RECORDS = {
    f"9111000000000000{i:02d}": upstream_record(f"9111000000000000{i:02d}", "01" if i % 2 else "03", i * 1000)
    for i in range(1, 26)
}


class Upstream:
    """The fake department API and what it saw."""

    def __init__(self) -> None:
        self.raw_paths: list[str] = []
        self.headers: list[dict[str, str]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/licences/{key}", self.licence)
        app.router.add_get("/slow/{key}", self.slow)
        app.router.add_get("/fail/{key}", self.fail)
        app.router.add_get("/html/{key}", self.html)
        app.router.add_get("/wrong/{key}", self.wrong_type)
        app.router.add_get("/partial/{key}", self.partial)
        app.router.add_get("/forbidden/{key}", self.forbidden)
        app.router.add_get("/list", self.listing)
        app.router.add_get("/escape", self.escape)
        return app

    def saw(self, request: web.Request) -> None:
        self.raw_paths.append(request.raw_path)
        self.headers.append(dict(request.headers))

    async def licence(self, request: web.Request) -> web.Response:
        self.saw(request)
        record = RECORDS.get(request.match_info["key"])
        if record is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(record)

    async def slow(self, request: web.Request) -> web.Response:
        self.saw(request)
        await asyncio.sleep(5)
        return web.json_response(upstream_record("X"))

    async def fail(self, request: web.Request) -> web.Response:
        self.saw(request)
        return web.Response(status=500, text="database down")

    async def html(self, request: web.Request) -> web.Response:
        self.saw(request)
        return web.Response(text="<html>maintenance</html>", content_type="text/html")

    async def wrong_type(self, request: web.Request) -> web.Response:
        self.saw(request)
        return web.json_response(upstream_record(request.match_info["key"], capital="one million"))

    async def partial(self, request: web.Request) -> web.Response:
        self.saw(request)
        record = upstream_record(request.match_info["key"])
        del record["data"]["holder"]
        return web.json_response(record)

    async def forbidden(self, request: web.Request) -> web.Response:
        self.saw(request)
        return web.Response(status=401)

    async def listing(self, request: web.Request) -> web.Response:
        self.saw(request)
        page = int(request.query.get("page", "0"))
        keys = sorted(RECORDS)[page * 10 : page * 10 + 10]
        body: dict[str, Any] = {"items": [RECORDS[k] for k in keys]}
        if page * 10 + 10 < len(RECORDS):
            body["next"] = f"/list?page={page + 1}"
        return web.json_response(body)

    async def escape(self, request: web.Request) -> web.Response:
        self.saw(request)
        return web.json_response({"items": [], "next": "http://evil.example/steal"})


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    fake = Upstream()
    server = TestServer(fake.app(), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield fake, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def source(base_url: str, template: str = "/licences/{key}", **options: Any) -> RestSource:
    return RestSource(base_url, template, FIELD_MAP, SCHEMA, **options)


async def test_lookup_maps_nested_json_paths_to_typed_fields(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    rest = source(url, headers={"Authorization": "Bearer secret-from-env"})
    try:
        doc = await rest.lookup("911100000000000001")
    finally:
        await rest.close()
    assert doc == {
        "uscc": "911100000000000001",
        "holder_name": "Holder of 911100000000000001",
        "status": "01",
        "registered_capital": 1000,
        "issued_on": "2024-03-01",
        "main_scope": "catering",
    }


async def test_configured_headers_reach_the_upstream(upstream: tuple[Upstream, str]) -> None:
    fake, url = upstream
    rest = source(url, headers={"Authorization": "Bearer token-1"})
    try:
        await rest.lookup("911100000000000001")
    finally:
        await rest.close()
    assert fake.headers[-1]["Authorization"] == "Bearer token-1"


async def test_unknown_key_is_none(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    rest = source(url)
    try:
        assert await rest.lookup("999999999999999999") is None
    finally:
        await rest.close()


async def test_slow_upstream_is_deadline_exceeded(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    rest = source(url, "/slow/{key}", timeout_seconds=0.2)
    try:
        with pytest.raises(DeadlineExceeded) as err:
            await rest.lookup("K")
    finally:
        await rest.close()
    assert "127.0.0.1" in err.value.message


async def test_failing_upstream_is_unavailable_naming_the_host(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    rest = source(url, "/fail/{key}")
    try:
        with pytest.raises(Unavailable) as err:
            await rest.lookup("K")
    finally:
        await rest.close()
    assert "127.0.0.1" in err.value.message and "500" in err.value.message


async def test_dead_upstream_is_unavailable_naming_the_host() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rest = source(f"http://127.0.0.1:{port}", timeout_seconds=2)
    try:
        with pytest.raises(Unavailable) as err:
            await rest.lookup("K")
    finally:
        await rest.close()
    assert f"127.0.0.1:{port}" in err.value.message


async def test_upstream_rejecting_our_credentials_is_failed_precondition(
    upstream: tuple[Upstream, str],
) -> None:
    _, url = upstream
    rest = source(url, "/forbidden/{key}")
    try:
        with pytest.raises(FailedPrecondition) as err:
            await rest.lookup("K")
    finally:
        await rest.close()
    assert err.value.reason == "UPSTREAM_REJECTED"


async def test_non_json_answer_is_upstream_data_invalid(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    rest = source(url, "/html/{key}")
    try:
        with pytest.raises(FailedPrecondition) as err:
            await rest.lookup("K")
    finally:
        await rest.close()
    assert err.value.reason == "UPSTREAM_DATA_INVALID"
    assert "not JSON" in err.value.message


async def test_wrong_typed_field_names_the_field_and_json_path(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    rest = source(url, "/wrong/{key}")
    try:
        with pytest.raises(FailedPrecondition) as err:
            await rest.lookup("K")
    finally:
        await rest.close()
    assert err.value.reason == "UPSTREAM_DATA_INVALID"
    assert "registered_capital" in err.value.message and "data.capital" in err.value.message


async def test_missing_field_names_the_field_and_json_path(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    rest = source(url, "/partial/{key}")
    try:
        with pytest.raises(FailedPrecondition) as err:
            await rest.lookup("K")
    finally:
        await rest.close()
    assert "holder_name" in err.value.message and "data.holder.name" in err.value.message


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("../../etc/passwd", "/licences/..%2F..%2Fetc%2Fpasswd"),
        ("%2e%2e%2f", "/licences/%252e%252e%252f"),
        ("..", "/licences/%2E%2E"),
        ("a?admin=1#frag", "/licences/a%3Fadmin%3D1%23frag"),
        ("' OR 1=1 --", "/licences/%27%20OR%201%3D1%20--"),
    ],
)
async def test_hostile_keys_stay_one_encoded_path_segment(
    upstream: tuple[Upstream, str], key: str, encoded: str
) -> None:
    fake, url = upstream
    rest = source(url)
    try:
        assert await rest.lookup(key) is None
    finally:
        await rest.close()
    assert fake.raw_paths == [encoded]


async def test_ten_thousand_character_key_is_refused_before_any_request(
    upstream: tuple[Upstream, str],
) -> None:
    fake, url = upstream
    rest = source(url)
    try:
        with pytest.raises(InvalidArgument):
            await rest.lookup("k" * 10_000)
    finally:
        await rest.close()
    assert fake.raw_paths == []


async def test_scan_follows_next_links_filters_and_projects(upstream: tuple[Upstream, str]) -> None:
    fake, url = upstream
    rest = source(url, scan_path="/list")
    try:
        batches = [
            b
            async for b in rest.scan(
                ["uscc", "registered_capital", "issued_on"], parse_filter("status = '01'"), batch_rows=4
            )
        ]
    finally:
        await rest.close()
    table = pa.Table.from_batches(batches)
    assert table.column_names == ["uscc", "registered_capital", "issued_on"]
    assert table.num_rows == 13  # odd i in 1..25
    assert all(b.num_rows <= 4 for b in batches)
    assert table.column("issued_on").to_pylist()[0] == dt.date(2024, 3, 1)
    assert len(fake.raw_paths) == 3


async def test_scan_refuses_a_next_link_to_another_host(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    rest = source(url, scan_path="/escape")
    try:
        with pytest.raises(FailedPrecondition):
            [b async for b in rest.scan(None, None)]
    finally:
        await rest.close()


async def test_scan_without_scan_path_is_failed_precondition(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    rest = source(url)
    with pytest.raises(FailedPrecondition) as err:
        [b async for b in rest.scan(None, None)]
    assert err.value.reason == "SCAN_NOT_SUPPORTED"
