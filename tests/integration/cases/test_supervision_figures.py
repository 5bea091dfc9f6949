"""Supervision figures reconcile with the access log; the report's CSV equals a recount and its PDF shows Chinese."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from exchange.audit.entry import AccessLogEntry
from exchange.auth.identity import Role
from exchange.client_supervision import Figures
from exchange.clock import now_us
from exchange.errors import PermissionDenied
from exchange.supervision.desk import SupervisionDesk
from exchange.supervision.report import parse_figures_csv
from exchange.v1 import access_pb2
from tests.integration.cases.conftest import ITEM, PermitWorld
from tests.integration.cases.test_deadlines_rpc import exchange_cli
from tests.integration.cases.test_supervision import ask_identity

WEEK_US = 7 * 24 * 3600 * 1_000_000


def recount(entries: list[AccessLogEntry], since_us: int, until_us: int) -> dict[str, Counter[str]]:
    """The log-backed figures counted again, straight from the entries (independently of the hub's code)."""
    figures: dict[str, Counter[str]] = {}
    created: set[str] = set()
    for e in entries:
        if not since_us <= e.time_us < until_us:
            continue
        if e.decision == "deny":
            figures.setdefault("refusals", Counter())[f"{e.caller_department}:{e.reason}"] += 1
            continue
        keys = [f"department:{e.caller_department}"] + ([f"service_item:{e.service_item}"] if e.service_item else [])
        counted = ""
        if e.action == "cases.create" and e.case_id not in created:
            created.add(e.case_id)
            counted = "volume"
        elif e.action == "cases.transition" and e.details.get("action") == "request_correction":
            counted = "pauses"
        elif e.action == "cases.material.attach":
            if e.details.get("upstream_call") == "false":
                counted = "materials_reused"
            elif e.outcome == "OK":
                counted = "materials_fetched"
        elif e.action == "cases.material.read":
            counted = "materials_reused"
        elif e.action == "access_requests.decide":
            keys = keys[:1]
            figures.setdefault(keys[0], Counter())["requests_answered"] += 1
            counted = "requests_answered_in_time" if e.details.get("late") != "true" else ""
        if counted:
            for key in keys:
                figures.setdefault(key, Counter())[counted] += 1
    return figures


LOG_FIGURES = (
    "volume",
    "pauses",
    "materials_fetched",
    "materials_reused",
    "requests_answered",
    "requests_answered_in_time",
)


def as_counters(figures: Figures) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {}
    for row in figures.rows:
        values = Counter({name: getattr(row, name) for name in LOG_FIGURES})
        found[f"{row.scope}:{row.key}"] = +values  # drop zeros, as the recount never writes them
    found = {k: v for k, v in found.items() if v}
    refusals = Counter({f"{r.department}:{r.reason}": r.count for r in figures.refusals})
    if refusals:
        found["refusals"] = refusals
    return found


async def work_some_cases(world: PermitWorld) -> None:
    """Cases opened, materials fetched and reused, a correction pause, an answered request and some refusals."""
    samr, fire = world.officer("SAMR"), world.officer("FIRE")
    first = await samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    second = await samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties, title="second")
    for dataset in ("business_licence", "identity_record"):
        await samr.attach_material(first.id, dataset, world.keys[dataset])
    await samr.attach_material(first.id, "business_licence", world.keys["business_licence"])  # already held
    await fire.get_material(first.id, "business_licence")  # a co-reviewer reads it from the case
    await samr.transition_case(second.id, "request_correction", second.version, reasons=["kitchen floor plan"])
    with pytest.raises(PermissionDenied):
        await world.officer("TAX").get_material(first.id, "business_licence")
    with pytest.raises(PermissionDenied):
        await samr.supervision_figures(since_us=1)
    tax, psb = world.hub.client("TAX", roles=(Role.DEPT_ADMIN,)), world.hub.client("PSB", roles=(Role.DEPT_ADMIN,))
    request = (await tax.call(tax._stubs.access.CreateAccessRequest, ask_identity())).request
    deny = access_pb2.DecideAccessRequestRequest(id=request.id, approve=False, reason="the tax office needs no ids")
    await psb.call(psb._stubs.access.DecideAccessRequest, deny)


async def test_figures_and_the_report_csv_equal_a_recount_from_the_access_log(
    world: PermitWorld, tmp_path: Path
) -> None:
    since = now_us()
    await work_some_cases(world)
    until = now_us() + 1
    inspector = world.hub.client("HUB", officer="inspector-1", roles=(Role.SUPERVISOR,))
    figures = await inspector.supervision_figures(since_us=since, until_us=until)
    expected = recount(await world.hub.log_entries(), since, until)
    assert as_counters(figures) == expected
    samr = {r.key: r for r in figures.rows if r.scope == "department"}["SAMR"]
    assert (samr.volume, samr.pauses, samr.materials_fetched, samr.materials_reused) == (2, 1, 2, 1)
    assert expected["department:FIRE"]["materials_reused"] == 1
    assert expected["refusals"]["TAX:NOT_INVOLVED"] == 1 and expected["refusals"]["SAMR:ROLE_NOT_ALLOWED"] == 1

    # The weekly report of the week now under way (asked as of a week later) holds the same log-backed figures.
    report = await inspector.supervision_report("week", at_us=now_us() + WEEK_US)
    assert report.name.startswith("week-")
    everything = recount(await world.hub.log_entries(), report.figures.since_us, report.figures.until_us)
    rows, refusals = parse_figures_csv(report.csv)
    from_csv: dict[str, Counter[str]] = {}
    for (scope, key), values in rows.items():
        counted = +Counter({name: int(values[name]) for name in LOG_FIGURES})
        if counted:
            from_csv[f"{scope}:{key}"] = counted
    if refusals:
        from_csv["refusals"] = Counter({f"{d}:{r}": n for (d, r), n in refusals.items()})
    assert from_csv == everything

    pdf = tmp_path / f"{report.name}.pdf"
    pdf.write_bytes(report.pdf)
    text = await asyncio.to_thread(
        subprocess.run, ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    assert "电子监察报告" in text.stdout and "Supervision report" in text.stdout
    assert "按时办结率" in text.stdout and "拒绝原因统计" in text.stdout and "SAMR" in text.stdout


async def test_cli_writes_the_weekly_report_as_pdf_and_csv(world: PermitWorld, tmp_path: Path) -> None:
    profile = world.hub.write_profile("HUB", tmp_path / "inspector", officer="inspector-1", roles=(Role.SUPERVISOR,))
    out = tmp_path / "reports"
    said = await exchange_cli("supervision", "report", "--period", "week", "--out", str(out), "--profile", str(profile))
    written = sorted(p.suffix for p in out.iterdir())
    assert written == [".csv", ".pdf"] and "week-" in said
    pdf = next(out.glob("*.pdf"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "电子监察报告" in text


async def test_the_hub_writes_each_periodic_report_once_across_replicas(world: PermitWorld, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    first = await SupervisionDesk(world.hub.hub).write_due_reports(out)
    assert sorted(p.name.split("-")[0] + p.suffix for p in first) == ["month.csv", "month.pdf", "week.csv", "week.pdf"]
    assert await SupervisionDesk(world.hub.hub).write_due_reports(out) == []  # another replica, or the next tick
    assert sorted(out.iterdir()) == sorted(first)
