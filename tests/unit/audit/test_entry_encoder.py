"""The fast canonical encoder writes exactly the bytes of the reference `json.dumps` encoding."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.audit.entry import ENTRY_VERSION, AccessLogEntry, encode_entry, join_encoding, split_encoding
from exchange.errors import InvalidArgument


def reference_encoding(entry: AccessLogEntry, index: int | None = None, hidden: bool | None = None) -> bytes:
    """The v1 encoding as first written: every field, sorted keys, compact separators, UTF-8."""
    values: dict[str, Any] = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)}
    values["fields"] = list(entry.fields)
    values["details"] = dict(entry.details)
    if index is not None:
        values["index"] = index
    if hidden is not None:
        values["hidden_from_subject"] = hidden
    return ENTRY_VERSION + json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# Every code point but lone surrogates, so quotes, backslashes, control characters and astral text all appear.
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=24)
ints = st.integers(-(2**63), 2**63 - 1)
entries = st.builds(
    AccessLogEntry,
    index=ints,
    time_us=ints,
    request_id=text,
    action=text,
    caller_department=text,
    officer_id=text,
    officer_role=text,
    dataset=text,
    dataset_version=text,
    subject_id=text,
    case_id=text,
    service_item=text,
    fields=st.lists(text, max_size=6).map(tuple),
    decision=st.sampled_from(["allow", "deny"]),
    reason=text,
    message=text,
    outcome=text,
    latency_us=ints,
    request_digest=text,
    response_digest=text,
    hidden_from_subject=st.booleans(),
    details=st.dictionaries(text, text, max_size=6),
)


@settings(max_examples=1500, deadline=None)
@given(entry=entries, index=st.none() | ints, hidden=st.none() | st.booleans())
def test_the_encoder_is_byte_identical_to_the_reference_json(
    entry: AccessLogEntry, index: int | None, hidden: bool | None
) -> None:
    assert encode_entry(entry, index=index, hidden=hidden) == reference_encoding(entry, index, hidden)


@settings(max_examples=300, deadline=None)
@given(entry=entries, index=ints, hidden=st.booleans())
def test_a_split_entry_joined_at_an_index_is_the_entry_encoded_there(
    entry: AccessLogEntry, index: int, hidden: bool
) -> None:
    assert join_encoding(split_encoding(entry), index, hidden) == reference_encoding(entry, index, hidden)


def test_every_field_of_the_entry_is_in_the_encoding_in_sorted_order() -> None:
    names = [f.name for f in dataclasses.fields(AccessLogEntry)]
    keys = list(json.loads(encode_entry(AccessLogEntry())[len(ENTRY_VERSION) :]))
    assert keys == sorted(names)


@pytest.mark.parametrize("field", ["subject_id", "message", "fields", "details"])
def test_text_that_is_not_valid_unicode_is_refused_by_name(field: str) -> None:
    bad = "\udc80"
    value: object = {"fields": (bad,), "details": {"k": bad}}.get(field, bad)
    with pytest.raises(InvalidArgument, match="not valid Unicode") as caught:
        encode_entry(AccessLogEntry(**{field: value}))  # type: ignore[arg-type]
    assert caught.value.reason == "ACCESS_LOG_ENTRY_INVALID"
