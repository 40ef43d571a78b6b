"""deploy/kubernetes/ checked as files (no cluster here): the Strimzi topics and users are the
code's catalogues (schemas/topics.py, schemas/principals.py), every workload is a process kind
of ops/deployment.py running as its own principal and role with the secrets `make up` gives it,
serves /metrics where Prometheus and the probes look, and the init container writes a client
file the settings accept.
"""

import functools
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ops.deployment import IDENTITIES
from ops.supervisor import kind_of
from schemas.client_properties import load_client_properties
from schemas.principals import PRINCIPALS, grants
from schemas.topics import topic_specs
from tests.unit.deploy.catalogue import (
    DEPLOY,
    REPO,
    SECRET_SETTINGS,
    argv_error,
    load_yaml,
    pipeline_kinds,
    secret_settings,
    served_port,
)

K8S = DEPLOY / "kubernetes"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|CREDENTIAL")
WORKLOADS = ("Deployment", "StatefulSet")


@functools.cache
def documents() -> list[dict[str, Any]]:
    """Every resource kustomize applies (parsed once: the tests only read them)."""
    kustomization = load_yaml(K8S / "kustomization.yaml")[0]
    return [d for f in kustomization["resources"] for d in load_yaml(K8S / f)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in documents() if d["kind"] == kind]


def cluster() -> dict[str, Any]:
    (kafka,) = of_kind("Kafka")
    return kafka


def workloads() -> dict[str, dict[str, Any]]:
    """name -> the pipeline's long-running workloads."""
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] in WORKLOADS}


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def main_container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod(workload)["containers"]
    return container


def consent_argv(container: dict[str, Any]) -> list[str]:
    """The `consent` arguments of a container (args go through the image's entry point)."""
    assert "command" not in container, "the image's entry point must run (CONSENT_*_FILE)"
    args = container["args"]
    assert args[0] == "consent", args
    return args[1:]


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def secret_of(workload: dict[str, Any], mount_path: str) -> str:
    """The name of the Secret mounted at a path of the main container."""
    mount = next(m for m in main_container(workload)["volumeMounts"] if m["mountPath"] == mount_path)
    volume = next(v for v in pod(workload)["volumes"] if v["name"] == mount["name"])
    return volume["secret"]["secretName"]


def deployment_env() -> dict[str, str]:
    """The deployment-wide settings, the same in every workload (checked)."""
    keys = ("CONSENT_TOPIC_PREFIX", "CONSENT_APP_ID", "CONSENT_PARTITIONS", "CONSENT_ENVIRONMENT")
    seen = {tuple(env(main_container(w)).get(k) for k in keys) for w in workloads().values()}
    assert len(seen) == 1, f"workloads disagree on {keys}: {seen}"
    return dict(zip(keys, seen.pop(), strict=True))


# ------------------------------------------------------------------------ files and Kafka


def test_kustomize_applies_every_file_and_every_file_parses() -> None:
    listed = load_yaml(K8S / "kustomization.yaml")[0]["resources"]
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == on_disk
    for doc in documents():
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], doc


def test_the_cluster_authenticates_every_client_and_allows_nothing_without_an_acl() -> None:
    kafka = cluster()["spec"]["kafka"]
    assert [lst["authentication"]["type"] for lst in kafka["listeners"]] == ["scram-sha-512"]
    assert all(lst["tls"] for lst in kafka["listeners"])
    assert kafka["authorization"]["type"] == "simple"
    assert kafka["config"]["allow.everyone.if.no.acl.found"] is False
    assert kafka["config"]["auto.create.topics.enable"] is False


def test_topics_are_the_catalogue() -> None:
    name = cluster()["metadata"]["name"]
    topics = {t["metadata"]["name"]: t for t in of_kind("KafkaTopic")}
    prefix = deployment_env()["CONSENT_TOPIC_PREFIX"]
    assert set(topics) == {prefix + s.name for s in topic_specs()}
    partitions = int(deployment_env()["CONSENT_PARTITIONS"])
    replicas = cluster()["spec"]["kafka"]["config"]["default.replication.factor"]
    for spec in topic_specs():
        topic = topics[prefix + spec.name]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == name
        assert topic["spec"]["config"] == spec.config, spec.name
        assert topic["spec"]["replicas"] == replicas, spec.name
        if spec.copartitioned:
            assert topic["spec"]["partitions"] == partitions, spec.name


