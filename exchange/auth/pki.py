"""The hub as its own small CA: one certificate profile per role, and the CRL both hub and adapters honour.

Profiles (each a fresh P-256 key, digitalSignature only, one extended key usage, names in the SAN):

- hub server (serverAuth; DNS/IP for the hosts departments dial),
- hub client (clientAuth; URI ``urn:exchange:hub:<hub name>``): what the hub presents to adapters,
- department client (clientAuth; URI ``urn:exchange:department:<CODE>``),
- adapter server (serverAuth; DNS/IP for its hosts, URI ``urn:exchange:adapter:<CODE>`` and the DNS name
  ``<code>.adapter.exchange.internal`` the hub pins on every connection, see `adapter_dns_name`),
- hub document signing (digitalSignature and nonRepudiation, no extended key usage, URI
  ``urn:exchange:hub:<hub name>``): the key that signs annotated copies (PAdES).

Revocation is a CRL (``crl.pem``) signed by the CA; `RevocationList` reads it where a peer certificate
is read (grpc Python has no CRL option) and reloads it when the file changes.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from exchange.auth.keys import PrivateKey, generate_p256, load_private_key, write_private_key
from exchange.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, Unauthenticated

log = logging.getLogger(__name__)

DEPARTMENT_URI_PREFIX = "urn:exchange:department:"
HUB_URI_PREFIX = "urn:exchange:hub:"
ADAPTER_URI_PREFIX = "urn:exchange:adapter:"
# A name no public DNS answers (".internal" is reserved for private use); see adapter_dns_name.
ADAPTER_DNS_SUFFIX = ".adapter.exchange.internal"
CA_KEY = "ca.key"
CA_CERT = "ca.crt"
SERVER_KEY = "server.key"
SERVER_CERT = "server.crt"
HUB_CLIENT_KEY = "hub-client.key"
HUB_CLIENT_CERT = "hub-client.crt"
DOCUMENT_SIGNING_KEY = "document-signing.key"
DOCUMENT_SIGNING_CERT = "document-signing.crt"
CRL_FILE = "crl.pem"
# The offline root (`init_root`): its directory never needs to be on the hub host.
ROOT_KEY = "root.key"
ROOT_CERT = "root.crt"
ROOT_CRL = "root-crl.pem"
DEFAULT_ROOT_NAME = "exchange root CA"
ROOT_DAYS = 7300
# The root's CRL is re-signed at a ceremony, so it says it is current for longer.
ROOT_CRL_DAYS = 365
# An intermediate's key lives on the hub host; it is replaced well before the root expires.
INTERMEDIATE_DAYS = 1825
INTERMEDIATE_KEY = "intermediate.key"
# The single CA an intermediate replaced (`install_intermediate(keep_previous_ca=True)`): it still revokes
# what it issued until every one of those certificates is re-issued.
PREVIOUS_CA_KEY = "previous-ca.key"
PREVIOUS_CA_CERT = "previous-ca.crt"
INTERMEDIATE_REQUEST = "intermediate.csr"
DEFAULT_HUB_NAME = "exchange-hub"
# How long a CRL written by `write_crl` says it is current; `exchange pki crl` refreshes it.
CRL_DAYS = 30
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Backdate a little so a peer whose clock is slightly behind accepts a certificate issued just now.
_BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class PkiPaths:
    """Where init_pki wrote the CA, the hub's server certificate and the hub's client certificate."""

    directory: Path
    ca_key: Path
    ca_cert: Path
    server_key: Path
    server_cert: Path
    hub_client_key: Path
    hub_client_cert: Path


@dataclass(frozen=True)
class _Authority:
    """A loaded CA: its key and certificate (None while the root signs its own)."""

    key: PrivateKey
    certificate: x509.Certificate | None
    # What a certificate it issues is presented with: the CA's own chain up to the root, empty for a root.
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def cert(self) -> x509.Certificate:
        """The CA certificate (a loaded authority always has one)."""
        assert self.certificate is not None
        return self.certificate


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


def _write_certificate(path: Path, certificate: x509.Certificate, *chain: x509.Certificate) -> None:
    """Write a certificate as PEM, followed by the chain it is presented with."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_pem(certificate, *chain))


def _sign(builder: x509.CertificateBuilder, authority_key: PrivateKey) -> x509.Certificate:
    """Sign with the CA key (ECDSA keys need a hash; Ed25519 keys take none)."""
    algorithm = hashes.SHA256() if isinstance(authority_key, ec.EllipticCurvePrivateKey) else None
    return builder.sign(authority_key, algorithm)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public: PublicKeyTypes,
    start: datetime.datetime,
    end: datetime.datetime,
    *,
    ca: bool,
    path_length: int | None = None,
    non_repudiation: bool = False,
) -> x509.CertificateBuilder:
    """What every certificate issued here starts with: names, key, serial, validity, constraints and key usage.

    A CA signs certificates and CRLs only; a leaf signs (digitalSignature), and a document signer also
    commits to what it signs (nonRepudiation).
    """
    usage = x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(usage, critical=True)
    )


