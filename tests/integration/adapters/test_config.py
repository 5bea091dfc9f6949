"""Adapter configuration: the example files load, bad settings are named, sources are built from it."""

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.config import (
    FileSourceConfig,
    RestSourceConfig,
    SqlSourceConfig,
    build_source,
    load_adapter_config,
    load_dataset,
    load_signer,
    parse_adapter_config,
)
from adapters.signing import verify_document
from adapters.sources import FileSource, RestSource, SqlSource
from exchange.errors import InvalidArgument

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "adapters"
ENV = {"SAMR_REGISTRY_TOKEN": "Bearer example-token"}


def violations(err: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in err.value.violations}


@pytest.mark.parametrize(
    ("name", "department", "config_type", "source_type"),
    [
        ("psb-sql.yaml", "PSB", SqlSourceConfig, SqlSource),
        ("mnr-files.yaml", "MNR", FileSourceConfig, FileSource),
        ("fire-csv.yaml", "FIRE", FileSourceConfig, FileSource),
    ],
)
async def test_example_configs_load_and_build_their_sources(
    name: str, department: str, config_type: type, source_type: type
) -> None:
    cfg = load_adapter_config(EXAMPLES / name, env=ENV)
    assert cfg.department == department
    assert cfg.tls is not None and cfg.tls.client_ca is not None
    (ds,) = cfg.datasets
    assert isinstance(ds.source, config_type)
    dataset = load_dataset(ds)
    assert (dataset.code, dataset.version) == (ds.dataset, ds.version)
    source = build_source(ds, dataset.schema.arrow_schema())
    assert isinstance(source, source_type)
    await source.close()


def test_rest_example_without_its_tls_files_fails_at_start_up_naming_the_setting() -> None:
    cfg = load_adapter_config(EXAMPLES / "samr-rest.yaml", env=ENV)
    (ds,) = cfg.datasets
    with pytest.raises(InvalidArgument) as err:
        build_source(ds, load_dataset(ds).schema.arrow_schema())
    assert "datasets[0].source.tls" in violations(err)


async def test_rest_example_builds_a_rest_source_once_tls_files_are_dropped(tmp_path: Path) -> None:
    example = yaml.safe_load((EXAMPLES / "samr-rest.yaml").read_text())
    del example["datasets"][0]["source"]["tls"]
    example["datasets"][0]["source"]["base_url"] = "http://127.0.0.1:1"
    cfg = parse_adapter_config(example, EXAMPLES, env=ENV)
    ds = cfg.datasets[0]
    source = build_source(ds, load_dataset(ds).schema.arrow_schema())
    assert isinstance(source, RestSource)
    await source.close()


def test_rest_example_takes_the_token_from_the_environment() -> None:
    cfg = load_adapter_config(EXAMPLES / "samr-rest.yaml", env=ENV)
    source = cfg.datasets[0].source
    assert isinstance(source, RestSourceConfig)
    assert source.headers["Authorization"] == "Bearer example-token"
    assert source.cert_file is not None and source.cert_file.is_absolute()


def test_missing_environment_variable_is_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        load_adapter_config(EXAMPLES / "samr-rest.yaml", env={})
    assert "datasets[0].source.headers_from_env.Authorization" in violations(err)


def test_sqlite_path_is_relative_to_the_config_file() -> None:
    cfg = load_adapter_config(EXAMPLES / "psb-sql.yaml", env=ENV)
    source = cfg.datasets[0].source
    assert isinstance(source, SqlSourceConfig)
    assert str(EXAMPLES / "data" / "psb-population.db") in source.url


def minimal(**dataset_source: Any) -> dict[str, Any]:
    return {
        "department": "PSB",
        "insecure_dev": True,
        "signing": {"key_file": "k.pem", "kid": "psb-1"},
        "datasets": [
            {
                "dataset": "a",
                "version": "1.0",
                "spec": "a.yaml",
                "source": {"type": "files", "path": "a.parquet", "key_column": "k"},
            },
            {"dataset": "b", "version": "1.0", "spec": "b.yaml", "source": dataset_source},
        ],
    }


def test_every_wrong_setting_is_named_at_once(tmp_path: Path) -> None:
    data = minimal(type="sql", table="x; drop", key_column="id", timeout_seconds=-1)
    data["listen"] = "not an address"
    data["colour"] = "blue"
    with pytest.raises(InvalidArgument) as err:
        parse_adapter_config(data, tmp_path, env={})
    found = violations(err)
    assert err.value.reason == "ADAPTER_CONFIG_INVALID"
    assert found["datasets[1].source.url"] == "required"
    assert "datasets[1].source.table" in found
    assert "datasets[1].source.timeout_seconds" in found
    assert "listen" in found and "colour" in found


def test_unknown_source_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_adapter_config(minimal(type="ftp"), tmp_path, env={})
    assert "datasets[1].source.type" in violations(err)


def test_inline_credentials_are_refused(tmp_path: Path) -> None:
    data = minimal(
        type="rest", base_url="https://x.example", lookup_path="/r/{key}", headers={"Authorization": "Bearer hunter2"}
    )
    with pytest.raises(InvalidArgument) as err:
        parse_adapter_config(data, tmp_path, env={})
    assert "datasets[1].source.headers.Authorization" in violations(err)


