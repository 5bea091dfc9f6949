"""`exchange grants`, `exchange access-requests`, `exchange authz`: who may read what, and why (not)."""

from __future__ import annotations

from typing import Any

import click

from exchange import i18n, localtime
from exchange.cli.common import Profile, emit_rows, output_option, print_json, print_table, profile_options, run
from exchange.client_access import AccessRequest, Grant
from exchange.policy import table_markdown


def _split(values: tuple[str, ...]) -> list[str]:
    """Repeatable options that also accept comma-separated lists."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _to_us(text: str, option: str) -> int:
    """A date (YYYY-MM-DD: the end of that local day) or an ISO 8601 time (local unless it has an offset)."""
    return localtime.parse(text, option, end_of_date=True)


def _time(us: int) -> str:
    return localtime.show(us, empty="")


def _grant_row(g: Grant) -> dict[str, Any]:
    return {
        "id": g.id,
        "consumer": g.consumer,
        "dataset": g.dataset,
        "fields": ",".join(g.fields),
        "items": ",".join(g.service_items) or "(any)",
        "until": _time(g.valid_until_us) or "-",
        "rate": g.rate_per_minute or "-",
        "status": g.status,
    }


def _request_row(r: AccessRequest) -> dict[str, Any]:
    status = r.status
    return {
        "id": r.id,
        "consumer": r.consumer,
        "dataset": r.dataset,
        "fields": ",".join(r.fields),
        "status": status + (" OVERDUE" if r.overdue else ""),
        "due": _time(r.answer_due_us),
        "reason": r.decision_reason,
    }


# --- grants ---------------------------------------------------------------------------------------


@click.group("grants")
def grants() -> None:
    """Grants: which department may read which fields of a dataset, for which service items."""


@grants.command("create")
@click.option("--consumer", required=True, help="Department that may read.")
@click.option("--dataset", required=True, help="Dataset code.")
@click.option("--field", "fields", multiple=True, required=True, help="Field granted ('*' = all public/internal).")
@click.option("--item", "items", multiple=True, help="Service item the grant is for (default: any that needs it).")
@click.option("--valid-from", default="", help="Start (date or ISO time; default now).")
@click.option("--valid-until", default="", help="Last day (a date: to 23:59:59 local) or an ISO time; default none.")
@click.option("--rate", type=int, default=0, help="Requests per minute (0 = unlimited).")
@profile_options
def grants_create(
    consumer: str,
    dataset: str,
    fields: tuple[str, ...],
    items: tuple[str, ...],
    valid_from: str,
    valid_until: str,
    rate: int,
    profile: Profile,
) -> None:
    """Grant an unconditional dataset (owner's department admin or hub admin)."""

    async def go() -> None:
        valid_from_us = _to_us(valid_from, "--valid-from")
        valid_until_us = _to_us(valid_until, "--valid-until")
        async with profile.client() as hub:
            grant = await hub.create_grant(
                consumer,
                dataset,
                _split(fields),
                service_items=_split(items),
                valid_from_us=valid_from_us,
                valid_until_us=valid_until_us,
                rate_per_minute=rate,
            )
        click.echo(i18n.translate("cli.grants.granted", "granted: {id}").format(id=grant.id))
        print_table([_grant_row(grant)], list(_grant_row(grant)))

    run(go())


@grants.command("list")
@click.option("--consumer", default="", help="Only grants to this department.")
@click.option("--dataset", default="", help="Only grants on this dataset.")
@click.option("--all", "include_inactive", is_flag=True, help="Include revoked and expired grants.")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --output json.")
@output_option
@profile_options
def grants_list(
    consumer: str, dataset: str, include_inactive: bool, as_json: bool, output: str, profile: Profile
) -> None:
    """List grants you may see (department admins: their own and those on their datasets)."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.list_grants(consumer=consumer, dataset=dataset, include_inactive=include_inactive)
        rows = [_grant_row(g) for g in found]
        columns = ["id", "consumer", "dataset", "fields", "items", "until", "rate", "status"]
        emit_rows(rows, columns, "json" if as_json else output)

    run(go())


@grants.command("revoke")
@click.argument("grant_id")
@click.option("--reason", required=True, help="Why (kept in the access log).")
@profile_options
def grants_revoke(grant_id: str, reason: str, profile: Profile) -> None:
    """Revoke a grant; it stops working on the next request on every hub replica."""

    async def go() -> None:
        async with profile.client() as hub:
            revoked = await hub.revoke_grant(grant_id, reason=reason)
        said = i18n.translate("cli.grants.revoked", "revoked: {id} ({reason})")
        click.echo(said.format(id=revoked.id, reason=revoked.revoke_reason))

    run(go())


# --- access requests ------------------------------------------------------------------------------


@click.group("access-requests")
def access_requests() -> None:
    """Access requests for conditional datasets: ask, list, approve, deny."""


@access_requests.command("create")
@click.option("--dataset", required=True, help="Dataset code.")
@click.option("--field", "fields", multiple=True, required=True, help="Field needed (repeat or comma-separate).")
@click.option("--item", "items", multiple=True, required=True, help="Service item the data is needed for.")
@click.option("--legal-basis", required=True, help="The law or regulation that allows this use.")
@click.option("--justification", required=True, help="Why the service items need these fields.")
@click.option("--valid-until", default="", help="Last day asked for (a date: to 23:59:59 local) or an ISO time.")
@click.option("--rate", type=int, default=0, help="Requests per minute asked for (0 = unlimited).")
@profile_options
def requests_create(
    dataset: str,
    fields: tuple[str, ...],
    items: tuple[str, ...],
    legal_basis: str,
    justification: str,
    valid_until: str,
    rate: int,
    profile: Profile,
) -> None:
    """Ask the owner of a dataset for a grant, for your department."""

    async def go() -> None:
        valid_until_us = _to_us(valid_until, "--valid-until")
        async with profile.client() as hub:
            r = await hub.create_access_request(
                dataset,
                _split(fields),
                _split(items),
                legal_basis=legal_basis,
                justification=justification,
                valid_until_us=valid_until_us,
                rate_per_minute=rate,
            )
        said = i18n.translate(
            "cli.requests.requested", "requested: {id}; {dataset} is owned by the department that must answer by {due}"
        )
        click.echo(said.format(id=r.id, dataset=r.dataset, due=_time(r.answer_due_us)))

    run(go())


@access_requests.command("list")
@click.option("--owner", default="", help="Requests for datasets of this department (its inbox).")
@click.option("--consumer", default="", help="Requests made by this department.")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "denied", "withdrawn"]),
    default=None,
    help="Only this status.",
)
@click.option("--overdue", is_flag=True, help="Only pending requests past their answer time.")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --output json.")
@output_option
@profile_options
def requests_list(
    owner: str, consumer: str, status: str | None, overdue: bool, as_json: bool, output: str, profile: Profile
) -> None:
    """List access requests you may see; overdue ones are marked OVERDUE."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.list_access_requests(
                owner=owner, consumer=consumer, status=status or "", overdue_only=overdue
            )
        rows = [_request_row(r) for r in found]
        columns = ["id", "consumer", "dataset", "fields", "status", "due", "reason"]
        emit_rows(rows, columns, "json" if as_json else output)

    run(go())