def _ca_certificate(
    name: x509.Name, public: PublicKeyTypes, signer: _Authority, *, days: int, path_length: int
) -> x509.Certificate:
    """A CA certificate for name (self-signed when signer has no certificate yet): keyCertSign and cRLSign only."""
    now = _now()
    issuer = signer.certificate
    issuer_name = issuer.subject if issuer is not None else name
    end = now + datetime.timedelta(days=days)
    builder = _builder(name, issuer_name, public, now - _BACKDATE, end, ca=True, path_length=path_length).add_extension(
        x509.SubjectKeyIdentifier.from_public_key(public),  # type: ignore[arg-type]
        critical=False,
    )
    if issuer is not None:
        if end > issuer.not_valid_after_utc:
            raise FailedPrecondition(
                f"the intermediate would outlive the root (valid until {issuer.not_valid_after_utc.isoformat()}); "
                "sign it for fewer days",
                reason="PKI_CA_EXPIRES_FIRST",
            )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    return _sign(builder, signer.key)


def _pki_paths(directory: Path) -> PkiPaths:
    return PkiPaths(
        directory=directory,
        ca_key=directory / CA_KEY,
        ca_cert=directory / CA_CERT,
        server_key=directory / SERVER_KEY,
        server_cert=directory / SERVER_CERT,
        hub_client_key=directory / HUB_CLIENT_KEY,
        hub_client_cert=directory / HUB_CLIENT_CERT,
    )


def _issue_hub_certificates(
    authority: _Authority, paths: PkiPaths, hub_name: str, hosts: Sequence[str], *, days: int
) -> PkiPaths:
    """The hub's own certificates from `authority`: server (for `hosts`), hub client and document signing."""
    server = _Leaf(hub_name, _subject_alternative_names(hosts), ExtendedKeyUsageOID.SERVER_AUTH)
    _issue(authority, server, _Validity(days), paths.server_key, paths.server_cert)
    _issue(authority, _hub_client(hub_name), _Validity(days), paths.hub_client_key, paths.hub_client_cert)
    signing = (paths.directory / DOCUMENT_SIGNING_KEY, paths.directory / DOCUMENT_SIGNING_CERT)
    _issue(authority, _document_signing(hub_name), _Validity(days), *signing)
    return paths


def init_pki(
    directory: Path,
    *,
    hub_name: str = DEFAULT_HUB_NAME,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = 825,
    ca_days: int = 3650,
    force: bool = False,
) -> PkiPaths:
    """Create a CA (path length 0), the hub's server certificate for ``hosts`` and its client certificate."""
    _check_name(hub_name, "hub name")
    if not hosts:
        raise InvalidArgument("the server certificate needs at least one host name or address", reason="PKI_NO_HOSTS")
    paths = _pki_paths(directory)
    if not force and (paths.ca_key.exists() or paths.ca_cert.exists()):
        raise AlreadyExists(
            f"a CA already exists in {directory}; every issued certificate depends on it. "
            "Pass force=True (--force) only if you mean to replace it and re-issue all certificates",
            reason="PKI_CA_EXISTS",
        )
    ca_key = generate_p256()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{hub_name} CA")])
    ca_certificate = _ca_certificate(
        ca_name, ca_key.public_key(), _Authority(ca_key, None), days=ca_days, path_length=0
    )
    write_private_key(paths.ca_key, ca_key)
    _write_certificate(paths.ca_cert, ca_certificate)
    authority = _Authority(ca_key, ca_certificate)
    return _issue_hub_certificates(authority, paths, hub_name, hosts, days=days)


def hub_identity(hub_name: str = DEFAULT_HUB_NAME) -> str:
    """The SAN URI naming the hub as a client: what adapters admit (their ``tls.hub_identity``)."""
    return HUB_URI_PREFIX + hub_name


def adapter_identity(department: str) -> str:
    """The SAN URI naming department's adapter: what the hub requires of the server at its endpoint."""
    return ADAPTER_URI_PREFIX + department


def adapter_dns_name(department: str) -> str:
    """A DNS name only department's adapter certificate carries.

    The hub sets it as the TLS target name on the channel to that adapter, so grpc itself refuses,
    on every connection and reconnection, a server whose certificate names another department.
    """
    return department.lower() + ADAPTER_DNS_SUFFIX


def _hub_client(hub_name: str) -> _Leaf:
    """The hub's client profile: clientAuth only, named by its URI (adapters check the name, not only the CA)."""
    return _Leaf(hub_name, [x509.UniformResourceIdentifier(hub_identity(hub_name))], ExtendedKeyUsageOID.CLIENT_AUTH)


