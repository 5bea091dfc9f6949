"""A department's webhook receiver of our own: aiohttp over HTTPS on loopback, answering as it is told."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from exchange.auth.pki import SERVER_CERT, SERVER_KEY


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """Records every POST; answers with the next queued status, then with `status`."""

    url: str
    runner: web.AppRunner
    status: int = 200
    queued: deque[int] = field(default_factory=deque)
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for(self, count: int, timeout: float = 30.0) -> list[Delivery]:
        """The first `count` deliveries, once they arrived."""
        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(lambda: len(self.deliveries) >= count)
        return self.deliveries[:count]

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_receiver(pki_dir: Path) -> Receiver:
    """HTTPS on 127.0.0.1 with a certificate from the test CA (the one the hub's webhook_ca_file names)."""
    receiver: Receiver

    async def take(request: web.Request) -> web.Response:
        body = await request.read()
        status = receiver.queued.popleft() if receiver.queued else receiver.status
        async with receiver.arrived:
            receiver.deliveries.append(Delivery(body, dict(request.headers)))
            receiver.arrived.notify_all()
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook", take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki_dir / SERVER_CERT, pki_dir / SERVER_KEY)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver = Receiver(f"https://127.0.0.1:{port}/hook", runner)
    return receiver
