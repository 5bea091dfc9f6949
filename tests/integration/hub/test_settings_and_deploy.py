"""Settings are validated at start-up, and the shipped deployment example loads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from exchange.config import Settings, load_settings
from exchange.errors import InvalidArgument

ROOT = Path(__file__).resolve().parents[3]


def test_deploy_example_configuration_loads_and_is_secure_by_default():
    settings = load_settings(ROOT / "deploy" / "hub.yaml", environ={})
    assert settings.insecure_dev is False
    assert settings.grpc_listen.endswith(":50051")
    assert settings.path(settings.tls_cert) == Path("/var/lib/exchange/pki/server.crt")


def test_environment_overrides_the_file():
    settings = load_settings(
        ROOT / "deploy" / "hub.yaml", environ={"EXCHANGE_DATABASE_URL": "postgresql://db/exchange"}
    )
    assert settings.database_url == "postgresql://db/exchange"


def test_a_bad_setting_is_named_in_the_error(tmp_path):
    path = tmp_path / "hub.yaml"
    path.write_text("grpc_listen: '50051'\nadapter_retries: many\ncheckpoint_intervall: 3\n")
    with pytest.raises(InvalidArgument) as raised:
        load_settings(path, environ={})
    fields = {v.field for v in raised.value.violations}
    # Every wrong setting at once: the bad listen address too, not only the ones that failed to convert.
    assert fields == {"grpc_listen", "adapter_retries", "checkpoint_intervall"}
    assert any(v.description.startswith("unknown key; allowed: ") for v in raised.value.violations)


def test_values_are_checked_after_conversion(tmp_path):
    with pytest.raises(InvalidArgument) as raised:
        load_settings(None, environ={"EXCHANGE_GRPC_LISTEN": "50051", "EXCHANGE_TOKEN_MAX_LIFETIME_SECONDS": "3600"})
    fields = {v.field for v in raised.value.violations}
    assert fields == {"grpc_listen", "token_max_lifetime_seconds"}


async def test_missing_tls_files_name_the_setting(tmp_path):
    from exchange.server import start_hub

    settings = load_settings(None, environ={}, data_dir=str(tmp_path), grpc_listen="127.0.0.1:0", http_listen="")
    with pytest.raises(InvalidArgument) as refused:
        await start_hub(settings)
    assert refused.value.violations[0].field in {"tls_client_ca", "tls_cert", "tls_key"}
    assert "exchange init" in refused.value.message


def test_hub_department_must_be_a_department_code(tmp_path):
    assert load_settings(None, environ={}).hub_department == "HUB"
    with pytest.raises(InvalidArgument) as raised:
        load_settings(None, environ={"EXCHANGE_HUB_DEPARTMENT": "hub admins"})
    assert [v.field for v in raised.value.violations] == ["hub_department"]


def settings_problems(text: str, environ: dict[str, str] | None = None, tmp_path: Path | None = None) -> dict[str, str]:
    assert tmp_path is not None
    path = tmp_path / "hub.yaml"
    path.write_text(text)
    with pytest.raises(InvalidArgument) as raised:
        load_settings(path, environ=environ or {})
    assert raised.value.reason == "SETTINGS"
    return {v.field: v.description for v in raised.value.violations}


def test_a_settings_mistake_reads_like_the_same_mistake_in_any_spec(tmp_path):
    """Settings are read with the catalog's SpecReader: an unknown key or a wrong type alike."""
    found = settings_problems(
        "checkpoint_intervall: 3\nadapter_retries: many\nhub_name: 5\ninsecure_dev: maybe\n"
        "adapter_timeout_seconds: soon\n",
        tmp_path=tmp_path,
    )
    known = ", ".join(f.name for f in dataclasses.fields(Settings))
    assert found == {
        "checkpoint_intervall": f"unknown key; allowed: {known}",
        "adapter_retries": "expected an integer of 0 or more, found 'many'",
        "hub_name": 'expected a string, found the number 5; quote it ("5")',
        "insecure_dev": "expected true or false, found string",
        "adapter_timeout_seconds": "expected a number of 0 or more, found 'soon'",
    }


def test_an_environment_variable_that_does_not_convert_reads_like_the_file_value(tmp_path):
    from_env = settings_problems("", {"EXCHANGE_ADAPTER_RETRIES": "many"}, tmp_path=tmp_path)
    from_file = settings_problems("adapter_retries: many\n", tmp_path=tmp_path)
    assert from_env == from_file == {"adapter_retries": "expected an integer of 0 or more, found 'many'"}
    assert settings_problems("- grpc_listen\n", tmp_path=tmp_path) == {"(top)": "expected an object, found array"}
    assert (
        load_settings(None, environ={"EXCHANGE_ADAPTER_RETRIES": "3", "EXCHANGE_INSECURE_DEV": "yes"}).adapter_retries
        == 3
    )


def test_a_settings_file_that_is_not_yaml_reads_like_any_spec_file(tmp_path):
    from catalog.yaml_io import load_spec_text

    path = tmp_path / "hub.yaml"
    path.write_text("grpc_listen: [127.0.0.1:50051\n")
    with pytest.raises(InvalidArgument) as as_spec:
        load_spec_text(path.read_text(), str(path))
    with pytest.raises(InvalidArgument) as raised:
        load_settings(path, environ={})
    assert raised.value.reason == "SETTINGS"
    assert raised.value.message == as_spec.value.message
    assert raised.value.message.startswith(f"{path}, line 2 column 1: invalid YAML: ")
