"""Offline checks against a real database and real files: tampering is named, exports and archives verify."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.audit.entry import decode_entry, encode_entry
from exchange.audit.merkle import leaf_hash
from exchange.audit.note import Checkpoint, NoteSigner, sign_checkpoint
from exchange.audit.offline import archive_log, verify_database, verify_export
from exchange.auth.identity import Role
from exchange.errors import ExchangeError
from exchange.storage import tables as t
from exchange.testing import PG_URL, HubFixture
from exchange.v1 import audit_pb2

from .logsetup import CITIZEN, exchange_cli, exchange_cli_here, fill

E = t.log_entries


async def _signed(hub: HubFixture, count: int) -> str:
    """Fill the log and return a checkpoint of it, signed by the hub."""
    await hub.add_department("SAMR")
    await fill(hub, count)
    return (await hub.hub.access_log.sign_checkpoint(wait=True)).note


async def _row(hub: HubFixture, index: int) -> sa.Row:
    async with hub.hub.db.read() as conn:
        return (await conn.execute(sa.select(E).where(E.c.idx == index))).one()


async def _change_officer(hub: HubFixture, index: int) -> None:
    row = await _row(hub, index)
    forged = encode_entry(dataclasses.replace(decode_entry(row.entry), officer_id="someone-else"))
    async with hub.hub.db.begin() as conn:
        await conn.execute(E.update().where(E.c.idx == index).values(entry=forged, officer_id="someone-else"))


async def _delete(hub: HubFixture, index: int) -> None:
    async with hub.hub.db.begin() as conn:
        await conn.execute(E.delete().where(E.c.idx == index))


async def _insert(hub: HubFixture, index: int) -> None:
    """Shift the entries from `index` up by one and put a self-consistent forged entry in the gap."""
    row = await _row(hub, index)
    async with hub.hub.db.begin() as conn:
        for idx in range(int((await conn.execute(sa.select(sa.func.max(E.c.idx)))).scalar()), index - 1, -1):
            await conn.execute(E.update().where(E.c.idx == idx).values(idx=idx + 1))
        forged = encode_entry(dataclasses.replace(decode_entry(row.entry), officer_id="ghost"))
        values = {c.name: getattr(row, c.name) for c in E.columns}
        await conn.execute(E.insert().values({**values, "entry": forged, "leaf_hash": leaf_hash(forged)}))


async def _swap(hub: HubFixture, index: int) -> None:
    a, b = await _row(hub, index), await _row(hub, index + 1)
    async with hub.hub.db.begin() as conn:
        await conn.execute(E.update().where(E.c.idx == index).values(entry=b.entry, leaf_hash=b.leaf_hash))
        await conn.execute(E.update().where(E.c.idx == index + 1).values(entry=a.entry, leaf_hash=a.leaf_hash))


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [(_change_officer, "changed"), (_delete, "removed"), (_insert, "inserted"), (_swap, "reordered")],
)
async def test_verify_names_the_tampered_entry_in_a_real_database(hub: HubFixture, tamper, kind: str) -> None:
    checkpoint = await _signed(hub, 30)
    verifier = hub.hub.signer.verifier()
    assert (await verify_database(hub.hub.db, [checkpoint], verifier, origin=hub.settings.log_origin)).ok
    await tamper(hub, 17)
    report = await verify_database(hub.hub.db, [checkpoint], verifier, origin=hub.settings.log_origin)
    assert not report.ok and report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.position) == (kind, 17), report.first_problem.message


async def test_a_changed_field_on_postgresql_is_named(any_backend_hub: HubFixture, tmp_path: Path) -> None:
    checkpoint = await _signed(any_backend_hub, 12)
    (tmp_path / "cp.txt").write_text(checkpoint)
    hub = any_backend_hub
    where = (
        ["--database-url", PG_URL, "--schema", hub.pg_schema]
        if hub.pg_schema
        else ["--data-dir", str(hub.settings.data_dir)]
    )
    vkey = hub.hub.signer.verifier().verifier_key()
    verify = ["audit", "verify", *where, "--checkpoint", str(tmp_path / "cp.txt"), "--key", vkey]
    code, out, err = await exchange_cli_here(*verify)
    assert code == 0 and "OK" in out, err
    await _change_officer(any_backend_hub, 9)
    code, out, err = await exchange_cli_here(*verify)
    assert code == 1 and "FAILED (changed at entry 9)" in err
    report = await verify_database(
        hub.hub.db, [checkpoint], hub.hub.signer.verifier(), origin=hub.hub.access_log.origin
    )
    assert report.first_problem is not None and report.first_problem.kind == "changed"
    assert "entry 9 was changed" in report.first_problem.message


async def test_a_checkpoint_signed_by_another_key_is_refused(hub: HubFixture) -> None:
    await _signed(hub, 5)
    size, root = await hub.hub.access_log.head()
    impostor = NoteSigner(hub.hub.signer.name, Ed25519PrivateKey.generate())
    forged = sign_checkpoint(Checkpoint(hub.settings.log_origin, size, root, 1_800_000_000), impostor)
    report = await verify_database(hub.hub.db, [forged], hub.hub.signer.verifier(), origin=hub.settings.log_origin)
    assert report.first_problem is not None and report.first_problem.kind == "bad_checkpoint"


async def test_cli_bundles_exports_archives_and_verifies_without_the_hub(hub: HubFixture, tmp_path: Path) -> None:
    await _signed(hub, 40)
    data_dir = str(hub.settings.data_dir)
    code, vkey, _ = await exchange_cli("audit", "vkey", "--data-dir", data_dir)
    vkey = vkey.strip()
    assert code == 0 and vkey == hub.hub.signer.verifier().verifier_key()
    as_auditor = ["--profile", str(hub.write_profile("HUB", tmp_path / "hub")), "--roles", "auditor"]

    # An evidence bundle for one entry, checked with the public key alone; a changed byte is refused.
    bundle = tmp_path / "e7.proof"
    code, out, err = await exchange_cli_here("audit", "proof", "7", "-o", str(bundle), *as_auditor)
    assert code == 0, err
    code, out, err = await exchange_cli_here("audit", "check-proof", str(bundle), "--key", vkey)
    assert code == 0 and "OK: entry 7" in out, err
    bundle.write_text(bundle.read_text().replace("index 7", "index 8"))
    code, out, err = await exchange_cli_here("audit", "check-proof", str(bundle), "--key", vkey)
    assert code == 1 and "FAILED" in err

    # Auditors query and read a citizen's report from the command line.
    code, out, err = await exchange_cli_here("audit", "subject", CITIZEN, "--page-size", "3", *as_auditor)
    assert code == 0 and out.count("Department SAMR (SAMR)") == 3 and "--page-token" in err, err
    code, out, err = await exchange_cli_here(
        "audit", "query", "--decision", "deny", "--reason", "NO_GRANT", "--newest-first", "--limit", "2", *as_auditor
    )
    assert code == 0 and out.count("NO_GRANT") == 2, err

    # A checkpoint kept earlier is extended by the hub's latest one.
    kept = tmp_path / "kept.txt"
    kept.write_text((await hub.hub.access_log.latest_checkpoint()).note)
    await fill(hub, 3, start=100)
    await hub.hub.access_log.sign_checkpoint(wait=True)
    code, out, err = await exchange_cli_here("audit", "consistency", "--old", str(kept), "--vkey", vkey, *as_auditor)
    assert code == 0 and "OK: the log of" in out, err

    # Exports to Parquet and CSV carry their checkpoint and verify on their own.
    for name in ("log.parquet", "log.csv"):
        code, out, err = await exchange_cli_here("audit", "export", "--data-dir", data_dir, "-o", str(tmp_path / name))
        assert code == 0, err
        code, out, err = await exchange_cli_here("audit", "verify", "--export", str(tmp_path / name), "--key", vkey)
        assert code == 0 and "OK" in out, err

    # Archive the oldest 25 entries: the file verifies by proofs, the live log still verifies and proves.
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_text((tmp_path / "log.parquet.checkpoint").read_text())
    archive = tmp_path / "archive.parquet"
    code, out, err = await exchange_cli_here(
        "audit", "archive", "--before", "25", "-o", str(archive), "--data-dir", data_dir, "--key", vkey
    )
    assert code == 0 and "pruned 25" in out, err
    report = verify_export(archive, [], hub.hub.signer.verifier(), origin=hub.settings.log_origin)
    assert report.ok and report.size == 25
    code, out, err = await exchange_cli_here(
        "audit", "verify", "--data-dir", data_dir, "--checkpoint", str(checkpoint), "--key", vkey
    )
    assert code == 0 and "25 of them archived and pruned" in out, err
    auditor = hub.client("HUB", roles=(Role.AUDITOR,))
    proof = await auditor.call(auditor._stubs.audit.GetInclusionProof, audit_pb2.GetInclusionProofRequest(index=3))
    assert len(proof.hashes) > 0
    with pytest.raises(ExchangeError) as caught:
        await auditor.call(auditor._stubs.audit.GetEntry, audit_pb2.GetEntryRequest(index=3))
    assert caught.value.reason == "ENTRY_NOT_FOUND"
    size, _ = await hub.hub.access_log.head()
    # The refused GetEntry is logged too (every attempt leaves an entry), right after the archive's own entry.
    assert decode_entry((await _row(hub, size - 1)).entry).action == "audit.entry.read"
    # The archive is an operation of the policy, decided for the local operator and logged by the recorder.
    archived = decode_entry((await _row(hub, size - 2)).entry)
    assert (archived.action, archived.decision, archived.outcome) == ("audit.log.archive", "allow", "OK")
    assert (archived.caller_department, archived.officer_id, archived.officer_role) == ("HUB", "operator", "hub_admin")


async def test_a_tampered_archive_is_named(hub: HubFixture, tmp_path: Path) -> None:
    await _signed(hub, 20)
    verifier = hub.hub.signer.verifier()
    archive = tmp_path / "a.parquet"
    await archive_log(hub.hub.db, 10, archive, verifier, origin=hub.settings.log_origin)
    table = pq.read_table(archive)
    entries = table.column("entry").to_pylist()
    entries[6] = encode_entry(dataclasses.replace(decode_entry(entries[6]), subject_id="someone"))
    hashes = table.column("leaf_hash").to_pylist()
    hashes[6] = leaf_hash(entries[6])
    table = table.set_column(table.schema.get_field_index("entry"), "entry", pa.array(entries, pa.binary()))
    table = table.set_column(table.schema.get_field_index("leaf_hash"), "leaf_hash", pa.array(hashes, pa.binary()))
    pq.write_table(table.replace_schema_metadata(pq.read_schema(archive).metadata), archive)
    report = verify_export(archive, [], verifier, origin=hub.settings.log_origin)
    assert report.first_problem is not None and report.first_problem.position == 6
    assert "not in the signed tree" in report.first_problem.message


async def test_a_database_export_is_decided_for_the_local_operator_and_logged(hub: HubFixture, tmp_path: Path) -> None:
    """`exchange audit export` opens the database itself: the export is still the operation audit.log.export,
    decided for the local operator and logged by the recorder (the subject in the details, not as an access)."""
    await _signed(hub, 5)
    out = tmp_path / "subject.csv"
    data_dir = str(hub.settings.data_dir)
    code, _, err = await exchange_cli_here(
        "audit", "export", "--data-dir", data_dir, "--subject", CITIZEN, "-o", str(out)
    )
    assert code == 0, err
    exports = [e for e in await hub.log_entries() if e.action == "audit.log.export"]
    assert [(e.decision, e.outcome, e.caller_department, e.officer_id, e.officer_role) for e in exports] == [
        ("allow", "OK", "HUB", "operator", "hub_admin")
    ]
    assert exports[0].subject_id == "" and f"subject_id={CITIZEN}" in exports[0].details["filter"]
    assert exports[0].details["file"] == "subject.csv"


async def test_without_the_hubs_signing_key_vkey_and_archive_say_so_before_opening_the_database(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    code, _, err = await exchange_cli_here("audit", "vkey", "--data-dir", str(data_dir))
    assert code == 2 and "no hub signing key" in err and "run `exchange init`" in err and "SIGNING_KEY_MISSING" in err
    archive = tmp_path / "archive.parquet"
    code, _, err = await exchange_cli_here(
        "audit", "archive", "--before", "5", "-o", str(archive), "--data-dir", str(data_dir)
    )
    assert code == 2 and "no hub signing key" in err and "pass --key" in err and "SIGNING_KEY_MISSING" in err
    assert not archive.exists()
    assert list(data_dir.iterdir()) == []  # no database made, no deployment id
