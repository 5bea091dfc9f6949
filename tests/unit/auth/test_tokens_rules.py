"""Token rules at their edges: exact expiry/nbf/iat instants with the leeway, size limits, key ownership in
both sort orders, the cache after forget_key, and the facts each refusal names (claim, value, limits).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from exchange.auth import HUB_AUDIENCE_DEFAULT, Role, TokenVerifier, TrustedKey, algorithm_for, key_id, mint_token
from exchange.auth import tokens as token_module
from exchange.auth.keys import PrivateKey, generate_ed25519
from exchange.errors import InvalidArgument, ResourceExhausted, Unauthenticated

NOW = 1_800_000_000
LEEWAY = 30
PEER = "ipv4:127.0.0.1:1"
OTHER_PEER = "ipv4:127.0.0.1:2"
KEY = generate_ed25519()
KID = key_id(KEY.public_key())


class Clock:
    def __init__(self) -> None:
        self.now: float = NOW

    def __call__(self) -> float:
        return self.now


def trusted(department: str, key: PrivateKey = KEY, *, active: bool = True) -> TrustedKey:
    return TrustedKey(department, key_id(key.public_key()), algorithm_for(key), key.public_key(), active)


def verifier_for(*keys: TrustedKey, clock: Clock | None = None, **options: Any) -> TokenVerifier:
    table = {(k.department, k.kid): k for k in keys}
    return TokenVerifier(
        HUB_AUDIENCE_DEFAULT, lambda dept, kid: table.get((dept, kid)), clock=clock or Clock(), **options
    )


def mint(issuer: str = "PSB", *, key: PrivateKey = KEY, **overrides: object) -> str:
    arguments: dict[str, object] = {
        "issuer": issuer,
        "kid": key_id(key.public_key()),
        "subject": "officer-7",
        "roles": [Role.OFFICER],
        "audience": HUB_AUDIENCE_DEFAULT,
        "ttl_seconds": 300,
        "now": NOW,
        "jti": "jti-1",
    }
    arguments.update(overrides)
    return mint_token(key, **arguments)  # type: ignore[arg-type]


def signed(payload: dict[str, object], key: PrivateKey = KEY) -> str:
    """A token signed by the registered key with a hand-made payload (claims mint_token would not write)."""
    import jwt

    return jwt.encode(payload, key, algorithm=algorithm_for(key), headers={"kid": key_id(key.public_key())})


def claims(**overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "iss": "PSB",
        "sub": "officer-7",
        "aud": HUB_AUDIENCE_DEFAULT,
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "jti-1",
        "roles": ["officer"],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def refusal(verifier: TokenVerifier, token: str, *, peer: str = PEER, cert: str | None = "PSB") -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token, peer=peer, cert_department=cert)
    return caught.value


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# Minting


def test_minted_claims_are_exactly_the_documented_ones() -> None:
    token = mint(roles=[Role.DEPT_ADMIN, Role.OFFICER, Role.OFFICER], ttl_seconds=120)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert header == {"alg": "EdDSA", "kid": KID, "typ": "JWT"}
    assert payload == {
        "iss": "PSB",
        "sub": "officer-7",
        "aud": HUB_AUDIENCE_DEFAULT,
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 120,
        "jti": "jti-1",
        "roles": ["dept_admin", "officer"],
    }


def test_minted_tokens_get_a_fresh_random_jti_when_none_is_given() -> None:
    jtis = {json.loads(base64.urlsafe_b64decode(mint(jti=None).split(".")[1] + "=="))["jti"] for _ in range(3)}
    assert len(jtis) == 3 and all(len(j) == 22 for j in jtis)  # 128 random bits, base64url


def test_minting_names_every_empty_claim() -> None:
    with pytest.raises(InvalidArgument) as caught:
        mint(issuer="", subject="")
    assert caught.value.reason == "TOKEN_CLAIMS_INVALID"
    assert caught.value.message == "cannot mint a token with an empty issuer, subject"
    with pytest.raises(InvalidArgument) as caught:
        mint(kid="", audience="")
    assert caught.value.message == "cannot mint a token with an empty kid, audience"


def test_minting_without_roles_or_with_a_non_positive_lifetime_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        mint(roles=[])
    assert caught.value.reason == "TOKEN_CLAIMS_INVALID"
    assert caught.value.message == "cannot mint a token without roles; pass at least one Role"
    with pytest.raises(InvalidArgument) as caught:
        mint(ttl_seconds=0)
    assert caught.value.reason == "TOKEN_CLAIMS_INVALID"
    assert caught.value.message == "ttl_seconds must be positive, got 0"
    assert mint(ttl_seconds=1)


# Time windows with the leeway, at exactly their edges


def test_token_is_accepted_until_expiry_plus_leeway_and_refused_at_that_instant() -> None:
    clock = Clock()
    verifier = verifier_for(trusted("PSB"), clock=clock)
    clock.now = NOW + 300 + LEEWAY - 1
    assert verifier.verify(mint(), peer=PEER, cert_department="PSB").expires_at == NOW + 300
    clock.now = NOW + 300 + LEEWAY
    error = refusal(verifier, mint())
    assert error.reason == "TOKEN_EXPIRED" and error.message == "token expired 30 s ago; mint a new one"
    fresh = verifier_for(trusted("PSB"), clock=clock)
    error = refusal(fresh, mint())
    assert error.reason == "TOKEN_EXPIRED" and error.message == "token expired 30 s ago; mint a new one"


def test_not_before_is_accepted_up_to_the_leeway_ahead_and_refused_one_second_beyond() -> None:
    verifier = verifier_for(trusted("PSB"))
    assert verifier.verify(signed(claims(nbf=NOW + LEEWAY)), peer=PEER, cert_department="PSB")
    error = refusal(verifier_for(trusted("PSB")), signed(claims(nbf=NOW + LEEWAY + 1)))
    assert error.reason == "TOKEN_NOT_YET_VALID"
    assert error.message == "token is not valid for another 31 s; check the clocks agree"


def test_issued_at_is_accepted_up_to_the_leeway_ahead_and_refused_one_second_beyond() -> None:
    assert verifier_for(trusted("PSB")).verify(signed(claims(iat=NOW + LEEWAY)), peer=PEER, cert_department="PSB")
    error = refusal(verifier_for(trusted("PSB")), signed(claims(iat=NOW + LEEWAY + 1, exp=NOW + 400)))
    assert error.reason == "TOKEN_NOT_YET_VALID"
    assert error.message == "token was issued 31 s in the future; check the clocks agree"


def test_lifetime_of_exactly_the_maximum_is_accepted_and_one_second_more_is_refused_naming_both() -> None:
    verifier = verifier_for(trusted("PSB"), max_lifetime=600)
    assert verifier.verify(signed(claims(exp=NOW + 600)), peer=PEER, cert_department="PSB")
    error = refusal(verifier_for(trusted("PSB"), max_lifetime=600), signed(claims(exp=NOW + 601)))
    assert error.reason == "TOKEN_LIFETIME_TOO_LONG"
    assert error.message == "token lives 601 s; at most 600 s is accepted, mint shorter-lived tokens"


# Claims and their messages


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_missing_time_claim_is_named(claim: str) -> None:
    error = refusal(verifier_for(trusted("PSB")), signed(claims(**{claim: None})))
    assert error.reason == "TOKEN_CLAIMS_INVALID"
    assert error.message == f"the token has no '{claim}' claim; mint it with mint_token"


@pytest.mark.parametrize(
    ("claim", "value", "shown"),
    [("exp", True, "True"), ("nbf", "soon", "'soon'"), ("iat", "x" * 100, repr("x" * 100)[:61] + "...")],
)
def test_a_non_numeric_time_claim_is_named_with_its_value_shortened(claim: str, value: object, shown: str) -> None:
    error = refusal(verifier_for(trusted("PSB")), signed(claims(**{claim: value})))
    assert error.reason == "TOKEN_CLAIMS_INVALID"
    assert error.message == f"the token's '{claim}' claim must be a number, got {shown}"


def test_a_value_of_exactly_64_characters_is_shown_whole_and_of_65_cut() -> None:
    value = "y" * 62  # repr adds two quotes: 64 characters
    error = refusal(verifier_for(trusted("PSB")), signed(claims(nbf=value)))
    assert error.message.endswith(f"got {value!r}")
    error = refusal(verifier_for(trusted("PSB")), signed(claims(nbf=value + "y")))
    assert error.message.endswith(f"got '{'y' * 60}...")


@pytest.mark.parametrize("claim", ["sub", "jti"])
def test_an_empty_text_claim_is_named(claim: str) -> None:
    error = refusal(verifier_for(trusted("PSB")), signed(claims(**{claim: ""})))
    assert error.reason == "TOKEN_CLAIMS_INVALID"
    assert error.message == f"the token's '{claim}' claim must be a non-empty string"


def test_unknown_roles_are_listed_with_the_known_ones() -> None:
    error = refusal(verifier_for(trusted("PSB")), signed(claims(roles=["officer", "king", 7])))
    assert error.reason == "TOKEN_CLAIMS_INVALID"
    assert error.message == (
        f"the token names unknown roles ['king', 7]; known roles are {sorted(r.value for r in Role)}"
    )
    error = refusal(verifier_for(trusted("PSB")), signed(claims(roles=[])))
    assert error.message == "the token's 'roles' claim must be a non-empty list of roles"


def test_a_long_audience_is_shown_shortened_and_the_hub_is_named() -> None:
    audience = "a" * 200
    error = refusal(verifier_for(trusted("PSB")), signed(claims(aud=audience)))
    assert error.reason == "TOKEN_AUDIENCE_MISMATCH"
    assert error.message == (
        f"token audience {repr(audience)[:61]}... does not include this hub ({HUB_AUDIENCE_DEFAULT!r})"
    )
    assert refusal(verifier_for(trusted("PSB")), signed(claims(aud=7))).reason == "TOKEN_AUDIENCE_MISMATCH"


# Size and shape


def _header(header: dict[str, object]) -> str:
    return f"{b64(json.dumps(header).encode())}.e30.e30"


def test_a_token_of_exactly_the_size_limit_is_parsed_and_one_byte_more_is_refused_by_size() -> None:
    at_limit = "a" * token_module.MAX_TOKEN_BYTES
    error = refusal(verifier_for(trusted("PSB")), at_limit)
    assert error.message == "the token has 1 dot-separated parts; a signed JWT has 3 (header.payload.signature)"
    error = refusal(verifier_for(trusted("PSB")), at_limit + "a")
    assert error.reason == "TOKEN_MALFORMED"
    assert error.message == "the token is 8193 bytes; at most 8192 are accepted"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "no bearer token was sent; add 'authorization: Bearer <jwt>' metadata"),
        ("a.b.c.d", "the token has 4 dot-separated parts; a signed JWT has 3 (header.payload.signature)"),
        ("é.e30.e30", "the token contains non-ASCII characters"),
        ("e30=.e30.e30", "the token header is not base64url"),
        ("e30.e3!.e30", "the token payload is not base64url"),
        ("e30.e30.a", "the token signature is not base64url"),
        (f"{b64(b'{')}.e30.e30", "the token header is not JSON"),
        (f"e30.{b64(b'[1]')}.e30", "the token payload is not a JSON object"),
        (
            _header({"alg": "EdDSA", "kid": "k", "crit": []}),
            "the token header has a 'crit' parameter; no extensions are supported",
        ),
        (_header({"alg": "EdDSA", "kid": ""}), "the token header has no 'kid'; mint it with the registered key's id"),
        (
            _header({"alg": "HS256"}),
            "token algorithm 'HS256' is refused; sign with EdDSA (Ed25519) or ES256 (P-256)",
        ),
    ],
)
def test_malformed_tokens_are_refused_saying_which_part_is_wrong(token: str, message: str) -> None:
    error = refusal(verifier_for(trusted("PSB")), token)
    assert error.message == message
    expected = "TOKEN_MISSING" if not token else "TOKEN_MALFORMED"
    if message.startswith("token algorithm"):
        expected = "TOKEN_ALGORITHM_REFUSED"
    assert error.reason == expected


# Keys: ownership in both sort orders, algorithm, retirement, the cache

DEPARTMENT = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=5)


@settings(max_examples=40, deadline=None)
@given(a=DEPARTMENT, b=DEPARTMENT)
def test_a_key_registered_to_another_department_is_never_trusted_in_both_sort_orders(a: str, b: str) -> None:
    assume(a != b)
    for issuer, owner in ((a, b), (b, a)):
        # A lookup that answers with the other department's key (a registry bug) must not be believed.
        lax = TokenVerifier(HUB_AUDIENCE_DEFAULT, lambda _dept, _kid, owner=owner: trusted(owner), clock=Clock())
        error = refusal(lax, mint(issuer), cert=issuer)
        assert error.reason == "TOKEN_KEY_UNKNOWN"
        assert error.message == (
            f"key {KID!r} is not registered for department {issuer!r}; "
            "register the department's public key with the hub"
        )
        assert verifier_for(trusted(issuer)).verify(mint(issuer), peer=PEER, cert_department=issuer)


@settings(max_examples=40, deadline=None)
@given(a=DEPARTMENT, b=DEPARTMENT)
def test_issuer_must_equal_the_certificates_department_in_both_sort_orders(a: str, b: str) -> None:
    assume(a != b)
    for issuer, cert in ((a, b), (b, a)):
        error = refusal(verifier_for(trusted(issuer)), mint(issuer), cert=cert)
        assert error.reason == "TOKEN_ISSUER_MISMATCH"
        assert error.message == f"token issuer {issuer} does not match the client certificate's department {cert}"


def test_a_token_signed_with_a_different_algorithm_than_the_registered_key_is_refused_naming_both() -> None:
    from exchange.auth.keys import generate_p256

    p256 = generate_p256()
    spoof = TrustedKey("PSB", KID, algorithm_for(p256), p256.public_key(), True)
    error = refusal(verifier_for(spoof), mint())
    assert error.reason == "TOKEN_ALGORITHM_REFUSED"
    assert error.message == (
        f"token algorithm EdDSA does not match key {KID} of PSB, which is ES256; sign with that key's algorithm"
    )


def test_a_signature_by_another_key_names_the_key_and_issuer() -> None:
    other = generate_ed25519()
    forged = mint(key=other, kid=KID)
    error = refusal(verifier_for(trusted("PSB")), forged)
    assert error.reason == "TOKEN_SIGNATURE_INVALID"
    assert error.message == (
        f"the token signature does not verify with key {KID} of PSB; the token was altered or signed with another key"
    )


def test_a_retired_key_is_named() -> None:
    error = refusal(verifier_for(trusted("PSB", active=False)), mint())
    assert error.reason == "TOKEN_KEY_RETIRED"
    assert error.message == f"key {KID} of PSB is retired; sign with the department's current key"


def _count_full_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = token_module._split

    def counting(token: str) -> object:
        calls.append(token)
        return real(token)

    monkeypatch.setattr(token_module, "_split", counting)
    return calls


def test_forget_key_drops_only_that_keys_cached_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    other = generate_ed25519()
    verifier = verifier_for(trusted("PSB"), trusted("PSB", other), trusted("SAMR"))
    psb, psb_other, samr = mint(jti="1"), mint(key=other, jti="2"), mint("SAMR", jti="3")
    for token, dept in ((psb, "PSB"), (psb_other, "PSB"), (samr, "SAMR")):
        verifier.verify(token, peer=PEER, cert_department=dept)
    checks = _count_full_checks(monkeypatch)

    verifier.forget_key("PSB", KID)
    for token, dept in ((psb, "PSB"), (psb_other, "PSB"), (samr, "SAMR")):
        verifier.verify(token, peer=PEER, cert_department=dept)
    assert checks == [psb]


def test_forget_department_drops_only_that_departments_cached_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = verifier_for(trusted("PSB"), trusted("SAMR"))
    psb, samr = mint(jti="1"), mint("SAMR", jti="2")
    verifier.verify(psb, peer=PEER, cert_department="PSB")
    verifier.verify(samr, peer=PEER, cert_department="SAMR")
    checks = _count_full_checks(monkeypatch)

    verifier.forget_department("SAMR")
    verifier.verify(psb, peer=PEER, cert_department="PSB")
    verifier.verify(samr, peer=PEER, cert_department="SAMR")
    assert checks == [samr]


def test_a_cached_token_is_rechecked_for_the_certificate_and_the_connection() -> None:
    verifier = verifier_for(trusted("PSB"))
    token = mint()
    verifier.verify(token, peer=PEER, cert_department="PSB")
    assert refusal(verifier, token, cert="SAMR").reason == "TOKEN_ISSUER_MISMATCH"
    error = refusal(verifier, token, peer=OTHER_PEER)
    assert error.reason == "TOKEN_REPLAYED"
    assert error.message == (
        "token id 'jti-1' was already presented on another connection; mint a token per connection"
    )


# Replay memory


def test_a_second_token_with_a_used_jti_is_refused_until_the_first_one_has_expired() -> None:
    clock = Clock()
    verifier = verifier_for(trusted("PSB"), clock=clock)
    verifier.verify(mint(ttl_seconds=60), peer=PEER, cert_department="PSB")
    clock.now = NOW + 60 + LEEWAY - 1
    error = refusal(verifier, mint(now=NOW + 60, subject="officer-8"))
    assert error.reason == "TOKEN_REPLAYED"
    assert error.message == ("token id 'jti-1' was already used by a different token; mint each token with a fresh jti")
    clock.now = NOW + 60 + LEEWAY
    assert verifier.verify(mint(now=NOW + 60, subject="officer-8"), peer=PEER, cert_department="PSB")


def test_the_replay_memory_forgets_a_token_at_its_expiry_plus_leeway() -> None:
    clock = Clock()
    verifier = verifier_for(trusted("PSB"), clock=clock)
    verifier.verify(mint(ttl_seconds=60, jti="old"), peer=PEER, cert_department="PSB")
    clock.now = NOW + 60 + LEEWAY - 1
    verifier.verify(mint(now=NOW + 60, jti="mid"), peer=PEER, cert_department="PSB")
    assert len(verifier) == 2
    clock.now = NOW + 60 + LEEWAY
    verifier.verify(mint(now=NOW + 60, jti="new"), peer=PEER, cert_department="PSB")
    assert len(verifier) == 2


def test_a_full_replay_memory_refuses_new_tokens_naming_how_many_it_holds() -> None:
    verifier = verifier_for(trusted("PSB"), replay_capacity=2)
    verifier.verify(mint(jti="a"), peer=PEER, cert_department="PSB")
    verifier.verify(mint(jti="b"), peer=PEER, cert_department="PSB")
    verifier.verify(mint(jti="a"), peer=PEER, cert_department="PSB")  # a known token still passes
    with pytest.raises(ResourceExhausted) as caught:
        verifier.verify(mint(jti="c"), peer=PEER, cert_department="PSB")
    assert caught.value.reason == "TOKEN_REPLAY_CACHE_FULL"
    assert caught.value.message == "the token replay cache holds 2 live tokens; retry shortly"


def test_defaults_a_five_minute_token_and_a_fifteen_minute_maximum_lifetime() -> None:
    import time

    before = int(time.time())
    payload = json.loads(base64.urlsafe_b64decode(mint(ttl_seconds=300, now=None).split(".")[1] + "=="))
    assert before <= payload["iat"] <= int(time.time())
    default = mint_token(KEY, issuer="PSB", kid=KID, subject="s", roles=[Role.OFFICER], audience="a", now=NOW)
    payload = json.loads(base64.urlsafe_b64decode(default.split(".")[1] + "=="))
    assert payload["exp"] - payload["iat"] == 300
    assert verifier_for().replay_capacity == 200_000
    assert verifier_for(trusted("PSB")).verify(signed(claims(exp=NOW + 900)), peer=PEER, cert_department="PSB")
    error = refusal(verifier_for(trusted("PSB")), signed(claims(exp=NOW + 901)))
    assert error.message == "token lives 901 s; at most 900 s is accepted, mint shorter-lived tokens"


def test_a_token_with_a_lone_surrogate_is_refused_as_malformed() -> None:
    assert refusal(verifier_for(trusted("PSB")), "\ud800.e30.e30").message == (
        "the token contains non-ASCII characters"
    )


def test_expired_tokens_leave_the_verification_cache_even_after_their_key_was_forgotten() -> None:
    clock = Clock()
    verifier = verifier_for(trusted("PSB"), clock=clock)
    verifier.verify(mint(ttl_seconds=60, jti="a"), peer=PEER, cert_department="PSB")
    verifier.verify(mint(ttl_seconds=60, jti="b"), peer=PEER, cert_department="PSB")
    verifier.forget_key("PSB", KID)  # "a" and "b" leave the cache but stay in the replay memory
    verifier.verify(mint(ttl_seconds=60, jti="b"), peer=PEER, cert_department="PSB")  # cached again
    clock.now = NOW + 60 + LEEWAY
    verifier.verify(mint(now=NOW + 60, jti="c"), peer=PEER, cert_department="PSB")
    # Memory stays bounded: only the live token is cached (the cache is otherwise unobservable).
    assert len(verifier._cache) == 1 and len(verifier) == 1
