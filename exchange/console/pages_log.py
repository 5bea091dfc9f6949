"""The access log for auditors: filters, pages, proof status, the integrity panel, charts, export, citizen report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web

from catalog.model import department_name
from exchange import i18n
from exchange.app.audit_queries import EntryFilter, StoredEntry
from exchange.app.parsing import parse_page_token
from exchange.audit.export import Format
from exchange.audit.merkle import leaf_hash
from exchange.audit.recorder import entry_of
from exchange.audit.verify import VerifyReport
from exchange.clock import now_us
from exchange.console import charts
from exchange.console.convert import entry_filter, filter_text, hour_counts, report_action
from exchange.console.core import account_of, app_of, render
from exchange.console.doors import console_caller, operation_of
from exchange.console.strings import text
from exchange.errors import DataLoss, NotFound
from exchange.hub import Hub

routes = web.RouteTableDef()
PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
CHART_HOURS = 24
FILTERS = ("from", "to", "department", "dataset", "subject", "case", "decision")


@dataclass(frozen=True)
class ProofStatus:
    """Whether an entry is under a signed checkpoint and its inclusion proof checks out."""

    state: str  # verified | pending | failed
    tree_size: int = 0


async def _note_access(request: web.Request, f: EntryFilter, count: int, **more: str) -> None:
    """Every read of the log (a page, an entry, a report, an export) is itself logged, under the operation
    the route asks for, with the filter and the number of entries shown in the details.

    The subject goes in the details, not the subject column: an auditor's search is oversight,
    not a use of the person's data, and must not show up as an access in their report.
    """
    operation = operation_of(request)
    await app_of(request).hub.record(
        entry_of(
            console_caller(account_of(request), operation),
            operation,
            request_id=uuid.uuid4().hex,
            dataset=f.dataset,
            details={"entries": str(count), "filter": filter_text(f), **more},
        )
    )


async def proof_statuses(hub: Hub, entries: list[StoredEntry], tree_size: int) -> dict[int, ProofStatus]:
    """Check each shown entry's inclusion proof against the latest signed checkpoint."""
    found = {}
    for stored in entries:
        index = stored.entry.index
        if index >= tree_size:
            found[index] = ProofStatus("pending")
            continue
        try:
            proof = await hub.access_log.inclusion_proof(index, tree_size)
            # The stored bytes must hash to the proven leaf, or the entry shown is not the one logged.
            ok = proof.leaf_hash == stored.leaf_hash == leaf_hash(stored.canonical)
        except DataLoss:
            ok = False
        found[index] = ProofStatus("verified" if ok else "failed", tree_size)
    return found


async def _log_page(request: web.Request, report: VerifyReport | None = None) -> web.Response:
    hub = app_of(request).hub
    query = dict(request.query)
    f = entry_filter(query)
    after = parse_page_token(query.get("after", ""))  # the API's parser: '²' or 19 digits are a 400, not a 500
    until = f.until_us or now_us()
    start = f.from_us or until - CHART_HOURS * 3_600_000_000
    # The charts show what the table shows: every filter applies, the window defaults to the last day.
    page = await app_of(request).audit.log_page(f, after=after, limit=PAGE_SIZE, chart_window=(start, until))
    entries, checkpoint = page.entries, page.checkpoint
    verified = {} if report is None else {"verified": "ok" if report.ok else "failed"}
    await _note_access(request, f, len(entries), **verified)
    counts = hour_counts(page.hourly)
    hours = charts.hours_between(start, until)[-24 * 14 :]  # at most two weeks of bars stay readable
    per_hour, legend = charts.accesses_per_hour(counts, hours, text("log.chart_accesses"))
    kept = {k: query[k] for k in FILTERS if query.get(k)}
    return render(
        request,
        "log.html",
        {
            "entries": entries,
            "proofs": await proof_statuses(hub, entries, checkpoint.size if checkpoint else 0),
            "checkpoint": checkpoint,
            "head_size": (await hub.access_log.head())[0],
            "report": report,
            "f": kept,
            "next_after": entries[-1].entry.index if len(entries) == PAGE_SIZE else None,
            "filter_qs": urlencode(kept),
            "chart_accesses": per_hour,
            "legend": legend,
            "chart_denials": charts.denial_share(counts, hours, text("log.chart_denials")),
        },
    )