def _document_signing(hub_name: str) -> _Leaf:
    """The hub's document-signing profile: digitalSignature and nonRepudiation, for the PAdES signature of
    annotated copies. No extended key usage: PDF validators (NSS in poppler's pdfsig) accept any signer then."""
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(hub_identity(hub_name))]
    return _Leaf(f"{hub_name} document signing", names, None, non_repudiation=True)


def issue_document_signing_certificate(
    directory: Path, hub_name: str = DEFAULT_HUB_NAME, *, days: int = 825, out_dir: Path | None = None
) -> tuple[Path, Path]:
    """(Re-)issue the hub's document-signing certificate (document-signing.key/.crt); returns (key, cert) paths."""
    _check_name(hub_name, "hub name")
    files = (DOCUMENT_SIGNING_KEY, DOCUMENT_SIGNING_CERT)
    return _issue_into(directory, out_dir, files, _document_signing(hub_name), _Validity(days))


def _load_authority(directory: Path, key_name: str = CA_KEY, cert_name: str = CA_CERT) -> _Authority:
    """The CA in ``directory``, or a clear error when there is none.

    The certificate file may hold a bundle: the CA first, then what peers also trust (the root above an
    intermediate, a previous CA kept during a migration). Certificates it issues are presented with the CA's
    certificate when the CA is an intermediate, so a peer that trusts the root alone verifies them.
    """
    key_path, cert_path = directory / key_name, directory / cert_name
    if not key_path.exists() or not cert_path.exists():
        raise FailedPrecondition(
            f"no CA in {directory} (expected {key_name} and {cert_name}); run 'exchange pki init' first",
            reason="PKI_CA_MISSING",
        )
    certificate = _load_bundle(cert_path)[0]
    chain = () if certificate.issuer == certificate.subject else (certificate,)
    return _Authority(load_private_key(key_path), certificate, chain)


def _load_bundle(path: Path) -> list[x509.Certificate]:
    """The PEM certificates in a file (at least one), or a clear error."""
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except ValueError as error:
        raise InvalidArgument(f"{path} is not a PEM certificate", reason="PKI_CERTIFICATE_MALFORMED") from error
    return certificates