_RESOURCE = {"topic": "topic", "group": "group", "transactional_id": "transactionalId"}
_PATTERN = {"literal": "literal", "prefixed": "prefix"}


def test_users_and_their_acls_are_the_principals_catalogue() -> None:
    name = cluster()["metadata"]["name"]
    users = {u["metadata"]["name"]: u for u in of_kind("KafkaUser")}
    assert set(users) == {p.name for p in PRINCIPALS}
    wanted: dict[str, set[tuple[str, str, str, str]]] = {p.name: set() for p in PRINCIPALS}
    settings = deployment_env()
    for g in grants(settings["CONSENT_TOPIC_PREFIX"], settings["CONSENT_APP_ID"]):
        wanted[g.principal].add((_RESOURCE[g.resource.value], g.name, _PATTERN[g.pattern.value],
                                 g.operation.value.capitalize()))
    for user, doc in users.items():
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == name
        assert doc["spec"]["authentication"]["type"] == "scram-sha-512"
        acls = doc["spec"]["authorization"]["acls"]
        given = {(a["resource"]["type"], a["resource"]["name"], a["resource"]["patternType"], op)
                 for a in acls for op in a["operations"]}
        assert given == wanted[user], user
        assert all(a.get("host", "*") == "*" for a in acls)


# ---------------------------------------------------------------------------- workloads


def test_every_process_of_the_local_stack_runs_here() -> None:
    assert {kind_of(consent_argv(main_container(w))) for w in workloads().values()} == \
        pipeline_kinds()


def test_every_command_is_one_the_cli_accepts() -> None:
    containers = [c for d in documents() if d["kind"] in (*WORKLOADS, "Job")
                  for c in d["spec"]["template"]["spec"]["containers"]]
    for container in containers:
        argv = consent_argv(container)
        assert argv_error(argv) is None, argv


def test_each_process_runs_as_its_principal_and_role() -> None:
    cluster_name = cluster()["metadata"]["name"]
    for name, w in workloads().items():
        kind = kind_of(consent_argv(main_container(w)))
        principal, role = IDENTITIES[kind]
        (init,) = pod(w)["initContainers"]
        assert env(init)["KAFKA_USER"] == principal, name
        user_volume = next(v for v in pod(w)["volumes"] if v["name"] == "kafka-user")
        assert user_volume["secret"]["secretName"] == principal, name
        assert secret_of(w, "/run/secrets/kafka-ca") == f"{cluster_name}-cluster-ca-cert"
        script = init["command"][2]
        assert f"bootstrap.servers={cluster_name}-kafka-bootstrap:9093" in script
        database = env(main_container(w)).get("CONSENT_DATABASE_URL_FILE")
        if role is None:
            assert database is None, name
        else:
            assert secret_of(w, str(Path(database).parent)) == \
                f"consent-db-{role.replace('_', '-')}", name


def test_each_process_gets_the_secrets_its_deployment_gives_it(tmp_path: Path) -> None:
    for name, w in workloads().items():
        container = main_container(w)
        kind = kind_of(consent_argv(container))
        given = {k.removesuffix("_FILE") for k in env(container)
                 if k.removesuffix("_FILE") in SECRET_SETTINGS}
        assert given == secret_settings(kind, tmp_path), name


def test_no_secret_is_written_in_the_files() -> None:
    for doc in documents():
        assert doc["kind"] != "Secret", f"{doc['metadata']['name']}: Secrets are made outside git"
    for w in [*workloads().values(), *of_kind("Job")]:
        spec = w["spec"]["template"]["spec"]
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            for key, value in env(container).items():
                if SECRET_NAME.search(key):
                    assert key.endswith("_FILE") and value.startswith("/run/secrets/"), key
                    mounts = [m["mountPath"] for m in container["volumeMounts"]]
                    assert str(Path(value).parent) in mounts, f"{key}: {value} is not mounted"


