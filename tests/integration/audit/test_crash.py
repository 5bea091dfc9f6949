"""A crash: the hub process is killed with SIGKILL while clients fetch; every receipt handed out survives."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import sqlalchemy as sa
import yaml

from exchange.audit.merkle import verify_inclusion
from exchange.audit.note import NoteVerifier, open_checkpoint
from exchange.auth.identity import Role
from exchange.client import HubClient, Receipt
from exchange.errors import ExchangeError
from exchange.storage import Database
from exchange.storage import tables as t
from exchange.testing import free_port, start_test_hub
from exchange.v1 import audit_pb2

from .logsetup import CONSUMER, EXCHANGE, LICENCE_KEY, exchange_cli_here, licence_world

RECEIPTS_BEFORE_KILL = 60
WORKERS = 4


async def _serve(config: Path, data_dir: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        EXCHANGE, "serve", "--config", str(config), "--data-dir", str(data_dir),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _until_serving(client: HubClient, process: asyncio.subprocess.Process) -> None:
    """Wait until the hub answers (start-up migrates and opens the log)."""
    for _ in range(300):
        assert process.returncode is None, "the hub process exited during start-up"
        with contextlib.suppress(ExchangeError):
            await client.call(client._stubs.audit.GetCheckpoint, audit_pb2.GetCheckpointRequest(), timeout=2)
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the hub did not start serving")


async def test_every_receipt_survives_a_sigkill_and_the_log_verifies_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    # Set up departments, catalog, grant, a case and SAMR's adapter with an in-process hub on the data directory ...
    setup = await start_test_hub(data_dir, sqlite_synchronous="FULL")
    adapter, case_id = await licence_world(setup)
    consumer = setup.departments[CONSUMER]
    operator = setup.departments["HUB"]
    tls = {code: setup.client_tls(code) for code in (CONSUMER, "HUB")}
    company = LICENCE_KEY
    await setup.stop()
    try:
        # ... then serve it from a separate `exchange serve` process.
        port = free_port()
        config = tmp_path / "hub.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "grpc_listen": f"127.0.0.1:{port}",
                    "http_listen": "",
                    "checkpoint_interval_seconds": 0.5,
                    # The CA, server certificate and client CA stay where start_test_hub made them: the defaults.
                }
            )
        )

        def connect(roles: tuple[Role, ...] = (Role.OFFICER,)) -> HubClient:
            # Auditors are the hub's own (only its department holds the role); officers are the consumer's.
            keys = operator if Role.AUDITOR in roles else consumer
            return HubClient.connect(
                f"127.0.0.1:{port}",
                department=keys.code,
                officer="officer-1",
                key=keys.token_key,
                kid=keys.token_kid,
                roles=roles,
                tls=tls[keys.code],
            )

        process = await _serve(config, data_dir)
        receipts: list[Receipt] = []
        enough = asyncio.Event()
        auditor = connect((Role.AUDITOR,))
        try:
            await _until_serving(auditor, process)

            async def fetch_until_the_hub_dies() -> None:
                async with connect() as client:
                    while True:
                        try:
                            document = await client.fetch("business_licence", company, case_id=case_id)
                        except ExchangeError:
                            if process.returncode is not None or enough.is_set():
                                return
                            raise
                        receipts.append(document.receipt)
                        if len(receipts) >= RECEIPTS_BEFORE_KILL:
                            enough.set()

            workers = [asyncio.create_task(fetch_until_the_hub_dies()) for _ in range(WORKERS)]
            await enough.wait()
            before = await auditor.call(auditor._stubs.audit.GetCheckpoint, audit_pb2.GetCheckpointRequest())
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()
            await asyncio.gather(*workers)
        finally:
            await auditor.close()
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == -signal.SIGKILL

        # Restart on the same data directory: every receipt a client got is in the log, and proves.
        process = await _serve(config, data_dir)
        auditor = connect((Role.AUDITOR,))
        try:
            await _until_serving(auditor, process)
            after = await auditor.call(
                auditor._stubs.audit.GetCheckpoint, audit_pb2.GetCheckpointRequest(sign_now=True)
            )
            # The key comes from the hub's own answer here; the offline check below takes it as an auditor would.
            signed = open_checkpoint(after.checkpoint.signed_note, NoteVerifier.from_vkey(after.verifier_key))
            for receipt in receipts[:: max(1, len(receipts) // 10)]:
                proof = await auditor.call(
                    auditor._stubs.audit.GetInclusionProof,
                    audit_pb2.GetInclusionProofRequest(index=receipt.index),
                )
                verify_inclusion(
                    receipt.leaf_hash, receipt.index, proof.tree_size, list(proof.hashes), signed.root_hash
                )
        finally:
            await auditor.close()
            process.send_signal(signal.SIGTERM)
            await process.wait()

    finally:
        await adapter.stop(grace=0.5)

    db = Database(f"sqlite:///{data_dir / 'exchange.db'}")
    async with db.read() as conn:
        rows = await conn.execute(sa.select(t.log_entries.c.idx, t.log_entries.c.leaf_hash))
        stored = {row.idx: row.leaf_hash for row in rows}
    await db.close()
    assert all(stored.get(r.index) == r.leaf_hash for r in receipts), "a receipt handed out is missing from the log"
    assert len(receipts) >= RECEIPTS_BEFORE_KILL

    (tmp_path / "before.txt").write_text(before.checkpoint.signed_note)
    (tmp_path / "after.txt").write_text(after.checkpoint.signed_note)
    code, out, err = await exchange_cli_here(
        "audit", "verify", "--data-dir", str(data_dir), "--key", after.verifier_key,
        "--checkpoint", str(tmp_path / "before.txt"), "--checkpoint", str(tmp_path / "after.txt"),
    )  # fmt: skip
    assert code == 0 and "OK" in out, err
