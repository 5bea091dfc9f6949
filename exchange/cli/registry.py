"""`exchange catalog`, `exchange departments`, `exchange items`: the registry from the command line.

Registration reads the same YAML/JSON specs the console uploads; the hub validates
them, so the CLI shows exactly the errors the API gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from google.protobuf.json_format import MessageToDict

from catalog.errors import InvalidArgument
from catalog.model import Department, load_spec_file, parse_department
from exchange.auth.keys import algorithm_for, key_id, load_public_key
from exchange.cli.common import Profile, print_json, print_table, profile_options, run
from exchange.services.convert import department_to_proto
from exchange.v1 import catalog_pb2, departments_pb2, items_pb2


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidArgument(f"cannot read {path}: {error.strerror}", reason="MALFORMED_FILE") from None


def _as_dict(message: Any) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


@click.group("catalog")
def catalog() -> None:
    """Datasets: register, list, search, show."""


@catalog.command("register")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and show the resulting version; store nothing.")
@profile_options
def catalog_register(files: tuple[str, ...], dry_run: bool, profile: Profile) -> None:
    """Register datasets (or new versions) from YAML/JSON spec FILES."""

    async def go() -> None:
        async with profile.client() as hub:
            for path in files:
                response = await hub.register_dataset(_read(path), dry_run=dry_run)
                ds = response.dataset
                click.echo(f"{ds.code} {ds.version}: {response.outcome}{' (dry run)' if dry_run else ''}")
                for change in response.changes:
                    click.echo(f"  {change}")

    run(go())


@catalog.command("list")
@click.option("--owner", default="", help="Only datasets of this department.")
@click.option("--search", "query", default="", help="Words to search for.")
@profile_options
def catalog_list(owner: str, query: str, profile: Profile) -> None:
    """List (or search) the current version of every dataset."""

    async def go() -> None:
        async with profile.client() as hub:
            found: Any
            if query:
                found = await hub.call(hub.catalog.SearchDatasets, catalog_pb2.SearchDatasetsRequest(query=query))
            else:
                found = await hub.call(hub.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest(owner=owner))
            print_table(
                (
                    {
                        "code": d.code,
                        "version": d.version,
                        "owner": d.owner,
                        "sharing": catalog_pb2.SharingType.Name(d.sharing_type).removeprefix("SHARING_TYPE_").lower(),
                        "title": d.title,
                    }
                    for d in found.datasets
                ),
                ["code", "version", "owner", "sharing", "title"],
            )

    run(go())


@catalog.command("show")
@click.argument("code")
@click.option("--version", default="", help="A past version (default: current).")
@profile_options
def catalog_show(code: str, version: str, profile: Profile) -> None:
    """Show one dataset with its schema."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.call(hub.catalog.GetDataset, catalog_pb2.GetDatasetRequest(code=code, version=version))
            print_json(_as_dict(found.dataset))

    run(go())


@click.group("departments")
def departments() -> None:
    """Departments and their keys."""


@departments.command("register")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--token-key", type=click.Path(exists=True, dir_okay=False), help="Public key (PEM) for its tokens.")
@click.option("--signing-key", type=click.Path(exists=True, dir_okay=False), help="Public key (PEM) for its documents.")
@profile_options
def departments_register(
    files: tuple[str, ...], token_key: str | None, signing_key: str | None, profile: Profile
) -> None:
    """Register departments from spec FILES, optionally with their first public keys."""

    async def go() -> None:
        async with profile.client() as hub:
            for path in files:
                data = load_spec_file(path)
                dept: Department = parse_department(data.get("spec", data) if data.get("kind") else data)
                message = department_to_proto(dept)
                for use, key_path in (("TOKEN", token_key), ("SIGNING", signing_key)):
                    if key_path:
                        message.keys.append(_key_message(key_path, use))
                stored = await hub.register_department(message)
                click.echo(f"{stored.code}: registered ({len(stored.keys)} key(s))")

    run(go())


def _key_message(path: str, use: str) -> departments_pb2.DepartmentKey:
    pem = _read(path)
    public = load_public_key(pem)
    return departments_pb2.DepartmentKey(
        kid=key_id(public),
        use=departments_pb2.KeyUse.Value(f"KEY_USE_{use}"),
        algorithm=algorithm_for(public),
        public_key_pem=pem,
        status=departments_pb2.KEY_STATUS_ACTIVE,
    )


