"""Specification of department tokens: what the hub accepts, and every attack it refuses with its reason."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.auth import (
    HUB_AUDIENCE_DEFAULT,
    Role,
    TokenVerifier,
    TrustedKey,
    algorithm_for,
    generate_ed25519,
    generate_p256,
    key_id,
    mint_token,
    public_key_to_pem,
)
from exchange.auth.keys import PrivateKey
from exchange.errors import InvalidArgument, Unauthenticated, Unavailable

NOW = 1_800_000_000
PEER = "ipv4:127.0.0.1:53012"
OTHER_PEER = "ipv4:127.0.0.1:53999"


class Clock:
    """A settable clock so tests move time without sleeping."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Registry:
    """The hub's key registry, as a dict, counting lookups."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], TrustedKey] = {}
        self.lookups = 0

    def register(self, department: str, private_key: PrivateKey, *, active: bool = True) -> str:
        kid = key_id(private_key.public_key())
        self.keys[(department, kid)] = TrustedKey(
            department=department,
            kid=kid,
            algorithm=algorithm_for(private_key),
            public_key=private_key.public_key(),
            active=active,
        )
        return kid

    def retire(self, department: str, kid: str) -> None:
        old = self.keys[(department, kid)]
        self.keys[(department, kid)] = TrustedKey(old.department, old.kid, old.algorithm, old.public_key, False)

    def __call__(self, department: str, kid: str) -> TrustedKey | None:
        self.lookups += 1
        return self.keys.get((department, kid))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def psb_key() -> PrivateKey:
    return generate_ed25519()


@pytest.fixture
def psb_kid(registry: Registry, psb_key: PrivateKey) -> str:
    return registry.register("PSB", psb_key)


@pytest.fixture
def verifier(registry: Registry, clock: Clock) -> TokenVerifier:
    return TokenVerifier(HUB_AUDIENCE_DEFAULT, registry, clock=clock)


@pytest.fixture
def mint(psb_key: PrivateKey, psb_kid: str) -> Callable[..., str]:
    """Mint a PSB officer token, overriding any argument."""

    def _mint(**overrides: object) -> str:
        arguments: dict[str, object] = {
            "issuer": "PSB",
            "kid": psb_kid,
            "subject": "officer-7",
            "roles": [Role.OFFICER],
            "audience": HUB_AUDIENCE_DEFAULT,
            "ttl_seconds": 300,
            "now": NOW,
        }
        arguments.update(overrides)
        key = arguments.pop("key", psb_key)
        return mint_token(key, **arguments)  # type: ignore[arg-type]

    return _mint


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def craft(header: dict[str, object], payload: dict[str, object], signature: bytes = b"") -> str:
    """A token assembled by hand, as an attacker would."""
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"


def claims(kid: str, **overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "iss": "PSB",
        "sub": "officer-7",
        "aud": HUB_AUDIENCE_DEFAULT,
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "crafted-1",
        "roles": ["officer"],
    }
    payload.update(overrides)
    return payload


def refused(verifier: TokenVerifier, token: str, *, peer: str = PEER, cert: str | None = "PSB") -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token, peer=peer, cert_department=cert)
    assert len(token) < 20 or token not in caught.value.message
    return caught.value


# Accepted


def test_eddsa_token_proves_the_officer_and_roles(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    token = mint(roles=[Role.OFFICER, Role.DEPT_ADMIN], jti="t-1")

    caller = verifier.verify(token, peer=PEER, cert_department="PSB")

    assert caller.department == "PSB"
    assert caller.officer_id == "officer-7"
    assert caller.roles == frozenset({Role.OFFICER, Role.DEPT_ADMIN})
    assert caller.has(Role.DEPT_ADMIN) and not caller.has(Role.HUB_ADMIN)
    assert caller.token_id == "t-1"
    assert caller.expires_at == NOW + 300


def test_es256_token_is_accepted(registry: Registry, verifier: TokenVerifier) -> None:
    key = generate_p256()
    kid = registry.register("SAMR", key)
    token = mint_token(
        key,
        issuer="SAMR",
        kid=kid,
        subject="o-1",
        roles=[Role.AUDITOR],
        audience=HUB_AUDIENCE_DEFAULT,
        now=NOW,
    )

    caller = verifier.verify(token, peer=PEER, cert_department="SAMR")

    assert caller.department == "SAMR" and caller.roles == frozenset({Role.AUDITOR})


def test_minted_header_names_key_and_algorithm(mint: Callable[..., str], psb_kid: str) -> None:
    header = json.loads(base64.urlsafe_b64decode(mint().split(".")[0] + "=="))

    assert header["alg"] == "EdDSA"
    assert header["kid"] == psb_kid


def test_token_without_mtls_is_accepted_on_its_own_word(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    assert verifier.verify(mint(), peer=PEER, cert_department=None).department == "PSB"


def test_same_connection_may_reuse_its_token_until_it_expires(
    verifier: TokenVerifier, mint: Callable[..., str], clock: Clock
) -> None:
    token = mint()
    first = verifier.verify(token, peer=PEER, cert_department="PSB")
    clock.now = NOW + 299

    assert verifier.verify(token, peer=PEER, cert_department="PSB") == first


def test_reuse_on_the_same_connection_is_served_from_the_cache(
    verifier: TokenVerifier, mint: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = mint()
    verifier.verify(token, peer=PEER, cert_department="PSB")
    from exchange.auth import tokens

    def no_signature_checks(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a cached token was verified again")

    monkeypatch.setattr(tokens, "_split", no_signature_checks)

    assert verifier.verify(token, peer=PEER, cert_department="PSB").officer_id == "officer-7"


def test_clock_skew_within_leeway_is_accepted(verifier: TokenVerifier, mint: Callable[..., str], clock: Clock) -> None:
    issued_in_the_future = mint(now=NOW + 20)
    clock.now = NOW
    assert verifier.verify(issued_in_the_future, peer=PEER, cert_department="PSB").officer_id == "officer-7"

    just_expired = mint(now=NOW - 320, jti="late")
    assert verifier.verify(just_expired, peer=PEER, cert_department="PSB").token_id == "late"


def test_audience_list_containing_the_hub_is_accepted(
    verifier: TokenVerifier, psb_key: Ed25519PrivateKey, psb_kid: str
) -> None:
    payload = claims(psb_kid, aud=["other-service", HUB_AUDIENCE_DEFAULT])
    token = jwt.encode(payload, psb_key, algorithm="EdDSA", headers={"kid": psb_kid})

    assert verifier.verify(token, peer=PEER, cert_department="PSB").token_id == "crafted-1"


# Refused: time


def test_expired_token_is_refused_with_how_long_ago(
    verifier: TokenVerifier, mint: Callable[..., str], clock: Clock
) -> None:
    token = mint()
    clock.now = NOW + 300 + 312

    error = refused(verifier, token)

    assert error.reason == "TOKEN_EXPIRED"
    assert "expired 312 s ago" in error.message and "mint a new one" in error.message


def test_cached_token_is_refused_once_it_expires(
    verifier: TokenVerifier, mint: Callable[..., str], clock: Clock
) -> None:
    token = mint()
    verifier.verify(token, peer=PEER, cert_department="PSB")
    clock.now = NOW + 300 + 30

    assert refused(verifier, token).reason == "TOKEN_EXPIRED"


def test_token_not_yet_valid_is_refused(verifier: TokenVerifier, psb_key: Ed25519PrivateKey, psb_kid: str) -> None:
    payload = claims(psb_kid, nbf=NOW + 120, exp=NOW + 400)
    token = jwt.encode(payload, psb_key, algorithm="EdDSA", headers={"kid": psb_kid})

    error = refused(verifier, token)

    assert error.reason == "TOKEN_NOT_YET_VALID" and "120 s" in error.message


def test_token_issued_beyond_the_leeway_in_the_future_is_refused(
    verifier: TokenVerifier, mint: Callable[..., str]
) -> None:
    assert refused(verifier, mint(now=NOW + 31)).reason == "TOKEN_NOT_YET_VALID"


def test_token_without_nbf_issued_in_the_future_is_refused(
    verifier: TokenVerifier, psb_key: Ed25519PrivateKey, psb_kid: str
) -> None:
    token = jwt.encode(
        claims(psb_kid, iat=NOW + 60, exp=NOW + 300), psb_key, algorithm="EdDSA", headers={"kid": psb_kid}
    )

    error = refused(verifier, token)

    assert error.reason == "TOKEN_NOT_YET_VALID" and "issued 60 s in the future" in error.message


def test_lifetime_over_fifteen_minutes_is_refused(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    error = refused(verifier, mint(ttl_seconds=901))

    assert error.reason == "TOKEN_LIFETIME_TOO_LONG" and "901 s" in error.message


def test_lifetime_of_exactly_fifteen_minutes_is_accepted(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    assert verifier.verify(mint(ttl_seconds=900), peer=PEER, cert_department="PSB").expires_at == NOW + 900


@pytest.mark.parametrize("missing", ["exp", "iat"])
def test_token_without_exp_or_iat_is_refused(
    verifier: TokenVerifier, psb_key: Ed25519PrivateKey, psb_kid: str, missing: str
) -> None:
    payload = claims(psb_kid)
    del payload[missing]
    token = jwt.encode(payload, psb_key, algorithm="EdDSA", headers={"kid": psb_kid})

    error = refused(verifier, token)

    assert error.reason == "TOKEN_CLAIMS_INVALID" and f"'{missing}'" in error.message


# Refused: audience, issuer, claims


def test_token_for_another_audience_is_refused(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    error = refused(verifier, mint(audience="some-other-hub"))

    assert error.reason == "TOKEN_AUDIENCE_MISMATCH" and "some-other-hub" in error.message


def test_issuer_must_match_the_client_certificate_department(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    error = refused(verifier, mint(), cert="SAMR")

    assert error.reason == "TOKEN_ISSUER_MISMATCH"
    assert error.message == "token issuer PSB does not match the client certificate's department SAMR"


def test_cached_token_presented_with_another_certificate_is_refused(
    verifier: TokenVerifier, mint: Callable[..., str]
) -> None:
    token = mint()
    verifier.verify(token, peer=PEER, cert_department="PSB")

    assert refused(verifier, token, cert="SAMR").reason == "TOKEN_ISSUER_MISMATCH"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"sub": ""}, "'sub'"),
        ({"roles": []}, "'roles'"),
        ({"roles": ["officer", "superuser"]}, "superuser"),
        ({"roles": "officer"}, "'roles'"),
        ({"jti": None}, "'jti'"),
        ({"exp": "tomorrow"}, "'exp'"),
    ],
)
def test_bad_claims_are_refused_naming_the_claim(
    verifier: TokenVerifier,
    psb_key: Ed25519PrivateKey,
    psb_kid: str,
    overrides: dict[str, object],
    named: str,
) -> None:
    token = jwt.encode(claims(psb_kid, **overrides), psb_key, algorithm="EdDSA", headers={"kid": psb_kid})

    error = refused(verifier, token)

    assert error.reason == "TOKEN_CLAIMS_INVALID" and named in error.message


# Refused: algorithms


def test_alg_none_is_refused(verifier: TokenVerifier, psb_kid: str) -> None:
    token = craft({"alg": "none", "typ": "JWT", "kid": psb_kid}, claims(psb_kid))

    error = refused(verifier, token)

    assert error.reason == "TOKEN_ALGORITHM_REFUSED" and "'none'" in error.message


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_signed_with_the_public_key_as_secret_is_refused(
    verifier: TokenVerifier, psb_key: Ed25519PrivateKey, psb_kid: str, alg: str
) -> None:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    secret = public_key_to_pem(psb_key.public_key()).encode()
    header, payload = {"alg": alg, "typ": "JWT", "kid": psb_kid}, claims(psb_kid)
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    token = f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), digest).digest())}"

    assert refused(verifier, token).reason == "TOKEN_ALGORITHM_REFUSED"


def test_rs256_is_refused(verifier: TokenVerifier, psb_kid: str) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(psb_kid), rsa_key, algorithm="RS256", headers={"kid": psb_kid})

    assert refused(verifier, token).reason == "TOKEN_ALGORITHM_REFUSED"


def test_algorithm_must_match_the_registered_key(verifier: TokenVerifier, psb_kid: str) -> None:
    p256 = generate_p256()
    token = jwt.encode(claims(psb_kid), p256, algorithm="ES256", headers={"kid": psb_kid})

    error = refused(verifier, token)

    assert error.reason == "TOKEN_ALGORITHM_REFUSED" and "EdDSA" in error.message


# Refused: keys and signatures


def test_unknown_kid_is_refused(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    error = refused(verifier, mint(kid="no-such-key"))

    assert error.reason == "TOKEN_KEY_UNKNOWN" and "PSB" in error.message


def test_kid_of_another_department_is_refused_even_though_it_verifies(
    registry: Registry, verifier: TokenVerifier
) -> None:
    samr_key = generate_ed25519()
    samr_kid = registry.register("SAMR", samr_key)
    # SAMR's own key signs a token claiming to be PSB: the signature is genuine, the claim is not.
    token = mint_token(
        samr_key,
        issuer="PSB",
        kid=samr_kid,
        subject="o",
        roles=[Role.OFFICER],
        audience=HUB_AUDIENCE_DEFAULT,
        now=NOW,
    )

    assert refused(verifier, token, cert=None).reason == "TOKEN_KEY_UNKNOWN"


def test_a_lookup_answering_with_another_departments_key_is_not_trusted(
    registry: Registry, clock: Clock, psb_kid: str, mint: Callable[..., str]
) -> None:
    # A registry bug must not turn into an impersonation: the key's department is checked too.
    lax = TokenVerifier(
        HUB_AUDIENCE_DEFAULT, lambda _dept, kid: registry("SAMR", kid) or registry("PSB", kid), clock=clock
    )
    samr_key = generate_ed25519()
    samr_kid = registry.register("SAMR", samr_key)
    token = mint(key=samr_key, kid=samr_kid)

    assert refused(lax, token).reason == "TOKEN_KEY_UNKNOWN"


def test_retired_key_is_refused(
    registry: Registry, verifier: TokenVerifier, mint: Callable[..., str], psb_kid: str
) -> None:
    registry.retire("PSB", psb_kid)

    error = refused(verifier, mint())

    assert error.reason == "TOKEN_KEY_RETIRED" and "current key" in error.message


def test_retiring_a_key_bites_on_cached_tokens(
    registry: Registry, verifier: TokenVerifier, mint: Callable[..., str], psb_kid: str
) -> None:
    token = mint()
    verifier.verify(token, peer=PEER, cert_department="PSB")
    registry.retire("PSB", psb_kid)

    assert refused(verifier, token).reason == "TOKEN_KEY_RETIRED"


def test_removing_a_key_bites_on_cached_tokens(
    registry: Registry, verifier: TokenVerifier, mint: Callable[..., str], psb_kid: str
) -> None:
    token = mint()
    verifier.verify(token, peer=PEER, cert_department="PSB")
    del registry.keys[("PSB", psb_kid)]

    assert refused(verifier, token).reason == "TOKEN_KEY_UNKNOWN"


def test_forgetting_a_department_forces_full_verification_again(
    registry: Registry,
    verifier: TokenVerifier,
    mint: Callable[..., str],
    psb_key: Ed25519PrivateKey,
    psb_kid: str,
) -> None:
    token = mint()
    verifier.verify(token, peer=PEER, cert_department="PSB")
    # The key is replaced in place with a different key under the same id: only a full check notices.
    registry.keys[("PSB", psb_kid)] = TrustedKey("PSB", psb_kid, "EdDSA", generate_ed25519().public_key(), True)
    verifier.forget_department("PSB")

    assert refused(verifier, token).reason == "TOKEN_SIGNATURE_INVALID"


def test_forgetting_a_key_keeps_the_token_bound_to_its_connection(
    verifier: TokenVerifier, mint: Callable[..., str], psb_kid: str
) -> None:
    token = mint()
    verifier.verify(token, peer=PEER, cert_department="PSB")
    verifier.forget_key("PSB", psb_kid)

    assert verifier.verify(token, peer=PEER, cert_department="PSB").officer_id == "officer-7"
    verifier.forget_key("PSB", psb_kid)
    assert refused(verifier, token, peer=OTHER_PEER).reason == "TOKEN_REPLAYED"


def test_tampered_payload_fails_the_signature(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    header, payload, signature = mint().split(".")
    claims_ = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims_["roles"] = ["hub_admin"]
    token = f"{header}.{b64(json.dumps(claims_).encode())}.{signature}"

    error = refused(verifier, token)

    assert error.reason == "TOKEN_SIGNATURE_INVALID" and "altered" in error.message


@pytest.mark.parametrize(
    "garbage",
    [
        "not-a-token",
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        craft({"alg": "EdDSA"}, {})[:-1] + "é",
        "e30.W10.",
        "x" * 9000,
    ],
)
def test_garbage_is_refused_as_malformed(verifier: TokenVerifier, garbage: str) -> None:
    assert refused(verifier, garbage).reason == "TOKEN_MALFORMED"


def test_missing_kid_is_refused_as_malformed(verifier: TokenVerifier, psb_kid: str) -> None:
    assert refused(verifier, craft({"alg": "EdDSA"}, claims(psb_kid), b"x" * 64)).reason == "TOKEN_MALFORMED"


def test_empty_token_is_refused_as_missing(verifier: TokenVerifier) -> None:
    error = refused(verifier, "")

    assert error.reason == "TOKEN_MISSING" and "authorization" in error.message


# Refused: replay


def test_token_presented_on_another_connection_is_a_replay(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    token = mint()
    verifier.verify(token, peer=PEER, cert_department="PSB")

    error = refused(verifier, token, peer=OTHER_PEER)

    assert error.reason == "TOKEN_REPLAYED" and "another connection" in error.message


def test_second_token_reusing_a_jti_is_refused(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    verifier.verify(mint(jti="same"), peer=PEER, cert_department="PSB")

    error = refused(verifier, mint(jti="same", subject="officer-8"))

    assert error.reason == "TOKEN_REPLAYED" and "different token" in error.message


def test_replay_cache_forgets_expired_tokens(verifier: TokenVerifier, mint: Callable[..., str], clock: Clock) -> None:
    verifier.verify(mint(jti="old"), peer=PEER, cert_department="PSB")
    assert len(verifier) == 1
    clock.now = NOW + 300 + 30 + 1

    verifier.verify(mint(jti="new", now=int(clock.now)), peer=PEER, cert_department="PSB")

    assert len(verifier) == 1


def test_a_full_replay_cache_sheds_load_instead_of_forgetting_live_tokens(
    registry: Registry, clock: Clock, mint: Callable[..., str]
) -> None:
    from exchange.errors import ResourceExhausted

    small = TokenVerifier(HUB_AUDIENCE_DEFAULT, registry, clock=clock, replay_capacity=2)
    small.verify(mint(jti="a"), peer=PEER, cert_department="PSB")
    small.verify(mint(jti="b"), peer=PEER, cert_department="PSB")

    with pytest.raises(ResourceExhausted):
        small.verify(mint(jti="c"), peer=PEER, cert_department="PSB")
    assert refused(small, mint(jti="a"), peer=OTHER_PEER).reason == "TOKEN_REPLAYED"


# Minting


def test_minting_refuses_empty_roles_and_nonpositive_ttl(psb_key: Ed25519PrivateKey, psb_kid: str) -> None:
    with pytest.raises(InvalidArgument):
        mint_token(psb_key, issuer="PSB", kid=psb_kid, subject="o", roles=[], audience=HUB_AUDIENCE_DEFAULT)
    with pytest.raises(InvalidArgument) as caught:
        mint_token(
            psb_key,
            issuer="PSB",
            kid=psb_kid,
            subject="o",
            roles=[Role.OFFICER],
            audience="hub",
            ttl_seconds=0,
        )
    assert "ttl_seconds" in caught.value.message


def test_minted_tokens_get_distinct_jtis(verifier: TokenVerifier, mint: Callable[..., str]) -> None:
    first = verifier.verify(mint(jti=None), peer=PEER, cert_department="PSB")
    second = verifier.verify(mint(jti=None), peer=PEER, cert_department="PSB")

    assert first.token_id != second.token_id


# --- claims that reach the log are bounded; token ids are claimed once across replicas ---------------


@pytest.mark.parametrize(
    ("claim", "value", "reason"),
    [
        ("subject", "o" * 129, "VALUE_TOO_LONG"),
        ("subject", "officer\x007", "VALUE_INVALID_CHARACTERS"),
        ("jti", "j" * 129, "VALUE_TOO_LONG"),
        ("jti", "jti\n2", "VALUE_INVALID_CHARACTERS"),
    ],
)
def test_claims_beyond_their_limit_are_refused_naming_the_claim(
    verifier: TokenVerifier, mint: Callable[..., str], claim: str, value: str, reason: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        verifier.verify(mint(**{claim: value}), peer=PEER, cert_department="PSB")
    name = {"subject": "sub", "jti": "jti"}[claim]
    assert caught.value.reason == reason
    assert f"token.{name}" in caught.value.message and "\x00" not in caught.value.message
    # The signature verified, so the refusal can be logged under the issuing department.
    assert caught.value.metadata["department"] == "PSB"


class SharedLedger:
    """Stands for the database table every replica shares: the first claim of (issuer, jti) wins."""

    def __init__(self) -> None:
        self.claimed: dict[tuple[str, str], float] = {}
        self.calls = 0

    async def claim(self, issuer: str, jti: str, expires_at: float) -> bool:
        self.calls += 1
        await asyncio.sleep(0)
        if (issuer, jti) in self.claimed:
            return False
        self.claimed[(issuer, jti)] = expires_at
        return True


async def test_a_token_admitted_by_one_replica_is_refused_by_another(
    registry: Registry, clock: Clock, mint: Callable[..., str]
) -> None:
    ledger = SharedLedger()
    first, second = (TokenVerifier(HUB_AUDIENCE_DEFAULT, registry, clock=clock, ledger=ledger) for _ in range(2))
    token = mint(jti="once")
    assert (await first.admit(token, peer=PEER, cert_department="PSB")).token_id == "once"
    with pytest.raises(Unauthenticated) as caught:
        await second.admit(token, peer="ipv4:127.0.0.1:60000", cert_department="PSB")
    assert caught.value.reason == "TOKEN_REPLAYED"
    # Reuse on its own connection stays a cache hit: no second trip to the ledger.
    for _ in range(5):
        await first.admit(token, peer=PEER, cert_department="PSB")
    assert ledger.calls == 2


async def test_concurrent_first_uses_in_one_process_ask_the_ledger_once(
    registry: Registry, clock: Clock, mint: Callable[..., str]
) -> None:
    ledger = SharedLedger()
    verifier = TokenVerifier(HUB_AUDIENCE_DEFAULT, registry, clock=clock, ledger=ledger)
    token = mint()
    callers = await asyncio.gather(*(verifier.admit(token, peer=PEER, cert_department="PSB") for _ in range(10)))
    assert len(callers) == 10 and ledger.calls == 1


async def test_a_ledger_that_cannot_answer_fails_closed_and_is_asked_again(
    registry: Registry, clock: Clock, mint: Callable[..., str]
) -> None:
    class DownLedger(SharedLedger):
        down = True

        async def claim(self, issuer: str, jti: str, expires_at: float) -> bool:
            if self.down:
                self.calls += 1
                raise OSError("connection refused")
            return await super().claim(issuer, jti, expires_at)

    ledger = DownLedger()
    verifier = TokenVerifier(HUB_AUDIENCE_DEFAULT, registry, clock=clock, ledger=ledger)
    token = mint()
    with pytest.raises(Unavailable) as caught:
        await verifier.admit(token, peer=PEER, cert_department="PSB")
    assert caught.value.reason == "REPLAY_MEMORY_UNAVAILABLE"
    ledger.down = False
    assert (await verifier.admit(token, peer=PEER, cert_department="PSB")).department == "PSB"


async def test_a_key_registered_on_another_replica_is_found_by_one_reload_at_most_once_a_second(
    registry: Registry, clock: Clock, mint: Callable[..., str]
) -> None:
    # Another replica registered SAMR's key; this replica's keyring has not heard of it yet.
    loaded = Registry()
    samr_key = generate_ed25519()
    kid = loaded.register("SAMR", samr_key)
    reloads = 0

    async def reload() -> None:
        nonlocal reloads
        reloads += 1
        registry.keys.update(loaded.keys)

    replica = TokenVerifier(HUB_AUDIENCE_DEFAULT, registry, clock=clock, reload_keys=reload)
    caller = await replica.admit(mint(key=samr_key, kid=kid, issuer="SAMR"), peer=PEER, cert_department="SAMR")
    assert (caller.department, reloads) == ("SAMR", 1)

    # A kid nobody registered is refused; within the second it costs no second reload, after it one more.
    stranger = generate_ed25519()
    for _ in range(3):
        with pytest.raises(Unauthenticated) as unknown:
            await replica.admit(mint(key=stranger, kid="nobody", issuer="SAMR"), peer=PEER, cert_department="SAMR")
        assert unknown.value.reason == "TOKEN_KEY_UNKNOWN"
    assert reloads == 1
    clock.now += 1.5
    with pytest.raises(Unauthenticated):
        await replica.admit(mint(key=stranger, kid="nobody", issuer="SAMR"), peer=PEER, cert_department="SAMR")
    assert reloads == 2
