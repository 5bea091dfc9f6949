"""The hub CA's certificate profiles (key usage, extended key usage, names) and its revocation list."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import ClientVerifier, PolicyBuilder, Store, VerificationError

from exchange.auth.pki import (
    PkiPaths,
    RevocationList,
    adapter_dns_name,
    init_pki,
    issue_adapter_certificate,
    issue_department_certificate,
    issue_document_signing_certificate,
    issue_hub_client_certificate,
    issue_server_certificate,
    revocation_reason,
    revoke_certificate,
    write_crl,
)
from exchange.errors import FailedPrecondition, InvalidArgument, Unauthenticated

CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH
SERVER = ExtendedKeyUsageOID.SERVER_AUTH


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def eku(certificate: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def san(certificate: x509.Certificate) -> x509.SubjectAlternativeName:
    return certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def signs_only(certificate: x509.Certificate) -> bool:
    """digitalSignature and nothing else (ECDHE needs no key encipherment; leaves sign no certificates)."""
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    value = usage.value
    others = (value.key_cert_sign, value.crl_sign, value.content_commitment, value.key_encipherment)
    return usage.critical and value.digital_signature and not any(others)


def common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def server_verifier(pki: PkiPaths, host: str) -> object:
    name: x509.GeneralName
    try:
        name = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        name = x509.DNSName(host)
    return PolicyBuilder().store(Store([load(pki.ca_cert)])).build_server_verifier(name)


def client_verifier(pki: PkiPaths) -> ClientVerifier:
    return PolicyBuilder().store(Store([load(pki.ca_cert)])).build_client_verifier()


@pytest.fixture
def pki(tmp_path: Path) -> PkiPaths:
    return init_pki(tmp_path / "pki", hub_name="exchange-hub")


def test_init_writes_the_hub_client_profile_next_to_the_server_profile(pki: PkiPaths) -> None:
    client, server = load(pki.hub_client_cert), load(pki.server_cert)
    assert (pki.hub_client_cert.name, pki.hub_client_key.name) == ("hub-client.crt", "hub-client.key")
    assert eku(client) == [CLIENT] and eku(server) == [SERVER]
    assert signs_only(client) and signs_only(server)
    assert common_name(client) == "exchange-hub"
    assert san(client).get_values_for_type(x509.UniformResourceIdentifier) == ["urn:exchange:hub:exchange-hub"]
    assert client_verifier(pki).verify(client, []).subjects


def test_the_hub_server_certificate_cannot_act_as_the_hub_client(pki: PkiPaths) -> None:
    with pytest.raises(VerificationError):
        client_verifier(pki).verify(load(pki.server_cert), [])


def test_department_client_profile(pki: PkiPaths) -> None:
    _, cert_path = issue_department_certificate(pki.directory, "FIRE")
    cert = load(cert_path)
    assert eku(cert) == [CLIENT] and signs_only(cert)
    assert san(cert).get_values_for_type(x509.UniformResourceIdentifier) == ["urn:exchange:department:FIRE"]
    assert san(cert).get_values_for_type(x509.DNSName) == []


def test_adapter_server_profile_names_its_hosts_and_its_department(pki: PkiPaths) -> None:
    key_path, cert_path = issue_adapter_certificate(pki.directory, "PSB", hosts=("adapter.psb.gov", "10.0.0.7"))
    cert = load(cert_path)
    assert (key_path.name, cert_path.name) == ("PSB-adapter.key", "PSB-adapter.crt")
    assert eku(cert) == [SERVER] and signs_only(cert)
    assert san(cert).get_values_for_type(x509.UniformResourceIdentifier) == ["urn:exchange:adapter:PSB"]
    assert san(cert).get_values_for_type(x509.DNSName) == ["adapter.psb.gov", adapter_dns_name("PSB")]
    assert san(cert).get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.7")]
    for host in ("adapter.psb.gov", "10.0.0.7", "psb.adapter.exchange.internal"):
        server_verifier(pki, host).verify(cert, [])  # type: ignore[attr-defined]


def test_a_department_certificate_cannot_serve_as_an_adapter_server_certificate(pki: PkiPaths) -> None:
    _, cert_path = issue_department_certificate(pki.directory, "PSB")
    with pytest.raises(VerificationError):
        server_verifier(pki, "psb.adapter.exchange.internal").verify(load(cert_path), [])  # type: ignore[attr-defined]


def test_an_adapter_certificate_cannot_act_as_a_client(pki: PkiPaths) -> None:
    _, cert_path = issue_adapter_certificate(pki.directory, "PSB")
    with pytest.raises(VerificationError):
        client_verifier(pki).verify(load(cert_path), [])


def test_plain_server_certificates_cannot_claim_an_adapter_name(pki: PkiPaths) -> None:
    with pytest.raises(InvalidArgument) as refused:
        issue_server_certificate(pki.directory, "evil", hosts=("psb.adapter.exchange.internal",))
    assert refused.value.reason == "PKI_NAME_INVALID"


def test_hub_client_certificate_can_be_reissued_for_another_name(pki: PkiPaths, tmp_path: Path) -> None:
    key_path, cert_path = issue_hub_client_certificate(pki.directory, "hub-b", out_dir=tmp_path / "b")
    cert = load(cert_path)
    assert key_path.exists() and eku(cert) == [CLIENT]
    assert san(cert).get_values_for_type(x509.UniformResourceIdentifier) == ["urn:exchange:hub:hub-b"]


# --- revocation -----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_revoked_certificate_is_listed_in_a_crl_the_ca_signs(pki: PkiPaths) -> None:
    _, fire = issue_department_certificate(pki.directory, "FIRE")
    serial = revoke_certificate(pki.directory, certificate=fire, reason=revocation_reason("key-compromise"))
    revoke_certificate(pki.directory, serial=12345)
    crl = x509.load_pem_x509_crl((pki.directory / "crl.pem").read_bytes())
    assert crl.is_signature_valid(load(pki.ca_cert).public_key())  # type: ignore[arg-type]
    assert serial == load(fire).serial_number
    assert {entry.serial_number for entry in crl} == {serial, 12345}
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise


def test_refreshing_the_crl_keeps_every_revocation(pki: PkiPaths) -> None:
    revoke_certificate(pki.directory, serial=7)
    before = x509.load_pem_x509_crl((pki.directory / "crl.pem").read_bytes())
    write_crl(pki.directory, days=60)
    after = x509.load_pem_x509_crl((pki.directory / "crl.pem").read_bytes())
    assert [e.serial_number for e in after] == [7]
    assert after.next_update_utc is not None and before.next_update_utc is not None
    assert after.next_update_utc > before.next_update_utc


def test_a_certificate_of_another_ca_cannot_be_revoked_here(pki: PkiPaths, tmp_path: Path) -> None:
    other = init_pki(tmp_path / "other")
    with pytest.raises(FailedPrecondition) as refused:
        revoke_certificate(pki.directory, certificate=other.server_cert)
    assert refused.value.reason == "PKI_NOT_ISSUED_HERE"


def test_the_revocation_list_follows_the_file_and_refuses_a_revoked_peer(pki: PkiPaths) -> None:
    _, fire_path = issue_department_certificate(pki.directory, "FIRE")
    fire = load(fire_path)
    clock = Clock()
    revocations = RevocationList(pki.directory / "crl.pem", pki.ca_cert.read_bytes(), clock=clock)
    revocations.check(fire, "department FIRE")  # no file yet: nothing revoked
    revoke_certificate(pki.directory, certificate=fire_path)
    assert not revocations.is_revoked(fire.serial_number)  # not re-read within a second
    clock.now += 1.5
    with pytest.raises(Unauthenticated) as refused:
        revocations.check(fire, "department FIRE")
    assert refused.value.reason == "CERTIFICATE_REVOKED"


def test_a_crl_not_signed_by_the_ca_is_refused_at_start_and_never_unrevokes(pki: PkiPaths, tmp_path: Path) -> None:
    other = init_pki(tmp_path / "other")
    revoke_certificate(other.directory, serial=99)
    with pytest.raises(InvalidArgument) as refused:
        RevocationList(other.directory / "crl.pem", pki.ca_cert.read_bytes())
    assert refused.value.reason == "PKI_CRL_INVALID"

    revoke_certificate(pki.directory, serial=5)
    clock = Clock()
    revocations = RevocationList(pki.directory / "crl.pem", pki.ca_cert.read_bytes(), clock=clock)
    (pki.directory / "crl.pem").write_bytes((other.directory / "crl.pem").read_bytes())  # swapped for a foreign CRL
    clock.now += 5
    assert revocations.is_revoked(5) and not revocations.is_revoked(99)


# --- the commands ---------------------------------------------------------------------------------


def test_pki_commands_issue_every_profile_revoke_and_refresh_the_crl(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from exchange.cli import cli

    directory = str(tmp_path / "pki")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["pki", *args, "--dir", directory])
        assert result.exit_code == 0, result.output
        return result.output

    assert "urn:exchange:hub:hub-a" in run("init", "--hub-name", "hub-a")
    assert "urn:exchange:adapter:PSB" in run("issue-adapter", "PSB", "--host", "adapter.psb.gov")
    assert "urn:exchange:hub:hub-a" in run("issue-hub-client", "--hub-name", "hub-a")
    run("issue", "FIRE")
    adapter = load(tmp_path / "pki" / "PSB-adapter.crt")
    assert eku(adapter) == [SERVER] and adapter_dns_name("PSB") in san(adapter).get_values_for_type(x509.DNSName)
    serial = f"{adapter.serial_number:x}"
    assert serial in run("revoke", "--serial", serial, "--reason", "superseded")
    run("revoke", str(tmp_path / "pki" / "FIRE.crt"))
    run("crl")
    revocations = RevocationList(tmp_path / "pki" / "crl.pem", (tmp_path / "pki" / "ca.crt").read_bytes())
    assert revocations.is_revoked(adapter.serial_number)
    assert revocations.is_revoked(load(tmp_path / "pki" / "FIRE.crt").serial_number)
    wrong = runner.invoke(cli, ["pki", "revoke", "--serial", "12", "--reason", "because", "--dir", directory])
    assert wrong.exit_code == 2 and "PKI_REVOCATION_REASON_INVALID" in wrong.output


def test_document_signing_certificate_signs_with_non_repudiation_and_no_extended_usage(tmp_path: Path) -> None:
    pki = init_pki(tmp_path / "pki", hub_name="hub-a")
    made = load(tmp_path / "pki" / "document-signing.crt")
    key, cert = issue_document_signing_certificate(tmp_path / "pki", "hub-a", out_dir=tmp_path)
    for certificate in (made, load(cert)):
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
        assert not (usage.value.key_cert_sign or usage.value.crl_sign or usage.value.key_encipherment)
        with pytest.raises(x509.ExtensionNotFound):
            certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert [u.value for u in san(certificate)] == ["urn:exchange:hub:hub-a"]
        assert certificate.issuer == load(pki.ca_cert).subject
    assert key.exists()
