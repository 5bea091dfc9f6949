"""Key helpers: generate, serialise, load and identify the Ed25519 and P-256 keys used for tokens."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from exchange.errors import InvalidArgument

PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
Algorithm = Literal["EdDSA", "ES256"]


def generate_ed25519() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key (the default for department token keys)."""
    return Ed25519PrivateKey.generate()


def generate_p256() -> ec.EllipticCurvePrivateKey:
    """A fresh NIST P-256 private key (for departments whose HSMs lack Ed25519)."""
    return ec.generate_private_key(ec.SECP256R1())


def private_key_to_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM of a private key."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_to_pem(key: PublicKey | PrivateKey) -> str:
    """SubjectPublicKeyInfo PEM of a public key (or of a private key's public half)."""
    public = _public_of(key)
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


def _public_of(key: PublicKey | PrivateKey) -> PublicKey:
    """The public half of ``key``, or ``key`` itself when already public."""
    if isinstance(key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        return key.public_key()
    return key


def _pem_bytes(pem: str | bytes) -> bytes:
    """PEM text as bytes."""
    return pem.encode("ascii", errors="replace") if isinstance(pem, str) else pem


def load_private_key(path_or_pem: str | bytes | Path) -> PrivateKey:
    """Load an unencrypted PEM private key from a file path or from PEM text."""
    if isinstance(path_or_pem, Path) or (isinstance(path_or_pem, str) and "-----BEGIN" not in path_or_pem):
        path = Path(path_or_pem)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InvalidArgument(
                f"cannot read private key file {path}: {error.strerror}; check the path",
                reason="KEY_FILE_UNREADABLE",
            ) from error
        source = str(path)
    else:
        data = _pem_bytes(path_or_pem)
        source = "the private key PEM"
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise InvalidArgument(
            f"{source} is not an unencrypted PEM private key; expected '-----BEGIN PRIVATE KEY-----'",
            reason="KEY_MALFORMED",
        ) from error
    algorithm_for(key)  # type: ignore[arg-type]  # refuses RSA, Ed448, other curves
    return key  # type: ignore[return-value]


def load_public_key(pem: str | bytes) -> PublicKey:
    """Load a SubjectPublicKeyInfo PEM public key."""
    try:
        key = serialization.load_pem_public_key(_pem_bytes(pem))
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise InvalidArgument(
            "the public key is not a PEM SubjectPublicKeyInfo; expected '-----BEGIN PUBLIC KEY-----'",
            reason="KEY_MALFORMED",
        ) from error
    algorithm_for(key)  # type: ignore[arg-type]  # refuses RSA, Ed448, other curves
    return key  # type: ignore[return-value]


def key_id(public_key: PublicKey | PrivateKey) -> str:
    """A short stable id: base64url of the first 12 bytes of SHA-256 over the SubjectPublicKeyInfo DER."""
    der = _public_of(public_key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode("ascii")


def algorithm_for(key: PublicKey | PrivateKey) -> Algorithm:
    """The JWT ``alg`` for a key: EdDSA for Ed25519, ES256 for P-256; anything else is refused."""
    if isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "ES256"
        raise InvalidArgument(
            f"EC keys must be on P-256 (secp256r1), not {key.curve.name}",
            reason="KEY_TYPE_UNSUPPORTED",
        )
    raise InvalidArgument(
        f"a {type(key).__name__} cannot sign tokens; use an Ed25519 or P-256 key",
        reason="KEY_TYPE_UNSUPPORTED",
    )


def write_private_key(path: Path, key: PrivateKey) -> None:
    """Write ``key`` as PEM to ``path``, readable by the owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Create with 0600 from the start so the key is never briefly world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_to_pem(key))
    os.chmod(path, 0o600)
