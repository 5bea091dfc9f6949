"""The webhook's pure rules: the retry schedule, the URLs accepted, and the signature a receiver checks."""

from __future__ import annotations

import pytest

from exchange.auth.keys import generate_ed25519
from exchange.errors import InvalidArgument
from exchange.notifications import check_kinds, check_webhook_url, retry_delay_seconds
from exchange.webhook_signature import (
    HEADER_EVENT_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    WebhookReplayed,
    WebhookSignatureInvalid,
    event_body,
    sign,
    verify_webhook,
)

SECRET = bytes(range(32))
NOW = 1_796_198_400


def test_retries_wait_the_first_delay_then_double_up_to_the_longest() -> None:
    waits = [retry_delay_seconds(n, 30, 3600) for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.parametrize("url", ["https://svc.example.gov.cn/hooks", "https://10.0.0.5:8443/x"])
def test_https_urls_are_accepted(url: str) -> None:
    assert check_webhook_url(url, loopback_http=False) == url


def test_plain_http_is_refused_but_to_loopback_on_a_dev_hub() -> None:
    assert check_webhook_url("http://127.0.0.1:9000/h", loopback_http=True)
    assert check_webhook_url("http://localhost/h", loopback_http=True)
    for url, allowed in [("http://127.0.0.1:9000/h", False), ("http://svc.example.gov.cn/h", True)]:
        with pytest.raises(InvalidArgument) as refused:
            check_webhook_url(url, loopback_http=allowed)
        assert refused.value.reason == "WEBHOOK_URL_NOT_HTTPS"
    with pytest.raises(InvalidArgument) as odd:
        check_webhook_url("ftp://svc.example.gov.cn/h", loopback_http=True)
    assert odd.value.reason == "WEBHOOK_URL_INVALID"


def test_kinds_are_the_ones_the_hub_publishes() -> None:
    assert check_kinds(["warning", "warning", "ticket"]) == ("warning", "ticket")
    with pytest.raises(InvalidArgument) as refused:
        check_kinds(["warning", "gossip"])
    assert refused.value.reason == "EVENT_KIND_UNKNOWN" and refused.value.violations[0].field == "kinds[1]"


def _delivery() -> tuple[bytes, dict[str, str]]:
    body = event_body(7, "warning", "SVC", "c-1", 1, {"level": "red"})
    return body, sign(7, body, timestamp=NOW, secret=SECRET)


def test_the_body_is_canonical_json_and_the_signature_covers_id_time_and_body() -> None:
    body, headers = _delivery()
    assert (
        body == b'{"data":{"level":"red"},"department":"SVC","id":"7","kind":"warning","reference":"c-1","time_us":1}'
    )
    assert verify_webhook(body, headers, SECRET, now=NOW)["id"] == "7"
    assert verify_webhook(body, {k.lower(): v for k, v in headers.items()}, SECRET.hex(), now=NOW)
    for name, value in [(HEADER_EVENT_ID, "8"), (HEADER_TIMESTAMP, str(NOW + 1))]:
        with pytest.raises(WebhookSignatureInvalid):
            verify_webhook(body, {**headers, name: value}, SECRET, now=NOW)


def test_the_window_is_inclusive_at_its_edge_both_ways() -> None:
    body, headers = _delivery()
    assert verify_webhook(body, headers, SECRET, now=NOW + 300)
    assert verify_webhook(body, headers, SECRET, now=NOW - 300)
    for now in (NOW + 301, NOW - 301):
        with pytest.raises(WebhookReplayed):
            verify_webhook(body, headers, SECRET, now=now)


def test_a_missing_header_or_an_unreadable_timestamp_is_refused() -> None:
    body, headers = _delivery()
    with pytest.raises(WebhookSignatureInvalid) as missing:
        verify_webhook(body, {k: v for k, v in headers.items() if k != HEADER_SIGNATURE}, SECRET, now=NOW)
    assert missing.value.reason == "WEBHOOK_HEADER_MISSING"
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(body, {**headers, HEADER_TIMESTAMP: "soon"}, SECRET, now=NOW)


def test_ed25519_deliveries_verify_with_the_public_key_only() -> None:
    key = generate_ed25519()
    body = event_body(9, "ticket", "SVC", "t-1", 1, {})
    headers = sign(9, body, timestamp=NOW, key=key)
    assert verify_webhook(body, headers, key.public_key(), now=NOW)["kind"] == "ticket"
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(body, headers, generate_ed25519().public_key(), now=NOW)
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook(body, {**headers, HEADER_SIGNATURE: "ed25519=not base64!"}, key.public_key(), now=NOW)
