"""Forged, altered and misused tokens against a real hub: each class refused with its reason, and logged.

The hub runs the production topology (the fixture's default); every call below is made over FIRE's own
mTLS channel, so the certificate proves FIRE and only the token lies.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from exchange.auth.identity import HUB_AUDIENCE_DEFAULT, Role
from exchange.auth.keys import generate_ed25519, generate_p256, key_id, public_key_to_pem
from exchange.auth.tokens import mint_token
from exchange.testing import HubFixture
from exchange.v1 import catalog_pb2
from tests.integration.auth.rpc_walk import call_raw, hub_methods

LIST_DATASETS = next(m for m in hub_methods() if m.full_name == "exchange.v1.CatalogService.ListDatasets")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "FIRE",
        "sub": "forger",
        "aud": HUB_AUDIENCE_DEFAULT,
        "iat": now,
        "nbf": now,
        "exp": now + 120,
        "jti": f"j-{time.monotonic_ns()}",
        "roles": ["officer"],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _forgeries(hub: HubFixture) -> dict[str, tuple[Callable[[], str], str]]:
    """Name -> (make the token, the reason the hub must give)."""
    fire, samr = hub.departments["FIRE"], hub.departments["SAMR"]
    fire_pem = public_key_to_pem(fire.token_key).encode()
    stranger = generate_ed25519()

    def signed(key=fire.token_key, kid=fire.token_kid, alg="EdDSA", headers=None, **changes: object) -> str:
        return jwt.encode(_claims(**changes), key, algorithm=alg, headers={"kid": kid, **(headers or {})})

    def unsigned() -> str:
        header = _b64(json.dumps({"alg": "none", "kid": fire.token_kid}).encode())
        return f"{header}.{_b64(json.dumps(_claims()).encode())}."

    def hmac_with_public_key() -> str:
        header = _b64(json.dumps({"alg": "HS256", "kid": fire.token_kid, "typ": "JWT"}).encode())
        body = _b64(json.dumps(_claims()).encode())
        import hashlib
        import hmac

        mac = hmac.new(fire_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(mac)}"

    def altered_payload() -> str:
        header, _, signature = signed().split(".")
        return f"{header}.{_b64(json.dumps(_claims(roles=['officer', 'dept_admin'])).encode())}.{signature}"

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    p256 = generate_p256()
    return {
        "alg none": (unsigned, "TOKEN_ALGORITHM_REFUSED"),
        "HS256 keyed with the public key": (hmac_with_public_key, "TOKEN_ALGORITHM_REFUSED"),
        "RS256": (lambda: signed(key=rsa_key, alg="RS256"), "TOKEN_ALGORITHM_REFUSED"),
        "ES256 under an EdDSA kid": (lambda: signed(key=p256, alg="ES256"), "TOKEN_ALGORITHM_REFUSED"),
        "a stranger's key under FIRE's kid": (lambda: signed(key=stranger), "TOKEN_SIGNATURE_INVALID"),
        "payload altered after signing": (altered_payload, "TOKEN_SIGNATURE_INVALID"),
        "an unregistered kid": (lambda: signed(key=stranger, kid=key_id(stranger.public_key())), "TOKEN_KEY_UNKNOWN"),
        "SAMR's kid claimed by FIRE": (lambda: signed(key=samr.token_key, kid=samr.token_kid), "TOKEN_KEY_UNKNOWN"),
        "SAMR's own token over FIRE's certificate": (
            lambda: signed(key=samr.token_key, kid=samr.token_kid, iss="SAMR"),
            "TOKEN_ISSUER_MISMATCH",
        ),
        "another audience": (lambda: signed(aud="some-other-hub"), "TOKEN_AUDIENCE_MISMATCH"),
        "expired": (lambda: signed(exp=int(time.time()) - 3600, iat=int(time.time()) - 3700), "TOKEN_EXPIRED"),
        "not yet valid": (lambda: signed(nbf=int(time.time()) + 3600), "TOKEN_NOT_YET_VALID"),
        "issued in the future": (
            lambda: signed(iat=int(time.time()) + 3600, exp=int(time.time()) + 3700),
            "TOKEN_NOT_YET_VALID",
        ),
        "lifetime of a day": (lambda: signed(exp=int(time.time()) + 86_400), "TOKEN_LIFETIME_TOO_LONG"),
        "no exp": (lambda: signed(exp=None), "TOKEN_CLAIMS_INVALID"),
        "an unknown role": (lambda: signed(roles=["officer", "god"]), "TOKEN_CLAIMS_INVALID"),
        "roles not a list": (lambda: signed(roles="officer"), "TOKEN_CLAIMS_INVALID"),
        "a crit header": (lambda: signed(headers={"crit": ["exp"]}), "TOKEN_MALFORMED"),
        "no kid": (lambda: jwt.encode(_claims(), fire.token_key, algorithm="EdDSA"), "TOKEN_MALFORMED"),
        "a token over 8 KiB": (lambda: signed(pad="x" * 6500), "TOKEN_MALFORMED"),
        "two segments": (lambda: ".".join(signed().split(".")[:2]), "TOKEN_MALFORMED"),
        "not base64": (lambda: "!!!.???.***", "TOKEN_MALFORMED"),
    }


async def test_every_class_of_forged_token_is_refused_with_its_reason_and_logged(any_backend_hub: HubFixture):
    hub = any_backend_hub
    await hub.add_department("FIRE")
    await hub.add_department("SAMR")
    channel = hub.client("FIRE").channel
    wrong: list[str] = []
    for name, (make, reason) in _forgeries(hub).items():
        outcome = await call_raw(
            channel, LIST_DATASETS, catalog_pb2.ListDatasetsRequest(), (("authorization", f"Bearer {make()}"),)
        )
        if (outcome.code, outcome.reason) != (grpc.StatusCode.UNAUTHENTICATED, reason):
            wrong.append(f"{name}: {outcome.code.name} {outcome.reason} ({outcome.details[:120]})")
            continue
        if len(outcome.details) > 600:
            wrong.append(f"{name}: a {len(outcome.details)}-character message")
        last = (await hub.log_entries())[-1]
        if (last.decision, last.reason, last.caller_department) != ("deny", reason, "FIRE"):
            wrong.append(f"{name}: logged {last.decision} {last.reason} under {last.caller_department!r}")
    assert not wrong, "\n".join(wrong)


async def test_a_token_without_the_bearer_header_is_refused_and_logged(hub: HubFixture):
    await hub.add_department("FIRE")
    channel = hub.client("FIRE").channel
    outcome = await call_raw(channel, LIST_DATASETS, catalog_pb2.ListDatasetsRequest(), ())
    assert (outcome.code, outcome.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
    last = (await hub.log_entries())[-1]
    assert (last.decision, last.reason, last.caller_department) == ("deny", "TOKEN_MISSING", "FIRE")


async def test_a_token_used_on_a_second_connection_is_refused_as_a_replay(hub: HubFixture):
    await hub.add_department("FIRE")
    first, second = hub.client("FIRE"), hub.client("FIRE")
    token = mint_token(
        hub.departments["FIRE"].token_key,
        issuer="FIRE",
        kid=hub.departments["FIRE"].token_kid,
        subject="o-1",
        roles=[Role.OFFICER],
        audience=HUB_AUDIENCE_DEFAULT,
    )
    metadata = (("authorization", f"Bearer {token}"),)
    ok = await call_raw(first.channel, LIST_DATASETS, catalog_pb2.ListDatasetsRequest(), metadata)
    assert ok.code == grpc.StatusCode.OK
    replayed = await call_raw(second.channel, LIST_DATASETS, catalog_pb2.ListDatasetsRequest(), metadata)
    assert (replayed.code, replayed.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_REPLAYED")
    last = (await hub.log_entries())[-1]
    assert (last.decision, last.reason, last.caller_department) == ("deny", "TOKEN_REPLAYED", "FIRE")
