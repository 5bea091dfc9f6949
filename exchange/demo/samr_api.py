"""A stand-in for SAMR's business registry REST API, for the demo: `python -m exchange.demo.samr_api`.

It serves the licences in a JSON file (written by exchange.demo.data) in the registry's
own nested shape at GET /api/v2/licences/{uscc}, 404 for unknown codes, and prints
'samr api serving on port N' once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Any

from aiohttp import web


def registry_app(records: list[dict[str, Any]], token: str = "") -> web.Application:
    """The registry's routes over records (each {"data": {"uscc": ...}})."""
    by_code = {r["data"]["uscc"]: r for r in records}

    async def licence(request: web.Request) -> web.Response:
        if token and request.headers.get("Authorization") != f"Bearer {token}":
            return web.json_response({"error": "unauthorised"}, status=401)
        record = by_code.get(request.match_info["uscc"])
        if record is None:
            return web.json_response({"error": "no such licence"}, status=404)
        return web.json_response(record)

    app = web.Application()
    app.router.add_get("/api/v2/licences/{uscc}", licence)
    return app


async def serve(records: list[dict[str, Any]], host: str, port: int, token: str) -> None:
    """Serve until SIGTERM or SIGINT."""
    runner = web.AppRunner(registry_app(records, token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"samr api serving on port {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="JSON file of registry records")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="", help="require 'Authorization: Bearer TOKEN'")
    args = parser.parse_args()
    records = json.loads(args.data.read_text(encoding="utf-8"))
    asyncio.run(serve(records, args.host, args.port, args.token))


if __name__ == "__main__":
    main()
