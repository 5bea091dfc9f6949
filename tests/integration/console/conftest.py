"""A real hub with console accounts, and signed-in HTTP sessions against its console."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from exchange.console.accounts import add_user
from exchange.testing import HubFixture

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """An aiohttp session that signs in like a person and submits forms with their CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        # unsafe=True: keep cookies set by an IP-address host (the hub on 127.0.0.1).
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

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
    running = hub.running
    await add_user(running.hub, "root", PASSWORD, "hub_admin", "HUB")
    await add_user(running.hub, "audrey", PASSWORD, "auditor", "HUB")
    await add_user(running.hub, "samr-admin", PASSWORD, "dept_admin", "SAMR")
    await add_user(running.hub, "psb-admin", PASSWORD, "dept_admin", "PSB")
    return hub


@pytest.fixture
async def browser(console_hub: HubFixture) -> AsyncIterator[Browser]:
    b = Browser(f"http://127.0.0.1:{console_hub.running.http_port}/console")
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
