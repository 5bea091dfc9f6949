"""Key formats at their edges: every length limit at exactly the limit, and messages that name the facts.

Each refusal is checked for its whole message (format, key, position, allowed values) and the
`key_format` metadata, so a mutant that shifts a position or drops a fact is caught.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from catalog.identifiers import (
    LICENCE_PREFIX,
    MAX_KEY_LENGTH,
    USCC_ALPHABET,
    KeyFormat,
    generate_licence_id,
    generate_resident_id,
    licence_check_character,
    validate_key,
)
from exchange.errors import InvalidArgument

USCC = "91110000600037341L"
TYPE_CODE = "11100000000013338W032"
ISSUER = "11220000013544541J"
RESIDENT = generate_resident_id(random.Random(7), birth=date(1984, 5, 6), male=True)


def refusal(fmt: KeyFormat, value: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        validate_key(fmt, value)
    assert info.value.metadata == {"key_format": fmt.value}
    return info.value


def licence(serial: str = "2430599", version: str = "001") -> str:
    check = licence_check_character(TYPE_CODE, ISSUER, serial, version)
    return f"{LICENCE_PREFIX}.{TYPE_CODE}.{ISSUER}.{serial}.{version}.{check}"


def resident(body17: str) -> str:
    """A resident ID with the right check character for its first 17 digits."""
    from stdnum.cn import ric

    return body17 + ric.calc_check_digit(body17 + "0")


# Length limits


def test_key_of_exactly_the_maximum_length_is_checked_and_one_more_is_refused_as_too_long() -> None:
    assert validate_key(KeyFormat.FREE_TEXT, "a" * MAX_KEY_LENGTH) == "a" * MAX_KEY_LENGTH
    err = refusal(KeyFormat.FREE_TEXT, "a" * (MAX_KEY_LENGTH + 1))
    assert err.reason == "KEY_TOO_LONG"
    assert err.message == (f"key {'a' * 61 + '...'!r} is not a valid free_text: too long (257 characters, at most 256)")


@pytest.mark.parametrize("length", [64, 65])
def test_a_long_key_is_shown_whole_up_to_64_characters_then_cut_to_61_and_dots(length: int) -> None:
    value = "1" * length
    shown = value if length <= 64 else "1" * 61 + "..."
    err = refusal(KeyFormat.USCC, value)
    assert err.message == f"key {shown!r} is not a valid uscc: wrong length {length}, expected 18"


@pytest.mark.parametrize("length", [1, 32])
def test_licence_serial_of_one_and_of_thirty_two_characters_is_valid(length: int) -> None:
    value = licence(serial="7" * length)
    assert validate_key(KeyFormat.LICENCE_ID, value) == value


@pytest.mark.parametrize("length", [0, 33])
def test_licence_serial_outside_one_to_thirty_two_characters_is_refused(length: int) -> None:
    serial = "7" * length
    err = refusal(KeyFormat.LICENCE_ID, licence(serial=serial))
    assert err.message.endswith(f"serial {serial!r} must be 1 to 32 letters/digits")


# Positions and facts in messages


def test_control_character_is_named_with_its_one_based_position() -> None:
    err = refusal(KeyFormat.USCC, "911\x07")
    assert err.message == "key '911\\x07' is not a valid uscc: control character '\\x07' at position 4"


def test_uscc_non_digit_in_the_first_eight_is_named_with_its_position() -> None:
    err = refusal(KeyFormat.USCC, "9111A000600037341L")
    assert err.message == "key '9111A000600037341L' is not a valid uscc: character 'A' at position 5 must be a digit"


@pytest.mark.parametrize(("position", "char"), [(9, "I"), (10, "O"), (18, "Z")])
def test_uscc_letter_outside_the_alphabet_is_named_with_its_position(position: int, char: str) -> None:
    value = USCC[: position - 1] + char + USCC[position:]
    err = refusal(KeyFormat.USCC, value)
    assert err.message == (
        f"key {value!r} is not a valid uscc: character {char!r} at position {position} not allowed "
        f"(alphabet {USCC_ALPHABET})"
    )


def test_uscc_check_character_is_computed_over_the_first_seventeen() -> None:
    err = refusal(KeyFormat.USCC, USCC[:17] + "M")
    assert err.message.endswith("check character is 'M' but the digits give 'L'")


def test_resident_id_of_wrong_length_names_the_format() -> None:
    err = refusal(KeyFormat.RESIDENT_ID, RESIDENT[:17])
    assert err.message == f"key {RESIDENT[:17]!r} is not a valid resident_id: wrong length 17, expected 18"


def test_resident_id_check_character_neither_digit_nor_x_is_refused_naming_it() -> None:
    value = RESIDENT[:17] + "Y"
    err = refusal(KeyFormat.RESIDENT_ID, value)
    assert err.reason == "MALFORMED_KEY"
    assert err.message == f"key {value!r} is not a valid resident_id: check character 'Y' not allowed (digit or 'X')"


def test_resident_id_wrong_check_character_names_the_one_found_and_the_one_expected() -> None:
    right = RESIDENT[-1]
    wrong = "0" if right != "0" else "1"
    err = refusal(KeyFormat.RESIDENT_ID, RESIDENT[:17] + wrong)
    assert err.message.endswith(f"check character is {wrong!r} but the digits give {right!r}")


def test_resident_born_in_1800_is_valid_and_in_1799_is_refused_naming_the_year() -> None:
    born_1800 = resident("110105" + "18000101" + "123")
    assert validate_key(KeyFormat.RESIDENT_ID, born_1800) == born_1800
    born_1799 = resident("110105" + "17991231" + "123")
    err = refusal(KeyFormat.RESIDENT_ID, born_1799)
    assert err.message == f"key {born_1799!r} is not a valid resident_id: birth year 1799 is before 1800"


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        (KeyFormat.RESIDENT_ID, RESIDENT[:14] + "\u00b2" + RESIDENT[15:]),  # superscript two
        (KeyFormat.RESIDENT_ID, RESIDENT[:17] + "\u0663"),  # Arabic-Indic three
        (KeyFormat.USCC, USCC[:3] + "\u0663" + USCC[4:]),
        (KeyFormat.LICENCE_ID, f"{LICENCE_PREFIX}.{TYPE_CODE}.{ISSUER}.1.\u0660\u0660\u0661.0"),
    ],
)
def test_non_ascii_digits_are_refused_as_malformed_not_crashing(fmt: KeyFormat, value: str) -> None:
    # str.isdigit() accepts superscripts and other scripts' digits; the check-digit code then crashes.
    err = refusal(fmt, value)
    assert err.reason == "MALFORMED_KEY"


def test_licence_without_the_prefix_names_the_prefix_and_the_layout() -> None:
    err = refusal(KeyFormat.LICENCE_ID, "1.2.3")
    assert err.message == (
        "key '1.2.3' is not a valid licence_id: must start with '1.2.156.3005.2.' "
        "(layout 1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>)"
    )


def test_licence_type_code_not_starting_with_a_uscc_is_named() -> None:
    bad_type = "11100000000013338W"[:-1] + "A" + "032"
    value = f"{LICENCE_PREFIX}.{bad_type}.{ISSUER}.1.001.0"
    err = refusal(KeyFormat.LICENCE_ID, value)
    assert err.message == (
        f"key {value!r} is not a valid licence_id: type code {bad_type!r} does not start with a valid USCC"
    )


# Demo generators


def test_generated_resident_id_encodes_the_birth_date_and_the_sex_in_the_sequence_parity() -> None:
    rng = random.Random(3)
    for male in (True, False):
        value = generate_resident_id(rng, birth=date(1990, 2, 3), male=male)
        assert value[6:14] == "19900203"
        assert int(value[14:17]) % 2 == (1 if male else 0)
        assert validate_key(KeyFormat.RESIDENT_ID, value) == value


def test_generated_resident_ids_are_born_1950_to_2004_and_of_both_sexes() -> None:
    rng = random.Random(11)
    values = [generate_resident_id(rng) for _ in range(3000)]
    births = [date(int(v[6:10]), int(v[10:12]), int(v[12:14])) for v in values]
    assert min(births) >= date(1950, 1, 1) and max(births) < date(1950, 1, 1).replace(year=2005)
    assert min(births) < date(1951, 1, 1) and max(births) > date(2003, 12, 1)
    sequences = {int(v[14:17]) for v in values}
    assert {s % 2 for s in sequences} == {0, 1}
    assert min(sequences) <= 1 and 998 <= max(sequences) <= 999


@pytest.mark.parametrize("region", ["11010", "11010A"])
def test_generator_refuses_a_region_that_is_not_six_digits(region: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        generate_resident_id(random.Random(1), region=region)
    assert info.value.reason == "INVALID_REGION_CODE"
    assert info.value.message == f"region {region!r} must be 6 digits"


def test_generated_licence_serial_is_ten_digits_and_the_identifier_validates() -> None:
    value = generate_licence_id(random.Random(5), type_code=TYPE_CODE, issuer_uscc=ISSUER)
    serial = value.split(".")[-3]
    assert len(serial) == 10 and serial.isascii() and serial.isdigit()


def test_generated_licence_with_a_bad_part_names_the_part() -> None:
    with pytest.raises(InvalidArgument) as info:
        generate_licence_id(random.Random(5), type_code=TYPE_CODE, issuer_uscc=ISSUER, serial="AB-1")
    assert info.value.metadata == {"key_format": "licence_id"}
    assert "serial 'AB-1' must be 1 to 32 letters/digits" in info.value.message


class _Edge(random.Random):
    """A random source stuck at one end of every range, to reach the generators' boundaries."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        low, high = (0, start) if stop is None else (start, stop)
        return high - 1 if self.high else low

    def random(self) -> float:
        return 0.5


