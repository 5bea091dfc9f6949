"""The hub as its own small CA: the CA, the hub's server certificate and department client certificates."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from catalog.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from exchange.auth.keys import PrivateKey, generate_p256, load_private_key, write_private_key

DEPARTMENT_URI_PREFIX = "urn:exchange:department:"
CA_KEY = "ca.key"
CA_CERT = "ca.crt"
SERVER_KEY = "server.key"
SERVER_CERT = "server.crt"
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Backdate a little so a peer whose clock is slightly behind accepts a certificate issued just now.
_BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class PkiPaths:
    """Where init_pki wrote the CA and the hub's server certificate."""

    directory: Path
    ca_key: Path
    ca_cert: Path
    server_key: Path
    server_cert: Path


@dataclass(frozen=True)
class _Authority:
    """A loaded CA: its key and certificate."""

    key: PrivateKey
    certificate: x509.Certificate


def _now() -> datetime.datetime:
    """The current UTC time."""
    return datetime.datetime.now(datetime.UTC)


def _check_name(name: str, what: str) -> str:
    """A department code or server name safe in a file name and a URI."""
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidArgument(
            f"{what} {name!r} must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
            reason="PKI_NAME_INVALID",
        )
    return name


def _subject_alternative_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """DNS names for host names, IP address entries for literal addresses."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _write_certificate(path: Path, certificate: x509.Certificate) -> None:
    """Write a certificate as PEM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _sign(builder: x509.CertificateBuilder, authority_key: PrivateKey) -> x509.Certificate:
    """Sign with the CA key (ECDSA keys need a hash; Ed25519 keys take none)."""
    algorithm = hashes.SHA256() if isinstance(authority_key, ec.EllipticCurvePrivateKey) else None
    return builder.sign(authority_key, algorithm)


def init_pki(
    directory: Path,
    *,
    hub_name: str = "exchange-hub",
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = 825,
    ca_days: int = 3650,
    force: bool = False,
) -> PkiPaths:
    """Create a CA (path length 0) and the hub's server certificate for ``hosts`` in ``directory``."""
    _check_name(hub_name, "hub name")
    if not hosts:
        raise InvalidArgument(
            "the server certificate needs at least one host name or address", reason="PKI_NO_HOSTS"
        )
    paths = PkiPaths(
        directory=directory,
        ca_key=directory / CA_KEY,
        ca_cert=directory / CA_CERT,
        server_key=directory / SERVER_KEY,
        server_cert=directory / SERVER_CERT,
    )
    if not force and (paths.ca_key.exists() or paths.ca_cert.exists()):
        raise AlreadyExists(
            f"a CA already exists in {directory}; every issued certificate depends on it. "
            "Pass force=True (--force) only if you mean to replace it and re-issue all certificates",
            reason="PKI_CA_EXISTS",
        )
    now = _now()
    ca_key = generate_p256()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{hub_name} CA")])
    ca_public = ca_key.public_key()
    ca_certificate = _sign(
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=ca_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_public), critical=False),
        ca_key,
    )
    write_private_key(paths.ca_key, ca_key)
    _write_certificate(paths.ca_cert, ca_certificate)
    _issue(
        _Authority(ca_key, ca_certificate),
        common_name=hub_name,
        alternative_names=_subject_alternative_names(hosts),
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        not_before=None,
        not_after=None,
        days=days,
        key_path=paths.server_key,
        cert_path=paths.server_cert,
    )
    return paths


def _load_authority(directory: Path) -> _Authority:
    """The CA in ``directory``, or a clear error when there is none."""
    key_path, cert_path = directory / CA_KEY, directory / CA_CERT
    if not key_path.exists() or not cert_path.exists():
        raise FailedPrecondition(
            f"no CA in {directory} (expected {CA_KEY} and {CA_CERT}); run 'exchange pki init' first",
            reason="PKI_CA_MISSING",
        )
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError as error:
        raise InvalidArgument(
            f"{cert_path} is not a PEM certificate", reason="PKI_CERTIFICATE_MALFORMED"
        ) from error
    return _Authority(load_private_key(key_path), certificate)


