"""The log encodes an entry at its index without rebuilding it: the bytes are those of the rebuilt entry."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.audit.entry import AccessLogEntry, decode_entry, encode_entry
from exchange.errors import InvalidArgument

text = st.text(max_size=20)
entries = st.builds(
    AccessLogEntry,
    index=st.integers(0, 2**63 - 1),
    time_us=st.integers(0, 2**63 - 1),
    caller_department=text,
    subject_id=text,
    fields=st.lists(text, max_size=5).map(tuple),
    decision=st.sampled_from(["allow", "deny"]),
    hidden_from_subject=st.booleans(),
    details=st.dictionaries(text, text, max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(entry=entries, index=st.integers(0, 2**63 - 1))
def test_encoding_at_an_index_equals_encoding_the_entry_rebuilt_with_that_index(
    entry: AccessLogEntry, index: int
) -> None:
    data = encode_entry(entry, index=index)
    assert data == encode_entry(dataclasses.replace(entry, index=index))
    assert decode_entry(data).index == index


@pytest.mark.parametrize("index", [True, 1.0, "7"])
def test_an_index_that_is_not_an_integer_is_refused(index: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        encode_entry(AccessLogEntry(action="exchange.fetch"), index=index)  # type: ignore[arg-type]
    assert caught.value.reason == "ACCESS_LOG_ENTRY_INVALID"
