"""Specification of the hub's small CA: what it issues and how departments are read back from certificates."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from exchange.auth import (
    PkiPaths,
    certificate_fingerprint,
    department_from_auth_context,
    department_from_certificate,
    init_pki,
    issue_department_certificate,
    issue_server_certificate,
)
from exchange.errors import AlreadyExists, FailedPrecondition, InvalidArgument


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture
def pki(tmp_path: Path) -> PkiPaths:
    return init_pki(tmp_path / "pki")


def test_ca_is_a_ca_limited_to_signing_leaves(pki: PkiPaths) -> None:
    ca = load(pki.ca_cert)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value

    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert stat.S_IMODE(pki.ca_key.stat().st_mode) == 0o600


def test_server_certificate_chains_to_the_ca_for_its_hosts(pki: PkiPaths) -> None:
    ca, server = load(pki.ca_cert), load(pki.server_cert)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH]
    )
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName("localhost"))
    assert verifier.verify(server, [])[-1] == ca
    ip_verifier = (
        PolicyBuilder().store(Store([ca])).build_server_verifier(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    )
    assert ip_verifier.verify(server, [])[0] == server


def test_existing_ca_is_not_overwritten_without_force(pki: PkiPaths) -> None:
    before = pki.ca_cert.read_bytes()

    with pytest.raises(AlreadyExists) as caught:
        init_pki(pki.directory)

    assert caught.value.reason == "PKI_CA_EXISTS"
    assert pki.ca_cert.read_bytes() == before
    assert init_pki(pki.directory, force=True).ca_cert.read_bytes() != before


def test_department_certificate_is_a_client_certificate_naming_the_department(pki: PkiPaths) -> None:
    key_path, cert_path = issue_department_certificate(pki.directory, "PSB")
    ca, leaf = load(pki.ca_cert), load(cert_path)

    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "PSB"
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:exchange:department:PSB"]
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    leaf.verify_directly_issued_by(ca)
    chain = PolicyBuilder().store(Store([ca])).build_client_verifier().verify(leaf, [])
    assert chain.chain[-1] == ca
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_department_certificate_is_valid_for_the_requested_days(pki: PkiPaths) -> None:
    _, cert_path = issue_department_certificate(pki.directory, "PSB", days=30)
    leaf = load(cert_path)
    now = datetime.datetime.now(datetime.UTC)

    assert leaf.not_valid_before_utc <= now
    assert datetime.timedelta(days=29) < leaf.not_valid_after_utc - now <= datetime.timedelta(days=30)


def test_expired_certificate_can_be_issued_for_tests_and_fails_verification(pki: PkiPaths, tmp_path: Path) -> None:
    now = datetime.datetime.now(datetime.UTC)
    _, cert_path = issue_department_certificate(
        pki.directory,
        "PSB",
        out_dir=tmp_path / "expired",
        not_before=now - datetime.timedelta(days=10),
        not_after=now - datetime.timedelta(days=1),
    )

    assert cert_path.parent == tmp_path / "expired"
    with pytest.raises(VerificationError):
        PolicyBuilder().store(Store([load(pki.ca_cert)])).build_client_verifier().verify(load(cert_path), [])


def test_certificate_may_not_outlive_the_ca(tmp_path: Path) -> None:
    pki = init_pki(tmp_path, ca_days=900)

    with pytest.raises(FailedPrecondition) as caught:
        issue_department_certificate(pki.directory, "PSB", days=1000)

    assert caught.value.reason == "PKI_CA_EXPIRES_FIRST"


def test_issuing_without_a_ca_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        issue_department_certificate(tmp_path, "PSB")

    assert caught.value.reason == "PKI_CA_MISSING" and "pki init" in caught.value.message


@pytest.mark.parametrize("code", ["", "../etc", "PSB/../x", "a b"])
def test_unsafe_department_codes_are_refused(pki: PkiPaths, code: str) -> None:
    with pytest.raises(InvalidArgument):
        issue_department_certificate(pki.directory, code)


def test_adapter_server_certificate_covers_its_hosts(pki: PkiPaths) -> None:
    _, cert_path = issue_server_certificate(pki.directory, "samr-adapter", hosts=["adapter.samr", "10.0.0.7"])
    leaf = load(cert_path)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert san.get_values_for_type(x509.DNSName) == ["adapter.samr"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.7")]
    assert cert_path.name == "samr-adapter.crt"


def test_department_is_read_from_the_certificate(pki: PkiPaths) -> None:
    _, cert_path = issue_department_certificate(pki.directory, "SAMR")

    assert department_from_certificate(cert_path.read_bytes()) == "SAMR"
    assert department_from_certificate(cert_path.read_text()) == "SAMR"


def test_department_falls_back_to_the_common_name(pki: PkiPaths) -> None:
    # The hub's own server certificate has no department URI, only a common name.
    assert department_from_certificate(pki.server_cert.read_bytes()) == "exchange-hub"


def test_department_from_grpc_auth_context(pki: PkiPaths) -> None:
    _, cert_path = issue_department_certificate(pki.directory, "PSB")

    assert department_from_auth_context({"x509_pem_cert": [cert_path.read_bytes()]}) == "PSB"
    assert (
        department_from_auth_context({"x509_subject_alternative_name": [b"localhost", b"urn:exchange:department:SAMR"]})
        == "SAMR"
    )
    assert department_from_auth_context({"peer_uri": [b"urn:exchange:department:MPS"]}) == "MPS"
    assert department_from_auth_context({"x509_common_name": [b"MOHRSS"]}) == "MOHRSS"
    assert department_from_auth_context({"transport_security_type": [b"ssl"]}) is None


def test_fingerprint_is_sha256_hex_of_the_der(pki: PkiPaths) -> None:
    fingerprint = certificate_fingerprint(pki.ca_cert.read_bytes())

    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0
    assert fingerprint != certificate_fingerprint(pki.server_cert.read_bytes())
    with pytest.raises(InvalidArgument):
        certificate_fingerprint(b"not a certificate")
