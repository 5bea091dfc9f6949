"""`exchange catalog`, `exchange departments`, `exchange items`: the registry from the command line.

Registration reads the same YAML/JSON specs the console uploads; the hub validates
them, so the CLI shows exactly the errors the API gives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from catalog.model import Department, DepartmentKey, KeyUse, department_name
from catalog.specs import parse_department
from catalog.yaml_io import load_spec_file
from exchange import i18n
from exchange.auth.keys import algorithm_for, key_id, load_public_key
from exchange.cli.common import (
    Profile,
    emit_record,
    emit_rows,
    output_option,
    profile_options,
    run,
    show_record,
    show_rows,
)
from exchange.cli.messages import after_register
from exchange.client import HubClient
from exchange.client_registry import DepartmentInfo, DepartmentKeyInfo, ServiceItemInfo
from exchange.errors import InvalidArgument


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidArgument(f"cannot read {path}: {error.strerror}", reason="MALFORMED_FILE") from None


@click.group("catalog")
def catalog() -> None:
    """Datasets: register, list, search, show, change status.

    \b
    Examples:
      exchange catalog register examples/catalog/datasets/*.yaml
      exchange catalog list --owner FIRE
      exchange catalog status fire_safety_certificate deprecated
    """


@catalog.command("register")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and show the resulting version; store nothing.")
@profile_options
def catalog_register(files: tuple[str, ...], dry_run: bool, profile: Profile) -> None:
    """Register datasets (or new versions) from YAML/JSON spec FILES.

    \b
    Examples:
      exchange catalog register examples/catalog/datasets/fire_safety_certificate.yaml
      exchange catalog register new-version.yaml --dry-run     # show the version it would get
    """

    async def go() -> None:
        async with profile.client() as hub:
            for path in files:
                response = await hub.register_dataset(_read(path), dry_run=dry_run)
                ds = response.dataset
                dry = i18n.translate("cli.catalog.dry_run", " (dry run)") if dry_run else ""
                click.echo(f"{ds.code} {ds.version}: {response.outcome}{dry}")
                for change in response.changes:
                    click.echo(f"  {change}")

    run(go())


@catalog.command("list")
@click.option("--owner", default="", help="Only datasets of this department.")
@click.option("--search", "query", default="", help="Words to search for.")
@output_option
@profile_options
def catalog_list(owner: str, query: str, output: str, profile: Profile) -> None:
    """List (or search) the current version of every dataset.

    \b
    Examples:
      exchange catalog list
      exchange catalog list --owner FIRE -o json
      exchange catalog list --search "fire safety"
      exchange catalog list --search 440300-A0201-0001
      exchange catalog list --search 人口信息
    """

    async def rows(hub: HubClient) -> list[dict[str, Any]]:
        found = await (hub.search_datasets(query) if query else hub.list_datasets(owner=owner))
        return [
            {
                "code": d.code,
                "version": d.version,
                "owner": d.owner,
                "sharing": d.sharing,
                "status": d.status,
                "title": d.title,
                "resource_code": d.resource_code,
                "classification": " / ".join(d.classification),
            }
            for d in found
        ]

    columns = ["code", "version", "owner", "sharing", "status", "title", "resource_code", "classification"]
    show_rows(profile, rows, columns, output)


@catalog.command("show")
@click.argument("code")
@click.option("--version", default="", help="A past version (default: current).")
@output_option
@profile_options
def catalog_show(code: str, version: str, output: str, profile: Profile) -> None:
    """Show one dataset with its schema.

    \b
    Examples:
      exchange catalog show fire_safety_certificate
      exchange catalog show business_licence --version 1.0 -o json
    """

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.get_dataset(code, version=version)
            emit_record(found.spec, output)

    run(go())


@catalog.command("status")
@click.argument("code")
@click.argument("status", type=click.Choice(["published", "deprecated", "draft"]))
@profile_options
def catalog_status(code: str, status: str, profile: Profile) -> None:
    """Set the status of dataset CODE (published, deprecated, draft); the hub logs the change.

    Deprecated datasets are still served to existing grants; a draft is served to nobody.

    \b
    Examples:
      exchange catalog status fire_safety_certificate deprecated
      exchange catalog status fire_safety_certificate published
    """

    async def go() -> None:
        async with profile.client() as hub:
            ds = await hub.set_dataset_status(code, status)
        click.echo(f"{ds.code} {ds.version}: {ds.status}")

    run(go())


@click.group("departments")
def departments() -> None:
    """Departments: register, list, show, keys, roles, suspend and activate.

    \b
    Examples:
      exchange departments register examples/catalog/departments/svc.yaml
      exchange departments keygen SVC --out svc
      exchange departments add-key SVC svc/SVC-token.pub --use token
      exchange departments suspend SVC --reason "certificate lost"
    """


@departments.command("register")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--token-public-key",
    type=click.Path(exists=True, dir_okay=False),
    help="Public key (PEM) for its tokens (`exchange departments keygen`).",
)
@click.option(
    "--signing-public-key",
    "--signing-key",
    type=click.Path(exists=True, dir_okay=False),
    help="Public key (PEM) for its documents (`exchange adapter keygen`).",
)
@click.option("--adapter-endpoint", default="", help="host:port of its adapter, instead of the spec's (one FILE only).")
@click.option(
    "--name-en", default="", help="Its English name, what English readers see, instead of the spec's (one FILE only)."
)
@profile_options
def departments_register(
    files: tuple[str, ...],
    token_public_key: str | None,
    signing_public_key: str | None,
    adapter_endpoint: str,
    name_en: str,
    profile: Profile,
) -> None:
    """Register departments from spec FILES, optionally with their first public keys.

    \b
    Examples:
      exchange departments register examples/catalog/departments/*.yaml
      exchange departments register fire.yaml --adapter-endpoint fire-adapter.internal:7443 \
          --signing-public-key fire/signing.key.pub
    """
    for option, value in (("--adapter-endpoint", adapter_endpoint), ("--name-en", name_en)):
        if value and len(files) > 1:
            raise click.UsageError(
                i18n.tr("cli.departments.one_file", "{option} applies to one department: give one FILE", option=option)
            )

    async def go() -> None:
        async with profile.client() as hub:
            for path in files:
                data = load_spec_file(path)
                dept: Department = parse_department(data.get("spec", data) if data.get("kind") else data)
                keys = tuple(
                    _key(key_path, use)
                    for use, key_path in ((KeyUse.TOKEN, token_public_key), (KeyUse.SIGNING, signing_public_key))
                    if key_path
                )
                dept = dataclasses.replace(
                    dept,
                    adapter_endpoint=adapter_endpoint or dept.adapter_endpoint,
                    name_en=name_en.strip() or dept.name_en,
                    keys=dept.keys + keys,
                )
                stored = await hub.register_department(dept)
                said = i18n.translate("cli.departments.registered", "{code}: registered ({keys} key(s))")
                click.echo(said.format(code=stored.code, keys=len(stored.keys)))
                has_token_key = any(k.use == "token" for k in stored.keys)
                for line in after_register(stored.code, has_token_key):
                    click.echo(line)

    run(go())


def _department_record(d: DepartmentInfo) -> dict[str, Any]:
    """A department as people read it: level "county", status "active", keys without their PEM."""
    return {
        "code": d.code,
        "name": d.name,
        "name_en": d.name_en,
        "level": d.level,
        "region_code": d.region_code,
        "status": d.status,
        "adapter_endpoint": d.adapter_endpoint,
        "keys": [_key_record(k) for k in d.keys],
    }


def _key_record(k: DepartmentKeyInfo) -> dict[str, Any]:
    return {"kid": k.kid, "use": k.use, "algorithm": k.algorithm, "status": k.status}


def _key(path: str, use: KeyUse) -> DepartmentKey:
    pem = _read(path)
    public = load_public_key(pem)
    return DepartmentKey(kid=key_id(public), use=use, algorithm=algorithm_for(public), public_key_pem=pem)


@departments.command("list")
@output_option
@profile_options
def departments_list(output: str, profile: Profile) -> None:
    """List departments.

    \b
    Examples:
      exchange departments list
      exchange departments list -o yaml
    """

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.list_departments()
            emit_rows(
                (_department_row(d, output) for d in found),
                ["code", "name", "level", "status", "keys", "adapter"],
                output,
            )

    run(go())


def _department_row(d: DepartmentInfo, output: str) -> dict[str, Any]:
    """A department in the list: a table names it in the CLI's language, JSON and YAML keep both names."""
    names = (
        {"name": department_name(d, i18n.current())} if output == "table" else {"name": d.name, "name_en": d.name_en}
    )
    return {
        "code": d.code,
        **names,
        "level": d.level,
        "status": d.status,
        "keys": len(d.keys),
        "adapter": d.adapter_endpoint,
    }


@departments.command("show")
@click.argument("code")
@output_option
@profile_options
def departments_show(code: str, output: str, profile: Profile) -> None:
    """Show one department with its keys.

    \b
    Examples:
      exchange departments show FIRE
      exchange departments show FIRE -o json
    """

    async def record(hub: HubClient) -> dict[str, Any]:
        return _department_record(await hub.get_department(code))

    show_record(profile, record, output)


@departments.command("add-key")
@click.argument("code")
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False))
@click.option("--use", type=click.Choice(["token", "signing"]), required=True)
@profile_options
def departments_add_key(code: str, public_key: str, use: str, profile: Profile) -> None:
    """Add a public key to a department (key rotation: retire the old one afterwards).

    \b
    Examples:
      exchange departments add-key SVC svc/SVC-token.pub --use token        # from `departments keygen`
      exchange departments add-key FIRE fire/signing.key.pub --use signing   # from `adapter keygen`
    """

    async def go() -> None:
        async with profile.client() as hub:
            key = _key(public_key, KeyUse(use))
            await hub.add_department_key(
                code, kid=key.kid, use=key.use.value, algorithm=key.algorithm, public_key_pem=key.public_key_pem
            )
            said = i18n.translate("cli.departments.key_added", "{code}: added {use} key {kid}")
            click.echo(said.format(code=code, use=use, kid=key.kid))

    run(go())


@departments.command("retire-key")
@click.argument("code")
@click.argument("kid")
@profile_options
def departments_retire_key(code: str, kid: str, profile: Profile) -> None:
    """Retire a key: tokens signed with it stop working; documents it signed still verify.

    \b
    Examples:
      exchange departments show SVC          # the kids
      exchange departments retire-key SVC 3q2-7wEAAAAAAAAA
    """

    async def go() -> None:
        async with profile.client() as hub:
            await hub.retire_department_key(code, kid)
            click.echo(
                i18n.translate("cli.departments.key_retired", "{code}: retired key {kid}").format(code=code, kid=kid)
            )

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

    \b
    Examples:
      exchange departments roles FIRE
      exchange departments roles FIRE --set officer,dept_admin --reason "runs its own catalog"
      exchange departments roles FIRE --officer chief --reset
    """
    if set_roles and reset:
        raise click.UsageError(i18n.translate("cli.roles.set_or_reset", "give either --set or --reset, not both"))
    if officer and not (set_roles or reset):
        raise click.UsageError(i18n.translate("cli.roles.officer_needs_change", "--officer needs --set or --reset"))

    async def go() -> None:
        async with profile.client() as hub:
            if set_roles or reset:
                names = [n.strip() for n in set_roles.split(",") if n.strip()]
                held = await hub.set_department_roles(code, names, officer_id=officer, reset=reset, reason=reason)
            else:
                held = await hub.get_department_roles(code)
            default = i18n.translate("cli.roles.default", " (default)") if held.is_default else ""
            click.echo(f"{held.department}: {_role_names(held.roles)}{default}")
            for officer_id, roles in sorted(held.officers.items()):
                said = i18n.tr(
                    "cli.roles.officer", "officer {officer}: {roles}", officer=officer_id, roles=_role_names(roles)
                )
                click.echo(f"  {said}")

    run(go())


@departments.command("keygen")
@click.argument("code")
@click.option(
    "--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False), help="Folder to write to."
)
def departments_keygen(code: str, out_dir: str) -> None:
    """Make department CODE's token key pair (Ed25519): CODE-token.key (0600) and CODE-token.pub.

    The token key signs the department's JWTs: who calls the hub. It is not the document-signing
    key its adapter signs documents with (`exchange adapter keygen`). Give the private key to the
    department's systems only; register the public key with the hub.

    \b
    Examples:
      exchange departments keygen SVC --out svc
      exchange departments add-key SVC svc/SVC-token.pub --use token
    """
    from exchange.auth.keys import generate_ed25519, key_id, public_key_to_pem, write_private_key

    folder = Path(out_dir)
    private, public = folder / f"{code}-token.key", folder / f"{code}-token.pub"
    if private.exists():
        raise click.ClickException(
            i18n.tr(
                "cli.departments.key_exists",
                "{path} exists; refusing to overwrite a token key (retire it first)",
                path=private,
            )
        )
    key = generate_ed25519()
    write_private_key(private, key)
    public.write_text(public_key_to_pem(key), encoding="utf-8")
    click.echo(i18n.tr("cli.departments.kid", "kid:         {kid}", kid=key_id(key.public_key())))
    said = i18n.translate(
        "cli.departments.keygen",
        "private key: {private} (mode 0600; for {code}'s systems only: --token-key, profile key `key`)\n"
        "public key:  {public}\n"
        "register it: exchange departments add-key {code} {public} --use token",
    )
    click.echo(said.format(private=private, public=public, code=code))


def _set_status(code: str, status: str, reason: str, profile: Profile) -> None:
    async def go() -> None:
        async with profile.client() as hub:
            d = await hub.set_department_status(code, status, reason=reason)
        click.echo(f"{d.code}: {d.status}")

    run(go())


@departments.command("suspend")
@click.argument("code")
@click.option("--reason", required=True, help="Why (kept in the access log).")
@profile_options
def departments_suspend(code: str, reason: str, profile: Profile) -> None:
    """Suspend department CODE: its calls are refused (DEPARTMENT_SUSPENDED) until it is activated.

    \b
    Examples:
      exchange departments suspend SVC --reason "token key lost, being replaced"
    """
    _set_status(code, "SUSPENDED", reason, profile)


@departments.command("activate")
@click.argument("code")
@click.option("--reason", required=True, help="Why (kept in the access log).")
@profile_options
def departments_activate(code: str, reason: str, profile: Profile) -> None:
    """Activate department CODE again after a suspension.

    \b
    Examples:
      exchange departments activate SVC --reason "new token key registered"
    """
    _set_status(code, "ACTIVE", reason, profile)


def _role_names(roles: Iterable[str]) -> str:
    return ", ".join(sorted(roles)) or "none"


@click.group("items")
def items() -> None:
    """Service items: what applicants apply for and the materials each needs.

    \b
    Examples:
      exchange items register examples/catalog/service_items/*.yaml
      exchange items list
    """


@items.command("register")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@profile_options
def items_register(files: tuple[str, ...], profile: Profile) -> None:
    """Register service items from spec FILES.

    \b
    Examples:
      exchange items register examples/catalog/service_items/restaurant_permit.yaml
    """

    async def go() -> None:
        async with profile.client() as hub:
            for path in files:
                item = await hub.register_service_item(_read(path))
                said = i18n.translate("cli.items.registered", "{code}: registered ({materials} materials)")
                click.echo(said.format(code=item.code, materials=len(item.materials)))

    run(go())


def _emit_items(found: Iterable[ServiceItemInfo], output: str) -> None:
    emit_rows(
        (
            {
                "code": i.code,
                "basic_code": i.basic_code,
                "implementation_code": i.implementation_code,
                "name": i.name,
                "lead": i.lead_department,
                "reviewers": ",".join(i.co_reviewers),
                "days": i.time_limit_days,
                "materials": len(i.materials),
            }
            for i in found
        ),
        ["code", "basic_code", "implementation_code", "name", "lead", "reviewers", "days", "materials"],
        output,
    )


@items.command("list")
@click.option(
    "--code",
    "national_code",
    default="",
    help="Only the items with this national basic or implementation code.",
)
@output_option
@profile_options
def items_list(national_code: str, output: str, profile: Profile) -> None:
    """List service items.

    \b
    Examples:
      exchange items list
      exchange items list --code 11440300007542687D4000105001000
      exchange items list -o json
    """

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.list_service_items(national_code=national_code)
            _emit_items(found, output)

    run(go())


@items.command("find")
@click.argument("national_code")
@output_option
@profile_options
def items_find(national_code: str, output: str, profile: Profile) -> None:
    """Find the service items with this national basic or implementation code.

    \b
    Examples:
      exchange items find 000105001000
      exchange items find 11440300007542687D4000105001000 -o json
    """

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.list_service_items(national_code=national_code)
            if not found:
                said = i18n.translate(
                    "cli.items.no_item", "no service item has the basic or implementation code {code}"
                ).format(code=national_code)
                raise click.ClickException(said)
            _emit_items(found, output)

    run(go())


@items.command("show")
@click.argument("code")
@output_option
@profile_options
def items_show(code: str, output: str, profile: Profile) -> None:
    """Show one service item with its required materials.

    \b
    Examples:
      exchange items show restaurant_permit
      exchange items show restaurant_permit -o json
    """

    async def record(hub: HubClient) -> dict[str, Any]:
        return (await hub.get_service_item(code)).spec

    show_record(profile, record, output)
