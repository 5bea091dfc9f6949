"""Short-lived JWTs: minted by departments with their registered key, verified (and cached) by the hub.

Verification is strict by construction: the header is parsed by hand, only EdDSA and ES256 are accepted and
the algorithm must be the registered key's own, so ``alg: none``, HMAC keyed with a public key and RSA
never reach a signature check. Verified tokens are cached by the SHA-256 of the token until they expire,
so reusing a token on its connection costs a dict lookup instead of a signature check.

Replay: a token is bound to the connection it was first presented on, and its id (jti) is accepted once
across every hub replica sharing a database. The first verification of a jti in a process claims it in the
shared `ReplayLedger` (one insert); whichever replica inserts first wins and every other replica refuses the
token as TOKEN_REPLAYED. Later uses on the same connection find the claim in the process's cache.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import heapq
import json
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from jwt.algorithms import Algorithm as JwtAlgorithm

from catalog import limits
from exchange.auth.identity import Caller, Role
from exchange.auth.keys import Algorithm, PrivateKey, PublicKey, algorithm_for
from exchange.errors import InvalidArgument, ResourceExhausted, Unauthenticated, Unavailable

ACCEPTED_ALGORITHMS: frozenset[str] = frozenset({"EdDSA", "ES256"})
MAX_TOKEN_BYTES = 8192
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_ROLE_VALUES = {role.value: role for role in Role}
# PyJWT's algorithm objects are stateless; build them once instead of per verification.
_SIGNATURE_CHECKERS: dict[str, JwtAlgorithm] = {name: jwt.get_algorithm_by_name(name) for name in ACCEPTED_ALGORITHMS}


def mint_token(
    private_key: PrivateKey,
    *,
    issuer: str,
    kid: str,
    subject: str,
    roles: Iterable[Role],
    audience: str,
    ttl_seconds: int = 300,
    now: int | None = None,
    jti: str | None = None,
) -> str:
    """A signed JWT for officer ``subject`` of department ``issuer``, valid for ``ttl_seconds``."""
    role_list = sorted({Role(role).value for role in roles})
    problems = [
        name
        for name, value in (("issuer", issuer), ("kid", kid), ("subject", subject), ("audience", audience))
        if not value
    ]
    if problems:
        raise InvalidArgument(f"cannot mint a token with an empty {', '.join(problems)}", reason="TOKEN_CLAIMS_INVALID")
    if not role_list:
        raise InvalidArgument(
            "cannot mint a token without roles; pass at least one Role", reason="TOKEN_CLAIMS_INVALID"
        )
    if ttl_seconds <= 0:
        raise InvalidArgument(f"ttl_seconds must be positive, got {ttl_seconds}", reason="TOKEN_CLAIMS_INVALID")
    issued_at = int(time.time()) if now is None else now
    payload = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": jti or secrets.token_urlsafe(16),
        "roles": role_list,
    }
    return jwt.encode(payload, private_key, algorithm=algorithm_for(private_key), headers={"kid": kid})


# The shortest time between two reloads of the keys for a token signed with an unknown key.
KEY_RELOAD_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class TrustedKey:
    """A department's registered token-signing key, as the hub's registry knows it."""

    department: str
    kid: str
    algorithm: Algorithm
    public_key: PublicKey
    active: bool


class KeyLookup(Protocol):
    """Finds the registered key ``kid`` of ``department``; None when there is none."""

    def __call__(self, department: str, kid: str) -> TrustedKey | None: ...


class ReplayLedger(Protocol):
    """Token ids already accepted by any hub process: `claim` is True for the first use of (issuer, jti) only."""

    async def claim(self, issuer: str, jti: str, expires_at: float) -> bool: ...


@dataclass(frozen=True)
class _Seen:
    """A verified token: who it proved, the connection it is bound to and when it stops counting."""

    digest: bytes
    caller: Caller
    kid: str
    peer: str
    expires_at: float


def _refuse(reason: str, message: str) -> Unauthenticated:
    """An Unauthenticated error with the given reason (never carries the token itself)."""
    return Unauthenticated(message, reason=reason)


def _show(value: object) -> str:
    """A claim value safe to put in a message: repr'd and shortened, since it is attacker-chosen."""
    text = repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _b64decode(segment: str, what: str) -> bytes:
    """Strict base64url (no padding) decoding of one token segment."""
    # The stdlib decoder silently skips characters outside the alphabet; a token must not.
    if not _BASE64URL.fullmatch(segment):
        raise _refuse("TOKEN_MALFORMED", f"the token {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as error:
        raise _refuse("TOKEN_MALFORMED", f"the token {what} is not base64url") from error


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Parse a token segment as a JSON object."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise _refuse("TOKEN_MALFORMED", f"the token {what} is not JSON") from error
    if not isinstance(value, dict):
        raise _refuse("TOKEN_MALFORMED", f"the token {what} is not a JSON object")
    return value


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, payload, signing input and signature of a compact JWS, refusing anything else."""
    if len(token) > MAX_TOKEN_BYTES:
        raise _refuse("TOKEN_MALFORMED", f"the token is {len(token)} bytes; at most {MAX_TOKEN_BYTES} are accepted")
    parts = token.split(".")
    if len(parts) != 3:
        raise _refuse(
            "TOKEN_MALFORMED",
            f"the token has {len(parts)} dot-separated parts; a signed JWT has 3 (header.payload.signature)",
        )
    if not token.isascii():
        raise _refuse("TOKEN_MALFORMED", "the token contains non-ASCII characters")
    header = _json_object(_b64decode(parts[0], "header"), "header")
    payload = _json_object(_b64decode(parts[1], "payload"), "payload")
    signature = _b64decode(parts[2], "signature")
    return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _numeric(payload: Mapping[str, Any], claim: str, *, required: bool) -> float | None:
    """A NumericDate claim, or None when absent and optional."""
    value = payload.get(claim)
    if value is None:
        if required:
            raise _refuse("TOKEN_CLAIMS_INVALID", f"the token has no '{claim}' claim; mint it with mint_token")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _refuse("TOKEN_CLAIMS_INVALID", f"the token's '{claim}' claim must be a number, got {_show(value)}")
    return float(value)


def _text(payload: Mapping[str, Any], claim: str) -> str:
    """A required non-empty string claim."""
    value = payload.get(claim)
    if not isinstance(value, str) or not value:
        raise _refuse("TOKEN_CLAIMS_INVALID", f"the token's '{claim}' claim must be a non-empty string")
    return value


def _bounded(payload: Mapping[str, Any], claim: str, limit: limits.Limit, issuer: str) -> str:
    """A required string claim within its limit: it is stored and logged (as the officer id, the token id)."""
    value = _text(payload, claim)
    error = limits.violation(f"token.{claim}", value, limit)
    if error is not None:
        # The signature verified, so the issuing department is known: the refusal is logged under it.
        error.metadata["department"] = issuer
        raise error
    return value


def _roles(payload: Mapping[str, Any]) -> frozenset[Role]:
    """The ``roles`` claim as known Roles; empty or unknown roles are refused."""
    value = payload.get("roles")
    if not isinstance(value, list) or not value:
        raise _refuse("TOKEN_CLAIMS_INVALID", "the token's 'roles' claim must be a non-empty list of roles")
    unknown = [item for item in value if not isinstance(item, str) or item not in _ROLE_VALUES]
    if unknown:
        raise _refuse(
            "TOKEN_CLAIMS_INVALID",
            f"the token names unknown roles {_show(unknown)}; known roles are {sorted(_ROLE_VALUES)}",
        )
    return frozenset(_ROLE_VALUES[item] for item in value)


class TokenVerifier:
    """Verifies department tokens for the hub, caching verified tokens and refusing replays."""

    def __init__(
        self,
        audience: str,
        keys: KeyLookup,
        *,
        max_lifetime: int = 900,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
        replay_capacity: int = 200_000,
        ledger: ReplayLedger | None = None,
        reload_keys: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.audience = audience
        self.keys = keys
        # A key registered on another replica may reach this one's keyring a moment after its first token:
        # an unknown key costs one reload of the keys, at most once a second (a flood of made-up kids cannot
        # turn into a flood of database reads).
        self.reload_keys = reload_keys
        self._reloaded_at = -math.inf
        self.max_lifetime = max_lifetime
        self.leeway = leeway
        self.clock = clock
        self.replay_capacity = replay_capacity
        # jti -> the first verified token carrying it; kept until it expires, even when the key is
        # forgotten, so that a replay on another connection is still recognised.
        self._seen: dict[str, _Seen] = {}
        # SHA-256(token) -> verified token; dropped on key revocation, re-checked against keys() on use.
        self._cache: dict[bytes, _Seen] = {}
        self._expiry_heap: list[tuple[float, str]] = []
        # jti -> this process's claim of it in the shared ledger (pending, won or lost); dropped with `_seen`.
        self.ledger = ledger
        self._claims: dict[str, asyncio.Future[bool]] = {}

    def verify(self, token: str, *, peer: str, cert_department: str | None) -> Caller:
        """The caller a token proves, presented on connection ``peer`` (mTLS department if known)."""
        if not token:
            raise _refuse("TOKEN_MISSING", "no bearer token was sent; add 'authorization: Bearer <jwt>' metadata")
        now = self.clock()
        digest = hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).digest()
        cached = self._cache.get(digest)
        if cached is not None:
            return self._recheck(cached, now, peer, cert_department)
        seen = self._verify_uncached(token, digest, now, peer, cert_department)
        self._remember(seen, now)
        return seen.caller

    async def admit(self, token: str, *, peer: str, cert_department: str | None) -> Caller:
        """`verify`, then the token's id claimed across replicas: refused if another hub process used it first."""
        try:
            caller = self.verify(token, peer=peer, cert_department=cert_department)
        except Unauthenticated as refused:
            if refused.reason != "TOKEN_KEY_UNKNOWN" or not await self._reloaded():
                raise
            caller = self.verify(token, peer=peer, cert_department=cert_department)
        if self.ledger is None:
            return caller
        jti = caller.token_id
        claim = self._claims.get(jti)
        if claim is None:
            # The first use in this process asks the shared ledger once; concurrent uses wait for that answer.
            claim = asyncio.ensure_future(self.ledger.claim(caller.department, jti, caller.expires_at + self.leeway))
            self._claims[jti] = claim
        try:
            won = await asyncio.shield(claim)  # a cancelled request leaves the claim to the others waiting on it
        except Exception as error:
            if self._claims.get(jti) is claim:
                del self._claims[jti]  # unanswered: the next use asks again
            raise Unavailable(
                "the hub cannot reach its replay memory (the database), so no token is accepted; try again shortly",
                reason="REPLAY_MEMORY_UNAVAILABLE",
            ) from error
        if not won:
            replayed = _refuse(
                "TOKEN_REPLAYED",
                f"token id {_show(jti)} was already used on another hub replica; mint a token per connection",
            )
            # Its signature verified: the refusal is logged under the department and officer it names.
            replayed.metadata.update(department=caller.department, officer_id=caller.officer_id)
            raise replayed
        return caller

    async def _reloaded(self) -> bool:
        """Reload the keys if that was not done within the last second; whether it was done now."""
        now = self.clock()
        if self.reload_keys is None or now - self._reloaded_at < KEY_RELOAD_INTERVAL_SECONDS:
            return False
        self._reloaded_at = now
        await self.reload_keys()
        return True

    def forget_department(self, code: str) -> None:
        """Drop cached verifications of a department's tokens (its keys changed or it was removed)."""
        self._cache = {d: s for d, s in self._cache.items() if s.caller.department != code}

    def forget_key(self, department: str, kid: str) -> None:
        """Drop cached verifications of tokens signed with one key (it was retired or removed)."""
        self._cache = {d: s for d, s in self._cache.items() if not (s.caller.department == department and s.kid == kid)}

    def _recheck(self, seen: _Seen, now: float, peer: str, cert_department: str | None) -> Caller:
        """The cheap checks a cached token must still pass: expiry, key still active, connection, issuer."""
        caller = seen.caller
        self._check_expiry(caller.expires_at, now)
        self._trusted_key(caller.department, seen.kid)
        self._check_issuer(caller.department, cert_department)
        self._check_binding(seen, peer)
        return caller

    def _verify_uncached(self, token: str, digest: bytes, now: float, peer: str, cert_department: str | None) -> _Seen:
        """The full verification of a token not seen before."""
        header, payload, signing_input, signature = _split(token)
        algorithm = header.get("alg")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise _refuse(
                "TOKEN_ALGORITHM_REFUSED",
                f"token algorithm {_show(algorithm)} is refused; sign with EdDSA (Ed25519) or ES256 (P-256)",
            )
        if "crit" in header:
            raise _refuse("TOKEN_MALFORMED", "the token header has a 'crit' parameter; no extensions are supported")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refuse("TOKEN_MALFORMED", "the token header has no 'kid'; mint it with the registered key's id")
        issuer = _text(payload, "iss")
        trusted = self._trusted_key(issuer, kid)
        if trusted.algorithm != algorithm:
            raise _refuse(
                "TOKEN_ALGORITHM_REFUSED",
                f"token algorithm {algorithm} does not match key {kid} of {issuer}, "
                f"which is {trusted.algorithm}; sign with that key's algorithm",
            )
        if not _SIGNATURE_CHECKERS[algorithm].verify(signing_input, trusted.public_key, signature):
            raise _refuse(
                "TOKEN_SIGNATURE_INVALID",
                f"the token signature does not verify with key {kid} of {issuer}; "
                "the token was altered or signed with another key",
            )
        caller = self._check_claims(payload, issuer, now)
        self._check_issuer(issuer, cert_department)
        seen = _Seen(digest=digest, caller=caller, kid=kid, peer=peer, expires_at=caller.expires_at)
        previous = self._seen.get(caller.token_id)
        if previous is not None and previous.expires_at + self.leeway > now:
            if previous.digest != digest:
                raise _refuse(
                    "TOKEN_REPLAYED",
                    f"token id {_show(caller.token_id)} was already used by a different token; "
                    "mint each token with a fresh jti",
                )
            self._check_binding(previous, peer)
        return seen

    def _check_claims(self, payload: Mapping[str, Any], issuer: str, now: float) -> Caller:
        """Time, audience, subject and role claims of a signature-verified payload."""
        expires = _numeric(payload, "exp", required=True)
        issued = _numeric(payload, "iat", required=True)
        not_before = _numeric(payload, "nbf", required=False)
        assert expires is not None and issued is not None  # required=True guarantees it
        self._check_expiry(expires, now)
        if not_before is not None and not_before > now + self.leeway:
            raise _refuse(
                "TOKEN_NOT_YET_VALID",
                f"token is not valid for another {math.ceil(not_before - now)} s; check the clocks agree",
            )
        if issued > now + self.leeway:
            raise _refuse(
                "TOKEN_NOT_YET_VALID",
                f"token was issued {math.ceil(issued - now)} s in the future; check the clocks agree",
            )
        if expires - issued > self.max_lifetime:
            raise _refuse(
                "TOKEN_LIFETIME_TOO_LONG",
                f"token lives {int(expires - issued)} s; at most {self.max_lifetime} s is accepted, "
                "mint shorter-lived tokens",
            )
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or self.audience not in audiences:
            raise _refuse(
                "TOKEN_AUDIENCE_MISMATCH",
                f"token audience {_show(audience)} does not include this hub ({self.audience!r})",
            )
        return Caller(
            department=issuer,
            officer_id=_bounded(payload, "sub", limits.OFFICER_ID, issuer),
            roles=_roles(payload),
            token_id=_bounded(payload, "jti", limits.TOKEN_ID, issuer),
            expires_at=int(expires),
        )

    def _check_expiry(self, expires: float, now: float) -> None:
        """Refuse a token past its expiry plus the allowed clock skew."""
        if now >= expires + self.leeway:
            raise _refuse("TOKEN_EXPIRED", f"token expired {int(now - expires)} s ago; mint a new one")

    def _trusted_key(self, department: str, kid: str) -> TrustedKey:
        """The registered, active key ``kid`` of ``department``."""
        trusted = self.keys(department, kid)
        if trusted is None or trusted.department != department:
            raise _refuse(
                "TOKEN_KEY_UNKNOWN",
                f"key {_show(kid)} is not registered for department {_show(department)}; "
                "register the department's public key with the hub",
            )
        if not trusted.active:
            raise _refuse(
                "TOKEN_KEY_RETIRED",
                f"key {kid} of {department} is retired; sign with the department's current key",
            )
        return trusted

    @staticmethod
    def _check_issuer(issuer: str, cert_department: str | None) -> None:
        """With mTLS, the token's department must be the client certificate's."""
        if cert_department is not None and issuer != cert_department:
            raise _refuse(
                "TOKEN_ISSUER_MISMATCH",
                f"token issuer {issuer} does not match the client certificate's department {cert_department}",
            )

    @staticmethod
    def _check_binding(seen: _Seen, peer: str) -> None:
        """A token is usable only on the connection it was first presented on."""
        if seen.peer != peer:
            raise _refuse(
                "TOKEN_REPLAYED",
                f"token id {_show(seen.caller.token_id)} was already presented on another connection; "
                "mint a token per connection",
            )

    def _remember(self, seen: _Seen, now: float) -> None:
        """Cache a verified token and bind its jti, evicting expired entries to keep both bounded."""
        self._evict_expired(now)
        jti = seen.caller.token_id
        if jti not in self._seen:
            if len(self._seen) >= self.replay_capacity:
                # Evicting live entries would let their tokens be replayed; shed load instead.
                raise ResourceExhausted(
                    f"the token replay cache holds {len(self._seen)} live tokens; retry shortly",
                    reason="TOKEN_REPLAY_CACHE_FULL",
                )
            self._seen[jti] = seen
            heapq.heappush(self._expiry_heap, (seen.expires_at + self.leeway, jti))
        self._cache[seen.digest] = self._seen[jti]

    def _evict_expired(self, now: float) -> None:
        """Forget tokens whose expiry (plus leeway) has passed; they are refused on expiry anyway."""
        heap = self._expiry_heap
        while heap and heap[0][0] <= now:
            _, jti = heapq.heappop(heap)
            seen = self._seen.pop(jti, None)
            if seen is not None:
                self._cache.pop(seen.digest, None)
            self._claims.pop(jti, None)

    def __len__(self) -> int:
        """How many live token ids are bound to connections."""
        return len(self._seen)