def test_credentials_from_environment_references_are_accepted(tmp_path: Path) -> None:
    data = minimal(
        type="rest", base_url="https://x.example", lookup_path="/r/{key}", headers={"Authorization": "Bearer ${TOKEN}"}
    )
    cfg = parse_adapter_config(data, tmp_path, env={"TOKEN": "t0k"})
    source = cfg.datasets[1].source
    assert isinstance(source, RestSourceConfig) and source.headers["Authorization"] == "Bearer t0k"


def test_plain_text_needs_insecure_dev_said_out_loud(tmp_path: Path) -> None:
    data = minimal(type="files", path="b.csv", key_column="k")
    del data["insecure_dev"]
    with pytest.raises(InvalidArgument) as err:
        parse_adapter_config(data, tmp_path, env={})
    assert "insecure_dev" in violations(err)["tls"]


def test_tls_without_client_ca_is_refused_and_the_hub_identity_defaults(tmp_path: Path) -> None:
    data = minimal(type="files", path="b.csv", key_column="k")
    del data["insecure_dev"]
    data["tls"] = {"cert": "a.crt", "key": "a.key"}
    with pytest.raises(InvalidArgument) as err:
        parse_adapter_config(data, tmp_path, env={})
    assert "hub's CA" in violations(err)["tls.client_ca"]
    data["tls"] = {"cert": "a.crt", "key": "a.key", "client_ca": "ca.crt", "crl": "crl.pem"}
    tls = parse_adapter_config(data, tmp_path, env={}).tls
    assert tls is not None and tls.hub_identity == "urn:exchange:hub:exchange-hub"
    assert tls.crl == (tmp_path / "crl.pem").resolve()
    data["tls"]["hub_identity"] = "urn:exchange:department:FIRE"
    with pytest.raises(InvalidArgument) as err:
        parse_adapter_config(data, tmp_path, env={})
    assert "tls.hub_identity" in violations(err)


def test_lookup_path_without_key_placeholder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_adapter_config(minimal(type="rest", base_url="https://x.example", lookup_path="/r"), tmp_path, env={})
    assert "datasets[1].source.lookup_path" in violations(err)


def test_dataset_configured_twice_is_refused(tmp_path: Path) -> None:
    data = minimal(type="files", path="b.csv", key_column="k")
    data["datasets"][1]["dataset"] = "a"
    with pytest.raises(InvalidArgument) as err:
        parse_adapter_config(data, tmp_path, env={})
    assert "datasets[1].dataset" in violations(err)


def test_mapping_a_field_the_dataset_does_not_have_is_named() -> None:
    cfg = load_adapter_config(EXAMPLES / "mnr-files.yaml", env=ENV)
    ds = cfg.datasets[0]
    schema = load_dataset(ds).schema.arrow_schema()
    bad = FileSourceConfig(ds.source.path, "dzzzbs", {"no_such_field": "x"})  # type: ignore[union-attr]
    with pytest.raises(InvalidArgument) as err:
        build_source(type(ds)(ds.dataset, ds.version, ds.spec, bad, ds.setting), schema)
    assert "datasets[0].source.column_map.no_such_field" in violations(err)


async def test_configured_adapter_serves_a_signed_document_the_hub_can_verify(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    (tmp_path / "signing.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with sqlite3.connect(tmp_path / "pop.db") as conn:
        conn.execute(
            "CREATE TABLE residents (sfzh TEXT, xm TEXT, xb TEXT, csrq TEXT, mz TEXT, hjdz TEXT, zp TEXT, yxqz TEXT)"
        )
        conn.execute(
            "INSERT INTO residents VALUES ('110101199003070019', '张三', '1', '1990-03-07', NULL, "
            "'北京市东城区', NULL, '2030-01-01')"
        )
    conn.close()
    example = yaml.safe_load((EXAMPLES / "psb-sql.yaml").read_text())
    example["datasets"][0]["spec"] = str(EXAMPLES.parent / "catalog" / "datasets" / "identity_record.yaml")
    example["datasets"][0]["source"]["url"] = "sqlite+aiosqlite:///pop.db"
    example["datasets"][0]["source"]["column_map"]["photo_digest"] = "zp"
    example["signing"]["key_file"] = "signing.pem"
    (tmp_path / "adapter.yaml").write_text(yaml.safe_dump(example, allow_unicode=True))

    cfg = load_adapter_config(tmp_path / "adapter.yaml", env={})
    ds = cfg.dataset("identity_record")
    dataset = load_dataset(ds)
    source = build_source(ds, dataset.schema.arrow_schema())
    try:
        document = await source.lookup("110101199003070019")
    finally:
        await source.close()
    assert document is not None and document["name"] == "张三" and document["ethnicity"] is None
    assert dataset.schema.validate_document(document) == []
    signed = load_signer(cfg).sign(ds.dataset, ds.version, "110101199003070019", document)
    verify_document(signed, lambda issuer, kid: key.public_key() if (issuer, kid) == ("PSB", "psb-2026-01") else None)


def test_status_watch_is_seconds_zero_or_more(tmp_path: Path) -> None:
    for wrong in (-1, "often", True):
        data = minimal(type="files", path="b.parquet", key_column="k")
        data["status_watch_seconds"] = wrong
        with pytest.raises(InvalidArgument) as err:
            parse_adapter_config(data, tmp_path, env={})
        assert "status_watch_seconds" in violations(err)
