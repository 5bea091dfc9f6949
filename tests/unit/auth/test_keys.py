"""Specification of the key helpers: formats, ids, algorithms and file permissions."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from exchange.auth import (
    algorithm_for,
    generate_ed25519,
    generate_p256,
    key_id,
    load_private_key,
    load_public_key,
    private_key_to_pem,
    public_key_to_pem,
    write_private_key,
)
from exchange.auth.identity import Caller, Role
from exchange.auth.keys import PrivateKey
from exchange.errors import InvalidArgument


def test_private_key_round_trips_through_pem_text_and_file(tmp_path: Path) -> None:
    key = generate_ed25519()
    path = tmp_path / "dept.key"
    write_private_key(path, key)

    from_text = load_private_key(private_key_to_pem(key))
    from_file = load_private_key(path)
    from_str_path = load_private_key(str(path))

    assert key_id(from_text) == key_id(from_file) == key_id(from_str_path) == key_id(key)


def test_private_key_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "dept.key"
    write_private_key(path, generate_p256())

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_public_key_round_trips_and_keeps_its_id() -> None:
    key = generate_p256()
    pem = public_key_to_pem(key)

    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert key_id(load_public_key(pem)) == key_id(key.public_key())


def test_key_id_is_base64url_of_first_12_bytes_of_spki_sha256() -> None:
    key = generate_ed25519().public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    assert key_id(key) == base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode()
    assert len(key_id(key)) == 16
    assert key_id(key) != key_id(generate_ed25519().public_key())


def test_algorithm_follows_the_key_type() -> None:
    assert algorithm_for(generate_ed25519()) == "EdDSA"
    assert algorithm_for(generate_p256().public_key()) == "ES256"


@pytest.mark.parametrize(
    "key",
    [rsa.generate_private_key(public_exponent=65537, key_size=2048), ec.generate_private_key(ec.SECP384R1())],
    ids=["rsa", "p384"],
)
def test_other_key_types_are_refused(key: PrivateKey) -> None:
    with pytest.raises(InvalidArgument) as caught:
        algorithm_for(key)
    assert caught.value.reason == "KEY_TYPE_UNSUPPORTED"

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(InvalidArgument):
        load_private_key(pem)


def test_bad_input_is_refused_with_a_clear_reason(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as missing:
        load_private_key(tmp_path / "nope.key")
    assert missing.value.reason == "KEY_FILE_UNREADABLE" and "nope.key" in missing.value.message

    with pytest.raises(InvalidArgument) as garbage:
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    assert garbage.value.reason == "KEY_MALFORMED"

    with pytest.raises(InvalidArgument) as public_garbage:
        load_public_key("hello")
    assert public_garbage.value.reason == "KEY_MALFORMED"


def test_caller_has_exactly_its_roles() -> None:
    caller = Caller("PSB", "o-1", frozenset({Role.AUDITOR}), "jti", 0)

    assert caller.has(Role.AUDITOR)
    assert not caller.has(Role.OFFICER)
    assert Role("dept_admin") is Role.DEPT_ADMIN
