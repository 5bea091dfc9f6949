"""Transport identity and tokens: the hub's small CA, department keys, short-lived JWTs and the caller.

The authorisation decision (authz) lives next to these and takes the `Caller` they produce.
"""

from exchange.auth.identity import HUB_AUDIENCE_DEFAULT, Caller, Role
from exchange.auth.keys import (
    algorithm_for,
    generate_ed25519,
    generate_p256,
    key_id,
    load_private_key,
    load_public_key,
    private_key_to_pem,
    public_key_to_pem,
    write_private_key,
)
from exchange.auth.pki import (
    PkiPaths,
    certificate_fingerprint,
    department_from_auth_context,
    department_from_certificate,
    init_pki,
    issue_department_certificate,
    issue_server_certificate,
)
from exchange.auth.tokens import KeyLookup, TokenVerifier, TrustedKey, mint_token

__all__ = [
    "HUB_AUDIENCE_DEFAULT",
    "Caller",
    "KeyLookup",
    "PkiPaths",
    "Role",
    "TokenVerifier",
    "TrustedKey",
    "algorithm_for",
    "certificate_fingerprint",
    "department_from_auth_context",
    "department_from_certificate",
    "generate_ed25519",
    "generate_p256",
    "init_pki",
    "issue_department_certificate",
    "issue_server_certificate",
    "key_id",
    "load_private_key",
    "load_public_key",
    "mint_token",
    "private_key_to_pem",
    "public_key_to_pem",
    "write_private_key",
]
