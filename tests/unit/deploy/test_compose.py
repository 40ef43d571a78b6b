"""deploy/compose/ checked as files (Docker does not run here): it parses, every `consent`
command line is one the CLI accepts, every mounted file exists, each container gets only its
own secrets and runs as its own principal and role, and Prometheus scrapes what runs.
"""

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ops.deployment import IDENTITIES, INGEST_SOURCES
from ops.supervisor import kind_of
from schemas.client_properties import load_client_properties
from schemas.principals import PRINCIPALS
from sources.settings import IngestSettings
from tests.unit.deploy.catalogue import (
    DEPLOY,
    REPO,
    SECRET_SETTINGS,
    argv_error,
    consent_invocations,
    load_yaml,
    pipeline_kinds,
    secret_settings,
    served_port,
)

COMPOSE_DIR = DEPLOY / "compose"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|CREDENTIAL")


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_DIR / "docker-compose.yml")[0]


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def ours(svc: dict[str, Any]) -> bool:
    return str(svc.get("image", "")).startswith("consent-pipeline:")


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else ["sh", "-c", value]


def bind_mounts(svc: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host path, container path) of every bind mount, short and long syntax."""
    out = []
    for v in svc.get("volumes", []):
        if isinstance(v, str):
            source, target = v.split(":")[:2]
            if source.startswith((".", "/")):
                out.append(((COMPOSE_DIR / source).resolve(), target))
        elif v.get("type") == "bind":
            out.append(((COMPOSE_DIR / v["source"]).resolve(), v["target"]))
    return out


def mounted_script(svc: dict[str, Any], container_path: str) -> Path | None:
    for host, target in bind_mounts(svc):
        if target == container_path:
            return host
    return None


def command_lines(name: str, svc: dict[str, Any]) -> list[list[str]]:
    """The `consent` command lines a service runs: its command, or the script it runs."""
    argv = as_list(svc.get("entrypoint")) + as_list(svc.get("command"))
    if not argv:
        return []
    if argv[0] == "consent":
        return [argv[1:]]
    if argv[:2] == ["sh", "-c"]:
        return consent_invocations(argv[2])
    if argv[0] in ("bash", "sh"):
        script = mounted_script(svc, argv[1])
        assert script is not None, f"{name} runs {argv[1]}, which no bind mount provides"
        return consent_invocations(script.read_text(encoding="utf-8"))
    return []


def main_command(svc: dict[str, Any]) -> list[str]:
    argv = as_list(svc.get("command"))
    assert argv[0] == "consent", argv
    return argv[1:]


def pipeline_services() -> dict[str, dict[str, Any]]:
    """Our long-running processes (not the one-off init and setup)."""
    return {n: s for n, s in services().items()
            if ours(s) and as_list(s.get("command"))[:1] == ["consent"]}


def setup_pairs() -> dict[str, str]:
    """component -> principal, as setup.sh hands out client files."""
    text = (COMPOSE_DIR / "setup.sh").read_text(encoding="utf-8")
    loop = re.search(r"for pair in (.*?); do", text, flags=re.DOTALL)
    assert loop
    return dict(p.split(":") for p in loop.group(1).replace("\\", " ").split())


# ------------------------------------------------------------------------------ the tests


def test_images_are_pinned() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    for name, svc in services().items():
        image = svc["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and "/" not in tag, f"{name}: {image}"
        if ours(svc):
            assert tag == version, f"{name}: our image is tagged with the project's version"
            assert svc["build"]["dockerfile"] == "Dockerfile"
            assert (COMPOSE_DIR / svc["build"]["context"] / "Dockerfile").resolve().is_file()


def test_every_consent_command_line_is_one_the_cli_accepts() -> None:
    checked = 0
    for name, svc in services().items():
        for argv in command_lines(name, svc):
            error = argv_error(argv)
            assert error is None, f"{name}: consent {' '.join(argv)}: {error}"
            checked += 1
    assert checked >= 9  # six processes; topics, access and migrations in setup


def test_every_mounted_file_exists() -> None:
    for name, svc in services().items():
        for host, _target in bind_mounts(svc):
            assert host.exists(), f"{name} mounts {host}, which does not exist"
            assert REPO in host.parents, f"{name} mounts {host}, outside the repository"


def test_named_volumes_are_declared() -> None:
    declared = set(compose()["volumes"])
    used = set()
    for svc in services().values():
        for v in svc.get("volumes", []):
            if isinstance(v, str) and not v.startswith((".", "/")):
                used.add(v.split(":")[0])
            elif isinstance(v, dict) and v.get("type") == "volume":
                used.add(v["source"])
    assert used == declared


def _secret_subpaths(svc: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(v["volume"]["subpath"], bool(v.get("read_only")))
            for v in svc.get("volumes", []) if isinstance(v, dict) and v["source"] == "secrets"]


def test_each_process_mounts_only_its_own_secrets() -> None:
    text = (COMPOSE_DIR / "init-secrets.sh").read_text(encoding="utf-8")
    made = set(re.search(r"^COMPONENTS=\((.*)\)$", text, flags=re.MULTILINE).group(1).split())
    pipeline = pipeline_services()
    assert made == set(pipeline)
    for name, svc in pipeline.items():
        assert _secret_subpaths(svc) == [(name, True)], name
        whole = [v for v in svc.get("volumes", []) if isinstance(v, str) and v.startswith("secrets")]
        assert whole == [], f"{name} must not see the whole secrets volume"


def test_each_process_runs_as_its_principal_and_role() -> None:
    pairs = setup_pairs()
    text = (COMPOSE_DIR / "init-secrets.sh").read_text(encoding="utf-8")
    dsns = dict(re.findall(r"^dsn (\S+) (\S+)$", text, flags=re.MULTILINE))
    known = {p.name for p in PRINCIPALS}
    for name, svc in pipeline_services().items():
        argv = main_command(svc)
        kind = kind_of(argv)
        assert kind in IDENTITIES, f"{name}: no identity for {kind} in ops/deployment.py"
        principal, role = IDENTITIES[kind]
        assert pairs[name] == principal, name
        assert principal in known, name
        env = svc.get("environment", {})
        assert ("CONSENT_DATABASE_URL_FILE" in env) == (role is not None), name
        assert dsns.get(name) == role, f"{name}: init-secrets.sh gives it the DSN of {dsns.get(name)}"
    for principal in pairs.values():
        assert principal in known, principal


def test_every_process_of_the_local_stack_runs_here() -> None:
    """`make up` (ops/stack.py) is the list of what the pipeline runs; the compose stack runs
    the same kinds, its SMTP catcher (Mailpit instead of smtp-capture) aside."""
    assert {kind_of(main_command(svc)) for svc in pipeline_services().values()} == \
        pipeline_kinds()


def test_each_process_gets_the_secrets_its_deployment_gives_it(tmp_path: Path) -> None:
    """The same secrets as ops.deployment.Deployment.env_for gives each kind under `make up`:
    a database URL exactly for the kinds with a role, webhook secrets only for ingestion."""
    for name, svc in pipeline_services().items():
        kind = kind_of(main_command(svc))
        env = svc["environment"]
        given = {k.removesuffix("_FILE") for k in env if k.removesuffix("_FILE") in SECRET_SETTINGS}
        assert given == secret_settings(kind, tmp_path), name
        assert ("CONSENT_KAFKA_CLIENT_CONFIG" in env) == (IDENTITIES[kind][0] is not None), name


def _bash_array(path: Path, name: str) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return re.search(rf"^{name}=\((.*)\)$", text, flags=re.MULTILINE).group(1).split()


def test_postgres_has_the_roles_the_code_connects_and_grants_to() -> None:
    """A role granted in sinks/grants.sql but not created makes `consent db migrate` fail; a
    role in ops/deployment.py but not created makes its process fail to connect."""
    roles = _bash_array(COMPOSE_DIR / "postgres-roles.sh", "ROLES")
    assert roles == _bash_array(COMPOSE_DIR / "init-secrets.sh", "PG_ROLES")
    wanted = {"consent_owner"} | {role for _, role in IDENTITIES.values() if role}
    granted = set(re.findall(r"\bTO (consent_[a-z]+)", (REPO / "sinks" / "grants.sql")
                             .read_text(encoding="utf-8")))
    assert granted <= wanted
    assert set(roles) == wanted
    text = (COMPOSE_DIR / "postgres-roles.sh").read_text(encoding="utf-8")
    connect = re.search(r"GRANT CONNECT ON DATABASE consent TO ([^;]*);", text).group(1)
    assert {r.strip() for r in connect.split(",")} == wanted - {"consent_owner"}


def test_no_secret_is_written_in_the_file() -> None:
    for name, svc in services().items():
        for key, value in (svc.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert key.endswith("_FILE"), f"{name}: {key} inline; hand it over as a file"
                assert str(value).startswith("/run/secrets/"), f"{name}: {key}"


def _served_port(svc: dict[str, Any]) -> int:
    return served_port(main_command(svc))


def test_metrics_are_reachable_and_scraped() -> None:
    pipeline = pipeline_services()
    for name, svc in pipeline.items():
        argv = main_command(svc)
        listens_everywhere = (svc["environment"].get("CONSENT_METRICS_HOST") == "0.0.0.0"
                              and ("--host" not in argv or argv[argv.index("--host") + 1]
                                   == "0.0.0.0"))
        assert listens_everywhere, f"{name}: /metrics only on the container's loopback"
        health = " ".join(svc["healthcheck"]["test"])
        assert f"127.0.0.1:{_served_port(svc)}/" in health, f"{name}: healthcheck port"
    prom = load_yaml(DEPLOY / "prometheus" / "prometheus-compose.yml")[0]
    scraped = {t for job in prom["scrape_configs"] for sc in job["static_configs"]
               for t in sc["targets"]}
    assert scraped == {f"{name}:{_served_port(svc)}" for name, svc in pipeline.items()}


def test_prometheus_and_grafana_get_their_files() -> None:
    svc = services()
    prom = dict((t, h) for h, t in bind_mounts(svc["prometheus"]))
    config = next(a.split("=", 1)[1] for a in svc["prometheus"]["command"]
                  if a.startswith("--config.file="))
    assert prom[config] == DEPLOY / "prometheus" / "prometheus-compose.yml"
    for rule_file in load_yaml(prom[config])[0]["rule_files"]:
        assert prom[str(Path(config).parent / rule_file)] == DEPLOY / "prometheus" / rule_file
    graf = dict((t, h) for h, t in bind_mounts(svc["grafana"]))
    assert graf["/etc/grafana/provisioning"] == DEPLOY / "grafana" / "provisioning"
    provider = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "consent.yml")[0]
    folder = provider["providers"][0]["options"]["path"]
    assert graf[f"{folder}/consent-pipeline.json"] == DEPLOY / "grafana" / "consent-pipeline.json"
    assert svc["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"].startswith("/run/")


def test_kafka_is_the_official_image_with_sasl_ssl_scram_and_acls() -> None:
    kafka = services()["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    start = mounted_script(kafka, as_list(kafka["entrypoint"])[1])
    assert start is not None
    props = dict(re.findall(r"^([a-z][\w.-]+)=(.*)$", start.read_text(encoding="utf-8"),
                            flags=re.MULTILINE))
    protocols = dict(p.split(":") for p in props["listener.security.protocol.map"].split(","))
    assert protocols == {"CLIENT": "SASL_SSL", "HOST": "SASL_SSL", "CONTROLLER": "SSL"}
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["auto.create.topics.enable"] == "false"


def test_setup_creates_topics_principals_and_schema_from_the_code() -> None:
    """Topics and principals come from the catalogues (schemas/topics.py, principals.py)
    through these commands, so the compose stack cannot drift from them."""
    lines = command_lines("setup", services()["setup"])
    assert ["topics", "create"] in lines
    assert ["db", "migrate"] in lines
    assert any(argv[:2] == ["access", "setup"] for argv in lines)
    assert services()["setup"]["restart"] == "no"
    for name in pipeline_services():
        assert services()[name]["depends_on"]["setup"]["condition"] == \
            "service_completed_successfully", name


DEPLOYMENT_KEYS = ("CONSENT_TOPIC_PREFIX", "CONSENT_APP_ID", "CONSENT_PARTITIONS",
                   "CONSENT_ENVIRONMENT")


def test_setup_prepares_the_deployment_the_processes_run_in() -> None:
    """Topics, ACLs and groups are named from the prefix and app id, and co-partitioned topics
    are created with CONSENT_PARTITIONS: setup and every process must agree on them."""
    setup = services()["setup"]["environment"]
    for name, svc in pipeline_services().items():
        env = svc["environment"]
        assert {k: env.get(k) for k in DEPLOYMENT_KEYS} == \
            {k: setup.get(k) for k in DEPLOYMENT_KEYS}, name


# ------------------------------------------------------------------ init-secrets.sh, run


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("secrets")
    env = {**os.environ, "CONSENT_SECRETS_DIR": str(out),
           "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"}
    for _ in range(2):  # the second run must change nothing
        subprocess.run(["bash", str(COMPOSE_DIR / "init-secrets.sh")], env=env, check=True,
                       capture_output=True, timeout=120)
    return out


def test_init_secrets_gives_each_process_what_it_needs(secrets_dir: Path) -> None:
    for name, svc in pipeline_services().items():
        folder = secrets_dir / name
        assert {"ca.crt", "key_secret"} <= {p.name for p in folder.iterdir()}, name
        env = svc["environment"]
        for key, value in env.items():
            if key.endswith("_FILE"):
                assert (folder / Path(value).name).is_file(), f"{name}: {key} → nothing"
        assert folder.stat().st_mode & 0o077 == 0, name
    admin = load_client_properties(secrets_dir / "setup" / "admin.properties")
    assert admin.plain["security.protocol"] == "SASL_SSL"
    assert admin.plain["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert admin.plain["ssl.ca.location"] == "/run/secrets/consent/ca.crt"


def test_init_secrets_signs_for_every_webhook_source(secrets_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The sources the ingest endpoint serves by default, each with a secret it accepts."""
    text = (secrets_dir / "ingest" / "ingest_secrets.json").read_text(encoding="utf-8")
    monkeypatch.setenv("CONSENT_INGEST_SECRETS", text.strip())  # as the entry point hands it over
    settings = IngestSettings(key_secret="compose-check-key-secret")
    settings.check_ingest()
    assert set(settings.enabled_sources()) == set(settings.ingest_sources) == set(INGEST_SOURCES)
    env = services()["ingest"]["environment"]
    assert "CONSENT_INGEST_SOURCES" not in env, "then init-secrets.sh must sign for those"


def test_init_secrets_keeps_no_ca_key_and_names_the_broker(secrets_dir: Path) -> None:
    assert not list(secrets_dir.rglob("*.key"))
    pem = (secrets_dir / "kafka" / "broker.pem").read_text()
    assert "PRIVATE KEY" in pem and pem.count("BEGIN CERTIFICATE") == 2
    san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                          str(secrets_dir / "kafka" / "broker.pem")], capture_output=True,
                         text=True, check=True).stdout
    assert "DNS:kafka" in san and "DNS:localhost" in san


def test_init_secrets_does_not_change_what_exists(secrets_dir: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in secrets_dir.rglob("*") if p.is_file()}
    env = {**os.environ, "CONSENT_SECRETS_DIR": str(secrets_dir),
           "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"}
    subprocess.run(["bash", str(COMPOSE_DIR / "init-secrets.sh")], env=env, check=True,
                   capture_output=True, timeout=120)
    after = {p: p.read_bytes() for p in secrets_dir.rglob("*") if p.is_file()}
    assert after == before
