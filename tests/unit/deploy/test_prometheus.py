"""deploy/prometheus/: promtool accepts and unit-tests the rules, and they read real metrics.

promtool is Debian's (deploy/local/promtool.sh installs it when missing); these tests fail,
never skip, when it cannot be had.
"""

import re
import subprocess
from pathlib import Path

import pytest

from ops.cli import build_parser
from schemas.metrics_endpoint import DEFAULT_PORTS
from tests.unit.deploy.catalogue import (
    DEPLOY,
    REPO,
    load_yaml,
    promql_metrics,
    unknown_metrics,
)

PROM = DEPLOY / "prometheus"
ALERTS = PROM / "alerts.yml"
CONFIGS = ("prometheus.yml", "prometheus-compose.yml")


def run(promtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), *args], cwd=PROM, capture_output=True, text=True,
                          timeout=120, check=False)


def rules() -> list[dict]:
    return [r for g in load_yaml(ALERTS)[0]["groups"] for r in g["rules"]]


def test_promtool_accepts_the_rules(promtool: Path) -> None:
    proc = run(promtool, "check", "rules", ALERTS.name)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_alerts_unit_tests_pass(promtool: Path) -> None:
    proc = run(promtool, "test", "rules", "alerts.test.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("config", CONFIGS)
def test_promtool_accepts_the_configuration(promtool: Path, config: str) -> None:
    proc = run(promtool, "check", "config", config)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    tests = load_yaml(PROM / "alerts.test.yml")[0]["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for t in tests:
        for case in t.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {r["alert"] for r in rules()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested staying quiet"
    assert (firing | quiet) - names == set(), "tests of alerts that do not exist"


def test_alerts_read_only_metrics_the_code_exports(exported: dict[str, str]) -> None:
    assert unknown_metrics([r["expr"] for r in rules()], exported) == {}


def test_every_alert_says_how_bad_and_where_to_read_more() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    anchors = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", readme, flags=re.MULTILINE)}
    for r in rules():
        assert r["labels"]["severity"] in ("critical", "warning"), r["alert"]
        assert r["annotations"]["summary"], r["alert"]
        page, _, anchor = r["annotations"]["runbook"].partition("#")
        assert page == "README.md" and anchor in anchors, r["alert"]
        assert f"`{r['alert']}`" in readme, f"README does not explain {r['alert']}"


def _jobs(config: str) -> dict[str, list[str]]:
    doc = load_yaml(PROM / config)[0]
    return {j["job_name"]: [t for sc in j["static_configs"] for t in sc["targets"]]
            for j in doc["scrape_configs"]}


def _http_port(command: str) -> int:
    """The default --port of an HTTP endpoint command."""
    return int(build_parser().parse_args([command]).port)


def expected_ports() -> dict[str, int]:
    """job -> the port its process serves /metrics on by default, from the code."""
    ports = {f"consent-{kind}": port for kind, port in DEFAULT_PORTS.items()}
    ports["consent-unsubscribe"] = _http_port("unsubscribe-server")
    ports["consent-ingest"] = _http_port("ingest-server")
    return ports


def test_the_local_configuration_scrapes_every_process_on_its_port() -> None:
    jobs = _jobs("prometheus.yml")
    assert {job: [f"127.0.0.1:{port}"] for job, port in expected_ports().items()} == jobs


def test_the_compose_configuration_has_the_same_jobs_and_ports() -> None:
    """The supervisor is the local stack's; compose restarts processes itself."""
    jobs = _jobs("prometheus-compose.yml")
    ports = expected_ports()
    del ports["consent-supervisor"]
    assert set(jobs) == set(ports)
    for job, targets in jobs.items():
        assert [t.rsplit(":", 1)[1] for t in targets] == [str(ports[job])], job


# ---------------------------------------------------------------- the checker itself


@pytest.mark.parametrize(("expr", "names"), [
    ("rate(consent_events_total[5m])", {"consent_events_total"}),
    ('sum by (le, job) (rate(consent_barrier_wait_seconds_bucket{job=~"a|b"}[$__rate_interval]))',
     {"consent_barrier_wait_seconds_bucket"}),
    ("time() - max(consent_last_commit_timestamp_seconds offset 5m) > 1e3",
     {"consent_last_commit_timestamp_seconds"}),
    ('up{job="x"} == 0 and on (job, instance) consent_component_up unless ignoring (a) b_c',
     {"up", "consent_component_up", "b_c"}),
    ('label_replace(x, "dst", "$1", "src", "(.*)")', {"x"}),
])
def test_names_are_found_in_promql(expr: str, names: set[str]) -> None:
    assert promql_metrics(expr) == names


@pytest.mark.parametrize("typo", [
    "rate(consent_evnts_total[5m])",                       # misspelt
    "rate(consent_events[5m])",                            # a counter without _total
    "histogram_quantile(0.9, rate(consent_events_total_bucket[5m]))",  # a counter has no buckets
    "rate(consent_barrier_wait_seconds_total[5m])",        # a histogram has no _total
])
def test_a_name_the_code_does_not_export_is_caught(exported: dict[str, str], typo: str) -> None:
    assert unknown_metrics([typo], exported) != {}


def test_the_readme_lists_every_job_on_its_port() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    listed = {job: int(port) for job, port in
              re.findall(r"^\| `(consent-[a-z-]+)` \|[^\n]*\| (\d+) \|$", readme, flags=re.MULTILINE)}
    assert listed == expected_ports()
