"""Servers in processes of their own: started with spawn, ready when they report their address, stopped on request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any

import psutil

# A server body: given its settings, start serving and return (what to tell the parent, how to stop).
ServerBody = Callable[[dict[str, Any]], Awaitable[tuple[dict[str, Any], Callable[[], Awaitable[None]]]]]


def _serve(body: ServerBody, settings: dict[str, Any], conn: Connection) -> None:
    async def main() -> None:
        try:
            info, stop = await body(settings)
        except BaseException as error:
            conn.send({"error": f"{type(error).__name__}: {error}"})
            raise
        conn.send(info)
        # Wait for "stop" on a thread so the server keeps the loop.
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await stop()
        conn.send({"stopped": True})

    asyncio.run(main())


class ServerProcess:
    """A server body running in a spawned process; `info` is what it reported when ready."""

    def __init__(self, body: ServerBody, settings: dict[str, Any], *, start_timeout: float = 60.0) -> None:
        ctx = get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(body, settings, child), daemon=True)
        self.process.start()
        if not self._conn.poll(start_timeout):
            self.process.kill()
            raise RuntimeError(f"{getattr(body, '__name__', body)} did not start within {start_timeout} s")
        self.info: dict[str, Any] = self._conn.recv()
        if "error" in self.info:
            self.process.join(5)
            raise RuntimeError(f"{getattr(body, '__name__', body)} failed to start: {self.info['error']}")

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)

    def memory(self) -> psutil.Process:
        return psutil.Process(self.pid)

    def cpu_seconds(self) -> float:
        """User and system CPU the server process and its running children (hub workers) have used so far."""
        process = psutil.Process(self.pid)
        total = 0.0
        for each in (process, *process.children(recursive=True)):
            try:
                times = each.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.is_alive():
            self._conn.send("stop")
            if self._conn.poll(timeout):
                self._conn.recv()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
