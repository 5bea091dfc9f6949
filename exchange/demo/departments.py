"""The demo departments: each one's data, signing key and adapter, run as separate processes.

`async with DemoDepartments(workdir, seed) as deps:` writes synthetic data (exchange.demo.data),
starts SAMR's REST stand-in, then one `exchange adapter serve` process per department on the
built-in adapters (SAMR rest + files, PSB sql, MNR files/Parquet, FIRE files/CSV), in plain-text
dev mode on loopback, and returns once every adapter answers health checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from exchange.auth.keys import generate_ed25519, key_id, public_key_to_pem, write_private_key
from exchange.auth.pki import (
    CA_CERT,
    CRL_FILE,
    DEFAULT_HUB_NAME,
    HUB_CLIENT_CERT,
    HUB_CLIENT_KEY,
    hub_identity,
    issue_adapter_certificate,
)
from exchange.client import PartyInfo
from exchange.demo import data as demo_data
from exchange.errors import Unavailable

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "examples" / "catalog" / "datasets"
# Generous: on a loaded machine four adapter processes importing the hub code take tens of seconds to start.
START_TIMEOUT_SECONDS = 120.0
# The departments' names as they are registered (codes stay ASCII; names are what people read), in Chinese
# and in English (what English readers see: catalog.model.department_name).
NAMES = {
    "SAMR": "市市场监督管理局",
    "PSB": "市公安局",
    "MNR": "市规划和自然资源委员会",
    "FIRE": "朝阳区消防救援支队",
}
NAMES_EN = {
    "SAMR": "Municipal Administration for Market Regulation",
    "PSB": "Municipal Public Security Bureau",
    "MNR": "Municipal Commission of Planning and Natural Resources",
    "FIRE": "Chaoyang District Fire and Rescue Detachment",
}


@dataclass(frozen=True)
class DemoDepartment:
    """One running demo department: where its adapter listens and the public key it signs with."""

    code: str
    name: str
    endpoint: str
    signing_key_pem: str
    signing_kid: str
    datasets: tuple[str, ...]
    name_en: str = ""


@dataclass(frozen=True)
class DemoSamples:
    """Keys worth trying: a restaurant applicant with every material, and companies the re-check refuses."""

    company_uscc: str
    company_name: str
    legal_representative_id: str
    # Who holds the premises' property certificate: the legal representative or the company itself.
    premises_owner_id: str
    property_licence_id: str
    fire_licence_id: str
    revoked_company_uscc: str
    suspended_company_uscc: str


def applicant_parties(samples: DemoSamples) -> list[PartyInfo]:
    """The parties a restaurant permit for the sample applicant names besides the company: whose data it reads."""
    return [
        PartyInfo("legal_representative", samples.legal_representative_id),
        PartyInfo("premises_owner", samples.premises_owner_id),
    ]


def _samples(data: demo_data.DemoData) -> DemoSamples:
    """The first company with premises (the applicant) and the first revoked and suspended ones."""
    fire_by_holder = {f.holder_uscc: f for f in data.fire_certificates}
    applicant = next(c for c in data.companies if c.status == "01" and c.uscc in fire_by_holder)
    premises = next(p for p in data.properties if p.address == applicant.address)
    return DemoSamples(
        company_uscc=applicant.uscc,
        company_name=applicant.name,
        legal_representative_id=applicant.legal_representative.resident_id,
        premises_owner_id=premises.holder_id,
        property_licence_id=premises.licence_id,
        fire_licence_id=fire_by_holder[applicant.uscc].licence_id,
        revoked_company_uscc=next(c.uscc for c in data.companies if c.status == "03"),
        suspended_company_uscc=next(c.uscc for c in data.companies if c.status == "02"),
    )


def _spec(name: str) -> str:
    return str(DATASETS / f"{name}.yaml")


def _configs(samr_api_port: int) -> dict[str, list[dict[str, Any]]]:
    """Each department's datasets: what its adapter serves and from where."""
    return {
        "SAMR": [
            {
                "dataset": "business_licence",
                "version": "1.0",
                "spec": _spec("business_licence"),
                "source": {
                    "type": "rest",
                    "base_url": f"http://127.0.0.1:{samr_api_port}/api/v2",
                    "lookup_path": "/licences/{key}",
                    "headers_from_env": {"Authorization": "SAMR_REGISTRY_AUTH"},
                    "timeout_seconds": 5,
                    "field_map": {
                        "unified_social_credit_code": "data.uscc",
                        "name": "data.entity.name",
                        "company_type": "data.entity.type",
                        "legal_representative": "data.legal_rep.name",
                        "legal_representative_id": "data.legal_rep.id_number",
                        "registered_capital": "data.capital.amount",
                        "established_on": "data.established",
                        "address": "data.entity.address",
                        "business_scope": "data.scope",
                        "registration_authority": "data.authority.name",
                        "status": "data.status_code",
                        "valid_until": "data.term.end",
                        "licence_id": "data.e_licence.identifier",
                    },
                },
            },
            {
                "dataset": "enterprise_register",
                "version": "1.0",
                "spec": _spec("enterprise_register"),
                "source": {
                    "type": "files",
                    "path": "enterprise_register.parquet",
                    "key_column": "unified_social_credit_code",
                },
            },
        ],
        "PSB": [
            {
                "dataset": "identity_record",
                "version": "1.0",
                "spec": _spec("identity_record"),
                "source": {
                    "type": "sql",
                    "url": "sqlite+aiosqlite:///population.db",
                    "table": "residents",
                    "key_column": "sfzh",
                    "column_map": demo_data.PSB_COLUMNS,
                },
            }
        ],
        "MNR": [
            {
                "dataset": "property_certificate",
                "version": "1.0",
                "spec": _spec("property_certificate"),
                "source": {
                    "type": "files",
                    "path": "property_certificates.parquet",
                    "key_column": "dzzzbs",
                    "column_map": demo_data.MNR_COLUMNS,
                },
            }
        ],
        "FIRE": [
            {
                "dataset": "fire_safety_certificate",
                "version": "1.0",
                "spec": _spec("fire_safety_certificate"),
                "source": {
                    "type": "files",
                    "path": "fire_certificates.csv",
                    "key_column": "certificate_id",
                    "column_map": demo_data.FIRE_COLUMNS,
                },
            }
        ],
    }


