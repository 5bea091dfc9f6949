"""Departments (register, edit, add and retire keys) and service items (list, register, edit)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import yaml
from aiohttp import web

from catalog.model import AdminLevel, Department, DepartmentKey, DepartmentStatus, KeyUse
from catalog.specs import department_to_dict, parse_department, parse_service_item, service_item_to_dict
from exchange.app.parsing import spec_from_text
from exchange.auth.keys import algorithm_for, key_id, load_public_key
from exchange.console.convert import LEVELS
from exchange.console.core import account_of, app_of, errors_by_field, form_error, local_path, render
from exchange.console.strings import text
from exchange.errors import FieldViolation, InvalidArgument, NotFound

routes = web.RouteTableDef()
KEY_USES = tuple(u.value for u in KeyUse)
STATUSES = tuple(s.value for s in DepartmentStatus)


@routes.get("/departments")
async def departments_list(request: web.Request) -> web.Response:
    """Every department with its status and number of active keys."""
    departments = await app_of(request).catalog.list_departments()
    return render(request, "departments.html", {"departments": departments, "levels": LEVELS, "errors": {}, "v": {}})


@routes.post("/departments")
async def department_register(request: web.Request) -> web.Response:
    """Register a department, or edit the names, level, region and adapter of one."""
    form = await request.post()
    fields = ("code", "name", "name_en", "level", "region_code", "adapter_endpoint")
    values = {k: str(form.get(k, "")).strip() for k in fields}
    try:
        level = AdminLevel(values["level"]) if values["level"] in LEVELS else None
        if level is None:
            raise form_error(text("dept.choose_level"), FieldViolation("level", text("common.one_of", options=LEVELS)))
        try:
            existing: Department | None = await app_of(request).registry.get_department(values["code"])
        except NotFound:
            existing = None
        data: dict[str, Any] = department_to_dict(replace(existing, keys=())) if existing else {}
        # Emptied optional fields are removed (an emptied English name: English readers read the Chinese one).
        optional = ("name_en", "adapter_endpoint")
        data.update({k: v for k, v in values.items() if v or k in optional})
        for key in optional:
            if not data.get(key):
                data.pop(key, None)
        dept = parse_department(data)
        await app_of(request).registry.register_department(dept, account_of(request).caller)
    except InvalidArgument as error:
        departments = await app_of(request).catalog.list_departments()
        return render(
            request,
            "departments.html",
            {
                "departments": departments,
                "levels": LEVELS,
                "errors": errors_by_field(error),
                "error": error,
                "v": values,
            },
            status=400,
        )
    raise web.HTTPSeeOther(local_path(request, f"/departments/{dept.code}"))


@routes.get("/departments/{code}")
async def department_page(request: web.Request) -> web.Response:
    """One department with its keys (active and retired)."""
    return await _department_page(request, request.match_info["code"])


async def _department_page(
    request: web.Request, code: str, error: InvalidArgument | None = None, status: int = 200
) -> web.Response:
    dept = await app_of(request).registry.get_department(code)
    keys = await app_of(request).catalog.list_keys(code)
    account = account_of(request)
    may_change = account.role == "hub_admin" or (account.role == "dept_admin" and account.department == code)
    return render(
        request,
        "department.html",
        {
            "dept": dept,
            "keys": keys,
            "may_change": may_change,
            "levels": LEVELS,
            "statuses": STATUSES,
            "error": error,
            "errors": errors_by_field(error) if error else {},
        },
        status=status,
    )


@routes.post("/departments/{code}/keys")
async def key_add(request: web.Request) -> web.Response:
    """Add a public key (PEM); its kid is the key's thumbprint unless one is given."""
    code = request.match_info["code"]
    form = await request.post()
    pem = str(form.get("public_key_pem", "")).strip() + "\n"
    use = str(form.get("use", ""))
    try:
        if use not in KEY_USES:
            raise form_error(text("key.choose_use"), FieldViolation("use", text("common.one_of", options=KEY_USES)))
        try:
            public = load_public_key(pem)
        except InvalidArgument as error:
            raise InvalidArgument(
                error.message, reason=error.reason, violations=[FieldViolation("public_key_pem", error.message)]
            ) from None
        kid = str(form.get("kid", "")).strip() or key_id(public)
        key = DepartmentKey(kid, KeyUse(use), algorithm_for(public), pem)
        await app_of(request).registry.add_key(code, key, account_of(request).caller)
    except InvalidArgument as error:
        return await _department_page(request, code, error, 400)
    raise web.HTTPSeeOther(local_path(request, f"/departments/{code}"))