@departments.command("list")
@profile_options
def departments_list(profile: Profile) -> None:
    """List departments."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.call(hub.departments.ListDepartments, departments_pb2.ListDepartmentsRequest())
            print_table(
                (
                    {
                        "code": d.code,
                        "name": d.name,
                        "status": departments_pb2.DepartmentStatus.Name(d.status).removeprefix("DEPARTMENT_STATUS_"),
                        "keys": len(d.keys),
                        "adapter": d.adapter_endpoint,
                    }
                    for d in found.departments
                ),
                ["code", "name", "status", "keys", "adapter"],
            )

    run(go())


@departments.command("show")
@click.argument("code")
@profile_options
def departments_show(code: str, profile: Profile) -> None:
    """Show one department with its keys."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.call(hub.departments.GetDepartment, departments_pb2.GetDepartmentRequest(code=code))
            print_json(_as_dict(found.department))

    run(go())


@departments.command("add-key")
@click.argument("code")
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False))
@click.option("--use", type=click.Choice(["token", "signing"]), required=True)
@profile_options
def departments_add_key(code: str, public_key: str, use: str, profile: Profile) -> None:
    """Add a public key to a department (key rotation: retire the old one afterwards)."""

    async def go() -> None:
        async with profile.client() as hub:
            key = _key_message(public_key, use.upper())
            await hub.call(
                hub.departments.AddDepartmentKey, departments_pb2.AddDepartmentKeyRequest(department=code, key=key)
            )
            click.echo(f"{code}: added {use} key {key.kid}")

    run(go())


@departments.command("retire-key")
@click.argument("code")
@click.argument("kid")
@profile_options
def departments_retire_key(code: str, kid: str, profile: Profile) -> None:
    """Retire a key: tokens signed with it stop working; documents it signed still verify."""

    async def go() -> None:
        async with profile.client() as hub:
            await hub.call(
                hub.departments.RetireDepartmentKey,
                departments_pb2.RetireDepartmentKeyRequest(department=code, kid=kid),
            )
            click.echo(f"{code}: retired key {kid}")

    run(go())


@departments.command("roles")
@click.argument("code")
@click.option("--set", "set_roles", default="", help="Comma-separated roles to record, e.g. officer,dept_admin.")
@click.option("--officer", default="", help="Record (or reset) the set of this one officer instead.")
@click.option("--reset", is_flag=True, help="Forget the recorded set: back to the default (or the department's).")
@click.option("--reason", default="", help="Why (kept in the access log).")
@profile_options(officer_flag="--as-officer")
def departments_roles(code: str, set_roles: str, officer: str, reset: bool, reason: str, profile: Profile) -> None:
    """Show the roles the hub holds for department CODE, or change them (hub admins only).

    A token may ask for fewer roles than its officer holds, never more. hub_admin and auditor are
    held only by the hub operator's own department. Here --officer names the officer whose set is
    changed; the acting officer is --as-officer (or the profile's).
    """
    if set_roles and reset:
        raise click.UsageError("give either --set or --reset, not both")
    if officer and not (set_roles or reset):
        raise click.UsageError("--officer needs --set or --reset")

    async def go() -> None:
        async with profile.client() as hub:
            if set_roles or reset:
                names = [n.strip() for n in set_roles.split(",") if n.strip()]
                held = await hub.set_department_roles(code, names, officer_id=officer, reset=reset, reason=reason)
            else:
                held = await hub.get_department_roles(code)
            click.echo(f"{held.department}: {_role_names(held.roles)}{' (default)' if held.is_default else ''}")
            for officer_id, roles in sorted(held.officers.items()):
                click.echo(f"  officer {officer_id}: {_role_names(roles)}")

    run(go())


def _role_names(roles: Iterable[str]) -> str:
    return ", ".join(sorted(roles)) or "none"


@click.group("items")
def items() -> None:
    """Service items: what applicants apply for and the materials it needs."""


@items.command("register")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@profile_options
def items_register(files: tuple[str, ...], profile: Profile) -> None:
    """Register service items from spec FILES."""

    async def go() -> None:
        async with profile.client() as hub:
            for path in files:
                item = await hub.register_service_item(_read(path))
                click.echo(f"{item.code}: registered ({len(item.required_materials)} materials)")

    run(go())


@items.command("list")
@profile_options
def items_list(profile: Profile) -> None:
    """List service items."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.call(hub.items.ListServiceItems, items_pb2.ListServiceItemsRequest())
            print_table(
                (
                    {
                        "code": i.code,
                        "name": i.name,
                        "lead": i.lead_department,
                        "reviewers": ",".join(i.co_reviewers),
                        "days": i.time_limit_days,
                        "materials": len(i.required_materials),
                    }
                    for i in found.items
                ),
                ["code", "name", "lead", "reviewers", "days", "materials"],
            )

    run(go())


@items.command("show")
@click.argument("code")
@profile_options
def items_show(code: str, profile: Profile) -> None:
    """Show one service item."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.call(hub.items.GetServiceItem, items_pb2.GetServiceItemRequest(code=code))
            print_json(_as_dict(found.item))

    run(go())
