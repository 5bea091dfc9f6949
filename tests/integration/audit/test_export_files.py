"""Exports an auditor can check alone: a filtered export verifies from its Parquet footer, even without our code."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from exchange.audit.note import NoteSigner
from exchange.testing import HubFixture

from .logsetup import CITIZEN, exchange_cli, exchange_cli_here, fill


async def _filtered_export(hub: HubFixture, path: Path) -> None:
    await hub.add_department("SAMR")
    await fill(hub, 40)
    await hub.hub.access_log.sign_checkpoint(wait=True)
    code, out, err = await exchange_cli_here(
        "audit", "export", "--data-dir", str(hub.settings.data_dir), "--subject", CITIZEN, "-o", str(path)
    )
    assert code == 0 and "verify-export" in out, err
    path.with_name(path.name + ".checkpoint").unlink()  # what follows uses the file alone


async def test_a_filtered_export_verifies_from_its_footer_alone(hub: HubFixture, tmp_path: Path) -> None:
    path = tmp_path / "subject.parquet"
    await _filtered_export(hub, path)
    table = pq.read_table(path)
    assert table.column("subject_id").to_pylist() == [CITIZEN] * 20
    indices = table.column("index").to_pylist()
    assert indices == sorted(indices) and indices[-1] - indices[0] == 38  # every other entry of the 40

    # A separate process, with nothing but the file: the checkpoint and the key come from the footer.
    code, out, err = await exchange_cli("audit", "verify-export", str(path))
    assert code == 0, err
    assert f"OK: {path} verifies: 20 entries" in out
    assert hub.hub.signer.verifier().verifier_key() in err and "subject_id=" + CITIZEN in err

    # The key the auditor was given wins over the footer's: a file signed by another key is refused.
    impostor = NoteSigner(hub.hub.signer.name, Ed25519PrivateKey.generate()).verifier().verifier_key()
    code, out, err = await exchange_cli_here("audit", "verify-export", str(path), "--key", impostor)
    assert code == 1 and "FAILED (bad_checkpoint): checkpoint 1 is refused" in err


def _verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, written from the RFC (not from our code)."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


async def test_pyarrow_and_the_rfcs_alone_check_an_entry_against_the_footer_checkpoint(
    hub: HubFixture, tmp_path: Path
) -> None:
    path = tmp_path / "subject.parquet"
    await _filtered_export(hub, path)
    footer = pq.read_schema(path).metadata
    note = footer[b"exchange.checkpoint"].decode()
    # C2SP signed note: the body up to the blank line, then "— <name> base64(key id ‖ Ed25519 signature)".
    body, _, signatures = note.partition("\n\n")
    origin, size, root_b64 = body.split("\n")[:3]
    name, key_id, key_b64 = footer[b"exchange.verifier_key"].decode().split("+", 2)
    key = base64.b64decode(key_b64)
    assert key[0] == 1 and hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_id
    line = next(s for s in signatures.splitlines() if s.startswith(f"— {name} "))
    signature = base64.b64decode(line.split(" ")[2])
    assert signature[:4].hex() == key_id
    Ed25519PublicKey.from_public_bytes(key[1:]).verify(signature[4:], (body + "\n").encode())
    assert origin.endswith("/access-log")

    row = pq.read_table(path).slice(3, 1).to_pylist()[0]
    leaf = hashlib.sha256(b"\x00" + row["entry"]).digest()  # RFC 6962 leaf hash of the canonical bytes
    assert leaf == row["leaf_hash"] and row["entry"].startswith(b"exchange-access-log/v1\n")
    assert _verify_inclusion(leaf, row["index"], int(size), row["proof"], base64.b64decode(root_b64))
    # A changed entry no longer reaches the signed root.
    changed = hashlib.sha256(b"\x00" + row["entry"].replace(b"officer-", b"officer_")).digest()
    assert not _verify_inclusion(changed, row["index"], int(size), row["proof"], base64.b64decode(root_b64))
