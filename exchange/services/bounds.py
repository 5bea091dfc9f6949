"""The edge check of every request: each string within its limit of `catalog.limits`.

Runs before a servicer sees the request, so no value the storage or the access log would refuse (too long for
its column, a NUL that PostgreSQL cannot store) gets as far as a shared log batch. Numbers are the domain's
to judge (a log index past the end is OUT_OF_RANGE, naming the log's size). Fields are matched by their
proto name, which means the same thing in every message (`case_id`, `dataset`, `key`...); a string field
named nowhere below gets the general text limit.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from catalog import limits
from catalog.limits import Limit
from exchange.errors import FieldViolation, InvalidArgument

# The limit of each string field of the hub's requests, by field name.
FIELD_LIMITS: dict[str, Limit] = {
    "access_request_id": limits.ACCESS_REQUEST_ID,
    "action": limits.ACTION,
    "adapter_endpoint": limits.ENDPOINT,
    "algorithm": limits.ALGORITHM,
    "applicant_id": limits.APPLICANT_ID,
    "applicant_kind": limits.STATUS,
    "basic_code": limits.NATIONAL_ITEM_CODE,
    "case_id": limits.CASE_ID,
    "co_reviewers": limits.DEPARTMENT_CODE,
    "code": limits.DATASET_CODE,  # dataset, service item or department codes: the longest of them
    "columns": limits.FIELD_NAME,
    "comment": limits.COMMENT,
    "consumer": limits.DEPARTMENT_CODE,
    "dataset": limits.DATASET_CODE,
    "department": limits.DEPARTMENT_CODE,
    "description": limits.DESCRIPTION,
    "fields": limits.FIELD_NAME,
    "filter": limits.SCAN_FILTER,
    "grant_id": limits.GRANT_ID,
    "implementation_code": limits.NATIONAL_ITEM_CODE,
    "id": limits.CASE_ID,  # case, grant and access-request ids share one length
    "justification": limits.JUSTIFICATION,
    "kind": limits.STATUS,
    "kinds": limits.STATUS,
    "key": limits.KEY,
    "key_field": limits.FIELD_NAME,
    "keywords": limits.NAME,
    "kid": limits.KID,
    "lead_department": limits.DEPARTMENT_CODE,
    "legal_basis": limits.LEGAL_BASIS,
    "name": limits.NAME,
    "national_code": limits.NATIONAL_ITEM_CODE,
    "note": limits.NOTE,
    "officer_id": limits.OFFICER_ID,
    "owner": limits.DEPARTMENT_CODE,
    "party_id": limits.APPLICANT_ID,
    "public_key_pem": limits.PUBLIC_KEY_PEM,
    "query": limits.SEARCH_QUERY,
    "reason": limits.REASON_TEXT,
    "reasons": limits.REASON_TEXT,
    "region_code": limits.REGION_CODE,
    "relation": limits.PARTY_RELATION,
    "request_id": limits.REQUEST_ID,
    "roles": limits.STATUS,  # each role name
    "service_item": limits.SERVICE_ITEM_CODE,
    "service_items": limits.SERVICE_ITEM_CODE,
    "spec_text": limits.SPEC_TEXT,
    "status_field": limits.FIELD_NAME,
    "subject_field": limits.FIELD_NAME,
    "subject_id": limits.SUBJECT_ID,
    "theme": limits.NAME,
    "title": limits.TITLE,
    "type": limits.NAME,
    "update_frequency": limits.NAME,
    "url": limits.ENDPOINT,
    "scheme": limits.STATUS,
    "validity_field": limits.FIELD_NAME,
    "version": limits.DATASET_VERSION,
    # The resource-catalogue fields of a dataset.
    "classification": limits.NAME,
    "open_attribute": limits.STATUS,
    "provider_code": limits.NATIONAL_ITEM_CODE,
    "publication_date": limits.STATUS,
    "resource_code": limits.NATIONAL_ITEM_CODE,
    "sharing_conditions": limits.LEGAL_BASIS,
    "sharing_method": limits.STATUS,
}
# Fields whose value names the subject (whose data) of a request, when it passed its check.
SUBJECT_FIELDS = ("key", "subject_id", "applicant_id")

_STRING = FieldDescriptor.TYPE_STRING
_MESSAGE = FieldDescriptor.TYPE_MESSAGE


def check_request(request: Message) -> None:
    """Refuse the first value of `request` beyond its limit with INVALID_ARGUMENT naming the field."""
    _check(request, "")


def subject_of(request: Message) -> str:
    """The request's subject (its key, subject or applicant id) when it has one in bounds, else ''."""
    for name in SUBJECT_FIELDS:
        field = request.DESCRIPTOR.fields_by_name.get(name)
        if field is None or field.type != _STRING or field.is_repeated:
            continue
        value = getattr(request, name)
        if value and FIELD_LIMITS[name].problem(value) is None:
            return str(value)
    return ""


def _check(message: Message, prefix: str) -> None:
    """Check every set string of a message, nested ones too; the path is only built for a refusal (every
    request passes here, so the common case is one dict lookup and one C-level test per string)."""
    for field, value in message.ListFields():
        kind = field.type
        if kind == _STRING:
            limit = FIELD_LIMITS.get(field.name, limits.OTHER_TEXT)
            if not field.is_repeated:
                if limit.problem(value) is not None:
                    raise _refusal(prefix + field.name, value, limit)
                continue
            if len(value) > limits.LIST_ITEMS_MAX:
                raise _too_many(prefix + field.name, len(value))
            for i, item in enumerate(value):
                if limit.problem(item) is not None:
                    raise _refusal(f"{prefix}{field.name}[{i}]", item, limit)
        elif kind == _MESSAGE:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                continue  # no request carries a map; a response type reused as input would
            if field.is_repeated:
                for i, item in enumerate(value):
                    _check(item, f"{prefix}{field.name}[{i}].")
            else:
                _check(value, f"{prefix}{field.name}.")


def _refusal(path: str, value: str, limit: Limit) -> InvalidArgument:
    error = limits.violation(path, value, limit)
    assert error is not None  # called only for a value that breaks its limit
    return error


def _too_many(path: str, count: int) -> InvalidArgument:
    return InvalidArgument(
        f"{path} has {count} items; at most {limits.LIST_ITEMS_MAX} are accepted",
        reason=limits.TOO_LONG,
        violations=[FieldViolation(path, f"at most {limits.LIST_ITEMS_MAX} items")],
    )
