"""Catalog pages: browse and search, a dataset's schema, versions and grants, register or edit a dataset."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from catalog.specs import dataset_to_dict, parse_dataset
from exchange.app.parsing import spec_from_text
from exchange.clock import now_us
from exchange.console.convert import (
    CATALOGUE_CHOICES,
    DATASET_CHOICES,
    SENSITIVITIES,
    blank_dataset,
    blank_rows_in,
    dataset_form_values,
    dataset_spec_from_form,
)
from exchange.console.core import account_of, app_of, errors_by_field, local_path, render
from exchange.console.strings import text
from exchange.errors import ExchangeError, FailedPrecondition, FieldViolation, InvalidArgument
from exchange.policy import decide

routes = web.RouteTableDef()
MAX_UPLOAD_BYTES = 1 << 20


@routes.get("/catalog")
async def catalog_list(request: web.Request) -> web.Response:
    """Every current dataset, or those matching the search words."""
    account = account_of(request)
    query = request.query.get("q", "")
    owner = account.department if account.role == "dept_admin" else request.query.get("owner", "")
    found = await app_of(request).catalog.list_datasets(owner=owner, words=query, limit=500)
    departments = await app_of(request).catalog.list_departments()
    return render(
        request,
        "catalog.html",
        {"datasets": [s.dataset for s in found], "q": query, "owner": owner, "departments": departments},
    )


@routes.get("/catalog/new")
async def dataset_new(request: web.Request) -> web.Response:
    """An empty registration form."""
    return await _form(request, blank_dataset(account_of(request).department), editing=False)


@routes.get("/catalog/{code}")
async def dataset_page(request: web.Request) -> web.Response:
    """Schema with sensitivity classes, version history and the grants on one dataset."""
    code = request.match_info["code"]
    version = request.query.get("version", "")
    ds = await app_of(request).registry.get_dataset(code, version)
    versions = await app_of(request).catalog.list_dataset_versions(code)
    caller = account_of(request).caller
    # The grants are shown to whom the policy lets list them (a supervisor reads the catalog, not the grants).
    grants = (
        await app_of(request).registry.list_grants(caller, dataset=code, include_inactive=True, limit=500)
        if decide(caller, "grants.list").allowed
        else []
    )
    return render(
        request,
        "dataset.html",
        {"ds": ds, "versions": versions, "grants": grants, "now_us": now_us()},
    )


@routes.get("/catalog/{code}/edit")
async def dataset_edit(request: web.Request) -> web.Response:
    """The registration form filled with the current version."""
    # The form is for the dataset's own department (or a hub admin): the registry decides and logs a refusal.
    ds = await app_of(request).registry.dataset_to_edit(request.match_info["code"], account_of(request).caller)
    return await _form(request, dataset_form_values(dataset_to_dict(ds)), editing=True)


@routes.post("/catalog/save")
async def dataset_save(request: web.Request) -> web.Response:
    """Register from the form, with the same parsing and version rules as the CLI and the API."""
    form = await request.post()
    spec = dataset_spec_from_form(form)
    editing = form.get("editing") == "1"
    if "add_field" in form:  # the "add a field" button without JavaScript: the same form, one more empty row
        return await _form(request, dataset_form_values(spec, blank_rows=blank_rows_in(form) + 1), editing=editing)
    return await _register(request, spec, editing=editing)


@routes.post("/catalog/upload")
async def dataset_upload(request: web.Request) -> web.Response:
    """Register from an uploaded YAML or JSON file (or pasted text)."""
    form = await request.post()
    upload = form.get("spec_file")
    raw = upload.file.read(MAX_UPLOAD_BYTES + 1) if isinstance(upload, web.FileField) else b""
    if len(raw) > MAX_UPLOAD_BYTES:
        return await _upload_failed(request, text("catalog.upload_too_big"))
    content = raw.decode("utf-8", "replace") if raw else str(form.get("spec_text", ""))
    if not content.strip():
        return await _upload_failed(request, text("catalog.upload_empty"))
    try:
        spec = spec_from_text(content, "Dataset")
    except InvalidArgument as error:
        return await _upload_failed(request, error.message)
    return await _register(request, spec, editing=False)


def _breaking_violations(error: FailedPrecondition, spec: dict[str, Any]) -> list[FieldViolation]:
    """Put a refused breaking change next to the fields it concerns and the version to use instead."""
    rows = [str(row.get("name", "")) for row in spec.get("schema", {}).get("fields", []) if isinstance(row, dict)]
    found = []
    for name in filter(None, error.metadata.get("fields", "").split(",")):
        where = f"schema.fields[{rows.index(name)}].name" if name in rows else "schema.fields"
        found.append(FieldViolation(where, text("catalog.breaking_field", field=name)))
    found.append(
        FieldViolation("version", text("catalog.breaking_version", version=error.metadata.get("required_version", "")))
    )
    return found


async def _upload_failed(request: web.Request, message: str) -> web.Response:
    return await _form(request, blank_dataset(account_of(request).department), editing=False, upload_error=message)


async def _register(request: web.Request, spec: dict[str, Any], *, editing: bool) -> web.Response:
    try:
        ds = parse_dataset(spec)
        stored, result = await app_of(request).registry.register_dataset(ds, account_of(request).caller)
    except InvalidArgument as error:
        return await _form(request, dataset_form_values(spec), editing=editing, error=error, status=400)
    except FailedPrecondition as error:
        if error.reason != "BREAKING_SCHEMA_CHANGE":
            raise
        shown = InvalidArgument(error.message, reason=error.reason, violations=_breaking_violations(error, spec))
        return await _form(request, dataset_form_values(spec), editing=editing, error=shown, status=409)
    url = local_path(request, f"/catalog/{stored.code}")
    raise web.HTTPSeeOther(f"{url}?outcome={result.outcome}")


async def _form(
    request: web.Request,
    values: dict[str, Any],
    *,
    editing: bool,
    error: ExchangeError | None = None,
    upload_error: str = "",
    status: int = 200,
) -> web.Response:
    account = account_of(request)
    departments = await app_of(request).catalog.list_departments()
    owners = [d for d in departments if account.role == "hub_admin" or d.code == account.department]
    errors = errors_by_field(error) if error else {}
    shown = {name for name in errors if name in _input_names(values)}
    return render(
        request,
        "dataset_form.html",
        {
            "v": values,
            "editing": editing,
            "owners": owners,
            "choices": DATASET_CHOICES,
            "catalogue_choices": CATALOGUE_CHOICES,
            "sensitivities": SENSITIVITIES,
            "error": error,
            "errors": errors,
            # Violations with no input of their own are listed at the top of the form.
            "other_errors": {k: v for k, v in errors.items() if k not in shown},
            "upload_error": upload_error,
        },
        status=status,
    )


def _input_names(values: dict[str, Any]) -> set[str]:
    names = {k for k in values if k != "fields"} | {"schema", "schema.fields"}
    for i, _ in enumerate(values["fields"]):
        names |= {f"schema.fields[{i}]{key}" for key in ("", ".name", ".type", ".sensitivity", ".description")}
    return names
