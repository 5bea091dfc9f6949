"""exchange.wire copies fields by name between messages and dataclasses, and refuses to guess a conversion."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from exchange.client_access import Grant
from exchange.client_cases import MaterialInfo
from exchange.client_notify import EventInfo
from exchange.v1 import access_pb2, cases_pb2, notifications_pb2, tickets_pb2
from exchange.wire import from_message, to_message


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
