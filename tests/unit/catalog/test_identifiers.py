"""Key formats: what validates, what each malformation says, and that generated keys validate."""

import random
from datetime import date

import pytest

from catalog.identifiers import (
    KeyFormat,
    generate_licence_id,
    generate_resident_id,
    generate_uscc,
    is_valid_key,
    validate_key,
)
from exchange.errors import InvalidArgument

DOMAIN_LICENCE_ID = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
TYPE_CODE = "11100000000013338W032"
ISSUER = "11220000013544541J"


def refusal(fmt: KeyFormat, value: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        validate_key(fmt, value)
    return info.value


def test_uscc_from_the_standard_validates() -> None:
    assert validate_key(KeyFormat.USCC, "91110000600037341L") == "91110000600037341L"


def test_uscc_is_stripped_and_upper_cased() -> None:
    assert validate_key(KeyFormat.USCC, "  91110000600037341l ") == "91110000600037341L"


def test_uscc_of_wrong_length_names_length_and_format() -> None:
    err = refusal(KeyFormat.USCC, "9111000060003734")
    assert err.reason == "MALFORMED_KEY"
    assert "uscc" in err.message
    assert "wrong length 16, expected 18" in err.message


def test_uscc_refuses_letters_outside_its_alphabet() -> None:
    err = refusal(KeyFormat.USCC, "9111000060003734IL")
    assert "character 'I'" in err.message
    assert "not allowed" in err.message


def test_uscc_with_wrong_check_character_says_what_the_digits_give() -> None:
    err = refusal(KeyFormat.USCC, "91110000600037341M")
    assert "check character is 'M' but the digits give 'L'" in err.message


def test_resident_id_validates_with_x_check_in_either_case() -> None:
    rid = generate_resident_id(random.Random(1), birth=date(1990, 1, 1), male=True)
    assert validate_key(KeyFormat.RESIDENT_ID, rid.lower()) == rid


def test_resident_id_with_impossible_birth_date_is_refused() -> None:
    err = refusal(KeyFormat.RESIDENT_ID, "110105199002300010")
    assert "birth date '19900230'" in err.message


def test_resident_id_with_wrong_check_character_is_refused() -> None:
    good = generate_resident_id(random.Random(2), birth=date(1985, 6, 15))
    wrong = "0" if good[-1] != "0" else "1"
    err = refusal(KeyFormat.RESIDENT_ID, good[:-1] + wrong)
    assert f"check character is '{wrong}' but the digits give '{good[-1]}'" in err.message


def test_resident_id_with_letter_in_body_is_refused() -> None:
    err = refusal(KeyFormat.RESIDENT_ID, "11010519900101A01X")
    assert "character 'A' at position 15 must be a digit" in err.message


def test_licence_id_example_from_the_domain_notes_validates() -> None:
    assert validate_key(KeyFormat.LICENCE_ID, DOMAIN_LICENCE_ID) == DOMAIN_LICENCE_ID
    assert validate_key(KeyFormat.LICENCE_ID, DOMAIN_LICENCE_ID.lower()) == DOMAIN_LICENCE_ID


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (DOMAIN_LICENCE_ID[:-1] + "G", "check character is 'G' but the digits give 'F'"),
        (DOMAIN_LICENCE_ID.replace("1.2.156.3005.2.", "1.2.156.3005.3."), "must start with"),
        (DOMAIN_LICENCE_ID.replace(".001.", ".01."), "version '01' must be 3 digits"),
        (DOMAIN_LICENCE_ID.replace(".2430599.001", ".001"), "has 4 parts"),
        (DOMAIN_LICENCE_ID.replace(ISSUER, ISSUER[:-1] + "K"), "issuer part"),
        (DOMAIN_LICENCE_ID.replace(TYPE_CODE, TYPE_CODE[:-1]), "type code"),
        (DOMAIN_LICENCE_ID.replace("2430599", "24-0599"), "serial '24-0599'"),
    ],
)
def test_malformed_licence_ids_say_which_part_is_wrong(value: str, expected: str) -> None:
    err = refusal(KeyFormat.LICENCE_ID, value)
    assert err.reason == "MALFORMED_KEY"
    assert expected in err.message


@pytest.mark.parametrize("fmt", list(KeyFormat))
def test_any_format_refuses_keys_past_256_characters(fmt: KeyFormat) -> None:
    err = refusal(fmt, "1" * 257)
    assert err.reason == "KEY_TOO_LONG"
    assert "257" in err.message


@pytest.mark.parametrize("fmt", list(KeyFormat))
def test_any_format_refuses_control_characters(fmt: KeyFormat) -> None:
    err = refusal(fmt, "ab\x00cd")
    assert err.reason == "MALFORMED_KEY"
    assert "control character" in err.message


def test_free_text_keeps_case_and_accepts_256_characters() -> None:
    assert validate_key(KeyFormat.FREE_TEXT, " Case-42 ") == "Case-42"
    assert validate_key(KeyFormat.FREE_TEXT, "x" * 256) == "x" * 256


def test_free_text_refuses_blank() -> None:
    assert refusal(KeyFormat.FREE_TEXT, "   ").message.endswith("empty")


@pytest.mark.parametrize("seed", range(200))
def test_generated_keys_validate(seed: int) -> None:
    rng = random.Random(seed)
    code = generate_uscc(rng)
    rid = generate_resident_id(rng)
    lid = generate_licence_id(rng, type_code=TYPE_CODE, issuer_uscc=code)
    assert validate_key(KeyFormat.USCC, code) == code
    assert validate_key(KeyFormat.RESIDENT_ID, rid) == rid
    assert validate_key(KeyFormat.LICENCE_ID, lid) == lid


def test_generators_are_deterministic_per_seed() -> None:
    first = [generate_uscc(random.Random(7)), generate_resident_id(random.Random(7))]
    second = [generate_uscc(random.Random(7)), generate_resident_id(random.Random(7))]
    assert first == second


def test_generated_resident_id_encodes_birth_region_and_sex() -> None:
    rid = generate_resident_id(random.Random(3), region="310115", birth=date(2001, 2, 3), male=False)
    assert rid.startswith("31011520010203")
    assert int(rid[16]) % 2 == 0
    assert int(generate_resident_id(random.Random(3), male=True)[16]) % 2 == 1


def test_licence_generator_keeps_given_serial_and_version() -> None:
    lid = generate_licence_id(random.Random(0), type_code=TYPE_CODE, issuer_uscc=ISSUER, serial="2430599")
    assert lid == DOMAIN_LICENCE_ID


def test_licence_generator_refuses_a_bad_issuer() -> None:
    with pytest.raises(InvalidArgument):
        generate_licence_id(random.Random(0), type_code=TYPE_CODE, issuer_uscc="NOT-A-USCC")


def test_is_valid_key_answers_without_raising() -> None:
    assert is_valid_key(KeyFormat.USCC, "91110000600037341L")
    assert not is_valid_key(KeyFormat.USCC, "91110000600037341M")