def _issue(
    authority: _Authority,
    *,
    common_name: str,
    alternative_names: list[x509.GeneralName],
    usage: x509.ObjectIdentifier,
    not_before: datetime.datetime | None,
    not_after: datetime.datetime | None,
    days: int,
    key_path: Path,
    cert_path: Path,
) -> tuple[Path, Path]:
    """Issue a leaf certificate with a fresh P-256 key and write both files."""
    start = not_before or (_now() - _BACKDATE)
    end = not_after or (start + _BACKDATE + datetime.timedelta(days=days))
    if end <= start:
        raise InvalidArgument(
            f"certificate validity ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            reason="PKI_VALIDITY_INVALID",
        )
    if end > authority.certificate.not_valid_after_utc:
        raise FailedPrecondition(
            f"the certificate would outlive the CA (valid until "
            f"{authority.certificate.not_valid_after_utc.isoformat()}); issue for fewer days or renew the CA",
            reason="PKI_CA_EXPIRES_FIRST",
        )
    key = generate_p256()
    public = key.public_key()
    certificate = _sign(
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(authority.certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.certificate.public_key()),  # type: ignore[arg-type]
            critical=False,
        ),
        authority.key,
    )
    write_private_key(key_path, key)
    _write_certificate(cert_path, certificate)
    return key_path, cert_path


def issue_department_certificate(
    directory: Path,
    department: str,
    *,
    days: int = 365,
    out_dir: Path | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[Path, Path]:
    """Issue a client certificate (CN and SAN URI name the department); returns (key path, cert path)."""
    _check_name(department, "department code")
    target = out_dir or directory
    return _issue(
        _load_authority(directory),
        common_name=department,
        alternative_names=[x509.UniformResourceIdentifier(DEPARTMENT_URI_PREFIX + department)],
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        not_before=not_before,
        not_after=not_after,
        days=days,
        key_path=target / f"{department}.key",
        cert_path=target / f"{department}.crt",
    )


def issue_server_certificate(
    directory: Path,
    name: str,
    *,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = 365,
    out_dir: Path | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[Path, Path]:
    """Issue a server certificate (e.g. for an adapter) for ``hosts``; returns (key path, cert path)."""
    _check_name(name, "server name")
    if not hosts:
        raise InvalidArgument(
            "the server certificate needs at least one host name or address", reason="PKI_NO_HOSTS"
        )
    target = out_dir or directory
    return _issue(
        _load_authority(directory),
        common_name=name,
        alternative_names=_subject_alternative_names(hosts),
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        not_before=not_before,
        not_after=not_after,
        days=days,
        key_path=target / f"{name}.key",
        cert_path=target / f"{name}.crt",
    )


def _load_certificate(pem: bytes | str) -> x509.Certificate:
    """Parse a PEM certificate, refusing anything else with a clear error."""
    data = pem.encode("ascii", errors="replace") if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as error:
        raise InvalidArgument(
            "not a PEM certificate; expected '-----BEGIN CERTIFICATE-----'",
            reason="PKI_CERTIFICATE_MALFORMED",
        ) from error


def _department_from_uris(uris: Sequence[str]) -> str | None:
    """The department named by the first ``urn:exchange:department:`` URI, if any."""
    for uri in uris:
        if uri.startswith(DEPARTMENT_URI_PREFIX) and len(uri) > len(DEPARTMENT_URI_PREFIX):
            return uri[len(DEPARTMENT_URI_PREFIX) :]
    return None


def department_from_certificate(pem: bytes | str) -> str:
    """The department a client certificate names: its SAN URI, else its common name."""
    certificate = _load_certificate(pem)
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    department = _department_from_uris(uris)
    if department is not None:
        return department
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if names and isinstance(names[0].value, str) and names[0].value:
        return names[0].value
    raise InvalidArgument(
        f"the certificate names no department (no {DEPARTMENT_URI_PREFIX}<CODE> URI and no common name); "
        "issue it with 'exchange pki issue'",
        reason="PKI_NO_DEPARTMENT",
    )


def department_from_auth_context(auth_context: Mapping[str, Sequence[bytes]]) -> str | None:
    """The department of an mTLS peer from grpc's ``context.auth_context()``; None without a certificate."""
    certificates = auth_context.get("x509_pem_cert")
    if certificates:
        return department_from_certificate(certificates[0])
    uris = [
        value.decode("utf-8", errors="replace")
        # grpc (checked with 1.85) reports URI SANs under both "peer_uri" and "x509_subject_alternative_name".
        for key in ("peer_uri", "x509_subject_alternative_name")
        for value in auth_context.get(key, ())
    ]
    department = _department_from_uris(uris)
    if department is not None:
        return department
    names = auth_context.get("x509_common_name")
    if names:
        return names[0].decode("utf-8", errors="replace") or None
    return None


def certificate_fingerprint(pem: bytes | str) -> str:
    """SHA-256 of the certificate's DER, as lowercase hex."""
    certificate = _load_certificate(pem)
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
