"""`exchange demo`: a hub, four departments on real adapter processes, one restaurant permit end to end.

Everything goes through real gRPC calls in the production shape: the demo makes its own
CA, the hub serves mTLS (each department connects with its certificate and tokens signed
by its own key), the console serves HTTPS, and the hub reaches each department's adapter
process over TLS. The demo writes a CLI profile for the administrator and each department.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import click

from catalog.model import department_name
from exchange import i18n, localtime
from exchange.app.console_accounts import ConsoleAccounts
from exchange.auth.identity import Role, system_caller
from exchange.cases.timeline import step_in
from exchange.cli.common import print_table
from exchange.demo.departments import DemoDepartments, applicant_parties, exchange_command
from exchange.error_text import localized_text
from exchange.errors import ExchangeError
from exchange.i18n import N_, tr
from exchange.storage import log_store
from exchange.testing import HUB_OPERATOR, HubFixture, ensure_test_pki, start_test_hub
from exchange.v1 import access_pb2

T = TypeVar("T")

DATASETS = ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate")
ITEM = "restaurant_permit"
# The officer each department's CLI profile acts as (the ones the scenario uses).
OFFICERS = {"SAMR": "li.wei", "PSB": "wang.fang", "MNR": "chen.jing", "FIRE": "zhao.lei"}


def say(text: str = "", **style: Any) -> None:
    click.secho(text, **style)


def heading(text: str) -> None:
    say()
    say(text, bold=True)
    say("-" * sum(2 if ord(ch) > 0x2E7F else 1 for ch in text))


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    print_table(rows, columns)


def refusal(error: ExchangeError) -> str:
    """A refusal's text in the printout's language (the hub's English message names the values at fault)."""
    language = i18n.current()
    if language == "en":
        return error.message
    return error.localized_message if error.locale == language else localized_text(error, language)


async def timed(call: Awaitable[T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = await call
    return result, (time.perf_counter() - started) * 1000


async def set_up_registry(hub: HubFixture, deps: DemoDepartments) -> None:
    """What administrators do once: departments, catalog, the service item, grants."""
    for code, dept in deps.departments.items():
        await hub.add_department(
            code,
            name=dept.name,
            name_en=dept.name_en,
            adapter_endpoint=dept.endpoint,
            signing_public_key=dept.signing_key_pem,
        )
    for name in DATASETS:
        await hub.register_example_dataset(name)
    await hub.register_example_item(ITEM)

    # Unconditional datasets: the owners grant what the service item needs.
    item = await hub.running.registry.get_service_item(ITEM)
    needed = {m.dataset: m.fields for m in item.required_materials}
    owners = {"business_licence": "SAMR", "property_certificate": "MNR", "fire_safety_certificate": "FIRE"}
    for dataset, owner in owners.items():
        admin = hub.client(owner, officer=f"{owner.lower()}-admin", roles=[Role.DEPT_ADMIN])
        for consumer in ("SAMR", "MNR", "FIRE"):
            await admin.create_grant(consumer, dataset, list(needed[dataset]), service_items=[ITEM])

    # Identity records are conditional: SAMR asks, the Public Security Bureau approves.
    samr_admin = hub.client("SAMR", officer="samr-admin", roles=[Role.DEPT_ADMIN])
    request: access_pb2.CreateAccessRequestResponse = await samr_admin.call(
        samr_admin._stubs.access.CreateAccessRequest,
        access_pb2.CreateAccessRequestRequest(
            dataset="identity_record",
            fields=list(needed["identity_record"]),
            service_items=[ITEM],
            legal_basis="《中华人民共和国食品安全法》第三十五条：食品经营许可证载明法定代表人",
            justification="核验申请企业法定代表人的身份",
        ),
    )
    psb_admin = hub.client("PSB", officer="psb-admin", roles=[Role.DEPT_ADMIN])
    await psb_admin.call(
        psb_admin._stubs.access.DecideAccessRequest,
        access_pb2.DecideAccessRequestRequest(id=request.request.id, approve=True, reason="依据已核实"),
    )


async def run_application(hub: HubFixture, deps: DemoDepartments) -> dict[str, Any]:
    """One restaurant permit: SAMR leads, FIRE and MNR review in parallel; nothing is handed in."""
    s = deps.samples
    samr = hub.client("SAMR", officer="li.wei")
    fire = hub.client("FIRE", officer="zhao.lei")
    mnr = hub.client("MNR", officer="chen.jing")

    case = await samr.create_case(
        ITEM,
        s.company_uscc,
        title=f"{s.company_name}食品经营许可申请",
        parties=applicant_parties(s),
        applicant_name=s.company_name,
    )
    case = await samr.transition_case(case.id, "accept", case.version)
    case = await samr.transition_case(case.id, "start_review", case.version)

    materials: list[dict[str, Any]] = []
    keys = {
        "business_licence": s.company_uscc,
        "identity_record": s.legal_representative_id,
        "property_certificate": s.property_licence_id,
        "fire_safety_certificate": s.fire_licence_id,
    }
    for dataset, key in keys.items():
        (material, fetched), ms = await timed(samr.attach_material(case.id, dataset, key))
        materials.append(
            {
                "material": dataset,
                "issuer": material.provenance.issuer,
                "key": key,
                "fetched": tr("cli.demo.from_issuer", "from issuer")
                if fetched
                else tr("cli.demo.already_held", "already held"),
                "ms": f"{ms:.1f}",
                "digest": material.digest[:12],
            }
        )
    reads: list[dict[str, Any]] = []
    for client in (fire, mnr):
        for dataset in keys:
            try:
                got, ms = await timed(client.get_material(case.id, dataset))
                reads.append(
                    {
                        "department": client.department,
                        "material": dataset,
                        "fields": len(got.fields),
                        "ms": f"{ms:.1f}",
                        "result": tr("cli.demo.read_from_case", "read from the case"),
                    }
                )
            except ExchangeError as refused:
                reads.append(
                    {
                        "department": client.department,
                        "material": dataset,
                        "fields": 0,
                        "ms": "",
                        "result": tr("cli.demo.refused", "refused: {reason}", reason=refused.reason),
                    }
                )
    # A department reaching past the case for data it was never granted: refused, explained, logged.
    denied = ""
    try:
        await fire.fetch("identity_record", s.legal_representative_id, case_id=case.id)
    except ExchangeError as refused:
        denied = tr(
            "cli.demo.denied_direct",
            "FIRE fetching identity_record directly: {error} {reason}: {message}",
            error=type(refused).__name__,
            reason=refused.reason,
            message=refusal(refused),
        )
    # Another company's licence under this case: its owner is no party to the application.
    try:
        await samr.fetch("business_licence", s.suspended_company_uscc, case_id=case.id)
    except ExchangeError as refused:
        denied += "\n" + tr(
            "cli.demo.denied_other_company",
            "SAMR fetching another company's licence: {reason}: {message}",
            reason=refused.reason,
            message=refusal(refused),
        )
    for client, comment in (
        (fire, "疏散通道和灭火器材与合格证一致"),
        (mnr, "房屋用途为商业"),
    ):
        case = await client.get_case(case.id)
        await client.record_opinion(case.id, "approve", comment=comment)
    case = await samr.get_case(case.id)
    case = await samr.record_opinion(case.id, "approve", comment="营业执照有效，经营范围含餐饮服务")
    case = await samr.transition_case(case.id, "approve", case.version)

    savings = await samr.get_savings(case_id=case.id)
    return {
        "case": await samr.get_case(case.id),
        "materials": materials,
        "reads": reads,
        "denied": denied,
        "savings": savings,
    }


DECISIONS = {"allow": N_("decision.allow", "allowed"), "deny": N_("decision.deny", "denied")}
# The console's words for a case's state and clock (the same catalogue entries).
CASE_STATES = {"approved": N_("case_state.approved", "approved"), "rejected": N_("case_state.rejected", "rejected")}
DEADLINES = {"finished": N_("deadline.finished", "finished"), "overdue": N_("deadline.overdue", "OVERDUE")}


async def print_log(hub: HubFixture, since: int) -> None:
    async with hub.hub.db.read() as conn:
        entries = await log_store.entries_from(conn, since)
    table(
        [
            {
                "index": r.index,
                "time": localtime.local(r.time_us).strftime("%H:%M:%S.%f")[:-3],
                "department": r.caller_department,
                "action": r.action,
                "dataset": r.dataset,
                "subject": r.subject_id[:20],
                "decision": i18n.translate("decision." + r.decision, DECISIONS.get(r.decision, r.decision)),
                "reason": r.reason,
            }
            for r in entries
        ],
        ["index", "time", "department", "action", "dataset", "subject", "decision", "reason"],
    )


async def report(hub: HubFixture, outcome: dict[str, Any], log_start: int) -> None:
    case = outcome["case"]
    heading(tr("cli.demo.case", "Case {id}: {title}", id=case.id, title=case.title))
    say(tr("cli.cases.applicant", "applicant: {name} ({id})", name=case.applicant_name or "-", id=case.applicant_id))
    say(
        tr(
            "cli.demo.case_state",
            "state {state}, deadline {clock}, {days:.1f} working days were left",
            state=i18n.translate("case_state." + case.state, CASE_STATES.get(case.state, case.state)),
            clock=i18n.translate("deadline." + case.deadline_state, DEADLINES.get(case.deadline_state, "")),
            days=case.working_days_left,
        )
    )
    heading(tr("cli.demo.materials", "Materials: each fetched once, straight from its issuer"))
    table(outcome["materials"], ["material", "issuer", "key", "fetched", "ms", "digest"])
    heading(
        tr("cli.demo.parallel", "Parallel review: co-reviewers read the case's copy (no second call to the issuer)")
    )
    table(outcome["reads"], ["department", "material", "fields", "ms", "result"])
    zone, offset = localtime.zone().key, localtime.offset_label()
    heading(tr("cli.demo.timeline", "Timeline (times in {zone}, {offset})", zone=zone, offset=offset))
    table(
        [
            {
                "time": localtime.local(step.at_us).strftime("%H:%M:%S"),
                "department": step.department,
                "officer": step.officer,
                "step": step_in(step.kind),
                "detail": step.detail[:70],
            }
            for step in case.timeline
        ],
        ["time", "department", "officer", "step", "detail"],
    )
    savings = outcome["savings"]
    heading(tr("cli.demo.saved", "What was saved"))
    say(tr("cli.demo.fetched", "materials fetched from issuers: {n}", n=savings.materials_fetched))
    say(tr("cli.demo.reads", "reads served from the case: {n}", n=savings.reads_from_case))
    say(tr("cli.demo.avoided", "submissions the applicant did not have to make: {n}", n=savings.submissions_avoided))
    if outcome["denied"]:
        heading(tr("cli.demo.refusal", "A refusal, explained and logged"))
        say(outcome["denied"])
    heading(tr("cli.demo.log", "Access log entries written by the application (times {offset})", offset=offset))
    await print_log(hub, log_start)
    signed = await hub.hub.access_log.sign_checkpoint()
    heading(tr("cli.demo.checkpoint", "Signed checkpoint of the access log"))
    say(signed.note.rstrip())


async def run_demo(*, once: bool, data_dir: Path | None, port: int, http_port: int, seed: int) -> None:
    with contextlib.ExitStack() as stack:
        workdir = data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="exchange-demo-")))
        say(tr("cli.demo.workdir", "demo data in {path}", path=workdir), dim=True)
        # The demo's own CA first: the adapters serve TLS with certificates it issues.
        pki = ensure_test_pki(workdir / "hub")
        say(
            tr("cli.demo.ca", "the demo's CA: {path} (hub mTLS, adapter TLS, HTTPS console)", path=pki / "ca.crt"),
            dim=True,
        )
        async with DemoDepartments(workdir / "departments", seed=seed, pki=pki) as deps:
            say(tr("cli.demo.departments", "departments running as separate adapter processes, serving TLS:"), dim=True)
            for code, dept in deps.departments.items():
                name = department_name(dept, i18n.current())
                say(f"  {code:5} {dept.endpoint:18} {', '.join(dept.datasets)}  {name}", dim=True)
            hub = await start_test_hub(
                workdir / "hub",
                grpc_listen=f"127.0.0.1:{port}",
                http_listen=f"127.0.0.1:{http_port}",
                checkpoint_interval_seconds=10,
                sqlite_synchronous="FULL",
            )
            try:
                await set_up_registry(hub, deps)
                log_start, _ = await hub.hub.access_log.head()
                outcome = await run_application(hub, deps)
                await report(hub, outcome, log_start)
                profiles = write_profiles(hub, workdir / "profiles")
                heading(tr("cli.demo.profiles", "CLI profiles (mTLS certificate, token key, roles)"))
                for name, path in profiles.items():
                    say(f"  {name:6} {path}")
                if not once:
                    await serve_until_interrupted(hub, profiles)
            finally:
                await hub.stop()