def _decide(request_id: str, approve: bool, reason: str, profile: Profile) -> None:
    async def go() -> None:
        async with profile.client() as hub:
            response = await hub.decide_access_request(request_id, approve=approve, reason=reason)
        if response.grant is not None:
            said = i18n.translate("cli.requests.approved", "approved: {id}; grant {grant}")
            click.echo(said.format(id=request_id, grant=response.grant.id))
        else:
            said = i18n.translate("cli.requests.denied", "denied: {id} ({reason})")
            click.echo(said.format(id=request_id, reason=response.request.decision_reason))

    run(go())


@access_requests.command("approve")
@click.argument("request_id")
@click.option("--reason", default="", help="Optional note kept with the decision.")
@profile_options
def requests_approve(request_id: str, reason: str, profile: Profile) -> None:
    """Approve a request for your department's dataset; this creates the grant."""
    _decide(request_id, True, reason, profile)


@access_requests.command("deny")
@click.argument("request_id")
@click.option("--reason", required=True, help="Why, so the requesting department can act on it.")
@profile_options
def requests_deny(request_id: str, reason: str, profile: Profile) -> None:
    """Deny a request, with a reason."""
    _decide(request_id, False, reason, profile)


# --- explanations ---------------------------------------------------------------------------------


@click.group("authz")
def authz() -> None:
    """Authorisation: explain a decision without fetching; show the role table."""


@authz.command("explain")
@click.option("--about", "target", default="", help="Department that would fetch (default: the one acting).")
@click.option("--dataset", required=True, help="Dataset code.")
@click.option("--case", "case_id", required=True, help="Case the fetch would be for.")
@click.option("--field", "fields", multiple=True, help="Fields it would ask for (default: all it may have).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@profile_options
def authz_explain(
    target: str, dataset: str, case_id: str, fields: tuple[str, ...], as_json: bool, profile: Profile
) -> None:
    """Would a department be allowed to fetch DATASET for CASE, and if not, why? Fetches nothing.

    An officer asks about its own department (`--department FIRE`); hub admins and auditors ask about
    any department with `--about`.
    """

    async def go() -> None:
        async with profile.client() as hub:
            answer = await hub.explain_access(
                dataset, case_id=case_id, department=target or profile.department, fields=_split(fields)
            )
        allowed = answer.allowed
        if as_json:
            print_json(
                {
                    "allowed": allowed,
                    "reason": answer.reason,
                    "message": answer.message,
                    "fields": list(answer.fields),
                    "grant_id": answer.grant_id,
                    "checks": list(answer.checks),
                }
            )
            return
        if allowed:
            granted = ", ".join(answer.fields)
            said = i18n.tr(
                "cli.authz.allowed", "ALLOWED: {fields} (grant {grant})", fields=granted, grant=answer.grant_id
            )
            click.secho(said, fg="green")
        else:
            said = i18n.tr(
                "cli.authz.denied", "DENIED ({reason}): {message}", reason=answer.reason, message=answer.message
            )
            click.secho(said, fg="red")
        for check in answer.checks:
            click.echo(f"  {check}")

    run(go())


@authz.command("roles")
def authz_roles() -> None:
    """Print the policy's table (every operation, the roles that may ask for it and its scope) as Markdown."""
    click.echo(table_markdown(), nl=False)
