"""Signed bulk end to end: a real adapter chains and signs a scan, the hub logs the manifest, the client verifies it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from exchange.auth.keys import generate_ed25519
from exchange.cli import cli
from exchange.errors import FailedPrecondition

from .hubsetup import CONSUMER
from .test_scan import ScanWorld, world  # noqa: F401  (the fixture)


async def test_an_honest_stream_verifies_at_the_client_and_the_hub_logs_its_manifest(world: ScanWorld) -> None:  # noqa: F811
    batches = [
        b
        async for b in world.client.scan(
            "enterprise_register", case_id=world.case_id, batch_rows=700, request_id="req-bulk-1", require_signed=True
        )
    ]
    manifest = world.client.last_scan_manifest
    assert manifest is not None
    assert (manifest.issuer, manifest.dataset, manifest.rows) == ("SAMR", "enterprise_register", 5000)
    assert manifest.rows == sum(b.num_rows for b in batches) and manifest.batches == len(batches) > 1
    entries = [e for e in await world.hub.log_entries() if e.action == "exchange.scan"]
    assert [(e.decision, e.reason) for e in entries[1:]] == [("allow", "SCAN_COMPLETED")]
    closing = entries[1]
    assert closing.request_id == entries[0].request_id == "req-bulk-1"
    assert closing.response_digest == closing.details["manifest_sha256"] == manifest.digest
    assert closing.details["chain_head"] == manifest.chain_head
    assert (closing.details["rows"], closing.details["batches"]) == ("5000", str(len(batches)))


async def test_the_client_checks_the_manifest_against_a_key_it_was_given(world: ScanWorld) -> None:  # noqa: F811
    other = generate_ed25519().public_key()
    pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(FailedPrecondition) as refused:
        async for _ in world.client.scan("enterprise_register", case_id=world.case_id, issuer_key=pem):
            pass
    assert refused.value.reason == "ISSUER_KEY_UNKNOWN" and "SAMR" in refused.value.message
    assert world.client.last_scan_manifest is None


async def test_exchange_scan_writes_the_rows_and_says_who_signed_them(world: ScanWorld, tmp_path: Path) -> None:  # noqa: F811
    profile = world.hub.write_profile(CONSUMER, tmp_path / "svc")
    out = tmp_path / "register.parquet"
    args = ["scan", "enterprise_register", "--case", world.case_id, "--out", str(out), "-o", "json"]
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, [*args, "--profile", str(profile)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "signed: SAMR" in result.stderr and "5000 rows" in result.stderr
    record = json.loads(result.stdout)
    assert (record["rows"], record["issuer"]) == (5000, "SAMR") and pq.read_table(out).num_rows == 5000
    chinese = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["--lang", "zh-CN", *args, "--profile", str(profile)],
        catch_exceptions=False,
    )
    assert chinese.exit_code == 0 and "签名" in chinese.stderr