def _pem(*certificates: x509.Certificate) -> bytes:
    """Certificates as concatenated PEM."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


@dataclass(frozen=True)
class _Leaf:
    """What a leaf certificate names and is for (``usage`` None: no extended key usage)."""

    common_name: str
    alternative_names: list[x509.GeneralName]
    usage: x509.ObjectIdentifier | None
    non_repudiation: bool = False


@dataclass(frozen=True)
class _Validity:
    """``days`` from now (backdated a little for clock skew), unless ``not_before``/``not_after`` say otherwise."""

    days: int
    not_before: datetime.datetime | None = None
    not_after: datetime.datetime | None = None


def _issue(
    authority: _Authority, leaf: _Leaf, validity: _Validity, key_path: Path, cert_path: Path
) -> tuple[Path, Path]:
    """Issue a leaf certificate with a fresh P-256 key and write both files."""
    start = validity.not_before or (_now() - _BACKDATE)
    end = validity.not_after or (start + _BACKDATE + datetime.timedelta(days=validity.days))
    if end <= start:
        raise InvalidArgument(
            f"certificate validity ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            reason="PKI_VALIDITY_INVALID",
        )
    if end > authority.cert.not_valid_after_utc:
        raise FailedPrecondition(
            f"the certificate would outlive the CA (valid until "
            f"{authority.cert.not_valid_after_utc.isoformat()}); issue for fewer days or renew the CA",
            reason="PKI_CA_EXPIRES_FIRST",
        )
    key = generate_p256()
    public = key.public_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, leaf.common_name)])
    builder = (
        _builder(subject, authority.cert.subject, public, start, end, ca=False, non_repudiation=leaf.non_repudiation)
        .add_extension(x509.SubjectAlternativeName(leaf.alternative_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if leaf.usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([leaf.usage]), critical=False)
    certificate = _sign(builder, authority.key)
    write_private_key(key_path, key)
    _write_certificate(cert_path, certificate, *authority.chain)
    return key_path, cert_path


def _issue_into(
    directory: Path, out_dir: Path | None, files: tuple[str, str], leaf: _Leaf, validity: _Validity
) -> tuple[Path, Path]:
    """Issue ``leaf`` from the CA in ``directory``, written to ``out_dir`` (else ``directory``) as ``files``."""
    target = out_dir or directory
    key_name, cert_name = files
    return _issue(_load_authority(directory), leaf, validity, target / key_name, target / cert_name)


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
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(DEPARTMENT_URI_PREFIX + department)]
    leaf = _Leaf(department, names, ExtendedKeyUsageOID.CLIENT_AUTH)
    files = (f"{department}.key", f"{department}.crt")
    return _issue_into(directory, out_dir, files, leaf, _Validity(days, not_before, not_after))


@dataclass(frozen=True)
class Renewal:
    """A renewed department certificate, and the one it replaces (kept beside it, to revoke once unused)."""

    key: Path
    certificate: Path
    previous: Path | None
    previous_serial: int | None


def renew_department_certificate(
    directory: Path, department: str, *, days: int = 365, out_dir: Path | None = None
) -> Renewal:
    """A new client certificate and key for the same department; the old files become <CODE>.crt.<serial>.previous."""
    _check_name(department, "department code")
    target = out_dir or directory
    previous, serial = None, None
    current = target / f"{department}.crt"
    if current.exists():
        serial = _load_certificate(current.read_bytes()).serial_number
        previous = target / f"{department}.crt.{serial:x}.previous"
        current.replace(previous)
        key = target / f"{department}.key"
        if key.exists():
            key.replace(target / f"{department}.key.{serial:x}.previous")
    key_path, cert_path = issue_department_certificate(directory, department, days=days, out_dir=out_dir)
    return Renewal(key_path, cert_path, previous, serial)


@dataclass(frozen=True)
class Expiring:
    """A certificate found in a folder that expires soon: the newest one for its identity."""

    identity: str
    path: Path
    serial: int
    not_after: datetime.datetime
    days_left: float


def _identity(certificate: x509.Certificate) -> str:
    """What a certificate names: its first SAN URI, else its common name."""
    uris = certificate_uris(certificate)
    if uris:
        return uris[0]
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def expiring_certificates(
    folders: Sequence[Path], *, days: float, now: datetime.datetime | None = None
) -> list[Expiring]:
    """Certificates (*.crt under folders) whose identity has no certificate valid beyond ``days``; soonest first.

    A renewed certificate hides the one it replaces; CA certificates are listed too (an intermediate expires).
    """
    moment = now or _now()
    newest: dict[str, tuple[x509.Certificate, Path]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.crt")):
            try:
                certificate = x509.load_pem_x509_certificates(path.read_bytes())[0]
            except (OSError, ValueError):
                continue
            name = _identity(certificate)
            if name not in newest or certificate.not_valid_after_utc > newest[name][0].not_valid_after_utc:
                newest[name] = (certificate, path)
    found = [
        Expiring(
            name,
            path,
            certificate.serial_number,
            certificate.not_valid_after_utc,
            (certificate.not_valid_after_utc - moment).total_seconds() / 86400,
        )
        for name, (certificate, path) in newest.items()
    ]
    return sorted((item for item in found if item.days_left < days), key=lambda item: item.days_left)


def issue_hub_client_certificate(
    directory: Path,
    hub_name: str = DEFAULT_HUB_NAME,
    *,
    days: int = 825,
    out_dir: Path | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[Path, Path]:
    """Re-issue the hub's client certificate (hub-client.key/.crt); returns (key path, cert path)."""
    _check_name(hub_name, "hub name")
    validity = _Validity(days, not_before, not_after)
    return _issue_into(directory, out_dir, (HUB_CLIENT_KEY, HUB_CLIENT_CERT), _hub_client(hub_name), validity)


