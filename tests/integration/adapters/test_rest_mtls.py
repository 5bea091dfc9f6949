"""RestSource presenting a client certificate to an upstream that requires one (mTLS on loopback)."""

import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pyarrow as pa
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from adapters.sources.rest import RestSource, client_ssl_context
from exchange.errors import Unavailable

SCHEMA = pa.schema([pa.field("uscc", pa.string()), pa.field("status", pa.string())])


def issue(
    name: str, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None, *, server: bool = False
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca[0].subject if ca else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca is None, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif ca is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    cert = builder.sign(ca[1] if ca else key, hashes.SHA256())
    return cert, key


def write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


@pytest.fixture
async def mtls_upstream(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    ca = issue("Test department CA", None)
    server_cert, server_key = issue("registry", ca, server=True)
    client_cert, client_key = issue("samr-adapter", ca)
    write(tmp_path / "ca.pem", ca[0])
    write(tmp_path / "server.pem", server_cert, server_key)
    write(tmp_path / "client.pem", client_cert, client_key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca.pem"))
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    context.verify_mode = ssl.CERT_REQUIRED

    async def licence(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        assert peer is not None  # the handshake demanded a client certificate
        return web.json_response({"uscc": request.match_info["key"], "status": "01"})

    app = web.Application()
    app.router.add_get("/licences/{key}", licence)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}", tmp_path
    finally:
        await runner.cleanup()


async def test_client_certificate_opens_the_upstream(mtls_upstream: tuple[str, Path]) -> None:
    url, certs = mtls_upstream
    context = client_ssl_context(str(certs / "ca.pem"), str(certs / "client.pem"), str(certs / "client.key"))
    rest = RestSource(url, "/licences/{key}", {}, SCHEMA, ssl_context=context, timeout_seconds=5)
    try:
        assert await rest.lookup("911100000000000001") == {"uscc": "911100000000000001", "status": "01"}
    finally:
        await rest.close()


async def test_without_a_client_certificate_the_upstream_is_unavailable(mtls_upstream: tuple[str, Path]) -> None:
    url, certs = mtls_upstream
    context = client_ssl_context(str(certs / "ca.pem"))
    rest = RestSource(url, "/licences/{key}", {}, SCHEMA, ssl_context=context, timeout_seconds=5)
    try:
        with pytest.raises(Unavailable) as err:
            await rest.lookup("911100000000000001")
    finally:
        await rest.close()
    assert "127.0.0.1" in err.value.message


async def test_an_upstream_certificate_from_an_unknown_ca_is_refused(mtls_upstream: tuple[str, Path]) -> None:
    url, _ = mtls_upstream
    rest = RestSource(url, "/licences/{key}", {}, SCHEMA, ssl_context=client_ssl_context(), timeout_seconds=5)
    try:
        with pytest.raises(Unavailable):
            await rest.lookup("911100000000000001")
    finally:
        await rest.close()
