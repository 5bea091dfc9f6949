"""An operator's first hour: `exchange init`, `exchange serve` over mTLS, the CLI with the admin profile, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from exchange.testing import EXAMPLES, free_port

EXCHANGE = [sys.executable, "-m", "exchange.cli"]


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXCHANGE, *args], capture_output=True, text=True, timeout=60, env=env, cwd=env["PWD"])


def wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else "hub exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"hub did not listen on {port}")


def test_init_serve_register_and_stop_gracefully(tmp_path: Path):
    data = tmp_path / "data"
    port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "PWD": str(tmp_path),
        "EXCHANGE_DATA_DIR": "data",  # relative, as an operator types it
        "EXCHANGE_GRPC_LISTEN": f"127.0.0.1:{port}",
        "EXCHANGE_HTTP_LISTEN": f"127.0.0.1:{http_port}",
    }
    init = cli("init", env=env)
    assert init.returncode == 0, init.stderr
    profile = data / "admin" / "profile.yaml"
    assert profile.exists() and (data / "pki" / "ca.crt").exists() and (data / "hub-signing.key").exists()

    hub = subprocess.Popen(
        [*EXCHANGE, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_port(port, hub)
        with_profile = {**env, "EXCHANGE_PROFILE": "data/admin/profile.yaml"}
        registered = cli(
            "departments", "register", str(EXAMPLES / "catalog" / "departments" / "samr.yaml"), env=with_profile
        )
        assert registered.returncode == 0, registered.stderr
        dataset = cli(
            "catalog", "register", str(EXAMPLES / "catalog" / "datasets" / "business_licence.yaml"), env=with_profile
        )
        assert dataset.returncode == 0, dataset.stderr
        assert "business_licence 1.0: created" in dataset.stdout
        listed = cli("catalog", "list", env=with_profile)
        assert "business_licence" in listed.stdout and "SAMR" in listed.stdout

        bad = cli("catalog", "register", str(EXAMPLES / "catalog" / "README.md"), env=with_profile)
        assert bad.returncode == 2 and "error:" in bad.stderr

        no_identity = cli("catalog", "list", env={**env, "EXCHANGE_PROFILE": ""})
        assert no_identity.returncode == 2 and "profile" in no_identity.stderr
    finally:
        hub.send_signal(signal.SIGTERM)
        code = hub.wait(timeout=30)
    assert code == 0
    assert "INSECURE" not in (hub.stderr.read() if hub.stderr else "")


def test_first_run_names_this_host_makes_a_console_admin_and_says_what_next(tmp_path: Path):
    """init: the host's own names in the certificate, a one-time console password, no WARNING, the next
    three commands; serve: where it listens (gRPC and the console's https URL) and the first steps."""
    from cryptography import x509

    port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "PWD": str(tmp_path),
        "EXCHANGE_DATA_DIR": "data",
        "EXCHANGE_GRPC_LISTEN": f"127.0.0.1:{port}",
        "EXCHANGE_HTTP_LISTEN": f"127.0.0.1:{http_port}",
    }
    init = cli("init", "--host", "hub.example.gov", env=env)
    assert init.returncode == 0, init.stderr
    assert "WARNING" not in init.stderr, init.stderr
    certificate = x509.load_pem_x509_certificate((tmp_path / "data" / "pki" / "server.crt").read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(names.get_values_for_type(x509.DNSName))
    assert {"hub.example.gov", socket.gethostname(), "localhost"} <= dns
    password = init.stdout.split("console account:")[1].split("/ ")[1].split(" ")[0]
    assert len(password) >= 12
    assert "1. start the hub:" in init.stdout and "3. register a department:" in init.stdout
    users = cli("console", "users", "-o", "json", env=env)
    assert '"role": "hub_admin"' in users.stdout

    again = cli("init", env=env)  # a second init keeps the account and says nothing about a password
    assert again.returncode == 0 and "console account:" not in again.stdout

    hub = subprocess.Popen(
        [*EXCHANGE, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert hub.stdout is not None
        lines = [hub.stdout.readline() for _ in range(4)]
    finally:
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=30)
    assert lines[0].startswith("hub exchange-hub serving")
    assert f"gRPC:    127.0.0.1:{port} (mTLS)" in lines[1]
    assert f"console: https://localhost:{http_port}/console/" in lines[2]
    assert "the catalog is empty" in lines[3]