def issue_adapter_certificate(
    directory: Path,
    department: str,
    *,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = 365,
    out_dir: Path | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[Path, Path]:
    """Issue department's adapter server certificate (<CODE>-adapter.key/.crt); returns (key path, cert path)."""
    _check_name(department, "department code")
    if not hosts:
        raise InvalidArgument(
            "the adapter certificate needs at least one host name or address the hub dials", reason="PKI_NO_HOSTS"
        )
    names = [
        *_subject_alternative_names(hosts),
        x509.DNSName(adapter_dns_name(department)),
        x509.UniformResourceIdentifier(adapter_identity(department)),
    ]
    leaf = _Leaf(f"{department} adapter", names, ExtendedKeyUsageOID.SERVER_AUTH)
    files = (f"{department}-adapter.key", f"{department}-adapter.crt")
    return _issue_into(directory, out_dir, files, leaf, _Validity(days, not_before, not_after))


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
    """Issue a plain server certificate for ``hosts`` (no department identity); returns (key path, cert path).

    The hub refuses it at an adapter endpoint: adapters use `issue_adapter_certificate`.
    """
    _check_name(name, "server name")
    if not hosts:
        raise InvalidArgument("the server certificate needs at least one host name or address", reason="PKI_NO_HOSTS")
    for host in hosts:
        if host.lower().endswith(ADAPTER_DNS_SUFFIX):
            raise InvalidArgument(
                f"host {host!r} is reserved for adapter certificates; use 'exchange pki issue-adapter'",
                reason="PKI_NAME_INVALID",
            )
    leaf = _Leaf(name, _subject_alternative_names(hosts), ExtendedKeyUsageOID.SERVER_AUTH)
    return _issue_into(directory, out_dir, (f"{name}.key", f"{name}.crt"), leaf, _Validity(days, not_before, not_after))


def _load_certificate(pem: bytes | str) -> x509.Certificate:
    """Parse a PEM certificate, refusing anything else with a clear error."""
    data = pem.encode("ascii", errors="replace") if isinstance(pem, str) else pem
    return _parse_pem(data)


@lru_cache(maxsize=1024)
def _parse_pem(data: bytes) -> x509.Certificate:
    """Parse once per distinct certificate: every RPC's peer certificate goes through here."""
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
        return department_from_certificate(bytes(certificates[0]))
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


def certificate_uris(certificate: x509.Certificate) -> list[str]:
    """The SAN URIs of a certificate (empty without a SAN)."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(san.get_values_for_type(x509.UniformResourceIdentifier))


def peer_certificate(auth_context: Mapping[str, Sequence[bytes]]) -> x509.Certificate | None:
    """The mTLS peer's certificate from grpc's ``context.auth_context()``; None without one."""
    certificates = auth_context.get("x509_pem_cert")
    return _parse_pem(bytes(certificates[0])) if certificates else None


def peer_chain(auth_context: Mapping[str, Sequence[bytes]]) -> list[x509.Certificate]:
    """The mTLS peer's certificate, then the CA certificates it presented with it (empty without a certificate)."""
    leaf = peer_certificate(auth_context)
    if leaf is None:
        return []
    presented = auth_context.get("x509_pem_cert_chain")
    chain = _bundle_from_pem(bytes(presented[0])) if presented else []
    return [leaf, *(c for c in chain if c != leaf)]


def _bundle_from_pem(data: bytes) -> list[x509.Certificate]:
    """Every PEM certificate in data (a trust bundle or a presented chain)."""
    return list(_parse_bundle(data))


@lru_cache(maxsize=256)
def _parse_bundle(data: bytes) -> tuple[x509.Certificate, ...]:
    """Parse once per distinct bundle: every RPC's presented chain goes through here."""
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError as error:
        raise InvalidArgument(
            "not PEM certificates; expected '-----BEGIN CERTIFICATE-----'", reason="PKI_CERTIFICATE_MALFORMED"
        ) from error


# --- revocation ------------------------------------------------------------------------------------

_REASONS = {flag.name: flag for flag in x509.ReasonFlags}


def revocation_reason(name: str) -> x509.ReasonFlags:
    """A CRL reason by its name (key_compromise, superseded, ...), or an error listing them."""
    flag = _REASONS.get(name.replace("-", "_").lower())
    if flag is None or flag is x509.ReasonFlags.remove_from_crl:
        raise InvalidArgument(
            f"revocation reason {name!r} is unknown; use one of "
            + ", ".join(n for n in _REASONS if n != "remove_from_crl"),
            reason="PKI_REVOCATION_REASON_INVALID",
        )
    return flag


_CRL_BLOCK = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.DOTALL)


def _signed_by_one_of(crl: x509.CertificateRevocationList, issuers: Sequence[x509.Certificate]) -> bool:
    """Whether a CA in issuers signed crl (the name alone is not enough)."""
    return any(
        crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
        for ca in issuers
    )


def _read_crls(path: Path, issuers: Sequence[x509.Certificate]) -> list[x509.CertificateRevocationList]:
    """The PEM CRLs in path (the issuing CA's, and the root's above an intermediate), each signed by one of issuers.

    A CRL anyone could write would revoke nothing safely, so one from another CA refuses the whole file.
    """
    blocks = _CRL_BLOCK.findall(path.read_bytes())
    if not blocks:
        raise InvalidArgument(f"{path} is not a PEM CRL", reason="PKI_CRL_INVALID")
    crls: list[x509.CertificateRevocationList] = []
    for block in blocks:
        try:
            crl = x509.load_pem_x509_crl(block)
        except ValueError as error:
            raise InvalidArgument(f"{path} is not a PEM CRL", reason="PKI_CRL_INVALID") from error
        if not _signed_by_one_of(crl, issuers):
            names = "; ".join(ca.subject.rfc4514_string() for ca in issuers)
            raise InvalidArgument(
                f"{path} holds a CRL from {crl.issuer.rfc4514_string()} that is not signed by the CA ({names}); "
                "write it with 'exchange pki crl'",
                reason="PKI_CRL_INVALID",
            )
        crls.append(crl)
    return crls


def _sign_crl(
    authority: _Authority, revoked: Sequence[x509.RevokedCertificate], *, days: int
) -> x509.CertificateRevocationList:
    """A CRL listing revoked, signed by authority, current from now for ``days``."""
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(authority.cert.subject)
        .last_update(now - _BACKDATE)
        .next_update(now + datetime.timedelta(days=days))
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    algorithm = hashes.SHA256() if isinstance(authority.key, ec.EllipticCurvePrivateKey) else None
    return builder.sign(authority.key, algorithm)


