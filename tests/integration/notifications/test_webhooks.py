"""Signed webhooks through a real mTLS hub to a real HTTPS receiver of ours on loopback.

Events published by the hub reach the department's receiver signed (HMAC or Ed25519) and verify with the
client's helper; a failed delivery is retried with the same event id; one that never succeeds becomes a dead
letter, listed and re-driven by the department's admin; a forged or replayed delivery is refused by the helper.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from exchange.auth.identity import Role
from exchange.client import HubClient, WebhookReplayed, WebhookSignatureInvalid, verify_webhook
from exchange.clock import now_us
from exchange.errors import InvalidArgument, PermissionDenied
from exchange.events import Event, EventKind
from exchange.testing import HubFixture, ensure_test_pki, start_test_hub
from exchange.webhook_signature import HEADER_SIGNATURE, HEADER_TIMESTAMP, TOLERANCE_SECONDS

from .receiver import Receiver, start_receiver

DEPT = "SVC"
OTHER = "FIRE"


@dataclass
class World:
    hub: HubFixture
    receiver: Receiver
    admin: HubClient

    async def publish(self, kind: EventKind, reference: str, department: str = DEPT, **data: str) -> None:
        await self.hub.hub.events.publish(Event(kind, department, reference, now_us(), data))


@pytest_asyncio.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    pki = ensure_test_pki(tmp_path)
    hub = await start_test_hub(
        tmp_path,
        webhook_ca_file=str(pki / "ca.crt"),
        webhook_retry_seconds=0.05,
        webhook_retry_max_seconds=0.2,
        webhook_max_attempts=3,
        notification_poll_seconds=0.05,
    )
    receiver = await start_receiver(pki)
    try:
        await hub.add_department(DEPT)
        await hub.add_department(OTHER)
        admin = hub.client(DEPT, officer="admin-1", roles=(Role.DEPT_ADMIN,))
        yield World(hub, receiver, admin)
    finally:
        await receiver.close()
        await hub.stop()


async def test_department_receives_its_events_signed_with_the_secret_the_hub_made(world: World) -> None:
    made = await world.admin.set_webhook(world.receiver.url, kinds=["warning", "licence_status"])
    assert made.webhook.scheme == "hmac-sha256" and len(bytes.fromhex(made.secret)) == 32
    await world.publish(EventKind.REMINDER, "c-1")  # a kind the webhook did not ask for
    await world.publish(EventKind.WARNING, "c-1", level="yellow")
    await world.publish(EventKind.WARNING, "c-2", department=OTHER, level="red")  # another department's
    await world.publish(EventKind.LICENCE_STATUS, "c-1", dataset="business_licence", status="03")
    first, second = await world.receiver.wait_for(2)
    seen: set[str] = set()
    events = [verify_webhook(d.body, d.headers, made.secret, seen=seen) for d in (first, second)]
    assert [(e["kind"], e["reference"], e["department"]) for e in events] == [
        ("warning", "c-1", DEPT),
        ("licence_status", "c-1", DEPT),
    ]
    assert events[0]["data"] == {"level": "yellow"}
    assert int(events[0]["id"]) < int(events[1]["id"])
    # The same delivery again is a replay; a changed body or another key is a forgery.
    with pytest.raises(WebhookReplayed) as replayed:
        verify_webhook(first.body, first.headers, made.secret, seen=seen)
    assert replayed.value.reason == "WEBHOOK_REPLAYED"
    forged = first.body.replace(b"yellow", b"green")
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(forged, first.headers, made.secret)
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(first.body, first.headers, "00" * 32)
    # Captured and sent again later: outside the timestamp window, even to a receiver that forgot the id.
    later = int(first.headers[HEADER_TIMESTAMP]) + TOLERANCE_SECONDS + 1
    with pytest.raises(WebhookReplayed) as stale:
        verify_webhook(first.body, first.headers, made.secret, now=later)
    assert stale.value.reason == "WEBHOOK_TIMESTAMP_OUTSIDE_WINDOW"
    assert len(world.receiver.deliveries) == 2


async def test_ed25519_webhook_verifies_with_the_hubs_public_key(world: World) -> None:
    made = await world.admin.set_webhook(world.receiver.url, scheme="ed25519")
    assert made.secret == ""
    public = load_pem_public_key(made.webhook.public_key_pem.encode())
    await world.publish(EventKind.ESCALATION, "r-9")
    (delivery,) = await world.receiver.wait_for(1)
    assert delivery.headers[HEADER_SIGNATURE].startswith("ed25519=")
    event = verify_webhook(delivery.body, delivery.headers, public)  # type: ignore[arg-type]
    assert event["kind"] == "escalation" and event["reference"] == "r-9"
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(delivery.body, delivery.headers, "11" * 32)  # an HMAC key for an Ed25519 delivery


async def test_failed_deliveries_are_retried_with_the_same_event_id_until_taken(world: World) -> None:
    made = await world.admin.set_webhook(world.receiver.url)
    world.receiver.queued.extend([500, 503])
    await world.publish(EventKind.TICKET, "t-1")
    attempts = await world.receiver.wait_for(3)
    ids = {a.headers["X-Exchange-Event-Id"] for a in attempts}
    assert len(ids) == 1
    # Each attempt is signed afresh and verifies on its own.
    assert verify_webhook(attempts[2].body, attempts[2].headers, made.secret)["reference"] == "t-1"
    assert await world.admin.list_dead_letters() == []


async def test_a_delivery_that_never_succeeds_is_a_dead_letter_and_can_be_redriven(world: World) -> None:
    made = await world.admin.set_webhook(world.receiver.url)
    world.receiver.status = 503
    await world.publish(EventKind.WARNING, "c-7", level="red")
    await world.receiver.wait_for(3)  # webhook_max_attempts
    letters: list[Any] = []
    deadline = time.monotonic() + 30
    while not letters and time.monotonic() < deadline:
        letters = await world.admin.list_dead_letters()
        await asyncio.sleep(0.05)
    (letter,) = letters
    assert letter.attempts == 3 and letter.last_error == "HTTP 503" and letter.event.reference == "c-7"
    dead = [e for e in await world.hub.log_entries() if e.action == "notifications.dead_letter"]
    assert [(e.reason, e.outcome, e.details["department"]) for e in dead] == [
        ("WEBHOOK_DEAD_LETTER", "DeadLetter", DEPT)
    ]
    world.receiver.status = 200
    assert await world.admin.redrive_dead_letters() == [letter.event.id]
    delivery = (await world.receiver.wait_for(4))[3]
    assert verify_webhook(delivery.body, delivery.headers, made.secret)["id"] == str(letter.event.id)
    assert await world.admin.list_dead_letters() == []
    redriven = [e for e in await world.hub.log_entries() if e.action == "notifications.dead_letters.redrive"]
    assert redriven[-1].details["events"] == str(letter.event.id) and redriven[-1].caller_department == DEPT


async def test_plain_http_webhook_is_refused_and_logged(world: World) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await world.admin.set_webhook("http://127.0.0.1:9/hook")
    assert refused.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.reason == "WEBHOOK_URL_NOT_HTTPS"
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.caller_department) == (
        "notifications.webhook.set",
        "deny",
        "WEBHOOK_URL_NOT_HTTPS",
        "INVALID_ARGUMENT",
        DEPT,
    )


async def test_only_the_departments_own_admin_sets_its_webhook(world: World) -> None:
    officer = world.hub.client(DEPT, officer="officer-1", roles=(Role.OFFICER,))
    with pytest.raises(PermissionDenied) as as_officer:
        await officer.set_webhook(world.receiver.url)
    assert as_officer.value.grpc_code == grpc.StatusCode.PERMISSION_DENIED
    assert as_officer.value.reason == "ROLE_NOT_ALLOWED"
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason, entry.officer_id) == (
        "notifications.webhook.set",
        "deny",
        "ROLE_NOT_ALLOWED",
        "officer-1",
    )
    other_admin = world.hub.client(OTHER, officer="admin-2", roles=(Role.DEPT_ADMIN,))
    with pytest.raises(PermissionDenied) as elsewhere:
        await other_admin.set_webhook(world.receiver.url, department=DEPT)
    assert elsewhere.value.reason == "NOT_OWNER"
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.caller_department) == (
        "notifications.webhook.set",
        "deny",
        "NOT_OWNER",
        "PERMISSION_DENIED",
        OTHER,
    )


async def test_the_cli_sets_the_webhook_lists_and_redrives_dead_letters(world: World, tmp_path) -> None:
    from click.testing import CliRunner

    from exchange.cli import cli

    profile = str(world.hub.write_profile(DEPT, tmp_path / "cli", officer="admin-1", roles=(Role.DEPT_ADMIN,)))

    async def invoke(*args: str) -> str:
        result = await asyncio.to_thread(CliRunner().invoke, cli, [*args, "--profile", profile], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    made = await invoke("notify", "webhook", "set", world.receiver.url, "--kind", "warning")
    secret = made.split("): ")[-1].strip()
    assert "webhook set: " + world.receiver.url in made and len(bytes.fromhex(secret)) == 32
    assert "kinds: warning" in await invoke("notify", "webhook", "show")
    world.receiver.status = 500
    await world.publish(EventKind.WARNING, "c-9")
    await world.receiver.wait_for(3)
    listed: list[Any] = []
    deadline = time.monotonic() + 30
    while not listed and time.monotonic() < deadline:
        listed = json.loads(await invoke("notify", "dead-letters", "list", "--output", "json"))
        await asyncio.sleep(0.05)
    assert [(row["reference"], row["attempts"], row["error"]) for row in listed] == [("c-9", 3, "HTTP 500")]
    world.receiver.status = 200
    assert "back in line: 1" in await invoke("notify", "dead-letters", "redrive")
    delivery = (await world.receiver.wait_for(4))[3]
    assert verify_webhook(delivery.body, delivery.headers, secret)["reference"] == "c-9"
    streamed = await invoke("notify", "subscribe", "--limit", "1")
    assert json.loads(streamed)["reference"] == "c-9"