def _write_data(data: demo_data.DemoData, dirs: dict[str, Path]) -> None:
    """Each department's data, in its own folder, in the form its adapter reads."""
    demo_data.write_samr_registry(data, dirs["SAMR"] / "registry.json")
    demo_data.write_enterprise_register(data, dirs["SAMR"] / "enterprise_register.parquet")
    demo_data.write_psb_database(data, dirs["PSB"] / "population.db")
    demo_data.write_mnr_parquet(data, dirs["MNR"] / "property_certificates.parquet")
    demo_data.write_fire_csv(data, dirs["FIRE"] / "fire_certificates.csv")


def exchange_command() -> list[str]:
    """How to run the `exchange` command of this installation."""
    script = Path(sys.executable).parent / "exchange"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from exchange.cli import main; main()"]


@dataclass
class _Process:
    name: str
    process: asyncio.subprocess.Process
    log: Path


@dataclass
class DemoDepartments:
    """Starts and stops the demo departments' data, REST stand-in and adapter processes."""

    workdir: Path
    seed: int = 2026
    companies: int = 40
    # The hub's PKI directory (`init_pki`): adapters then serve TLS with their adapter certificates and
    # admit only the hub's client identity. None: plain-text dev mode.
    pki: Path | None = None
    hub_name: str = DEFAULT_HUB_NAME
    departments: dict[str, DemoDepartment] = field(default_factory=dict)
    _data: demo_data.DemoData | None = None
    _processes: list[_Process] = field(default_factory=list)

    @property
    def data(self) -> demo_data.DemoData:
        """The synthetic data the departments serve (made at start)."""
        if self._data is None:
            raise Unavailable("the demo departments have not been started", reason="DEMO_NOT_STARTED")
        return self._data

    @property
    def samples(self) -> DemoSamples:
        """Keys worth trying in the demo data."""
        return _samples(self.data)

    async def __aenter__(self) -> DemoDepartments:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Write everything, start the processes, wait until each adapter is healthy."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self._data = demo_data.generate(self.seed, self.companies)
        dirs = {code: self.workdir / code.lower() for code in NAMES}
        for folder in dirs.values():
            folder.mkdir(exist_ok=True)
        await asyncio.to_thread(_write_data, data, dirs)
        token = f"demo-{self.seed}"
        api = await self._spawn(
            "samr-api",
            [
                sys.executable,
                "-m",
                "exchange.demo.samr_api",
                "--data",
                str(dirs["SAMR"] / "registry.json"),
                "--token",
                token,
            ],
            dirs["SAMR"],
        )
        api_port = await self._port(api, r"samr api serving on port (\d+)")
        env = {**os.environ, "SAMR_REGISTRY_AUTH": f"Bearer {token}"}
        starting = []
        for code, datasets in _configs(api_port).items():
            key = generate_ed25519()
            config = self._write_config(code, datasets, key, dirs[code])
            proc = await self._spawn(
                f"{code.lower()}-adapter",
                [*exchange_command(), "adapter", "serve", "--config", str(config), "--listen", "127.0.0.1:0"],
                dirs[code],
                env,
            )
            starting.append((code, key, proc, tuple(d["dataset"] for d in datasets)))
        for code, key, proc, served in starting:
            port = await self._port(proc, rf"adapter {code} serving on port (\d+)")
            endpoint = f"127.0.0.1:{port}"
            await _wait_healthy(endpoint, code, self.pki)
            self.departments[code] = DemoDepartment(
                code, NAMES[code], endpoint, public_key_to_pem(key), key_id(key.public_key()), served, NAMES_EN[code]
            )

    def _write_config(self, code: str, datasets: list[dict[str, Any]], key: Ed25519PrivateKey, folder: Path) -> Path:
        """The department's signing key and adapter configuration, in its folder."""
        key_file = folder / "signing-ed25519.pem"
        key_file.unlink(missing_ok=True)
        write_private_key(key_file, key)
        config = {
            "department": code,
            "listen": "127.0.0.1:0",
            **self._transport(code, folder),
            "signing": {"key_file": key_file.name, "kid": key_id(key.public_key())},
            "datasets": datasets,
        }
        path = folder / "adapter.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    def _transport(self, code: str, folder: Path) -> dict[str, Any]:
        """The adapter's tls section (its own adapter certificate, the hub's CA, name and CRL), or dev mode."""
        if self.pki is None:
            return {"insecure_dev": True}
        key, cert = issue_adapter_certificate(self.pki, code, hosts=("localhost", "127.0.0.1"), out_dir=folder)
        return {
            "tls": {
                "cert": str(cert),
                "key": str(key),
                "client_ca": str(self.pki / CA_CERT),
                "hub_identity": hub_identity(self.hub_name),
                "crl": str(self.pki / CRL_FILE),
            }
        }

    async def _spawn(self, name: str, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> _Process:
        """Start one process; its stderr goes to a log file next to its data."""
        log = cwd / f"{name}.log"
        with log.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=err
            )
        started = _Process(name, process, log)
        self._processes.append(started)
        return started

    async def _port(self, proc: _Process, pattern: str) -> int:
        """Read the process's stdout until it says which port it listens on."""
        assert proc.process.stdout is not None
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                while line := await proc.process.stdout.readline():
                    match = re.search(pattern, line.decode(errors="replace"))
                    if match:
                        return int(match.group(1))
        except TimeoutError:
            pass
        tail = proc.log.read_text(errors="replace")[-2000:] if proc.log.exists() else ""
        raise Unavailable(
            f"demo process {proc.name} did not start (exit code {proc.process.returncode}); its log {proc.log} "
            f"ends with:\n{tail}",
            reason="DEMO_PROCESS_FAILED",
        )

    async def stop(self) -> None:
        """SIGTERM every process (adapters stop gracefully), then wait for them."""
        for proc in reversed(self._processes):
            if proc.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.process.send_signal(signal.SIGTERM)
        for proc in reversed(self._processes):
            try:
                async with asyncio.timeout(10):
                    await proc.process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.process.kill()
                await proc.process.wait()
        self._processes.clear()

    def remove(self) -> None:
        """Delete the work directory (after stop)."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def _channel(endpoint: str, pki: Path | None) -> aio.Channel:
    """A channel to an adapter: with the hub's client certificate when it serves TLS."""
    if pki is None:
        return aio.insecure_channel(endpoint)
    credentials = grpc.ssl_channel_credentials(
        (pki / CA_CERT).read_bytes(), (pki / HUB_CLIENT_KEY).read_bytes(), (pki / HUB_CLIENT_CERT).read_bytes()
    )
    return aio.secure_channel(endpoint, credentials)


async def _wait_healthy(endpoint: str, department: str, pki: Path | None = None) -> None:
    """Poll standard gRPC health checking until the adapter says SERVING."""
    async with _channel(endpoint, pki) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_SECONDS
        while True:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except aio.AioRpcError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise Unavailable(
                    f"adapter of {department} at {endpoint} never became healthy", reason="DEMO_PROCESS_FAILED"
                )
            await asyncio.sleep(0.1)
