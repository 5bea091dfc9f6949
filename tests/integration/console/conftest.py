"""A real hub with console accounts, and signed-in HTTP sessions against its console."""

from __future__ import annotations

import functools
import re
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest

from exchange.app.console_accounts import hash_password
from exchange.clock import now_us
from exchange.storage import console_store
from exchange.storage.console_store import ConsoleUser
from exchange.testing import HubFixture

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """An aiohttp session that signs in like a person and submits forms with their CSRF token."""

    def __init__(self, base: str, language: str = "en", ssl_context: ssl.SSLContext | None = None) -> None:
        self.base = base
        self.ssl_context = ssl_context
        # unsafe=True: keep cookies set by an IP-address host (the hub on 127.0.0.1).
        # English unless a test asks otherwise: the console's own default is zh-CN.
        headers = {"Accept-Language": language} if language else {}
        self.language = language
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers=headers,
            connector=aiohttp.TCPConnector(ssl=ssl_context or True),
        )
        self.csrf = ""

    @classmethod
    def of(cls, hub: HubFixture, language: str = "en") -> Browser:
        """A browser on hub's console: HTTPS trusting the hub CA (plain HTTP only for a dev-mode hub)."""
        return cls(f"{hub.http_url}/console", language, hub.http_ssl())

    def another(self, language: str | None = None) -> Browser:
        """A second person's browser on the same console (its own cookies)."""
        return Browser(self.base, self.language if language is None else language, self.ssl_context)

    async def get(self, path: str, **kwargs) -> tuple[int, str]:
        async with self.session.get(self.base + path, **kwargs) as response:
            body = await response.text()
            found = CSRF.search(body)
            if found:
                self.csrf = found.group(1)
            return response.status, body

    async def post(self, path: str, data: dict[str, str], *, csrf: str | None = None) -> tuple[int, str]:
        form = {"csrf_token": self.csrf if csrf is None else csrf, **data}
        async with self.session.post(self.base + path, data=form) as response:
            return response.status, await response.text()

    async def sign_in(self, username: str, password: str = PASSWORD) -> tuple[int, str]:
        await self.get("/signin")
        status, body = await self.post("/signin", {"username": username, "password": password})
        found = CSRF.search(body)
        if found:
            self.csrf = found.group(1)
        return status, body

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
async def console_hub(hub: HubFixture) -> HubFixture:
    """SAMR and PSB with a dataset each, a hub admin, an auditor and an admin for each department."""
    for code in ("SAMR", "PSB"):
        await hub.add_department(code)
    await hub.register_example_dataset("business_licence")
    await hub.register_example_dataset("identity_record")
    await add_users(hub, ("root", "hub_admin", "HUB"), ("audrey", "auditor", "HUB"))
    await add_users(hub, ("samr-admin", "dept_admin", "SAMR"), ("psb-admin", "dept_admin", "PSB"))
    return hub


@functools.cache
def password_hash() -> str:
    """One argon2id hash of PASSWORD for every test account (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


async def add_users(hub: HubFixture, *accounts: tuple[str, str, str]) -> None:
    """Accounts (username, role, department) with PASSWORD; `add_user` itself is tested through the CLI."""
    async with hub.running.hub.db.begin() as conn:
        for username, role, department in accounts:
            user = ConsoleUser(username, password_hash(), role, department, username)
            await console_store.put_user(conn, user, now_us())


@pytest.fixture
async def browser(console_hub: HubFixture) -> AsyncIterator[Browser]:
    b = Browser.of(console_hub)
    try:
        yield b
    finally:
        await b.close()


async def file_identity_request(hub: HubFixture) -> str:
    """SAMR asks PSB for identity records (a conditional dataset) for restaurant permits; returns the request id."""
    from exchange.auth.identity import Caller, Role

    await hub.register_example_item(
        "restaurant_permit",
        co_reviewers=[],
        required_materials=[{"dataset": "identity_record", "fields": ["resident_id", "name"]}],
    )
    samr_admin = Caller("SAMR", "console:samr-admin", frozenset({Role.DEPT_ADMIN}), "t", 0)
    request = await hub.running.registry.create_access_request(
        samr_admin,
        dataset="identity_record",
        fields=("resident_id", "name"),
        service_items=("restaurant_permit",),
        legal_basis="Food Safety Law art. 35",
        justification="check the legal representative of an applicant",
    )
    return request.id


async def seed_case(
    hub: HubFixture,
    case_id: str,
    subject: str,
    marker: str,
    *,
    lead: str = "SAMR",
    reviewers: tuple[str, ...] = ("PSB",),
) -> None:
    """A submitted case holding one fetched identity record whose stored document contains `marker`."""
    import hashlib
    import json
    from datetime import UTC, datetime

    from exchange.app import case_records
    from exchange.audit.entry import AccessLogEntry
    from exchange.cases.materials import Material
    from exchange.cases.model import Actor, open_case
    from exchange.clock import now_us
    from exchange.storage import case_store

    running = hub.running
    case = open_case(
        case_id=case_id,
        service_item="restaurant_permit",
        applicant_id=subject,
        applicant_kind="person",
        lead_department=lead,
        reviewers=list(reviewers),
        by=Actor(lead, "li"),
        now=datetime.now(UTC),
    )
    document = json.dumps({"resident_id": subject, "name": marker}).encode()
    digest = hashlib.sha256(document).hexdigest()
    receipt = await running.hub.record(
        AccessLogEntry(
            time_us=now_us(),
            action="exchange.fetch",
            caller_department=lead,
            officer_id="li",
            dataset="identity_record",
            subject_id=subject,
            case_id=case_id,
            service_item="restaurant_permit",
            fields=("resident_id", "name"),
            response_digest=digest,
        )
    )
    material = Material(
        case_id=case_id,
        dataset="identity_record",
        key=subject,
        version=1,
        digest=digest,
        fields=("resident_id", "name"),
        issuer="PSB",
        dataset_version="1.0",
        issued_at_us=now_us(),
        kid="psb-sign-1",
        signature=b"\x01" * 64,
        content_digest=digest,
        fetched_at_us=now_us(),
        fetched_by=f"{lead}/li",
        valid_until_us=0,
        status_code="01",
        current=True,
        subject_id=subject,
        receipt_index=receipt.index,
        receipt_leaf_hash=receipt.leaf_hash,
    )
    async with running.hub.db.begin() as conn:
        await case_records.insert_case(conn, case, None, now_us())
        await case_store.put_document(conn, digest, document, now_us())
        await case_records.add_material(conn, material)
        await case_store.add_savings(conn, case_id, fetched=1, reads=1, avoided=2)
