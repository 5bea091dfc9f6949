"""Access log entries have one canonical, versioned encoding that decodes back exactly."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.audit.entry import (
    ENTRY_VERSION,
    AccessLogEntry,
    EntryFormatError,
    decode_entry,
    encode_entry,
    entry_leaf_hash,
)
from exchange.audit.merkle import leaf_hash
from exchange.errors import InvalidArgument

FETCH = AccessLogEntry(
    index=41,
    time_us=1_764_000_000_123_456,
    request_id="req-7f3a",
    action="exchange.fetch",
    caller_department="civil-affairs",
    officer_id="officer-0042",
    officer_role="case_officer",
    dataset="business-licence",
    dataset_version="2.1.0",
    subject_id="91350100M000100Y43",
    case_id="case-2026-000318",
    service_item="enterprise-change-registration",
    fields=("name", "legal_representative"),
    decision="allow",
    outcome="ok",
    latency_us=8_250,
    request_digest="ab" * 32,
    response_digest="cd" * 32,
    message="许可 granted",
)


def _json(entry: AccessLogEntry) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(encode_entry(entry)[len(ENTRY_VERSION) :])
    return loaded


def test_encoding_is_a_version_line_then_compact_sorted_json() -> None:
    data = encode_entry(FETCH)
    assert data.startswith(b'exchange-access-log/v1\n{"action":"exchange.fetch",')
    assert b" " not in data.replace(b"\xe8\xae\xb8\xe5\x8f\xaf granted", b"")
    assert "许可".encode() in data  # UTF-8, not \\u escapes
    keys = list(_json(FETCH))
    assert keys == sorted(keys)


def test_an_entry_decodes_back_to_itself() -> None:
    assert decode_entry(encode_entry(FETCH)) == FETCH


def test_the_leaf_hash_covers_the_canonical_bytes() -> None:
    assert entry_leaf_hash(FETCH) == leaf_hash(encode_entry(FETCH))
    assert entry_leaf_hash(FETCH) != entry_leaf_hash(dataclasses.replace(FETCH, subject_id=""))


def test_details_of_an_administrative_change_cannot_be_changed_after_logging() -> None:
    entry = AccessLogEntry(action="grants.create", details={"target": "grant-9", "summary": "created"})
    with pytest.raises(TypeError):
        entry.details["target"] = "grant-10"  # type: ignore[index]


def test_an_entry_with_a_float_is_refused_on_construction() -> None:
    with pytest.raises(InvalidArgument, match=r"`latency_us` has 1\.5"):
        AccessLogEntry(latency_us=1.5)  # type: ignore[arg-type]


def test_an_unknown_decision_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="`decision` has 'maybe'"):
        AccessLogEntry(decision="maybe")  # type: ignore[arg-type]


def test_an_unknown_version_is_refused_by_name() -> None:
    data = encode_entry(FETCH).replace(b"/v1\n", b"/v2\n", 1)
    with pytest.raises(EntryFormatError, match="format 'v2' is unknown; this version reads v1") as caught:
        decode_entry(data)
    assert caught.value.reason == "ACCESS_LOG_ENTRY_VERSION_UNKNOWN"


def test_bytes_without_the_header_are_refused() -> None:
    with pytest.raises(EntryFormatError, match="do not start with the access log entry header"):
        decode_entry(b'{"index":0}')


def _reencode(values: dict[str, object]) -> bytes:
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return ENTRY_VERSION + text.encode()


def test_missing_and_unknown_keys_are_named() -> None:
    values = _json(FETCH)
    del values["subject_id"]
    values["payload"] = "secret"
    with pytest.raises(EntryFormatError, match=r"missing keys \['subject_id'\] and unknown keys \['payload'\]"):
        decode_entry(_reencode(values))


def test_a_wrongly_typed_value_is_named() -> None:
    values = _json(FETCH)
    values["hidden_from_subject"] = 0
    with pytest.raises(EntryFormatError, match="`hidden_from_subject` has 0"):
        decode_entry(_reencode(values))


def test_a_fractional_number_is_refused() -> None:
    with pytest.raises(EntryFormatError, match=r"no fractional numbers, found 8250\.0"):
        decode_entry(encode_entry(FETCH).replace(b'"latency_us":8250', b'"latency_us":8250.0'))


def test_a_non_canonical_encoding_of_a_valid_entry_is_refused() -> None:
    spaced = ENTRY_VERSION + json.dumps(_json(FETCH), sort_keys=True, ensure_ascii=False).encode()
    with pytest.raises(EntryFormatError, match="not in canonical form"):
        decode_entry(spaced)


def test_broken_json_is_refused() -> None:
    with pytest.raises(EntryFormatError, match="not valid UTF-8 JSON"):
        decode_entry(encode_entry(FETCH)[:-1])


text = st.text(max_size=20)
entries = st.builds(
    AccessLogEntry,
    index=st.integers(0, 2**63 - 1),
    time_us=st.integers(0, 2**63 - 1),
    request_id=text,
    action=st.sampled_from(["exchange.fetch", "cases.material.attach", "cases.material.read", "grants.create"]),
    caller_department=text,
    officer_id=text,
    subject_id=text,
    fields=st.lists(text, max_size=5).map(tuple),
    decision=st.sampled_from(["allow", "deny"]),
    reason=text,
    message=text,
    latency_us=st.integers(0, 10**9),
    hidden_from_subject=st.booleans(),
    details=st.dictionaries(text, text, max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(entry=entries)
def test_decode_inverts_encode_and_encode_is_deterministic(entry: AccessLogEntry) -> None:
    data = encode_entry(entry)
    assert decode_entry(data) == entry
    assert encode_entry(decode_entry(data)) == data
    rebuilt = AccessLogEntry(**{f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)})
    assert encode_entry(rebuilt) == data
