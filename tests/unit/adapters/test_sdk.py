"""The SDK's pure parts: licence status, document checks, Arrow IPC chunking, batch conformance."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pyarrow as pa
import pytest

from adapters.ipc import batch_messages, read_batch, read_schema, schema_message
from adapters.sdk import Adapter, LicenceStatus, document_violations
from adapters.sources.base import UpstreamDataInvalid
from adapters.sources.filters import RowFilter
from catalog.model import Dataset
from catalog.specs import parse_dataset
from catalog.yaml_io import load_spec_file
from exchange.demo.data import synthetic_register
from exchange.errors import DataLoss, InvalidArgument

SPECS = Path(__file__).resolve().parents[3] / "examples" / "catalog" / "datasets"
REGISTER = parse_dataset(load_spec_file(SPECS / "enterprise_register.yaml")["spec"])
LICENCE = parse_dataset(load_spec_file(SPECS / "business_licence.yaml")["spec"])


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (LicenceStatus(True, "01", dt.date(2030, 1, 1)), True),
        (LicenceStatus(True, "01", None), True),
        (LicenceStatus(True, "01", dt.date(2026, 1, 1)), True),
        (LicenceStatus(True, "01", dt.date(2025, 12, 31)), False),
        (LicenceStatus(True, "02", dt.date(2030, 1, 1)), False),
        (LicenceStatus(True, "03"), False),
        (LicenceStatus(False), False),
    ],
)
def test_a_licence_is_valid_only_with_status_01_until_its_last_day(status: LicenceStatus, expected: bool) -> None:
    assert status.valid_on(dt.date(2026, 1, 1)) is expected


def test_document_violations_name_the_field_and_a_key_that_is_not_the_one_asked_for() -> None:
    document = {
        "unified_social_credit_code": "91110105MA01ABCD26",
        "name": 7,
        "company_type": "llc",
        "legal_representative": "Wang Fang",
        "established_on": "2019-02-30",
        "address": "x",
        "registration_authority": "y",
        "status": "01",
    }
    fields = {v.field for v in document_violations(LICENCE, "91110105MA01ABCD13", document)}
    assert fields == {"name", "established_on", "licence_id", "unified_social_credit_code"}


def test_an_adapter_serves_only_its_own_departments_datasets() -> None:
    with pytest.raises(InvalidArgument) as err:
        Adapter("PSB", [LICENCE])
    assert err.value.reason == "DATASET_NOT_OWNED"


def test_batch_messages_are_at_most_the_limit_and_round_trip() -> None:
    batch = synthetic_register(20_000, name_chars=100).to_batches()[0]
    schema_bytes = schema_message(batch.schema)
    messages = list(batch_messages(batch, 256 * 1024))
    assert len(messages) > 4 and all(len(m) <= 256 * 1024 + 4096 for _, m in messages)
    schema = read_schema(schema_bytes, "test")
    rebuilt = pa.Table.from_batches([read_batch(m, schema, "test") for _, m in messages])
    assert rebuilt.equals(pa.Table.from_batches([batch])) and sum(r for r, _ in messages) == 20_000


def test_garbage_ipc_is_data_loss_naming_the_sender() -> None:
    with pytest.raises(DataLoss) as err:
        read_schema(b"not arrow", "the adapter of SAMR")
    assert "SAMR" in err.value.message


async def test_scan_batches_are_cast_to_the_catalog_schema_or_refused_naming_the_column() -> None:
    class Loose(Adapter):
        def __init__(self, employees: pa.Array) -> None:
            super().__init__("SAMR", [REGISTER])
            self.employees = employees

        async def scan(
            self, dataset: Dataset, columns: Sequence[str] | None, row_filter: RowFilter | None, batch_rows: int = 1
        ) -> AsyncIterator[pa.RecordBatch]:
            yield pa.RecordBatch.from_arrays([self.employees], names=["employees"])

    schema, batches = Loose(pa.array([1, 2], pa.int64())).checked_scan("enterprise_register", ["employees"], "", 10)
    assert [b.schema.field("employees").type async for b in batches] == [pa.int32()]
    _, broken = Loose(pa.array(["many"])).checked_scan("enterprise_register", ["employees"], "", 10)
    with pytest.raises(UpstreamDataInvalid) as err:
        _ = [b async for b in broken]
    assert [v.field for v in err.value.violations] == ["employees"]
    assert schema.names == ["employees"]