def write_profiles(hub: HubFixture, directory: Path) -> dict[str, Path]:
    """A CLI profile for the administrator (hub_admin of the operator) and for an officer of each department."""
    profiles = {"admin": hub.write_profile(HUB_OPERATOR, directory / "admin", officer="admin", roles=[Role.HUB_ADMIN])}
    for code, officer in OFFICERS.items():
        profiles[code] = hub.write_profile(code, directory / code.lower(), officer=officer)
    return profiles


def try_commands(hub: HubFixture, profiles: dict[str, Path]) -> tuple[str, str]:
    """A working `exchange` command (the admin's profile) and `grpcurl` command (SAMR's certificate and token)."""
    exchange = shlex.join(exchange_command())
    admin = shlex.join([*exchange_command(), "catalog", "list", "--profile", str(profiles["admin"])])
    key, cert = hub.certificate_files("SAMR")
    token = f"$({exchange} token --profile {shlex.quote(str(profiles['SAMR']))})"
    grpcurl = (
        f"grpcurl -cacert {shlex.quote(str(hub.ca_cert))} -cert {shlex.quote(str(cert))} "
        f'-key {shlex.quote(str(key))} -H "authorization: Bearer {token}" '
        f"{hub.address} exchange.v1.CatalogService/ListDatasets"
    )
    return admin, grpcurl


