"""Two hub replicas on one PostgreSQL database, both delivering webhooks: each event reaches the receiver once."""

from __future__ import annotations

from pathlib import Path

from exchange.auth.identity import Role
from exchange.client import verify_webhook
from exchange.clock import now_us
from exchange.config import load_settings
from exchange.events import Event, EventKind
from exchange.server import start_hub
from exchange.testing import PG_URL, HubFixture, ensure_test_pki, start_test_hub, tls_settings

from .receiver import start_receiver

EVENTS = 30


async def test_replicas_deliver_each_event_once(tmp_path: Path) -> None:
    pki = ensure_test_pki(tmp_path / "a")
    fast = {"webhook_ca_file": str(pki / "ca.crt"), "notification_poll_seconds": 0.02}
    first = await start_test_hub(tmp_path / "a", backend="postgresql", **fast)
    settings = load_settings(
        None,
        environ={},
        data_dir=str(tmp_path / "b"),
        grpc_listen="127.0.0.1:0",
        http_listen="",
        **tls_settings(tmp_path / "a"),
        database_url=PG_URL,
        checkpoint_interval_seconds=3600,
        **fast,
    )
    second = HubFixture(await start_hub(settings, db_schema=first.pg_schema), settings, None)
    receiver = await start_receiver(pki)
    try:
        await first.add_department("SVC")
        made = await first.client("SVC", officer="admin-1", roles=(Role.DEPT_ADMIN,)).set_webhook(receiver.url)
        for i in range(EVENTS):
            publisher = (first, second)[i % 2].hub.events
            await publisher.publish(Event(EventKind.REMINDER, "SVC", f"c-{i}", now_us()))
        deliveries = await receiver.wait_for(EVENTS)
        seen: set[str] = set()
        events = [verify_webhook(d.body, d.headers, made.secret, seen=seen) for d in deliveries]
        assert sorted(e["reference"] for e in events) == sorted(f"c-{i}" for i in range(EVENTS))
        # Both replicas have looked again since; nothing was sent twice.
        for hub in (first, second):
            await hub.hub.outbox.publish(Event(EventKind.REMINDER, "SVC", "last", now_us()))
        await receiver.wait_for(EVENTS + 2)
        assert len(receiver.deliveries) == EVENTS + 2
        assert len({d.headers["X-Exchange-Event-Id"] for d in receiver.deliveries}) == EVENTS + 2
    finally:
        await receiver.close()
        await second.running.stop()
        await first.stop()
