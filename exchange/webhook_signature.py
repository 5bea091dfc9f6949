"""The signed webhook: the body the hub POSTs for one event, its headers, and the receiver's check.

The body is the event as RFC 8785 JSON (`adapters.jcs`). What is signed is
``"<event id>.<timestamp>." + body``, so neither the id nor the time can be swapped onto another body:

    X-Exchange-Event-Id:  42
    X-Exchange-Timestamp: 1796198400            (seconds since the epoch, when this attempt was sent)
    X-Exchange-Signature: hmac-sha256=<hex>     (the department's shared secret)
                       or ed25519=<base64>      (the hub's signing key)

A receiver accepts a delivery only within `TOLERANCE_SECONDS` of its timestamp and only once per event id
(replays are refused); retries of one event carry the same id with a fresh timestamp and signature.
Imports the standard library, `cryptography` and `adapters.jcs` only: the client ships it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping, MutableSet
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters.jcs import canonicalize, parse
from exchange.errors import InvalidArgument, Unauthenticated

HEADER_EVENT_ID = "X-Exchange-Event-Id"
HEADER_TIMESTAMP = "X-Exchange-Timestamp"
HEADER_SIGNATURE = "X-Exchange-Signature"
TOLERANCE_SECONDS = 300
HMAC = "hmac-sha256"
ED25519 = "ed25519"
SCHEMES = (HMAC, ED25519)


class WebhookSignatureInvalid(Unauthenticated):
    """The delivery's signature does not verify with the key given (forged, altered, or the wrong key)."""

    default_reason = "WEBHOOK_SIGNATURE_INVALID"


class WebhookReplayed(Unauthenticated):
    """The delivery is outside the timestamp window, or its event id was accepted before."""

    default_reason = "WEBHOOK_REPLAYED"


def event_body(
    event_id: int, kind: str, department: str, reference: str, time_us: int, data: Mapping[str, Any]
) -> bytes:
    """The RFC 8785 body of one event's delivery."""
    return canonicalize(
        {
            "id": str(event_id),
            "kind": kind,
            "department": department,
            "reference": reference,
            "time_us": time_us,
            "data": dict(data),
        }
    )


def signed_bytes(event_id: str, timestamp: int, body: bytes) -> bytes:
    """What the signature covers: the event id, the timestamp and the body."""
    return f"{event_id}.{timestamp}.".encode() + body


def sign(
    event_id: int, body: bytes, *, timestamp: int, secret: bytes | None = None, key: Ed25519PrivateKey | None = None
) -> dict[str, str]:
    """The three headers of one delivery attempt, signed with the shared secret or the hub's Ed25519 key."""
    message = signed_bytes(str(event_id), timestamp, body)
    if secret is not None:
        signature = f"{HMAC}={hmac.new(secret, message, hashlib.sha256).hexdigest()}"
    elif key is not None:
        signature = f"{ED25519}={base64.b64encode(key.sign(message)).decode()}"
    else:
        raise InvalidArgument("a webhook is signed with a secret or an Ed25519 key", reason="WEBHOOK_KEY_MISSING")
    return {HEADER_EVENT_ID: str(event_id), HEADER_TIMESTAMP: str(timestamp), HEADER_SIGNATURE: signature}


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header by name, in any case; WebhookSignatureInvalid when it is missing."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    raise WebhookSignatureInvalid(f"the delivery has no {name} header", reason="WEBHOOK_HEADER_MISSING")


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    key: bytes | str | Ed25519PublicKey,
    *,
    now: float | None = None,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    seen: MutableSet[str] | None = None,
) -> dict[str, Any]:
    """The event a webhook delivery carries, once its signature, time window and (with `seen`) novelty check out.

    `key` is the department's shared secret (bytes, or its hex text) or the hub's Ed25519 public key.
    `seen` holds the event ids accepted so far (the caller keeps it for at least the window); the id is added.
    """
    event_id = _header(headers, HEADER_EVENT_ID)
    stamp = _header(headers, HEADER_TIMESTAMP)
    scheme, _, value = _header(headers, HEADER_SIGNATURE).partition("=")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookSignatureInvalid(
            f"{HEADER_TIMESTAMP} must be whole seconds since the epoch, found {stamp[:32]!r}"
        ) from None
    message = signed_bytes(event_id, timestamp, body)
    if isinstance(key, Ed25519PublicKey):
        if scheme != ED25519:
            raise WebhookSignatureInvalid(f"expected an {ED25519} signature (the hub's key), found {scheme[:20]!r}")
        try:
            key.verify(base64.b64decode(value, validate=True), message)
        except (InvalidSignature, binascii.Error, ValueError):
            raise WebhookSignatureInvalid("the Ed25519 signature does not verify with the hub's key") from None
    else:
        secret = bytes.fromhex(key) if isinstance(key, str) else key
        if scheme != HMAC:
            raise WebhookSignatureInvalid(f"expected an {HMAC} signature (the shared secret), found {scheme[:20]!r}")
        expected = hmac.new(secret, message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, value):
            raise WebhookSignatureInvalid("the HMAC-SHA256 signature does not verify with the shared secret")
    # Only a genuine delivery reaches the replay checks, so a forger cannot fill `seen`.
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance_seconds:
        raise WebhookReplayed(
            f"the delivery was signed {int(age)} s ago; at most {tolerance_seconds} s either way are accepted",
            reason="WEBHOOK_TIMESTAMP_OUTSIDE_WINDOW",
        )
    if seen is not None:
        if event_id in seen:
            raise WebhookReplayed(f"event {event_id[:32]} was delivered before", reason="WEBHOOK_REPLAYED")
        seen.add(event_id)
    event = parse(body, "webhook body")
    if not isinstance(event, dict) or event.get("id") != event_id:
        raise WebhookSignatureInvalid(f"the body is not the event {HEADER_EVENT_ID} names")
    return event
