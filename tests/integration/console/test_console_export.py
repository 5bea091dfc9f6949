"""The console's filtered export is a proof bundle: downloaded over HTTPS, checked offline, a changed byte is named."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from exchange.audit.entry import AccessLogEntry
from exchange.clock import now_us
from tests.integration.audit.logsetup import exchange_cli

SUBJECT = "110101199003071234"


async def test_a_filtered_console_export_verifies_offline_and_a_changed_byte_is_named(
    browser, console_hub, tmp_path: Path
) -> None:
    hub = console_hub.running.hub
    for subject in (SUBJECT, "other", SUBJECT, "other"):
        await hub.record(
            AccessLogEntry(
                time_us=now_us(),
                action="exchange.fetch",
                caller_department="SAMR",
                subject_id=subject,
                decision="allow",
            )
        )
    # Entries after the latest checkpoint: the export signs one that covers them.
    await browser.sign_in("audrey")
    assert browser.base.startswith("https://")
    status, page = await browser.get(f"/log?subject={SUBJECT}")
    assert status == 200 and "check it offline with exchange audit verify-export FILE." in page
    async with browser.session.get(browser.base + f"/log/export.parquet?subject={SUBJECT}") as response:
        assert response.status == 200
        assert response.content_type == "application/vnd.apache.parquet"
        body = await response.read()
    path = tmp_path / "download.parquet"
    path.write_bytes(body)
    table = pq.read_table(path)
    assert table.column("subject_id").to_pylist() == [SUBJECT, SUBJECT]
    assert pq.read_schema(path).metadata[b"exchange.selection"] == b"filtered"

    code, out, err = await exchange_cli("audit", "verify-export", str(path))
    assert code == 0 and f"OK: {path} verifies: 2 entries" in out, err

    # The export itself is in the log: who exported, with which filter.
    exported = [e for e in await console_hub.log_entries() if e.action == "audit.log.export"]
    assert [
        (e.officer_id, e.officer_role, e.decision, e.details["filter"], e.details["entries"]) for e in exported
    ] == [("console:audrey", "auditor", "allow", f"subject_id={SUBJECT}", "2")]

    first = body.index(f'"subject_id":"{SUBJECT}"'.encode())
    changed = tmp_path / "changed.parquet"
    changed.write_bytes(body[:first] + body[first:].replace(SUBJECT[-4:].encode(), b"9999", 1))
    code, out, err = await exchange_cli("audit", "verify-export", str(changed))
    index = table.column("index")[0].as_py()
    assert code == 1 and f"FAILED (changed at entry {index}): entry {index} was changed" in err, err