def _write_crls(path: Path, crls: Sequence[x509.CertificateRevocationList]) -> Path:
    """Write CRLs as one PEM file, atomically (readers never see half a CRL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(b"".join(crl.public_bytes(serialization.Encoding.PEM) for crl in crls))
    temporary.replace(path)
    return path


def _split_crls(
    path: Path, authority: _Authority, trusted: Sequence[x509.Certificate]
) -> tuple[list[x509.RevokedCertificate], list[x509.CertificateRevocationList]]:
    """What authority's CRL in path lists, and the other CAs' CRLs kept beside it (both empty without a file)."""
    if not path.exists():
        return [], []
    own: list[x509.RevokedCertificate] = []
    others: list[x509.CertificateRevocationList] = []
    for crl in _read_crls(path, [authority.cert, *trusted]):
        if _signed_by_one_of(crl, [authority.cert]):
            own.extend(crl)
        else:
            others.append(crl)
    return own, others


def _issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether ca signed leaf (the name alone is not enough: every hub's CA may carry the same one)."""
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def write_crl(directory: Path, *, days: int = CRL_DAYS, root_crl: Path | None = None) -> Path:
    """Write (or refresh) crl.pem in directory, signed by the CA, keeping every revocation already listed.

    Above an intermediate the file also carries the root's CRL (which revokes intermediates): the one
    already there, or ``root_crl`` (brought from the offline root) in its place.
    """
    authority = _load_authority(directory)
    trusted = _load_bundle(directory / CA_CERT)
    entries, others = _split_crls(directory / CRL_FILE, authority, trusted)
    if root_crl is not None:
        try:
            brought = _read_crls(root_crl, trusted)
        except OSError as error:
            raise NotFound(f"cannot read {root_crl}: {error.strerror}", reason="PKI_CRL_MISSING") from None
        others = [*brought, *(c for c in others if all(c.issuer != b.issuer for b in brought))]
    return _write_crls(directory / CRL_FILE, [_sign_crl(authority, entries, days=days), *others])


def revoke_certificate(
    directory: Path,
    *,
    certificate: Path | None = None,
    serial: int | None = None,
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified,
    days: int = CRL_DAYS,
    key_name: str = CA_KEY,
    cert_name: str = CA_CERT,
    crl_name: str = CRL_FILE,
) -> int:
    """Add a certificate (a PEM file this CA issued, or a serial number) to the CA's CRL; returns the serial.

    The defaults are the hub's issuing CA and crl.pem; the offline root passes its own files (`revoke_intermediate`).
    """
    authority = _load_authority(directory, key_name, cert_name)
    if (certificate is None) == (serial is None):
        raise InvalidArgument("name the certificate to revoke: its PEM file or its serial", reason="PKI_REVOKE_WHAT")
    if certificate is not None:
        try:
            leaf = _load_certificate(certificate.read_bytes())
        except OSError as error:
            raise NotFound(f"cannot read {certificate}: {error.strerror}", reason="PKI_CERTIFICATE_MISSING") from None
        previous = directory / PREVIOUS_CA_CERT
        if (
            not _issued_by(leaf, authority.cert)
            and cert_name == CA_CERT
            and previous.exists()
            and _issued_by(leaf, _load_bundle(previous)[0])
        ):
            authority = _load_authority(directory, PREVIOUS_CA_KEY, PREVIOUS_CA_CERT)
        if not _issued_by(leaf, authority.cert):
            raise FailedPrecondition(
                f"{certificate} was issued by {leaf.issuer.rfc4514_string()}, not by this CA; its CRL cannot revoke it",
                reason="PKI_NOT_ISSUED_HERE",
            )
        serial = leaf.serial_number
    assert serial is not None
    entries, others = _split_crls(directory / crl_name, authority, _load_bundle(directory / cert_name))
    entries = [e for e in entries if e.serial_number != serial]
    entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_now())
    if reason is not x509.ReasonFlags.unspecified:
        entry = entry.add_extension(x509.CRLReason(reason), critical=False)
    _write_crls(directory / crl_name, [_sign_crl(authority, [*entries, entry.build()], days=days), *others])
    return serial


# --- the key ceremony: an offline root, an intermediate on the hub ---------------------------------


@dataclass(frozen=True)
class RootPaths:
    """What `init_root` wrote: the root's key (keep it offline), certificate and CRL."""

    directory: Path
    key: Path
    certificate: Path
    crl: Path


