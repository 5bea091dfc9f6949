"""ListServiceItems pages in SQL by code (keyset): every page full but the last, none repeated, none lost."""

from __future__ import annotations

import grpc
import pytest

from catalog.model import ServiceItem
from exchange.app.catalog_queries import CatalogQueries
from exchange.auth.identity import Role
from exchange.clock import now_us
from exchange.errors import InvalidArgument
from exchange.storage import catalog_store
from exchange.v1 import common_pb2, items_pb2

ITEMS = 263


def _item(n: int) -> ServiceItem:
    # Every third item is led by SAMR, every fifth has SAMR among its co-reviewers; SAMRX must never match SAMR.
    lead = "SAMR" if n % 3 == 0 else "MNR"
    reviewers = ("SAMRX", "SAMR") if n % 5 == 0 and lead != "SAMR" else ("SAMRX",)
    return ServiceItem(f"item.{n:05d}", f"事项 {n}", lead, 20, co_reviewers=reviewers)


@pytest.fixture
async def many_items(any_backend_hub):
    hub = any_backend_hub
    async with hub.hub.db.begin() as conn:
        for n in range(ITEMS):
            await catalog_store.put_service_item(conn, _item(n), now_us())
    return hub


async def _all_pages(client, department: str, size: int) -> list[list[str]]:
    pages, token = [], ""
    while True:
        response = await client.call(
            client._stubs.items.ListServiceItems,
            items_pb2.ListServiceItemsRequest(
                department=department, page=common_pb2.PageRequest(page_size=size, page_token=token)
            ),
        )
        pages.append([i.code for i in response.items])
        token = response.page.next_page_token
        if not token:
            return pages


async def test_every_service_item_is_listed_once_in_code_order_across_pages(many_items):
    client = many_items.client("HUB", roles=[Role.OFFICER])
    pages = await _all_pages(client, "", 25)
    codes = [c for page in pages for c in page]
    assert codes == sorted(_item(n).code for n in range(ITEMS))
    assert all(len(page) == 25 for page in pages[:-1])


async def test_the_typed_client_follows_the_page_tokens_to_the_last_item(many_items):
    client = many_items.client("HUB", roles=[Role.OFFICER])
    listed = await client.list_service_items(page_size=40)
    assert [i.code for i in listed] == sorted(_item(n).code for n in range(ITEMS))
    samr = await client.list_service_items(department="SAMR", page_size=7)
    assert [i.code for i in samr] == sorted(_item(n).code for n in range(ITEMS) if n % 3 == 0 or n % 5 == 0)


async def test_a_department_filter_pages_only_the_items_it_leads_or_reviews(many_items):
    client = many_items.client("HUB", roles=[Role.OFFICER])
    pages = await _all_pages(client, "SAMR", 20)
    expected = sorted(_item(n).code for n in range(ITEMS) if n % 3 == 0 or n % 5 == 0)
    assert [c for page in pages for c in page] == expected
    assert all(len(page) == 20 for page in pages[:-1])
    assert 0 < len(pages[-1]) <= 20


async def test_the_application_pages_by_code_after_the_last_one_seen(many_items):
    queries = CatalogQueries(many_items.hub.db)
    first = await queries.list_service_items(limit=3)
    after = await queries.list_service_items(after=first[-1].code, limit=3)
    assert [i.code for i in first + after] == [_item(n).code for n in range(6)]


async def test_a_page_token_that_is_no_service_item_code_is_refused(many_items):
    client = many_items.client("HUB", roles=[Role.OFFICER])
    before = len(await many_items.log_entries())
    with pytest.raises(InvalidArgument) as refused:
        await client.call(
            client._stubs.items.ListServiceItems,
            items_pb2.ListServiceItemsRequest(page=common_pb2.PageRequest(page_token="NOT A CODE")),
        )
    assert refused.value.reason == "PAGE_TOKEN_INVALID"
    assert refused.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    (entry,) = [e for e in (await many_items.log_entries())[before:] if e.reason == "PAGE_TOKEN_INVALID"]
    assert (entry.action, entry.decision, entry.outcome) == ("items.list", "deny", "INVALID_ARGUMENT")
    assert (entry.caller_department, entry.subject_id) == ("HUB", "")
