"""An operator's CLI: profiles, token keys, status commands, readable output, help, exit codes, connection hints.

Each command runs in-process through click against a real hub on loopback (mTLS where TLS is the point).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from exchange.auth.keys import key_id, load_private_key, write_private_key
from exchange.auth.pki import init_pki, issue_department_certificate
from exchange.cli import cli
from exchange.testing import HubFixture, start_test_hub

HUB_NAME = "exchange-hub"


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), catch_exceptions=False)


def admin(hub: HubFixture, tmp_path: Path, department: str = "HUB", roles: str = "hub_admin") -> list[str]:
    """Identity options of an officer of `department`: its token key and its mTLS files (the test hub's CA)."""
    key = tmp_path / f"{department}-token.key"
    if not key.exists():
        write_private_key(key, hub.departments[department].token_key)
    tls_key, cert = hub.certificate_files(department)
    identity = ["--hub", hub.address, "--department", department, "--token-key", str(key), "--roles", roles]
    return [*identity, "--ca", str(hub.ca_cert), "--cert", str(cert), "--key", str(tls_key)]


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HubFixture]:
    fixture = await start_test_hub(tmp_path / "hub")
    try:
        yield fixture
    finally:
        await fixture.stop()


@pytest.fixture
async def tls_hub(tmp_path: Path) -> AsyncIterator[HubFixture]:
    pki = tmp_path / "hub" / "pki"
    init_pki(pki, hub_name=HUB_NAME)
    issue_department_certificate(pki, "SVC")
    fixture = await start_test_hub(tmp_path / "hub", insecure_dev=False)
    try:
        await fixture.add_department("SVC")
        yield fixture
    finally:
        await fixture.stop()


# --- connection ---------------------------------------------------------------------------------


async def test_a_tls_hub_called_without_tls_files_says_to_give_them(tls_hub: HubFixture, tmp_path: Path) -> None:
    key = tmp_path / "SVC-token.key"
    write_private_key(key, tls_hub.departments["SVC"].token_key)
    result = await invoke(
        "departments", "list", "--hub", tls_hub.address, "--department", "SVC", "--token-key", str(key)
    )
    assert result.exit_code == 3, result.output
    assert "probably:" in result.output and "--ca/--cert/--key" in result.output


