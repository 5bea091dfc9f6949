"""The hub publishes its CA certificate and its CRL on the HTTP listener, for adapters and departments."""

from __future__ import annotations

import ssl

import aiohttp
from cryptography import x509

from exchange.auth.pki import init_pki, issue_department_certificate, revoke_certificate
from exchange.testing import HubFixture


def _base(hub: HubFixture) -> tuple[str, ssl.SSLContext | bool]:
    if hub.settings.insecure_dev:
        return f"http://127.0.0.1:{hub.running.http_port}", False
    context = ssl.create_default_context(cafile=str(hub.settings.path(hub.settings.tls_client_ca)))
    return f"https://127.0.0.1:{hub.running.http_port}", context


async def test_the_crl_and_the_ca_certificate_are_published(hub: HubFixture):
    pki = hub.settings.path(hub.settings.crl_file).parent
    if not (pki / "ca.key").exists():
        init_pki(pki)
    base, tls = _base(hub)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/pki/crl.pem", ssl=tls) as missing:
            assert missing.status == 404 and "nothing has been revoked" in await missing.text()
        _, cert = issue_department_certificate(pki, "FIRE", out_dir=pki / "out")
        serial = revoke_certificate(pki, certificate=cert)
        async with session.get(f"{base}/pki/crl.pem", ssl=tls) as published:
            assert published.status == 200
            crl = x509.load_pem_x509_crl(await published.read())
        async with session.get(f"{base}/pki/ca.crt", ssl=tls) as ca:
            assert ca.status == 200
            issuer = x509.load_pem_x509_certificate(await ca.read())
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