def test_generated_resident_ids_at_the_ends_of_their_ranges_are_valid() -> None:
    first = generate_resident_id(_Edge(high=False))
    assert first[6:14] == "19500101" and first[14:17] == "000"  # random() == 0.5 is not below 0.5: female
    last = generate_resident_id(_Edge(high=True), male=True)
    assert last[6:14] == (date(1950, 1, 1) + timedelta(days=365 * 55 - 1)).strftime("%Y%m%d")
    assert last[14:17] == "999"
    assert validate_key(KeyFormat.RESIDENT_ID, first) == first and validate_key(KeyFormat.RESIDENT_ID, last) == last


def test_generated_licence_with_lower_case_parts_is_upper_cased_and_valid() -> None:
    value = generate_licence_id(random.Random(5), type_code=TYPE_CODE.lower(), issuer_uscc=ISSUER, serial="ab12")
    assert value == licence(serial="AB12")


def test_generated_licence_with_a_control_character_is_refused_naming_the_format() -> None:
    with pytest.raises(InvalidArgument) as info:
        generate_licence_id(random.Random(5), type_code=TYPE_CODE, issuer_uscc=ISSUER, serial="1\x07")
    assert info.value.metadata == {"key_format": "licence_id"}
    assert info.value.message.endswith("control character '\\x07' at position 58")
