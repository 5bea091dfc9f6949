"""exchange.wire copies fields by name between messages and dataclasses, and refuses to guess a conversion."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import pytest

from catalog.model import AdminLevel, Department, DepartmentKey, DepartmentStatus, KeyStatus, KeyUse
from exchange.auth.keys import generate_ed25519, public_key_to_pem
from exchange.client_access import Grant
from exchange.client_cases import MaterialInfo
from exchange.client_notify import EventInfo
from exchange.services.convert import department_from_proto
from exchange.v1 import access_pb2, cases_pb2, departments_pb2, notifications_pb2, tickets_pb2
from exchange.wire import department_to_proto, from_message, to_message

PEM = public_key_to_pem(generate_ed25519().public_key())


@dataclass(frozen=True)
class _StatusNumber:
    """Wants the wire number of an enum, which the copy will not guess."""

    status: int


def test_from_message_copies_scalars_and_makes_repeated_fields_tuples_and_maps_dicts() -> None:
    event = from_message(EventInfo, notifications_pb2.Event(id=7, kind="ticket", data={"case": "c-1"}))
    assert event == EventInfo(7, "ticket", "", "", 0, {"case": "c-1"})
    assert type(event.data) is dict
    grant = from_message(Grant, access_pb2.Grant(id="g", fields=["a", "b"]), status="active")
    assert (grant.id, grant.fields, grant.service_items, grant.status) == ("g", ("a", "b"), (), "active")


def test_from_message_says_an_enum_as_people_do_in_a_str_field() -> None:
    grant = from_message(Grant, access_pb2.Grant(id="g", status=access_pb2.GRANT_STATUS_REVOKED))
    assert grant.status == "revoked"


def test_from_message_refuses_an_enum_or_message_bound_for_anything_but_a_str() -> None:
    with pytest.raises(TypeError, match="status"):
        from_message(_StatusNumber, access_pb2.Grant(status=access_pb2.GRANT_STATUS_ACTIVE))
    with pytest.raises(TypeError, match="provenance"):
        from_message(MaterialInfo, cases_pb2.Material(case_id="c"))


def test_from_message_refuses_a_field_the_dataclass_lacks() -> None:
    with pytest.raises(TypeError, match="colour"):
        from_message(EventInfo, notifications_pb2.Event(id=1), colour="red")


def test_to_message_copies_what_the_source_has_and_leaves_the_rest_unset() -> None:
    ticket = to_message(tickets_pb2.Ticket, SimpleNamespace(id="t", fields=("x",), colour="red"))
    assert ticket == tickets_pb2.Ticket(id="t", fields=["x"])


def test_to_message_refuses_an_enum_it_is_not_given_and_takes_one_that_is() -> None:
    source = SimpleNamespace(id="g", fields=("a",), status="active")
    with pytest.raises(TypeError, match="status"):
        to_message(access_pb2.Grant, source)
    grant = to_message(access_pb2.Grant, source, status=access_pb2.GRANT_STATUS_ACTIVE)
    assert grant == access_pb2.Grant(id="g", fields=["a"], status=access_pb2.GRANT_STATUS_ACTIVE)


def test_to_message_refuses_a_field_the_message_lacks() -> None:
    with pytest.raises(TypeError, match="colour"):
        to_message(notifications_pb2.Event, SimpleNamespace(id=1), colour="red")


def test_a_department_goes_out_as_the_hub_reads_it_back() -> None:
    """The client's RegisterDepartment and the servicers' answers send a department one way (exchange.wire)."""
    department = Department(
        code="PSB",
        name="公安局",
        name_en="Public Security Bureau",
        level=AdminLevel.CITY,
        region_code="110100",
        status=DepartmentStatus.SUSPENDED,
        adapter_endpoint="psb-adapter:50061",
        keys=(
            DepartmentKey("k1", KeyUse.TOKEN, "EdDSA", PEM),
            DepartmentKey("k0", KeyUse.TOKEN, "EdDSA", PEM, KeyStatus.RETIRED),
        ),
    )
    sent = department_to_proto(department)
    assert (sent.name, sent.name_en) == ("公安局", "Public Security Bureau")
    assert sent.level == departments_pb2.ADMIN_LEVEL_CITY
    assert sent.status == departments_pb2.DEPARTMENT_STATUS_SUSPENDED
    assert [k.status for k in sent.keys] == [departments_pb2.KEY_STATUS_ACTIVE, departments_pb2.KEY_STATUS_RETIRED]
    assert department_from_proto(sent) == department
    assert (
        department_from_proto(department_to_proto(replace(department, adapter_endpoint=None))).adapter_endpoint is None
    )