def init_root(
    directory: Path,
    *,
    name: str = DEFAULT_ROOT_NAME,
    days: int = ROOT_DAYS,
    crl_days: int = ROOT_CRL_DAYS,
    force: bool = False,
) -> RootPaths:
    """Create the offline root CA (path length 1: it signs intermediates only) and its empty CRL."""
    paths = RootPaths(directory, directory / ROOT_KEY, directory / ROOT_CERT, directory / ROOT_CRL)
    if not force and (paths.key.exists() or paths.certificate.exists()):
        raise AlreadyExists(
            f"a root CA already exists in {directory}; every intermediate depends on it", reason="PKI_CA_EXISTS"
        )
    key = generate_p256()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = _ca_certificate(subject, key.public_key(), _Authority(key, None), days=days, path_length=1)
    write_private_key(paths.key, key)
    _write_certificate(paths.certificate, certificate)
    _write_crls(paths.crl, [_sign_crl(_Authority(key, certificate), [], days=crl_days)])
    return paths


def request_intermediate(directory: Path, *, hub_name: str = DEFAULT_HUB_NAME) -> Path:
    """On the hub host: a fresh key (intermediate.key, never leaves) and a request for the root (intermediate.csr)."""
    _check_name(hub_name, "hub name")
    key = generate_p256()
    request = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{hub_name} issuing CA")])
    )
    algorithm = hashes.SHA256()
    write_private_key(directory / INTERMEDIATE_KEY, key)
    path = directory / INTERMEDIATE_REQUEST
    path.write_bytes(request.sign(key, algorithm).public_bytes(serialization.Encoding.PEM))
    return path


def sign_intermediate(root_directory: Path, request: Path, out: Path, *, days: int = INTERMEDIATE_DAYS) -> Path:
    """On the offline machine: the root signs the request (path length 0); out holds the intermediate, then the root."""
    root = _load_authority(root_directory, ROOT_KEY, ROOT_CERT)
    try:
        csr = x509.load_pem_x509_csr(request.read_bytes())
    except (OSError, ValueError) as error:
        raise InvalidArgument(
            f"{request} is not a PEM certificate request: {error}", reason="PKI_REQUEST_INVALID"
        ) from None
    if not csr.is_signature_valid:
        raise InvalidArgument(f"{request} is not signed by the key it names", reason="PKI_REQUEST_INVALID")
    certificate = _ca_certificate(csr.subject, csr.public_key(), root, days=days, path_length=0)
    _write_certificate(out, certificate, root.cert)
    return out


def install_intermediate(
    directory: Path,
    chain: Path,
    *,
    root_crl: Path | None = None,
    hub_name: str = DEFAULT_HUB_NAME,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = 825,
    keep_previous_ca: bool = False,
) -> PkiPaths:
    """On the hub host: make the signed intermediate the issuing CA (ca.key, ca.crt = intermediate + root).

    Re-issues the hub's server, client and document-signing certificates from it and writes crl.pem (the intermediate's
    CRL and the root's). ``keep_previous_ca`` appends the CA it replaces to ca.crt, so certificates
    that CA issued keep working until each is re-issued (the migration from a single CA).
    """
    pending = directory / INTERMEDIATE_KEY
    if not pending.exists():
        raise FailedPrecondition(
            f"no {INTERMEDIATE_KEY} in {directory}; run 'exchange pki intermediate request' there first",
            reason="PKI_REQUEST_MISSING",
        )
    certificates = _load_bundle(chain)
    intermediate, roots = certificates[0], certificates[1:]
    key = load_private_key(pending)
    if intermediate.public_key() != key.public_key():
        raise FailedPrecondition(
            f"{chain} certifies another key than {pending}; sign the request made in this directory",
            reason="PKI_KEY_MISMATCH",
        )
    if not any(_issued_by(intermediate, root) and root.issuer == root.subject for root in roots):
        raise InvalidArgument(
            f"{chain} must hold the intermediate followed by the root that signed it", reason="PKI_CHAIN_INVALID"
        )
    previous = _load_bundle(directory / CA_CERT) if keep_previous_ca and (directory / CA_CERT).exists() else []
    previous_crl = (directory / CRL_FILE).read_bytes() if keep_previous_ca and (directory / CRL_FILE).exists() else b""
    if previous and (directory / CA_KEY).exists():
        # The replaced CA keeps its key here, to revoke what it issued while those certificates are re-issued.
        write_private_key(directory / PREVIOUS_CA_KEY, load_private_key(directory / CA_KEY))
        _write_certificate(directory / PREVIOUS_CA_CERT, previous[0])
    write_private_key(directory / CA_KEY, key)
    root = next(r for r in roots if _issued_by(intermediate, r))
    (directory / CA_CERT).write_bytes(_pem(intermediate, root, *(c for c in previous if c not in (intermediate, root))))
    _write_certificate(directory / ROOT_CERT, root)
    pending.unlink()
    (directory / INTERMEDIATE_REQUEST).unlink(missing_ok=True)
    authority = _Authority(key, intermediate, (intermediate,))
    kept = [x509.load_pem_x509_crl(b) for b in _CRL_BLOCK.findall(previous_crl)]
    (directory / CRL_FILE).unlink(missing_ok=True)
    _write_crls(directory / CRL_FILE, [_sign_crl(authority, [], days=CRL_DAYS), *kept])
    if root_crl is not None:
        write_crl(directory, root_crl=root_crl)
    paths = _pki_paths(directory)
    return _issue_hub_certificates(authority, paths, hub_name, hosts, days=days)