async def test_nothing_listening_says_to_check_serve_and_hub(tmp_path: Path, hub: HubFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    result = await invoke("departments", "list", *admin(hub, tmp_path), "--hub", closed)
    assert result.exit_code == 3, result.output
    assert f"nothing answers at {closed}" in result.output and "exchange serve" in result.output


async def test_a_certificate_from_another_ca_says_to_check_the_ca(tls_hub: HubFixture, tmp_path: Path) -> None:
    rogue = tmp_path / "rogue"
    init_pki(rogue, hub_name="rogue-hub")
    issue_department_certificate(rogue, "SVC")
    key = tmp_path / "SVC-token.key"
    write_private_key(key, tls_hub.departments["SVC"].token_key)
    result = await invoke(
        "departments", "list", "--hub", tls_hub.address, "--department", "SVC", "--token-key", str(key),
        "--ca", str(tls_hub.settings.path(tls_hub.settings.tls_client_ca)),
        "--cert", str(rogue / "SVC.crt"), "--key", str(rogue / "SVC.key"), "--server-name", HUB_NAME,
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "probably:" in result.output and "--cert/--key" in result.output


# --- profiles -----------------------------------------------------------------------------------


async def test_profile_create_checks_its_files_and_the_token_key(tls_hub: HubFixture, tmp_path: Path) -> None:
    pki = tls_hub.settings.path(tls_hub.settings.tls_client_ca).parent
    key = tmp_path / "SVC-token.key"
    write_private_key(key, tls_hub.departments["SVC"].token_key)
    out = tmp_path / "svc.yaml"
    common = ["--out", str(out), "--hub", tls_hub.address, "--department", "SVC", "--officer", "zhang.san"]
    tls = ["--ca", str(pki / "ca.crt"), "--cert", str(pki / "SVC.crt"), "--server-name", "localhost"]

    missing = await invoke("profile", "create", *common, *tls, "--key", str(pki / "nope.key"), "--token-key", str(key))
    assert missing.exit_code == 2 and "--key: no such file" in missing.output and not out.exists()
    swapped = await invoke(
        "profile", "create", *common, *tls, "--key", str(pki / "SVC.key"), "--token-key", str(pki / "SVC.key")
    )
    assert swapped.exit_code == 2 and "not a token key" in swapped.output and not out.exists()

    made = await invoke(
        "profile", "create", *common, *tls, "--key", str(pki / "SVC.key"), "--token-key", str(key), "--roles", "officer"
    )
    assert made.exit_code == 0, made.output
    written = yaml.safe_load(out.read_text())
    assert written["key"] == str(key.resolve()) and written["client_key"] == str((pki / "SVC.key").resolve())

    shown = await invoke("profile", "show", "--profile", str(out), "-o", "json")
    assert json.loads(shown.output)["server_name"] == "localhost"
    listed = await invoke("departments", "show", "SVC", "--profile", str(out))
    assert listed.exit_code == 0, listed.output
    assert "level: city" in listed.output and "ADMIN_LEVEL" not in listed.output and "use: token" in listed.output


async def test_a_profile_with_an_unknown_key_is_named(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("hub: 127.0.0.1:1\ndepartmnet: SVC\n")
    result = await invoke("departments", "list", "--profile", str(profile))
    assert result.exit_code == 2 and "  departmnet: unknown key; allowed: hub, department," in result.output


# --- token keys ---------------------------------------------------------------------------------


async def test_departments_keygen_writes_a_token_key_only_its_owner_reads(tmp_path: Path) -> None:
    made = await invoke("departments", "keygen", "SVC", "--out", str(tmp_path / "svc"))
    assert made.exit_code == 0, made.output
    private = tmp_path / "svc" / "SVC-token.key"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert f"kid:         {key_id(load_private_key(private))}" in made.output
    assert "exchange departments add-key SVC" in made.output and "--use token" in made.output
    again = await invoke("departments", "keygen", "SVC", "--out", str(tmp_path / "svc"))
    assert again.exit_code == 2 and "refusing to overwrite" in again.output
    helps = [
        " ".join((await invoke(*path, "--help")).output.split())
        for path in (("departments", "keygen"), ("adapter", "keygen"))
    ]
    assert "adapter keygen" in helps[0] and "token" in helps[1].lower()


# --- status commands, logged by the hub -----------------------------------------------------------


async def test_suspend_and_activate_a_department_are_logged(hub: HubFixture, tmp_path: Path) -> None:
    await hub.add_department("SVC")
    await hub.add_department("FIRE")
    suspended = await invoke("departments", "suspend", "SVC", "--reason", "token key lost", *admin(hub, tmp_path))
    assert suspended.exit_code == 0 and suspended.output.strip() == "SVC: suspended"
    listed = await invoke("departments", "list", "-o", "json", *admin(hub, tmp_path))
    assert {d["code"]: d["status"] for d in json.loads(listed.output)}["SVC"] == "suspended"
    activated = await invoke("departments", "activate", "SVC", "--reason", "new key", *admin(hub, tmp_path))
    assert activated.exit_code == 0 and activated.output.strip() == "SVC: active"
    changes = [e for e in await hub.log_entries() if e.action == "departments.status.set"]
    assert [(e.decision, e.caller_department) for e in changes] == [("allow", "HUB"), ("allow", "HUB")]

    refused = await invoke("departments", "suspend", "SVC", "--reason", "x", *admin(hub, tmp_path, "FIRE", "officer"))
    assert refused.exit_code == 2 and "reason:" in refused.output
    reason = refused.output.split("reason: ")[1].split(")")[0]
    last = (await hub.log_entries())[-1]  # refused at the door, under the operation the RPC asks for
    assert last.action == "departments.status.set"
    assert (last.decision, last.reason, last.caller_department) == ("deny", reason, "FIRE")


async def test_dataset_status_from_the_command_line_is_logged(hub: HubFixture, tmp_path: Path) -> None:
    await hub.add_department("FIRE")
    await hub.register_example_dataset("fire_safety_certificate")
    changed = await invoke("catalog", "status", "fire_safety_certificate", "deprecated", *admin(hub, tmp_path))
    assert changed.exit_code == 0 and changed.output.strip() == "fire_safety_certificate 1.0: deprecated"
    listed = await invoke("catalog", "list", "-o", "yaml", *admin(hub, tmp_path))
    assert yaml.safe_load(listed.output)[0]["status"] == "deprecated"
    entry = [e for e in await hub.log_entries() if e.action == "catalog.dataset.set_status"][-1]
    assert (entry.decision, entry.caller_department, entry.dataset) == ("allow", "HUB", "fire_safety_certificate")
    wrong = await invoke("catalog", "status", "fire_safety_certificate", "gone", *admin(hub, tmp_path))
    assert wrong.exit_code == 1 and "'gone' is not one of" in wrong.output


async def test_console_accounts_listed_disabled_and_removed_with_log_entries(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    env = {"EXCHANGE_INSECURE_DEV": "true", "EXCHANGE_CONSOLE_PASSWORD": "correct horse battery"}

    def run(*args: str) -> Result:
        return CliRunner(env=env).invoke(cli, [*args, "--data-dir", data], catch_exceptions=False)

    assert (await asyncio.to_thread(run, "console", "add-user", "li.na", "--role", "auditor")).exit_code == 0
    disabled = await asyncio.to_thread(run, "console", "disable", "li.na", "--reason", "left")
    assert disabled.exit_code == 0 and "disabled auditor account 'li.na'" in disabled.output
    enabled = await asyncio.to_thread(run, "console", "enable", "li.na", "--reason", "back")
    assert enabled.exit_code == 0 and "enabled auditor account 'li.na'" in enabled.output
    await asyncio.to_thread(run, "console", "disable", "li.na", "--reason", "left")
    listed = await asyncio.to_thread(run, "console", "users", "-o", "json")
    assert json.loads(listed.output) == [
        {"username": "li.na", "role": "auditor", "department": "HUB", "name": "", "status": "disabled"}
    ]
    assert (await asyncio.to_thread(run, "console", "remove", "li.na", "--reason", "gone")).exit_code == 0
    assert json.loads((await asyncio.to_thread(run, "console", "users", "-o", "json")).output) == []
    missing = await asyncio.to_thread(run, "console", "remove", "li.na", "--reason", "again")
    assert missing.exit_code == 2 and "NO_SUCH_ACCOUNT" in missing.output

    from exchange.config import load_settings
    from exchange.testing import HubFixture as _  # noqa: F401  (the same reader the hub tests use)

    settings = load_settings(None, data_dir=data, insecure_dev=True)
    hub = await start_test_hub(Path(data), **{"database_url": settings.database_url} if settings.database_url else {})
    try:
        entries = [e for e in await hub.log_entries() if e.action.startswith("console.")]
    finally:
        await hub.stop()
    # Each command is an operation of the policy, decided for the local operator and logged by the recorder.
    shown = [
        (e.action, e.decision, e.outcome, e.details.get("target", ""), e.details.get("reason", "")) for e in entries
    ]
    assert shown == [
        ("console.user.add", "allow", "OK", "li.na", ""),
        ("console.user.disable", "allow", "OK", "li.na", "left"),
        ("console.user.enable", "allow", "OK", "li.na", "back"),
        ("console.user.disable", "allow", "OK", "li.na", "left"),
        ("console.user.list", "allow", "OK", "", ""),
        ("console.user.remove", "allow", "OK", "li.na", "gone"),
        ("console.user.list", "allow", "OK", "", ""),
        ("console.user.remove", "deny", "NOT_FOUND", "li.na", "again"),
    ]
    assert {(e.caller_department, e.officer_id, e.officer_role) for e in entries} == {("HUB", "operator", "hub_admin")}
    refused = entries[-1]
    assert (refused.reason, refused.outcome) == ("NO_SUCH_ACCOUNT", "NOT_FOUND")
    assert refused.message == "no console account 'li.na'; see `exchange console users`"


# --- help, completion -----------------------------------------------------------------------------


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(command, click.Group) and command.name != "bench":
        for name, sub in command.commands.items():
            found += _commands(sub, (*path, name))
    return found


def test_every_help_has_examples_and_listings_are_not_cut_off() -> None:
    runner = CliRunner()
    bench_listing = runner.invoke(cli, ["bench", "--help"], terminal_width=200).output
    assert "..." not in bench_listing.split("Commands:")[1]
    for path in _commands(cli):
        if path[:1] == ("bench",):
            continue
        shown = runner.invoke(cli, [*path, "--help"], terminal_width=200)
        assert shown.exit_code == 0, path
        assert "Examples:" in shown.output, f"exchange {' '.join(path)} --help has no examples"
        assert "..." not in shown.output.split("Commands:")[-1] or "Commands:" not in shown.output, path


def test_completion_prints_clicks_script() -> None:
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --no-files")):
        shown = CliRunner().invoke(cli, ["completion", shell])
        assert shown.exit_code == 0 and "_EXCHANGE_COMPLETE" in shown.output and marker in shown.output, shell


async def test_register_answers_with_the_next_steps(hub: HubFixture, tmp_path: Path) -> None:
    from exchange.testing import EXAMPLES

    spec = str(EXAMPLES / "catalog" / "departments" / "svc.yaml")
    registered = await invoke("departments", "register", spec, *admin(hub, tmp_path))
    assert registered.exit_code == 0, registered.output
    assert "SVC: registered (0 key(s))" in registered.output
    assert "exchange pki issue SVC" in registered.output and "exchange departments keygen SVC" in registered.output
    two = await invoke("departments", "register", spec, spec, "--adapter-endpoint", "a:1", *admin(hub, tmp_path))
    assert two.exit_code == 1 and "one FILE" in two.output


async def test_register_gives_a_department_its_english_name(hub: HubFixture, tmp_path: Path) -> None:
    from exchange.testing import EXAMPLES

    spec = str(EXAMPLES / "catalog" / "departments" / "svc.yaml")
    english = "Chaoyang District Government Service Centre"
    registered = await invoke("departments", "register", spec, "--name-en", english, *admin(hub, tmp_path))
    assert registered.exit_code == 0, registered.output
    stored = await hub.running.registry.get_department("SVC")
    assert (stored.name, stored.name_en) == ("朝阳区政务服务中心", english)
    shown = await invoke("departments", "show", "SVC", "-o", "json", *admin(hub, tmp_path))
    assert json.loads(shown.output)["name_en"] == english
    two = await invoke("departments", "register", spec, spec, "--name-en", english, *admin(hub, tmp_path))
    assert two.exit_code == 1 and "--name-en applies to one department: give one FILE" in two.output


async def test_departments_list_names_each_in_the_clis_language(hub: HubFixture, tmp_path: Path) -> None:
    """The table a person reads follows the CLI's language; JSON keeps both names as registered."""
    await hub.add_department("SVC", name="朝阳区政务服务中心", name_en="Chaoyang Government Service Centre")
    english = await invoke("--lang", "en", "departments", "list", *admin(hub, tmp_path))
    chinese = await invoke("--lang", "zh-CN", "departments", "list", *admin(hub, tmp_path))
    assert "Chaoyang Government Service Centre" in english.output and "朝阳区政务服务中心" not in english.output
    assert "朝阳区政务服务中心" in chinese.output and "Chaoyang Government Service Centre" not in chinese.output
    listed = await invoke("--lang", "en", "departments", "list", "-o", "json", *admin(hub, tmp_path))
    svc = {d["code"]: d for d in json.loads(listed.output)}["SVC"]
    assert (svc["name"], svc["name_en"]) == ("朝阳区政务服务中心", "Chaoyang Government Service Centre")


def test_an_adapter_down_is_a_refusal_not_a_connection_problem() -> None:
    """UNAVAILABLE with the hub's own reason (its adapter is down) exits 2; a transport failure exits 3."""
    from exchange.cli import common
    from exchange.errors import Unavailable

    common._current_profile[:] = [common.Profile(hub="127.0.0.1:1")]
    for error, code in (
        (Unavailable("FIRE's adapter did not answer", reason="ADAPTER_UNAVAILABLE"), 2),
        (Unavailable("failed to connect to all addresses; Connection refused", reason="UNAVAILABLE"), 3),
    ):
        with pytest.raises(SystemExit) as exited:
            common.fail(error)
        assert exited.value.code == code