@routes.post("/departments/{code}/status")
async def department_status(request: web.Request) -> web.Response:
    """Suspend, revoke or reactivate a department, with the reason (its officers are refused at once)."""
    code = request.match_info["code"]
    form = await request.post()
    status, reason = str(form.get("status", "")), str(form.get("reason", "")).strip()
    try:
        if status not in STATUSES:
            raise form_error(
                text("dept.choose_status"), FieldViolation("status", text("common.one_of", options=STATUSES))
            )
        if not reason:
            raise form_error(text("dept.reason_required"), FieldViolation("reason", text("dept.reason_required")))
        await app_of(request).registry.set_department_status(
            code, DepartmentStatus(status), reason, account_of(request).caller
        )
    except InvalidArgument as error:
        return await _department_page(request, code, error, 400)
    raise web.HTTPSeeOther(local_path(request, f"/departments/{code}"))


@routes.get("/departments/{code}/keys/{kid}/retire")
async def key_retire_confirm(request: web.Request) -> web.Response:
    """Ask before retiring: tokens signed with the key stop working at once."""
    info = request.match_info
    dept, key = await app_of(request).registry.key_to_retire(info["code"], info["kid"], account_of(request).caller)
    return render(request, "key_retire.html", {"dept": dept, "key": key})


@routes.post("/departments/{code}/keys/{kid}/retire")
async def key_retire(request: web.Request) -> web.Response:
    """Retire a key: tokens and signatures made with it are refused from now on."""
    code = request.match_info["code"]
    await app_of(request).registry.retire_key(code, request.match_info["kid"], account_of(request).caller)
    raise web.HTTPSeeOther(local_path(request, f"/departments/{code}"))


@routes.get("/items")
async def items_list(request: web.Request) -> web.Response:
    """Every service item with its lead department and time limit; ``?code=`` finds one by a national code."""
    national_code = request.query.get("code", "").strip()
    items = await app_of(request).catalog.list_service_items(national_code=national_code, limit=1000)
    return render(request, "items.html", {"items": items, "code": national_code})


@routes.get("/items/new")
async def item_new(request: web.Request) -> web.Response:
    """An empty service item spec to fill in."""
    return render(request, "item_form.html", {"spec_text": _ITEM_TEMPLATE, "error": None})


@routes.get("/items/{code}")
async def item_page(request: web.Request) -> web.Response:
    """A service item, its required materials and, for hub admins, its spec to edit."""
    item = await app_of(request).registry.get_service_item(request.match_info["code"])
    spec_text = yaml.safe_dump(service_item_to_dict(item), sort_keys=False, allow_unicode=True)
    return render(request, "item.html", {"item": item, "spec_text": spec_text})


@routes.post("/items")
async def item_save(request: web.Request) -> web.Response:
    """Register or edit a service item from its YAML spec (the file the CLI registers)."""
    form = await request.post()
    spec_text = str(form.get("spec_text", ""))
    try:
        item = parse_service_item(spec_from_text(spec_text, "ServiceItem"))
        await app_of(request).registry.register_service_item(item, account_of(request).caller)
    except InvalidArgument as error:
        return render(request, "item_form.html", {"spec_text": spec_text, "error": error}, status=400)
    raise web.HTTPSeeOther(local_path(request, f"/items/{item.code}"))


_ITEM_TEMPLATE = """kind: ServiceItem
spec:
  code: example_permit
  name: Example permit
  lead_department: SAMR
  time_limit_days: 10
  co_reviewers: []
  required_materials:
    - {dataset: business_licence, fields: [name, status]}
"""
