"""deploy/grafana/: the dashboard reads only metrics the code exports, and shows every one."""

import json
import re
from typing import Any

import pytest

from tests.unit.deploy.catalogue import DEPLOY, load_yaml, promql_metrics, unknown_metrics

GRAFANA = DEPLOY / "grafana"
QUESTIONS = ("Is it flowing?", "Is it dropping correctly?", "Is it falling behind?",
             "Is bad input arriving?", "Did anything leak?", "Restarts, state and review")


def dashboard() -> dict[str, Any]:
    return json.loads((GRAFANA / "consent-pipeline.json").read_text(encoding="utf-8"))


def panels() -> list[dict[str, Any]]:
    out = []
    for p in dashboard()["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))  # a collapsed row keeps its panels inside
    return out


def queries() -> list[str]:
    return [t["expr"] for p in panels() for t in p.get("targets", [])]


def family(sample: str) -> str:
    return re.sub(r"_(total|bucket|sum|count)$", "", sample)


def test_panels_read_only_metrics_the_code_exports(exported: dict[str, str]) -> None:
    assert queries()
    assert unknown_metrics(queries(), exported) == {}


def test_every_metric_the_code_exports_is_on_the_dashboard(exported: dict[str, str]) -> None:
    """A new metric gets a panel, or it is exported for nobody."""
    shown = {family(n) for q in queries() for n in promql_metrics(q)}
    missing = {f"{family(s)} ({cls})" for s, cls in exported.items() if family(s) not in shown}
    assert missing == set()


def test_the_rows_answer_the_questions() -> None:
    rows = [p["title"] for p in dashboard()["panels"] if p["type"] == "row"]
    assert rows == list(QUESTIONS)


def test_every_panel_queries_the_chosen_data_source() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for p in panels():
        if p["type"] == "row":
            continue
        assert p["targets"], p["title"]
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in p["targets"]), p["title"]
        assert p.get("description"), f"{p['title']}: say what it shows and why"


def test_ids_are_unique_and_panels_do_not_overlap() -> None:
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for p in panels():
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
        cells = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                 for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & taken, f"{p['title']} overlaps another panel"
        taken |= cells


def test_provisioning_points_at_prometheus_and_the_dashboard_folder() -> None:
    sources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")[0]
    [source] = sources["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] is True
    providers = load_yaml(GRAFANA / "provisioning" / "dashboards" / "consent.yml")[0]
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")


@pytest.mark.parametrize("expr", ["sum(rate(consent_event_total[5m]))",
                                  "consent_sink_lag_record"])
def test_a_typo_in_a_panel_is_caught(exported: dict[str, str], expr: str) -> None:
    assert unknown_metrics([expr], exported)
