"""A correctly signed but old answer (a replay, or an adapter whose clock drifted) is refused and logged."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from adapters.server import start_provider
from adapters.signing import DocumentSigner, SignedDocument
from exchange.auth.keys import generate_ed25519, key_id
from exchange.errors import DataLoss
from exchange.testing import HubFixture

from .hubsetup import CONSUMER, example_dataset, grant, open_case
from .test_provider_server import GOOD, Registry


class BackdatingSigner(DocumentSigner):
    """Signs with the department's real key, but as of an hour ago."""

    def sign(
        self, dataset: str, version: str, key: str, document: Mapping[str, Any], issued_at_us: int | None = None
    ) -> SignedDocument:
        return super().sign(dataset, version, key, document, time.time_ns() // 1000 - 3600 * 1_000_000)


async def test_an_hour_old_signature_is_refused_as_not_fresh(hub: HubFixture, tmp_path: Path) -> None:
    key = generate_ed25519()
    adapter = await start_provider(
        Registry([example_dataset("business_licence")]),
        BackdatingSigner("SAMR", key_id(key.public_key()), key),
        listen="127.0.0.1:0",
        tls=hub.adapter_tls("SAMR"),
    )
    try:
        await hub.add_department(
            "SAMR", adapter_endpoint=f"127.0.0.1:{adapter.port}", signing_public_key=key.public_key()
        )
        await hub.add_department(CONSUMER)
        await hub.register_example_dataset("business_licence")
        needed = [{"dataset": "business_licence", "fields": ["unified_social_credit_code", "name", "status"]}]
        await hub.register_example_item(
            "restaurant_permit", lead_department=CONSUMER, co_reviewers=[], required_materials=needed
        )
        await grant(hub, "business_licence", ("unified_social_credit_code", "name", "status"))
        case_id = await open_case(hub, "restaurant_permit", CONSUMER, GOOD)
        with pytest.raises(DataLoss) as refused:
            await hub.client(CONSUMER).fetch("business_licence", GOOD, case_id=case_id)
        assert refused.value.reason == "DOCUMENT_NOT_FRESH" and "3600 s" in refused.value.message
        entry = (await hub.log_entries())[-1]
        assert (entry.action, entry.reason, entry.fields) == ("exchange.fetch", "DOCUMENT_NOT_FRESH", ())
    finally:
        await adapter.stop(grace=0)