def revoke_intermediate(
    root_directory: Path,
    *,
    certificate: Path | None = None,
    serial: int | None = None,
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified,
    days: int = ROOT_CRL_DAYS,
) -> int:
    """On the offline machine: list an intermediate in the root's CRL (carry root-crl.pem to every hub)."""
    return revoke_certificate(
        root_directory,
        certificate=certificate,
        serial=serial,
        reason=reason,
        days=days,
        key_name=ROOT_KEY,
        cert_name=ROOT_CERT,
        crl_name=ROOT_CRL,
    )


def refresh_root_crl(root_directory: Path, *, days: int = ROOT_CRL_DAYS) -> Path:
    """On the offline machine: re-sign the root's CRL before its next update (a stale CRL is still honoured)."""
    root = _load_authority(root_directory, ROOT_KEY, ROOT_CERT)
    entries, _ = _split_crls(root_directory / ROOT_CRL, root, [root.cert])
    return _write_crls(root_directory / ROOT_CRL, [_sign_crl(root, entries, days=days)])


class RevocationList:
    """The CA's CRL as the hub or an adapter honours it: re-read when the file changes, checked against the CA.

    ``issuer`` is the trust bundle (ca.crt): the file may hold one CRL per CA in it, the issuing CA's and,
    above an intermediate, the root's, which revokes intermediates. An absent file revokes nothing. A
    file with a CRL no CA in the bundle signed stops start-up; when a later version is bad the previous
    list stays in force (and the error is logged), so a damaged file never un-revokes anything.
    """

    def __init__(
        self,
        path: Path | None,
        issuer: x509.Certificate | bytes,
        *,
        recheck_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.issuers = [issuer] if isinstance(issuer, x509.Certificate) else _bundle_from_pem(issuer)
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._checked_at = -float("inf")
        self._version: tuple[int, int, int] | None = None
        self._serials: frozenset[int] = frozenset()
        self._lock = threading.Lock()  # adapters' sync sources and the event loop may both ask
        self._refresh(initial=True)

    def _refresh(self, *, initial: bool = False) -> None:
        """Re-read the file when its identity, size or time changed (stat at most once per recheck_seconds)."""
        now = self._clock()
        if not initial and now - self._checked_at < self._recheck_seconds:
            return
        with self._lock:
            self._checked_at = now
            if self.path is None:
                return
            try:
                info = self.path.stat()
            except FileNotFoundError:
                self._version, self._serials = None, frozenset()
                return
            version = (info.st_ino, info.st_size, info.st_mtime_ns)
            if version == self._version:
                return
            try:
                crls = _read_crls(self.path, self.issuers)
            except (InvalidArgument, OSError) as error:
                if initial:
                    raise
                log.error("kept the previous revocation list: %s", error)
                return
            self._version, self._serials = version, frozenset(entry.serial_number for crl in crls for entry in crl)
            log.info("revocation list %s loaded: %d certificates revoked", self.path, len(self._serials))

    def is_revoked(self, serial: int) -> bool:
        """Whether the CA revoked the certificate with this serial."""
        self._refresh()
        return serial in self._serials

    def check(self, certificate: x509.Certificate | None, who: str) -> None:
        """Refuse a revoked peer certificate (UNAUTHENTICATED, CERTIFICATE_REVOKED); who names it in the message."""
        if certificate is not None and self.is_revoked(certificate.serial_number):
            raise Unauthenticated(
                f"the certificate of {who} (serial {certificate.serial_number:x}) is revoked by the CA; "
                "ask the hub operator for a new one",
                reason="CERTIFICATE_REVOKED",
            )

    def check_chain(self, chain: Sequence[x509.Certificate], who: str) -> None:
        """Refuse a peer whose certificate (chain[0]) or an issuing CA above it (the rest) is revoked.

        A revoked intermediate is refused with ISSUER_REVOKED: every certificate it issued goes with it.
        """
        if not chain:
            return
        self.check(chain[0], who)
        for issuer in chain[1:]:
            if issuer.issuer != issuer.subject and self.is_revoked(issuer.serial_number):
                raise Unauthenticated(
                    f"the certificate of {who} was issued by {issuer.subject.rfc4514_string()} "
                    f"(serial {issuer.serial_number:x}), which the root CA revoked; ask the hub operator for a "
                    "certificate from the current intermediate",
                    reason="ISSUER_REVOKED",
                )
