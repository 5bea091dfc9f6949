"""Access log entry encoding at its edges: what a malformed entry is refused for, named field by field,
the index and hidden flag set at write time, and every way stored bytes can be wrong.
"""

from __future__ import annotations

import json

import pytest

from exchange.audit.entry import (
    ENTRY_VERSION,
    AccessLogEntry,
    EntryFormatError,
    decode_entry,
    encode_entry,
    join_encoding,
    split_encoding,
)
from exchange.audit.merkle import leaf_hash
from exchange.errors import InvalidArgument

ENTRY = AccessLogEntry(
    index=3,
    time_us=1_764_000_000_000_000,
    request_id="r-1",
    action="exchange.fetch",
    caller_department="FIRE",
    officer_id="wang.fang",
    officer_role="officer",
    dataset="business_licence",
    subject_id="91110000600037341L",
    fields=("name", "address"),
    decision="deny",
    reason="NO_GRANT",
    message="no grant",
    details={"b": "2", "a": "1"},
)


def _reference(entry: AccessLogEntry) -> bytes:
    values = {name: getattr(entry, name) for name in entry.__dataclass_fields__}
    values["fields"] = list(entry.fields)
    values["details"] = dict(entry.details)
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return ENTRY_VERSION + text.encode("utf-8")


def _refusal(**values: object) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        AccessLogEntry(**values)  # type: ignore[arg-type]
    assert caught.value.reason == "ACCESS_LOG_ENTRY_INVALID"
    return caught.value


# Construction


def test_fields_given_as_one_string_are_refused_not_split_into_characters() -> None:
    error = _refusal(fields="abc")
    assert error.message == (
        "an access log entry has fields of the wrong type: `fields` has 'abc'; give a tuple of field names"
    )


def test_fields_given_as_a_list_are_frozen_into_a_tuple() -> None:
    entry = AccessLogEntry(fields=["name", "address"])  # type: ignore[arg-type]
    assert entry.fields == ("name", "address") and type(entry.fields) is tuple


def test_every_wrongly_typed_field_is_named_with_its_value() -> None:
    error = _refusal(index="1", hidden_from_subject=1, decision="maybe", latency_us=True)
    assert error.message == (
        "an access log entry has fields of the wrong type: `index` has '1'; `decision` has 'maybe'; "
        "`latency_us` has True; `hidden_from_subject` has 1"
    )


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"action": 7}, "`action` has 7"),
        ({"fields": ("a", 1)}, "`fields` has ['a', 1]"),
        ({"details": {"k": 1}}, "`details` has {'k': 1}"),
        ({"details": {1: "v"}}, "`details` has {1: 'v'}"),
        ({"time_us": 1.5}, "`time_us` has 1.5"),
        ({"hidden_from_subject": "yes"}, "`hidden_from_subject` has 'yes'"),
    ],
)
def test_one_wrong_field_is_named(values: dict[str, object], named: str) -> None:
    assert _refusal(**values).message == f"an access log entry has fields of the wrong type: {named}"


def test_subclasses_of_the_right_types_are_accepted_and_encode_like_their_base() -> None:
    class Text(str):
        pass

    class Number(int):
        pass

    entry = AccessLogEntry(action=Text("x"), index=Number(4), fields=(Text("f"),), details={Text("k"): Text("v")})
    assert encode_entry(entry) == encode_entry(AccessLogEntry(action="x", index=4, fields=("f",), details={"k": "v"}))


def test_details_are_frozen_and_empty_details_are_accepted() -> None:
    assert dict(AccessLogEntry().details) == {}
    with pytest.raises(TypeError):
        ENTRY.details["c"] = "3"  # type: ignore[index]


# Encoding


def test_encoding_equals_the_reference_canonical_json_with_details_sorted() -> None:
    assert encode_entry(ENTRY) == _reference(ENTRY)
    assert b'"details":{"a":"1","b":"2"}' in encode_entry(ENTRY)
    assert encode_entry(AccessLogEntry()) == _reference(AccessLogEntry())


