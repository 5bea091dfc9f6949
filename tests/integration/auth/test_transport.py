"""A hub with TLS on every listener: mTLS identity, the token attack list, and the HTTPS side, end to end."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc import aio

from catalog.model import DepartmentStatus
from exchange.auth.identity import Role
from exchange.auth.keys import generate_ed25519, key_id, public_key_to_pem
from exchange.auth.pki import init_pki, issue_department_certificate
from exchange.auth.tokens import mint_token
from exchange.status import from_rpc_error
from exchange.testing import DepartmentKeys, HubFixture, start_test_hub, system_caller
from exchange.v1 import catalog_pb2, catalog_pb2_grpc

HUB_NAME = "exchange-hub"


@dataclass
class TlsHub:
    fixture: HubFixture
    pki: Path
    samr: DepartmentKeys

    def credentials(self, department: str = "SAMR", *, ca: Path | None = None) -> grpc.ChannelCredentials:
        """Channel credentials with the department's certificate issued by the CA in `ca` (default the hub's)."""
        directory = ca or self.pki
        cert, key = directory / f"{department}.crt", directory / f"{department}.key"
        return grpc.ssl_channel_credentials((self.pki / "ca.crt").read_bytes(), key.read_bytes(), cert.read_bytes())

    async def list_datasets(self, credentials: grpc.ChannelCredentials, token: str) -> grpc.StatusCode:
        """One call on a fresh connection; the status it ended with."""
        async with aio.secure_channel(self.fixture.address, credentials) as channel:
            stub = catalog_pb2_grpc.CatalogServiceStub(channel)
            try:
                await stub.ListDatasets(
                    catalog_pb2.ListDatasetsRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=5
                )
            except aio.AioRpcError as error:
                self.last_reason = from_rpc_error(error).reason
                return error.code()
        self.last_reason = ""
        return grpc.StatusCode.OK

    last_reason: str = ""

    def token(self, department: str = "SAMR", **overrides: object) -> str:
        keys = self.fixture.departments[department]
        values: dict[str, object] = {
            "issuer": department,
            "kid": keys.token_kid,
            "subject": "li.wei",
            "roles": [Role.OFFICER],
            "audience": HUB_NAME,
        }
        values.update(overrides)
        return mint_token(keys.token_key, **values)  # type: ignore[arg-type]


@pytest.fixture
async def tls_hub(tmp_path: Path) -> AsyncIterator[TlsHub]:
    pki = tmp_path / "hub" / "pki"
    init_pki(pki, hub_name=HUB_NAME)
    for department in ("SAMR", "FIRE"):
        issue_department_certificate(pki, department)
    fixture = await start_test_hub(tmp_path / "hub", insecure_dev=False)
    try:
        samr = await fixture.add_department("SAMR")
        await fixture.add_department("FIRE")
        yield TlsHub(fixture, pki, samr)
    finally:
        await fixture.stop()


async def deny_entries(hub: HubFixture) -> list[tuple[str, str]]:
    return [(e.reason, e.caller_department) for e in await hub.log_entries() if e.decision == "deny"]


# --- mTLS -----------------------------------------------------------------------------------------


async def test_department_with_its_certificate_and_token_is_served(tls_hub: TlsHub) -> None:
    assert await tls_hub.list_datasets(tls_hub.credentials(), tls_hub.token()) == grpc.StatusCode.OK


async def test_client_without_a_certificate_is_refused_in_the_handshake(tls_hub: TlsHub) -> None:
    no_cert = grpc.ssl_channel_credentials((tls_hub.pki / "ca.crt").read_bytes())
    assert await tls_hub.list_datasets(no_cert, tls_hub.token()) == grpc.StatusCode.UNAVAILABLE


async def test_certificate_from_another_ca_is_refused(tls_hub: TlsHub, tmp_path: Path) -> None:
    rogue = tmp_path / "rogue"
    init_pki(rogue, hub_name="rogue-hub")
    issue_department_certificate(rogue, "SAMR")
    credentials = tls_hub.credentials(ca=rogue)
    assert await tls_hub.list_datasets(credentials, tls_hub.token()) == grpc.StatusCode.UNAVAILABLE


async def test_expired_certificate_is_refused(tls_hub: TlsHub, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    issue_department_certificate(
        tls_hub.pki,
        "SAMR",
        out_dir=tmp_path / "old",
        not_before=now - dt.timedelta(days=30),
        not_after=now - dt.timedelta(days=1),
    )
    ca = (tls_hub.pki / "ca.crt").read_bytes()
    expired = grpc.ssl_channel_credentials(
        ca, (tmp_path / "old" / "SAMR.key").read_bytes(), (tmp_path / "old" / "SAMR.crt").read_bytes()
    )
    assert await tls_hub.list_datasets(expired, tls_hub.token()) == grpc.StatusCode.UNAVAILABLE


async def test_suspended_department_is_refused_and_logged(tls_hub: TlsHub) -> None:
    await tls_hub.fixture.running.registry.set_department_status(
        "SAMR", DepartmentStatus.SUSPENDED, "certificate compromised", system_caller()
    )
    status = await tls_hub.list_datasets(tls_hub.credentials(), tls_hub.token())
    assert (status, tls_hub.last_reason) == (grpc.StatusCode.PERMISSION_DENIED, "DEPARTMENT_INACTIVE")
    assert ("DEPARTMENT_INACTIVE", "SAMR") in await deny_entries(tls_hub.fixture)


async def test_token_of_another_department_than_the_certificate_is_refused_and_logged(tls_hub: TlsHub) -> None:
    # FIRE's certificate with a valid token signed by SAMR's key: neither may borrow the other's identity.
    status = await tls_hub.list_datasets(tls_hub.credentials("FIRE"), tls_hub.token("SAMR"))
    assert (status, tls_hub.last_reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_ISSUER_MISMATCH")
    assert ("TOKEN_ISSUER_MISMATCH", "FIRE") in await deny_entries(tls_hub.fixture)


# --- the token attack list, through the TLS hub ---------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _claims(hub: TlsHub) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": "SAMR",
        "sub": "li.wei",
        "aud": HUB_NAME,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": f"jti-{now}",
        "roles": ["officer"],
    }


def _alg_none(hub: TlsHub) -> str:
    return _unsigned({"alg": "none", "typ": "JWT", "kid": hub.samr.token_kid}, _claims(hub)) + "."


def _hs256_with_public_key(hub: TlsHub) -> str:
    secret = public_key_to_pem(hub.samr.token_key.public_key()).encode()
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": hub.samr.token_kid}, _claims(hub))
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def _tampered(hub: TlsHub) -> str:
    header, payload, signature = hub.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["hub_admin"]
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _unknown_kid(hub: TlsHub) -> str:
    stranger = generate_ed25519()
    return mint_token(
        stranger,
        issuer="SAMR",
        kid=key_id(stranger.public_key()),
        subject="li.wei",
        roles=[Role.OFFICER],
        audience=HUB_NAME,
    )


ATTACKS: list[tuple[str, Callable[[TlsHub], str], str]] = [
    ("expired", lambda h: h.token(now=int(time.time()) - 900, ttl_seconds=300), "TOKEN_EXPIRED"),
    ("not yet valid", lambda h: h.token(now=int(time.time()) + 600), "TOKEN_NOT_YET_VALID"),
    ("wrong audience", lambda h: h.token(audience="another-hub"), "TOKEN_AUDIENCE_MISMATCH"),
    ("issuer other than the certificate", lambda h: h.token("FIRE"), "TOKEN_ISSUER_MISMATCH"),
    ("alg none", _alg_none, "TOKEN_ALGORITHM_REFUSED"),
    ("HS256 signed with the public key", _hs256_with_public_key, "TOKEN_ALGORITHM_REFUSED"),
    ("unknown kid", _unknown_kid, "TOKEN_KEY_UNKNOWN"),
    ("tampered payload", _tampered, "TOKEN_SIGNATURE_INVALID"),
]


@pytest.mark.parametrize(("attack", "make", "reason"), ATTACKS, ids=[a[0] for a in ATTACKS])
async def test_token_attack_is_refused_and_logged(
    tls_hub: TlsHub, attack: str, make: Callable[[TlsHub], str], reason: str
) -> None:
    status = await tls_hub.list_datasets(tls_hub.credentials(), make(tls_hub))
    assert (status, tls_hub.last_reason) == (grpc.StatusCode.UNAUTHENTICATED, reason), attack
    assert await deny_entries(tls_hub.fixture) == [(reason, "SAMR")]


async def test_replayed_jti_on_another_connection_is_refused_and_logged(tls_hub: TlsHub) -> None:
    token = tls_hub.token()
    assert await tls_hub.list_datasets(tls_hub.credentials(), token) == grpc.StatusCode.OK
    # A captured token presented again on a new connection.
    status = await tls_hub.list_datasets(tls_hub.credentials(), token)
    assert (status, tls_hub.last_reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_REPLAYED")
    assert await deny_entries(tls_hub.fixture) == [("TOKEN_REPLAYED", "SAMR")]


# --- the HTTP listener ----------------------------------------------------------------------------


async def test_http_side_is_served_over_tls_with_the_hub_certificate(tls_hub: TlsHub) -> None:
    context = ssl.create_default_context(cafile=str(tls_hub.pki / "ca.crt"))
    port = tls_hub.fixture.running.http_port
    async with aiohttp.ClientSession() as session:
        async with session.get(f"https://127.0.0.1:{port}/healthz", ssl=context) as response:
            assert response.status == 200 and (await response.json())["status"] == "serving"
        with pytest.raises(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{port}/healthz") as plain:
                await plain.read()
                assert plain.status != 200