def test_metrics_are_served_where_probes_annotations_and_the_pod_monitor_look() -> None:
    (monitor,) = of_kind("PodMonitor")
    scraped_ports = {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}
    job_label = monitor["spec"]["jobLabel"]
    prom = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")[0]
    jobs = {j["job_name"] for j in prom["scrape_configs"]} - {"consent-supervisor"}
    seen_jobs = set()
    for name, w in workloads().items():
        container = main_container(w)
        argv = consent_argv(container)
        port = served_port(argv)
        assert env(container)["CONSENT_METRICS_HOST"] == "0.0.0.0", name
        if "--host" in argv:
            assert argv[argv.index("--host") + 1] == "0.0.0.0", name
        (named,) = [p for p in container["ports"] if p["containerPort"] == port]
        assert named["name"] in scraped_ports, name
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["port"] == named["name"], (name, probe)
        annotations = w["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(port), name
        labels = w["spec"]["template"]["metadata"]["labels"]
        assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        seen_jobs.add(labels[job_label])
    assert seen_jobs == jobs, "job names differ from deploy/prometheus/prometheus.yml"


def test_pods_run_our_image_as_a_non_root_user() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    for doc in [*workloads().values(), *of_kind("Job")]:
        spec = doc["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            assert container["image"] == f"consent-pipeline:{version}"
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_the_consent_agent_keeps_its_state_and_processors_keep_their_names() -> None:
    for name, w in workloads().items():
        kind = kind_of(consent_argv(main_container(w)))
        if kind in ("worker", "filter"):  # transactional id = pod name: stable across restarts
            assert w["kind"] == "StatefulSet", name
    worker = workloads()["consent-worker"]
    data = [m for m in main_container(worker)["volumeMounts"] if m["name"] == "data"]
    assert data and [c["metadata"]["name"] for c in worker["spec"]["volumeClaimTemplates"]] == \
        ["data"]


def test_migrations_run_as_the_owner() -> None:
    (job,) = of_kind("Job")
    assert consent_argv(job["spec"]["template"]["spec"]["containers"][0]) == ["db", "migrate"]
    assert secret_of(job, "/run/secrets/consent/db") == "consent-db-consent-owner"


# --------------------------------------------------------------- the init container, run


@pytest.mark.parametrize("name", ["consent-worker", "consent-ingest"])
def test_the_init_container_writes_a_client_file_the_settings_accept(tmp_path: Path,
                                                                     name: str) -> None:
    w = workloads()[name]
    (init,) = pod(w)["initContainers"]
    script = init["command"][2].replace("/run/", f"{tmp_path}/run/")
    for d in ("secrets/kafka-user", "secrets/kafka-ca", "consent/kafka"):
        (tmp_path / "run" / d).mkdir(parents=True)
    (tmp_path / "run/secrets/kafka-user/password").write_text("pa$$ word")
    (tmp_path / "run/secrets/kafka-ca/ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    subprocess.run(["sh", "-c", script], env={"PATH": os.environ["PATH"], **env(init)},
                   check=True, timeout=30)
    path = tmp_path / "run/consent/kafka/client.properties"
    assert path.stat().st_mode & 0o077 == 0
    props = load_client_properties(path)
    principal = IDENTITIES[kind_of(consent_argv(main_container(w)))][0]
    assert props.plain["sasl.username"] == principal
    assert props.plain["security.protocol"] == "SASL_SSL"
    assert props.plain["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert str(props.plain["ssl.ca.location"]).endswith("/run/secrets/kafka-ca/ca.crt")
    assert "pa$$ word" in path.read_text()
    mounted = env(main_container(w))["CONSENT_KAFKA_CLIENT_CONFIG"]
    assert mounted == "/run/consent/kafka/client.properties"