def test_index_and_hidden_flag_given_at_write_time_replace_the_entrys_own() -> None:
    written = encode_entry(ENTRY, index=9, hidden=True)
    expected = (
        _reference(ENTRY)
        .replace(b'"index":3', b'"index":9')
        .replace(b'"hidden_from_subject":false', b'"hidden_from_subject":true')
    )
    assert written == expected
    assert encode_entry(ENTRY, index=9) == _reference(ENTRY).replace(b'"index":3', b'"index":9')
    assert join_encoding(split_encoding(ENTRY), 9, True) == expected
    assert join_encoding(split_encoding(ENTRY), 3, False) == encode_entry(ENTRY)


@pytest.mark.parametrize("index", [True, "9", 9.0])
def test_a_write_time_index_that_is_not_an_integer_is_refused_naming_it(index: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        encode_entry(ENTRY, index=index)  # type: ignore[arg-type]
    assert caught.value.reason == "ACCESS_LOG_ENTRY_INVALID"
    assert caught.value.message == f"a log index is an integer, not {index!r}"


def test_text_that_is_not_unicode_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        split_encoding(AccessLogEntry(message="\ud800"))
    assert caught.value.reason == "ACCESS_LOG_ENTRY_INVALID"
    assert caught.value.message == "an access log entry holds text that is not valid Unicode: surrogates not allowed"


# Decoding


def _stored(values: dict[str, object]) -> bytes:
    return ENTRY_VERSION + json.dumps(values, sort_keys=True, separators=(",", ":")).encode()


def _base() -> dict[str, object]:
    return json.loads(encode_entry(ENTRY)[len(ENTRY_VERSION) :])


def _decode_error(data: bytes) -> EntryFormatError:
    with pytest.raises(EntryFormatError) as caught:
        decode_entry(data)
    return caught.value


def test_decoding_gives_back_the_entry_and_its_leaf_hash() -> None:
    data = encode_entry(ENTRY)
    assert decode_entry(data) == ENTRY and leaf_hash(data) == leaf_hash(encode_entry(decode_entry(data)))


def test_stored_bytes_errors_name_what_is_wrong() -> None:
    assert _decode_error(b"exchange-access-log/v2\n{}").message == (
        "access log entry format 'v2' is unknown; this version reads v1"
    )
    assert _decode_error(b"exchange-access-log/v2\n{}").reason == "ACCESS_LOG_ENTRY_VERSION_UNKNOWN"
    assert _decode_error(b"{}").message == (
        "the bytes do not start with the access log entry header 'exchange-access-log/v1'"
    )
    assert _decode_error(b"{}").reason == "ACCESS_LOG_ENTRY_MALFORMED"
    assert _decode_error(ENTRY_VERSION + b"[1]").message == "the access log entry must be a JSON object, found list"
    assert _decode_error(ENTRY_VERSION + b"\xff").message.startswith("the access log entry is not valid UTF-8 JSON: ")
    assert _decode_error(ENTRY_VERSION + b"{").message.startswith("the access log entry is not valid UTF-8 JSON: ")


def test_missing_and_unknown_keys_are_each_listed() -> None:
    values = _base()
    del values["reason"], values["action"]
    assert _decode_error(_stored(values)).message == "the access log entry has missing keys ['action', 'reason']"
    values = {**_base(), "zeta": 1}
    assert _decode_error(_stored(values)).message == "the access log entry has unknown keys ['zeta']"
    del values["action"]
    assert _decode_error(_stored(values)).message == (
        "the access log entry has missing keys ['action'] and unknown keys ['zeta']"
    )


def test_stored_values_of_the_wrong_type_are_named() -> None:
    values = {**_base(), "index": "3", "fields": "abc"}
    assert _decode_error(_stored(values)).message == (
        "the access log entry has fields of the wrong type: `index` has '3'; `fields` has 'abc'"
    )


def test_a_fractional_or_exponent_number_is_refused() -> None:
    data = encode_entry(ENTRY).replace(b'"latency_us":0', b'"latency_us":1e3')
    assert _decode_error(data).message == "access log entries hold no fractional numbers, found 1e3"


def test_a_non_canonical_but_valid_encoding_is_refused() -> None:
    data = encode_entry(ENTRY).replace(b'"action":', b'"action": ')
    assert _decode_error(data).message == "the access log entry is valid JSON but not in canonical form"


def test_an_unknown_version_is_named_from_its_first_line_even_when_not_utf8() -> None:
    error = _decode_error(b"exchange-access-log/v 2\xff\n{}\nmore\n")
    assert error.reason == "ACCESS_LOG_ENTRY_VERSION_UNKNOWN"
    assert error.message == "access log entry format 'v 2\ufffd' is unknown; this version reads v1"


# The fast type check every append runs: it must say yes to every well-typed entry and no to any other


def _with(entry: AccessLogEntry, **values: object) -> AccessLogEntry:
    """An entry with values forced in past the constructor's checks, as a bug elsewhere could."""
    forced = AccessLogEntry(**{n: getattr(entry, n) for n in entry.__dataclass_fields__})
    for name, value in values.items():
        object.__setattr__(forced, name, value)
    return forced


WELL_TYPED = [ENTRY, _with(ENTRY, decision="allow", details={}, fields=()), AccessLogEntry()]
ILL_TYPED = [
    {"action": 7},
    {"index": "1"},
    {"index": True},
    {"hidden_from_subject": 1},
    {"decision": "maybe"},
    {"fields": ("a", 1)},
    {"details": {"k": 1}},
    {"details": {1: "v"}},
]


def test_the_fast_type_check_accepts_every_well_typed_entry() -> None:
    from exchange.audit.entry import _as_json_object, _well_typed, _well_typed_entry

    for entry in WELL_TYPED:
        assert _well_typed_entry(entry) and _well_typed(_as_json_object(entry)), entry
    # A string is no list of fields (the constructor refuses one before this check runs).
    assert not _well_typed({**_as_json_object(ENTRY), "fields": "ab"})


@pytest.mark.parametrize("values", ILL_TYPED)
def test_the_fast_type_check_refuses_any_ill_typed_field(values: dict[str, object]) -> None:
    from exchange.audit.entry import _as_json_object, _well_typed, _well_typed_entry

    bad = _with(ENTRY, **values)
    assert not _well_typed_entry(bad)
    raw = {**_as_json_object(ENTRY), **values}
    assert not _well_typed(raw)


# The one deny rule for a request that ended in an error


@pytest.mark.parametrize(
    ("error", "authorised", "decision"),
    [
        ("PermissionDenied", True, "deny"),
        ("Unauthenticated", True, "deny"),
        ("PermissionDenied", False, "deny"),
        ("Unavailable", True, "allow"),
        ("InvalidArgument", True, "allow"),
        *[(name, False, "deny") for name in ("InvalidArgument", "NotFound", "OutOfRange", "ResourceExhausted")],
        ("Unavailable", False, "allow"),
        ("DataLoss", False, "allow"),
        ("FailedPrecondition", False, "allow"),
    ],
)
def test_a_refusal_is_deny_and_a_failure_after_the_policy_allowed_is_allow(
    error: str, authorised: bool, decision: str
) -> None:
    from exchange import errors
    from exchange.audit.entry import decision_for

    assert decision_for(getattr(errors, error)("x"), authorised=authorised) == decision
    if not authorised:
        assert decision_for(getattr(errors, error)("x")) == decision  # not authorised is the default


def test_a_dataset_that_is_no_table_is_a_refusal_whatever_its_error_class() -> None:
    from exchange.audit.entry import decision_for
    from exchange.errors import FailedPrecondition

    assert decision_for(FailedPrecondition("x", reason="DATASET_NOT_TABLE")) == "deny"
    assert decision_for(FailedPrecondition("x", reason="DATASET_NOT_TABLE"), authorised=True) == "allow"