@routes.get("/log")
async def log_page(request: web.Request) -> web.Response:
    """Entries newest first, filtered and paginated, with proofs, the integrity panel and the charts."""
    return await _log_page(request)


@routes.get(r"/log/entry/{index:\d{1,19}}")
async def log_entry(request: web.Request) -> web.Response:
    """One entry with all its fields and its inclusion proof in the latest signed checkpoint; reading it is logged."""
    hub = app_of(request).hub
    index = int(request.match_info["index"])
    stored, checkpoint = await app_of(request).audit.entry_and_checkpoint(index)
    if stored is None:
        raise NotFound(text("entry.not_found", index=index), reason="ENTRY_NOT_FOUND")
    size = checkpoint.size if checkpoint else 0
    proof = await hub.access_log.inclusion_proof(index, size) if index < size else None
    status = (await proof_statuses(hub, [stored], size))[index]
    await _note_access(request, EntryFilter(), 1, index=str(index))
    return render(
        request,
        "log_entry.html",
        {
            "s": stored,
            "e": stored.entry,
            "proof": proof,
            "status": status,
            "checkpoint": checkpoint,
            "verifier_key": hub.signer.verifier().verifier_key(),
        },
    )


@routes.post("/log/verify")
async def log_verify(request: web.Request) -> web.Response:
    """Verify now: recompute the tree and check it against the signed checkpoint."""
    report = await app_of(request).audit.verify_now()
    return await _log_page(request, report)


@routes.get("/log/export.{fmt:csv|parquet}")
async def log_export(request: web.Request) -> web.Response:
    """The filtered view as a proof bundle (up to 100,000 entries, oldest first); the export itself is logged.

    Every entry comes with its inclusion proof in a checkpoint that covers it (signed now when the
    latest one does not), and a Parquet file carries that checkpoint and the hub's key in its footer.
    """
    queries = app_of(request).audit
    f = entry_filter(dict(request.query))
    entries = await queries.selection(f, limit=EXPORT_LIMIT)
    fmt: Format = "csv" if request.match_info["fmt"] == "csv" else "parquet"
    await _note_access(request, f, len(entries), format=fmt)
    body, _ = await queries.export_selection(entries, fmt, filter_text=filter_text(f))
    content_type = "text/csv" if fmt == "csv" else "application/vnd.apache.parquet"
    name = f"access-log-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.{fmt}"
    return web.Response(
        body=body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@routes.get("/report")
async def subject_report(request: web.Request) -> web.Response:
    """Who accessed one person's or company's data, when and for what purpose; printable."""
    hub = app_of(request).hub
    subject = request.query.get("subject", "").strip()
    entries: list[StoredEntry] = []
    titles: dict[str, str] = {}
    if subject:
        f = EntryFilter(subject_id=subject)
        page = await app_of(request).audit.subject_page(f, after=None, limit=10_000)
        entries = page.entries
        # A citizen reads "Identity record, Public Security Bureau", not codes.
        titles = {code: title or code for code, title in page.dataset_titles.items()}
        await _note_access(request, f, len(entries))
    departments = {s.entry.caller_department for s in entries}
    language = i18n.current()
    names = {c: department_name(d, language) for c in departments if (d := hub.keyring.department(c)) is not None}
    settings = hub.settings
    agency = (settings.report_agency_name, settings.report_agency_address, settings.report_agency_contact)
    return render(
        request,
        "report.html",
        {
            "subject": subject,
            "entries": entries,
            "generated_us": now_us(),
            "titles": titles,
            "names": names,
            "actions": {s.entry.index: report_action(s.entry) for s in entries},
            "agency": agency,
        },
    )
