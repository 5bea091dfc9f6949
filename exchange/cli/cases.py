"""`exchange cases`: approval cases from the command line (deadlines, timelines, savings)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from exchange import i18n, localtime
from exchange.cli.common import (
    Profile,
    emit_record,
    output_option,
    print_table,
    profile_options,
    run,
    show_rows,
)
from exchange.client import CaseInfo, HubClient, PartyInfo


def _when(us: int) -> str:
    return localtime.show(us, empty="-")


def _rows(cases: list[CaseInfo]) -> list[dict[str, str]]:
    return [
        {
            "case": c.id,
            "item": c.service_item,
            "state": c.state,
            "deadline": _when(c.deadline_us),
            "clock": c.deadline_state,
            "days_left": f"{c.working_days_left:.2f}",
            "lead": c.lead_department,
        }
        for c in cases
    ]


COLUMNS = ["case", "item", "state", "deadline", "clock", "days_left", "lead"]


@click.group("cases")
def cases() -> None:
    """Approval cases: overdue lists, timelines, savings."""


def parse_party(text: str) -> PartyInfo:
    """RELATION:ID[:NAME], e.g. legal_representative:110105198506010011:王伟 (the kind follows from the id)."""
    relation, _, rest = text.partition(":")
    party_id, _, name = rest.partition(":")
    if not relation or not party_id:
        raise click.BadParameter(
            i18n.tr("cli.cases.party_format", "expected RELATION:ID[:NAME], got {text!r}", text=text[:80]),
            param_hint="--party",
        )
    return PartyInfo(relation.strip(), party_id.strip(), name=name.strip())


@cases.command("create")
@click.option("--item", "service_item", required=True, help="The service item applied for (your department leads it).")
@click.option("--applicant", "applicant_id", required=True, help="Resident id or unified social credit code.")
@click.option(
    "--applicant-kind", type=click.Choice(["person", "organisation"]), default="organisation", show_default=True
)
@click.option(
    "--party",
    "parties",
    multiple=True,
    help="Another party whose data the case needs, RELATION:ID[:NAME] (repeatable); relations: "
    "legal_representative, premises_owner, spouse, guardian, agent, other.",
)
@click.option("--applicant-name", default="", help="The applicant's name (a person or a company), as people read it.")
@click.option("--title", default="", help="A title for the case.")
@click.option("--request-id", default="", help="Your id for this application, so a retry opens no second case.")
@click.option("-q", "--quiet", is_flag=True, help="Print the case id only (for scripts).")
@profile_options
def cases_create(
    service_item: str,
    applicant_id: str,
    applicant_kind: str,
    parties: tuple[str, ...],
    applicant_name: str,
    title: str,
    request_id: str,
    quiet: bool,
    profile: Profile,
) -> None:
    """Open a case; data can then be fetched for it about the applicant and the parties named here only.

    \b
    Examples:
      exchange cases create --item restaurant_permit --applicant 91110105MA01XXXXXX \
          --applicant-name 北京福满楼餐饮管理有限公司 --party legal_representative:110105198506010011:王伟
      CASE=$(exchange cases create --item fire_check --applicant 915101071RWG3G6CBL -q)
    """
    named = [parse_party(p) for p in parties]

    async def go() -> None:
        async with profile.client() as hub:
            case = await hub.create_case(
                service_item,
                applicant_id,
                applicant_kind=applicant_kind,
                title=title,
                request_id=request_id,
                parties=named,
                applicant_name=applicant_name,
            )
        if quiet:
            click.echo(case.id)
            return
        click.echo(f"{case.id}  {case.service_item}  {case.state}  v{case.version}")
        print_table(
            ({"relation": p.relation, "id": p.party_id, "kind": p.kind, "name": p.name} for p in case.parties),
            ["relation", "id", "kind", "name"],
        )

    run(go())


@cases.command("add-party")
@click.argument("case_id")
@click.argument("party")
@profile_options
def cases_add_party(case_id: str, party: str, profile: Profile) -> None:
    """Record one more party (RELATION:ID[:NAME]) on an open case your department is on."""
    named = parse_party(party)

    async def go() -> None:
        async with profile.client() as hub:
            case = await hub.add_case_party(case_id, named)
        relations = ", ".join(p.relation for p in case.parties)
        click.echo(i18n.tr("cli.cases.parties", "{case}: parties {relations}", case=case.id, relations=relations))

    run(go())


@cases.command("overdue")
@click.option("--of", "of_department", default="", help="Another department (auditors and hub admins only).")
@click.option("--past-only", is_flag=True, help="Leave out nearly overdue cases (under one working day left).")
@profile_options
def cases_overdue(of_department: str, past_only: bool, profile: Profile) -> None:
    """Open cases of your department (--department) past or within one working day of their deadline."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.list_overdue_cases(
                of_department or profile.department, include_nearly_overdue=not past_only
            )
        if not found:
            department = of_department or profile.department
            click.echo(
                i18n.tr(
                    "cli.cases.none_overdue",
                    "no overdue or nearly overdue cases for {department}",
                    department=department,
                )
            )
            return
        print_table(_rows(found), COLUMNS)

    run(go())