async def serve_until_interrupted(hub: HubFixture, profiles: dict[str, Path]) -> None:
    password = secrets.token_urlsafe(12)
    accounts, me = ConsoleAccounts(hub.hub), system_caller()
    await accounts.add_user(me, "admin", password, "hub_admin", "HUB", "演示平台管理员")
    await accounts.add_user(me, "auditor", password, "auditor", "HUB", "演示审计员")
    exchange, grpcurl = try_commands(hub, profiles)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    heading(tr("cli.demo.serving", "The demo hub keeps serving (Ctrl-C to stop)"))
    # The labels stay as they are (gRPC:, try:): scripts read these lines in any language.
    say(
        f"gRPC:     {hub.address}  "
        + tr("cli.demo.grpc", "(mTLS: a client certificate from the demo's CA {path})", path=hub.ca_cert)
    )
    console = tr("cli.demo.console", "(users admin and auditor, password {password})", password=password)
    say(f"console:  {hub.http_url}/console/  {console}")
    say(
        "          "
        + tr(
            "cli.demo.https", "served over HTTPS with a certificate from the demo's CA: trust {path}", path=hub.ca_cert
        )
    )
    say(f"health:   {hub.http_url}/healthz")
    say(f"try:      {exchange}")
    say(f"          {grpcurl}")
    sys.stdout.flush()  # the commands above are read by people and by scripts waiting on a pipe
    await stop.wait()
