"""A CLI profile file is read with the catalog's SpecReader: a mistake in it reads as in any spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.cli.common import Profile
from exchange.errors import InvalidArgument


def profile_problems(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidArgument) as raised:
        Profile.load(path)
    assert raised.value.reason == "CLI_PROFILE_INVALID"
    return {v.field: v.description for v in raised.value.violations}


def test_a_profile_mistake_reads_like_the_same_mistake_in_any_spec(tmp_path: Path) -> None:
    found = profile_problems(tmp_path, "hub: 127.0.0.1:1\ndepartmnet: SVC\nofficer: 12\nroles: [officer, 5]\n")
    assert found == {
        "departmnet": "unknown key; allowed: hub, department, officer, key, roles, ca, cert, client_key, "
        "server_name, token_key, tls_key",
        "officer": 'expected a string, found the number 12; quote it ("12")',
        "roles[1]": "expected a string, found '5'",
    }


def test_a_profile_that_is_not_a_mapping_is_named_like_any_spec(tmp_path: Path) -> None:
    assert profile_problems(tmp_path, "- hub\n") == {"(top)": "expected an object, found array"}


def test_a_profile_reads_its_aliases_roles_and_relative_files(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("department: SVC\ntoken_key: svc.key\nroles: officer, case_officer\n", encoding="utf-8")
    profile = Profile.load(path)
    assert profile.department == "SVC" and profile.key == str(tmp_path / "svc.key")
    assert profile.roles == ("officer", "case_officer")
    assert Profile.load(tmp_path / "p.yaml").hub == "127.0.0.1:50051"


def test_a_profile_that_is_not_yaml_reads_like_any_spec_file(tmp_path: Path) -> None:
    from catalog.yaml_io import load_spec_text

    path = tmp_path / "p.yaml"
    path.write_text("roles: [officer\n", encoding="utf-8")
    with pytest.raises(InvalidArgument) as as_spec:
        load_spec_text(path.read_text(), str(path))
    with pytest.raises(InvalidArgument) as raised:
        Profile.load(path)
    assert raised.value.reason == "CLI_PROFILE_INVALID"
    assert raised.value.message == as_spec.value.message