@cases.command("list")
@click.option("--state", default="", help="Only cases in this state (e.g. in_review).")
@click.option("--item", "service_item", default="", help="Only cases of this service item.")
@output_option
@profile_options
def cases_list(state: str, service_item: str, output: str, profile: Profile) -> None:
    """Cases your department leads or reviews."""

    async def rows(hub: HubClient) -> list[dict[str, str]]:
        return _rows(await hub.list_cases(state=state, service_item=service_item))

    show_rows(profile, rows, COLUMNS, output)


@cases.command("show")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --output json.")
@output_option
@profile_options
def cases_show(case_id: str, as_json: bool, output: str, profile: Profile) -> None:
    """One case: its state, deadline, timeline (who did what, when) and savings."""

    async def go() -> None:
        async with profile.client() as hub:
            case = await hub.get_case(case_id)
        if as_json or output != "table":
            emit_record(asdict(case), "json" if as_json else output)
            return
        click.echo(f"{case.id}  {case.service_item}  {case.state}  v{case.version}  {case.title}")
        applicant = i18n.translate("cli.cases.applicant", "applicant: {name} ({id})")
        click.echo(applicant.format(name=case.applicant_name or "-", id=case.applicant_id))
        deadline = i18n.translate("cli.cases.deadline", "deadline {when} ({clock}, {days:.2f} working days left)")
        click.echo(
            deadline.format(when=_when(case.deadline_us), clock=case.deadline_state, days=case.working_days_left)
        )
        print_table(
            (
                {"when": _when(s.at_us), "who": f"{s.department}/{s.officer}", "step": s.kind, "detail": s.detail}
                for s in case.timeline
            ),
            ["when", "who", "step", "detail"],
        )
        s = case.savings
        saved = i18n.translate(
            "cli.cases.saved",
            "saved: {fetched} materials fetched once, {reads} reads from the case, {avoided} submissions avoided",
        )
        click.echo(saved.format(fetched=s.materials_fetched, reads=s.reads_from_case, avoided=s.submissions_avoided))

    run(go())


@cases.command("savings")
@click.option("--case", "case_id", default="", help="One case.")
@click.option("--item", "service_item", default="", help="One service item.")
@profile_options
def cases_savings(case_id: str, service_item: str, profile: Profile) -> None:
    """What cases saved: materials fetched from issuers, reads served from cases, submissions avoided."""

    async def go() -> None:
        async with profile.client() as hub:
            s = await hub.get_savings(case_id=case_id, service_item=service_item)
        print_table(
            [{"fetched": s.materials_fetched, "reads_from_case": s.reads_from_case, "avoided": s.submissions_avoided}],
            ["fetched", "reads_from_case", "avoided"],
        )

    run(go())


@cases.command("annotated-copy")
@click.argument("case_id")
@click.argument("dataset")
@click.option("--version", type=int, default=0, help="A material version (default: the current one).")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the PDF.",
)
@profile_options
def cases_annotated_copy(case_id: str, dataset: str, version: int, output: Path, profile: Profile) -> None:
    """Save the hub-signed annotated copy (加注件) of a case material for the case's service item."""

    async def go() -> None:
        async with profile.client() as hub:
            copy = await hub.get_annotated_copy(case_id, dataset, version=version)
        copy.save(output)
        said = i18n.translate(
            "cli.annotated_copy.saved",
            "wrote {path}: annotated copy of {dataset} v{version}, valid until {until}, SHA-256 {digest} "
            "(log entry {index}); check the signature with: pdfsig {path}",
        )
        click.echo(
            said.format(
                path=output,
                dataset=copy.material.dataset,
                version=copy.material.version,
                until=_when(copy.valid_until_us),
                digest=copy.sha256,
                index=copy.receipt.index,
            )
        )

    run(go())
