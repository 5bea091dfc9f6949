"""deploy/ checked without docker or a cluster: the image's Dockerfile, the compose file with its haproxy
configuration, and the Kubernetes manifests (kubernetes-validate, offline with its bundled schemas)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import yaml

from exchange.cli import cli
from exchange.config import load_settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
# The oldest Kubernetes the manifests promise to work on (PodDisruptionBudget policy/v1, seccompProfile, ...).
K8S_VERSION = "1.29"
# Files at their place in a container, and the repository file that is put there.
IN_CONTAINER = {
    "/etc/exchange/hub.yaml": DEPLOY / "hub.yaml",
    "/etc/exchange/fire-adapter.yaml": DEPLOY / "compose" / "fire-adapter.yaml",
}


# --- the image ------------------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def exec_form(arguments: str) -> list[str]:
    """A JSON exec-form command (CMD ["exchange", ...]); shell form is not allowed, so signals reach the hub."""
    found = json.loads(arguments)
    assert isinstance(found, list) and all(isinstance(a, str) for a in found), arguments
    return found


def parses_as_cli_command(argv: list[str]) -> click.Command:
    """The exchange command the argv runs, its options parsed as click would (nothing is run)."""
    assert argv[0] == "exchange", argv
    group: click.Command = cli
    args = [str(IN_CONTAINER.get(arg, arg)) for arg in argv[1:]]
    while isinstance(group, click.Group):
        name, args = args[0], args[1:]
        command = group.get_command(click.Context(group), name)
        assert command is not None, f"`exchange {name}` is not a command ({' '.join(argv)})"
        group = command
    group.make_context(argv[-1], list(args))  # raises on an unknown option
    return group


def test_image_installs_without_extras_and_copies_every_package():
    steps = dockerfile()
    installs = [args for kind, args in steps if kind == "RUN" and "pip install" in args]
    assert installs, "the image installs the project with pip"
    for args in installs:
        assert "[" not in args and "dev" not in args, f"the image must not install extras: {args}"
        assert re.search(r"pip install .* \.$", args), args
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"include = \[(.*?)\]", pyproject)
    assert packages
    copied = {args.split()[0] for kind, args in steps if kind == "COPY" and not args.startswith("--from")}
    for pattern in re.findall(r'"(\w+)\*"', packages.group(1)):
        assert pattern in copied, f"package {pattern} is installed by pyproject but not copied into the image"
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


def test_image_runs_as_a_numeric_non_root_user():
    users = [args for kind, args in dockerfile() if kind == "USER"]
    assert users, "the image sets USER"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]}: numeric and not root (runAsNonRoot checks it)"


def test_image_healthcheck_and_command_are_exchange_commands():
    steps = dict(dockerfile())
    check = steps["HEALTHCHECK"]
    argv = exec_form(check.split("CMD", 1)[1].strip())
    assert parses_as_cli_command(argv).name == "health"
    assert parses_as_cli_command(exec_form(steps["CMD"])).name == "serve"
    # The configuration the image runs with is the shipped example, secure by default.
    assert "COPY deploy/hub.yaml /etc/exchange/hub.yaml" in [f"COPY {a}" for k, a in dockerfile() if k == "COPY"]
    assert load_settings(DEPLOY / "hub.yaml", environ={}).insecure_dev is False


def test_dockerignore_keeps_the_venv_tests_bench_results_and_node_modules_out():
    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")
    ]
    for needed in ("**/.venv", "tests", "bench/results", "**/node_modules", ".git"):
        assert needed in patterns, f".dockerignore lacks {needed}"
    copied = {args.split()[0] for kind, args in dockerfile() if kind == "COPY" and not args.startswith("--from")}
    assert not copied & set(patterns), "a file the image copies is ignored"


# --- Kubernetes -------------------------------------------------------------------------------------------


def manifests() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                found.append((path.name, doc))
    return found


def kind(name: str) -> dict[str, Any]:
    (found,) = [doc for _, doc in manifests() if doc["kind"] == name and "migrate" not in doc["metadata"]["name"]]
    return found


@pytest.mark.parametrize(("file", "doc"), manifests(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_kubernetes_manifest_validates_against_the_schema(file, doc):
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validator_refuses_a_wrong_manifest_offline():
    broken = json.loads(json.dumps(kind("Deployment")))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest():
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == on_disk


def pod(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def test_deployment_probes_run_exchange_health_and_the_pods_run_as_non_root():
    deployment = kind("Deployment")
    (container,) = pod(deployment)["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert parses_as_cli_command(container[probe]["exec"]["command"]).name == "health", probe
    assert parses_as_cli_command(container["command"]).name == "serve"
    (migrate,) = [doc for _, doc in manifests() if doc["kind"] == "Job"]
    assert parses_as_cli_command(pod(migrate)["containers"][0]["command"]).name == "migrate"
    for workload in (deployment, migrate):
        assert pod(workload)["securityContext"]["runAsNonRoot"] is True
        assert pod(workload)["securityContext"]["runAsUser"] != 0


def test_configmap_settings_load_and_name_only_files_the_secret_holds():
    settings_text = kind("ConfigMap")["data"]["hub.yaml"]
    deployment = kind("Deployment")
    (container,) = pod(deployment)["containers"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    secret_dir = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "keys" and "subPath" not in m)
    secret = kind("Secret")
    path = K8S / "hub.yaml.tmp"
    try:
        path.write_text(settings_text)
        settings = load_settings(path, environ={})
    finally:
        path.unlink()
    assert settings.insecure_dev is False
    for setting in ("tls_cert", "tls_key", "tls_client_ca", "tls_client_cert", "tls_client_key", "crl_file"):
        file = Path(getattr(settings, setting))
        assert file.parent == Path(secret_dir), setting
        assert file.name in secret["stringData"], f"{setting}: the Secret has no {file.name}"
    assert Path(settings.signing_key).name in secret["stringData"]
    assert mounts["config"]["mountPath"] == "/etc/exchange/hub.yaml"
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env["EXCHANGE_DATABASE_URL"]["key"] in secret["stringData"]
    assert env["EXCHANGE_DATABASE_URL"]["name"] == secret["metadata"]["name"]


def test_services_budget_and_policy_select_the_hub_pods_on_their_ports():
    deployment = kind("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"]: p["containerPort"] for p in pod(deployment)["containers"][0]["ports"]}
    assert ports == {"grpc": 50051, "https": 8080}
    services = [doc for _, doc in manifests() if doc["kind"] == "Service"]
    for service in services:
        assert service["spec"]["selector"].items() <= labels.items()
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports
    assert kind("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    policy = kind("NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    allowed = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert allowed == set(ports.values())
    assert deployment["spec"]["replicas"] > kind("PodDisruptionBudget")["spec"]["minAvailable"]


# --- compose and haproxy ----------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def haproxy() -> dict[str, list[str]]:
    """haproxy.cfg as section header -> its lines."""
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in (DEPLOY / "haproxy.cfg").read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not raw.startswith((" ", "\t")):
            current = line.strip()
            sections[current] = []
        else:
            sections[current].append(line.strip())
    return sections


def container_ports(service: dict[str, Any]) -> set[int]:
    ports = {int(p) for p in service.get("expose", [])}
    ports |= {int(str(p).rsplit(":", 1)[-1]) for p in service.get("ports", [])}
    return ports


def test_compose_services_depend_on_services_that_exist_and_one_builds_the_image():
    services = compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services, f"{name} depends on {dependency}, which is no service"
    ours = {name for name, s in services.items() if s.get("image", "").startswith("exchange-hub")}
    builders = [s for name, s in services.items() if name in ours and "build" in s]
    assert len(builders) == 1 and builders[0]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / builders[0]["build"]["context"] / builders[0]["build"]["dockerfile"]).exists()
    hubs = [name for name, s in services.items() if name in ours and s.get("command") is None]
    assert sorted(hubs) == ["hub-1", "hub-2"]  # the image's own CMD: exchange serve


def test_compose_volumes_are_declared_and_bind_mounts_exist():
    document = compose()
    declared = set(document["volumes"])
    for name, service in document["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is missing"
            else:
                assert source in declared, f"{name} uses volume {source}, not declared"
    shared = {v.split(":")[0] for v in document["services"]["hub-1"]["volumes"]}
    assert shared == {v.split(":")[0] for v in document["services"]["hub-2"]["volumes"]}, "replicas share keys"


def test_compose_hubs_use_the_postgres_service_and_its_database():
    services = compose()["services"]
    postgres = services["postgres"]["environment"]
    for name in ("hub-1", "hub-2", "setup"):
        url = services[name]["environment"]["EXCHANGE_DATABASE_URL"]
        match = re.match(r"postgresql://(\w+):[^@]+@([\w-]+):(\d+)/(\w+)$", url)
        assert match, url
        user, host, port, database = match.groups()
        assert (user, host, int(port), database) == (
            postgres["POSTGRES_USER"],
            "postgres",
            5432,
            postgres["POSTGRES_DB"],
        )


def test_haproxy_balances_tcp_to_the_compose_hubs_on_their_ports():
    sections = haproxy()
    services = compose()["services"]
    assert "mode tcp" in sections["defaults"]  # TLS end to end: the hub sees each department's certificate
    published = {int(str(p).rsplit(":", 1)[-1]) for p in services["haproxy"]["ports"]}
    binds = set()
    for header, lines in sections.items():
        if header.startswith("frontend"):
            (bind,) = [line for line in lines if line.startswith("bind")]
            binds.add(int(bind.rsplit(":", 1)[1]))
            (backend,) = [line.split()[1] for line in lines if line.startswith("default_backend")]
            assert f"backend {backend}" in sections, f"{header} sends to a backend that does not exist"
    assert binds == published
    mounted = {v.split(":")[1] for v in services["haproxy"]["volumes"]}
    for header, lines in sections.items():
        if not header.startswith("backend"):
            continue
        servers = [line.split() for line in lines if line.startswith("server")]
        assert {s[1] for s in servers} == {"hub-1", "hub-2"}
        for server in servers:
            host, port = server[2].split(":")
            assert host in services and int(port) in container_ports(services[host]), server
            if "ca-file" in server:
                ca = server[server.index("ca-file") + 1]
                assert any(ca.startswith(m + "/") for m in mounted), f"{ca} is not on a volume haproxy mounts"
    assert set(services["haproxy"]["depends_on"]) == {"hub-1", "hub-2"}


def test_compose_demo_adapter_configuration_loads_with_the_shipped_spec():
    from adapters.config import load_dataset, parse_adapter_config
    from catalog.yaml_io import load_spec_file

    path = DEPLOY / "compose" / "fire-adapter.yaml"
    text = path.read_text().replace("/usr/share/exchange/examples", str(ROOT / "examples"))
    config = parse_adapter_config(yaml.safe_load(text), path.parent, {}, path)
    (dataset,) = config.datasets
    assert load_dataset(dataset).code == "fire_safety_certificate"
    assert load_spec_file(dataset.spec)
    service = compose()["services"]["adapter-fire"]
    assert parses_as_cli_command(service["command"]).name == "serve"
    assert int(config.listen.rsplit(":", 1)[1]) in container_ports(service)


def test_compose_setup_script_runs_only_exchange_commands_that_exist():
    script = (DEPLOY / "compose" / "setup.sh").read_text()
    commands = [line.strip() for line in script.splitlines() if line.strip().startswith("exchange ")]
    assert len(commands) >= 4
    for line in commands:
        parses_as_cli_command([re.sub(r"^\$\w+", "/tmp", arg) for arg in shlex.split(line)])
