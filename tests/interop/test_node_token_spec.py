"""The token rules of docs/api.md, computed by the Node.js client from the text alone and by the hub."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from exchange.auth.keys import (
    PrivateKey,
    generate_ed25519,
    generate_p256,
    key_id,
    private_key_to_pem,
    public_key_to_pem,
)
from tests.interop.nodejs import run_node

# docs/api.md, "Key id": the RFC 8032 test 1 public key and the kid the document gives for it.
DOCUMENTED_KEY = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
DOCUMENTED_KID = "BuP9j9opu2CrWVV9"


def test_the_documented_key_id_example_is_what_the_hub_computes() -> None:
    der = base64.b64decode(DOCUMENTED_KEY)
    public = Ed25519PublicKey.from_public_bytes(der[-32:])
    assert public_key_to_pem(public).splitlines()[1] == DOCUMENTED_KEY
    assert key_id(public) == DOCUMENTED_KID


async def test_node_derives_the_hubs_key_ids_for_ed25519_and_p256(tmp_path: Path) -> None:
    documented = tmp_path / "documented.pem"
    documented.write_text(f"-----BEGIN PUBLIC KEY-----\n{DOCUMENTED_KEY}\n-----END PUBLIC KEY-----\n")
    keys: dict[str, PrivateKey] = {"ed25519.key": generate_ed25519(), "p256.key": generate_p256()}
    for name, key in keys.items():
        (tmp_path / name).write_bytes(private_key_to_pem(key))
    files = [str(documented), *(str(tmp_path / name) for name in keys)]
    answer = await run_node("kid.mjs", *files)
    assert [(a["kid"], a["alg"]) for a in answer] == [
        (DOCUMENTED_KID, "EdDSA"),
        (key_id(keys["ed25519.key"]), "EdDSA"),
        (key_id(keys["p256.key"]), "ES256"),
    ]
