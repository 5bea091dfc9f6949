"""Rotating the hub's checkpoint key: the old key hands the log over to the new one in the key history.

Verifiers given the key they trust and the history accept old checkpoints signed by the old key and new
ones signed by the new key, and refuse a checkpoint signed by a key outside its period; a hub holding a
retired key refuses to start.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.audit.bundle import verify_bundle
from exchange.audit.entry import AccessLogEntry
from exchange.audit.key_history import KeyHistory
from exchange.audit.note import Checkpoint, CheckpointError, NoteSigner, NoteVerifier, open_checkpoint, sign_checkpoint
from exchange.audit.offline import export_log, verify_export
from exchange.auth.keys import load_private_key
from exchange.cli import cli
from exchange.clock import now_us
from exchange.config import Settings
from exchange.errors import FailedPrecondition
from exchange.server import start_hub
from exchange.testing import HubFixture, start_test_hub


async def _append(hub: HubFixture, count: int, tag: str) -> None:
    for i in range(count):
        await hub.hub.record(AccessLogEntry(time_us=now_us(), action="exchange.fetch", subject_id=f"{tag}-{i}"))


async def _cli(*args: str) -> tuple[int, str]:
    """The command in a thread of its own (it runs its own event loop)."""
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["--lang", "en", *args])
    return result.exit_code, result.output


def _retired_signer(settings: Settings, name: str) -> NoteSigner:
    (retired,) = settings.data_dir.glob("hub-signing.key.*.retired")
    key = load_private_key(retired)
    assert isinstance(key, Ed25519PrivateKey)
    return NoteSigner(name, key)


async def test_a_rotated_key_verifies_old_and_new_checkpoints_and_refuses_keys_outside_their_period(
    tmp_path: Path,
) -> None:
    hub = await start_test_hub(tmp_path / "hub")
    await _append(hub, 5, "before")
    old_note = (await hub.hub.access_log.sign_checkpoint()).note
    old_vkey = hub.hub.signer.verifier().verifier_key()
    settings = hub.settings
    await hub.stop()
    handed_over_at = open_checkpoint(old_note, NoteVerifier.from_vkey(old_vkey)).size

    code, output = await _cli("audit", "rotate-key", "--data-dir", str(settings.data_dir))
    assert code == 0, output
    assert f"signs up to {handed_over_at} entries" in output
    history_file = settings.data_dir / "hub-signing.history"
    history = KeyHistory.from_text(NoteVerifier.from_vkey(old_vkey), history_file.read_text())
    assert [(p.first_size, p.last_size) for p in history.periods] == [(0, handed_over_at), (handed_over_at, None)]

    running = await start_hub(settings)
    hub = HubFixture(running, settings, None)
    # The rotation is an operation of the policy, decided for the local operator and logged after the handover.
    (rotated,) = [e for e in await hub.log_entries() if e.action == "audit.signing_key.rotate"]
    assert (rotated.decision, rotated.outcome, rotated.officer_id, rotated.officer_role) == (
        "allow",
        "OK",
        "operator",
        "hub_admin",
    )
    assert rotated.index >= handed_over_at
    assert rotated.details["old_key"] == old_vkey and rotated.details["new_key"] == history.current.verifier_key()
    await _append(hub, 4, "after")
    new_note = (await hub.hub.access_log.sign_checkpoint()).note
    assert hub.hub.signer.verifier().verifier_key() == history.current.verifier_key() != old_vkey
    bundle = await hub.hub.access_log.evidence_bundle(1)  # an entry from before the rotation, proved after it
    export = tmp_path / "log.parquet"
    await export_log(hub.hub.db, export)
    await hub.stop()

    # The new checkpoint, and an evidence bundle it signs, verify from the old key through the history.
    assert open_checkpoint(new_note, history).size > handed_over_at
    assert verify_bundle(bundle, history).index == 1
    assert verify_export(export, [old_note, new_note], history, origin=old_note.split("\n", 1)[0]).ok
    code, output = await _cli(
        "audit", "verify", "--data-dir", str(settings.data_dir), "--key", old_vkey, "--key-history", str(history_file),
        "--checkpoint", str(_write(tmp_path / "old.note", old_note)),
        "--checkpoint", str(_write(tmp_path / "new.note", new_note)),
    )  # fmt: skip
    assert code == 0 and "2 checkpoint(s) matched" in output, output
    # The old key alone does not vouch for the new checkpoint.
    with pytest.raises(CheckpointError) as refused:
        open_checkpoint(new_note, NoteVerifier.from_vkey(old_vkey))
    assert refused.value.reason == "NOTE_NOT_SIGNED_BY_KEY"

    # The retired key, stolen, signs a checkpoint past the handover: refused.
    late = open_checkpoint(new_note, history)
    old_signer = _retired_signer(settings, history.current.name)
    forged = sign_checkpoint(Checkpoint(late.origin, late.size, late.root_hash, late.timestamp), old_signer)
    with pytest.raises(CheckpointError) as refused:
        open_checkpoint(forged, history)
    assert refused.value.reason == "CHECKPOINT_KEY_NOT_VALID"
    assert f"size {late.size}" in refused.value.message
    code, output = await _cli(
        "audit", "verify", "--data-dir", str(settings.data_dir), "--key", old_vkey, "--key-history", str(history_file),
        "--checkpoint", str(_write(tmp_path / "forged.note", forged)),
    )  # fmt: skip
    assert code == 1
    assert "not valid at that size" in output

    # The new key signing the past (a size before the handover) is refused as well.
    early = open_checkpoint(old_note, history)
    new_key = load_private_key(settings.data_dir / "hub-signing.key")
    assert isinstance(new_key, Ed25519PrivateKey)
    rewritten = sign_checkpoint(
        Checkpoint(early.origin, early.size - 1, early.root_hash, early.timestamp),
        NoteSigner(history.current.name, new_key),
    )
    with pytest.raises(CheckpointError) as refused:
        open_checkpoint(rewritten, history)
    assert refused.value.reason == "CHECKPOINT_KEY_NOT_VALID"


async def test_a_hub_holding_a_retired_key_refuses_to_start(tmp_path: Path) -> None:
    hub = await start_test_hub(tmp_path / "hub")
    await _append(hub, 3, "before")
    settings = hub.settings
    await hub.stop()
    code, output = await _cli("audit", "rotate-key", "--data-dir", str(settings.data_dir))
    assert code == 0, output
    (retired,) = settings.data_dir.glob("hub-signing.key.*.retired")
    shutil.copy(retired, settings.data_dir / "hub-signing.key")
    with pytest.raises(FailedPrecondition) as refused:
        await start_hub(settings)
    assert refused.value.reason == "SIGNING_KEY_NOT_CURRENT"
    assert "hub-signing.history" in refused.value.message


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
