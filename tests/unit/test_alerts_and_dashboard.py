"""The on-call side of deploy/k8s: the PrometheusRule's alerts pass promtool, each has a
runbook in deploy/README.md, and every alert and dashboard query names only metrics the
services export (issue 27)."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from attendance_shared import metrics
from tests.unit.test_k8s_manifests import ROOT, of_kind, render

PROMTOOL = Path(os.environ.get("PROMTOOL") or ROOT / ".venv" / "opt" / "prometheus" / "promtool")
# PromQL's own words and the labels the services' metrics carry: anything else in a query must
# be a metric.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "deriv", "time",
    "histogram_quantile", "and", "or", "unless", "on", "ignoring", "group_left", "group_right",
    "humanizeDuration", "humanizePercentage",
}  # fmt: skip


def exported_metrics() -> set[str]:
    """Every series name the services export: counters as `_total`, histograms' `_bucket`,
    `_sum` and `_count`."""
    names: set[str] = set()
    for metric in vars(metrics).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        if metric._type == "counter":
            names.add(f"{metric._name}_total")
        elif metric._type == "histogram":
            names |= {f"{metric._name}_{suffix}" for suffix in ("bucket", "sum", "count")}
        else:
            names.add(metric._name)
    return names


def metrics_in(expr: str) -> set[str]:
    bare = re.sub(r'"[^"]*"', "", expr)  # strings
    bare = re.sub(r"\{[^}]*\}", "", bare)  # label matchers
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", bare)  # grouping labels
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # ranges
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare))
    return {w for w in words if w not in PROMQL_WORDS}


def readme_anchors() -> set[str]:
    """The anchors GitHub gives deploy/README.md's headings."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / "deploy" / "README.md").read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def rules() -> list[dict]:
    (rule_set,) = of_kind(render("base"), "PrometheusRule")
    return [rule for group in rule_set["spec"]["groups"] for rule in group["rules"]]


def test_the_alert_rules_pass_promtool(tmp_path: Path) -> None:
    if not PROMTOOL.is_file():
        pytest.fail(f"no promtool at {PROMTOOL}: `make install` unpacks Debian's prometheus package's promtool")
    (rule_set,) = of_kind(render("base"), "PrometheusRule")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule_set["spec"]["groups"]}))
    checked = subprocess.run([str(PROMTOOL), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


def test_every_alert_names_exported_metrics_and_has_a_runbook() -> None:
    exported, anchors = exported_metrics(), readme_anchors()
    wanted = {
        "consumer_lag_messages",
        "consumer_event_age_seconds",
        "consumer_last_poll_timestamp_seconds",
        "events_dead_lettered_total",
        "outbox_backlog_rows",
        "outbox_relay_last_success_timestamp_seconds",
        "kafka_broker_reachable",
        "http_request_seconds_count",
    }
    used: set[str] = set()
    for rule in rules():
        unknown = metrics_in(rule["expr"]) - exported
        assert not unknown, f"{rule['alert']} names metrics no service exports: {sorted(unknown)}"
        used |= metrics_in(rule["expr"])
        runbook = rule["annotations"]["runbook_url"]
        assert runbook.startswith("deploy/README.md#") and runbook.split("#")[1] in anchors, (
            f"{rule['alert']}: no heading in deploy/README.md for {runbook}"
        )
        assert rule["labels"]["severity"] in ("page", "ticket")
    assert wanted <= used, f"no alert on {sorted(wanted - used)}"


def test_the_dashboard_queries_exported_metrics_on_every_panel() -> None:
    (config_map,) = [m for m in of_kind(render("base"), "ConfigMap") if m["metadata"]["name"] == "attendance-dashboard"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["attendance.json"])
    exported = exported_metrics()
    titles = [panel["title"] for panel in dashboard["panels"]]
    for required in ("Freshness", "lag", "per second", "backlog", "Errors"):
        assert any(required in title for title in titles), f"no panel of {required}"
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            unknown = metrics_in(target["expr"]) - exported
            assert not unknown, f"{panel['title']}: no service exports {sorted(unknown)}"
    assert metrics_in('sum by (service) (rate(x_total{a="b"}[5m])) / y') == {"x_total", "y"}
