"""deploy/: the alert rules pass promtool, every alert fires on a crafted series
(deploy/prometheus/tests.yml), and the rules and dashboard only read metrics that
something here exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from observability import http, metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
PROMTOOL_MISSING = "promtool not found: apt-get install -y prometheus (make test does it as root)"
# Temporal's recommended worker alerts (issue 16) and the business ones.
EXPECTED_ALERTS = {
    "TemporalWorkerNoPollers",
    "TemporalNonDeterminismError",
    "TemporalWorkflowTaskScheduleToStartLatencyHigh",
    "TemporalResourceExhausted",
    "WithdrawalReviewOverdue",
    "WithdrawalPayoutProviderErrors",
    "WithdrawalSettlementPastArrival",
    "WithdrawalPayoutUnknown",
    "WithdrawalWebhookDeliveriesFailed",
    "WithdrawalReturnRateHigh",  # issue 25
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(PROMTOOL_MISSING, pytrace=False)
    return subprocess.run(
        [found, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60
    )


def alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_rules_and_config_pass_promtool_check() -> None:
    for args in (("check", "rules", "alerts.yml"), ("check", "config", "prometheus.yml")):
        done = promtool(*args)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_fires_on_its_crafted_series() -> None:
    done = promtool("test", "rules", "tests.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    tested = set(re.findall(r"alertname: (\w+)", (RULES.parent / "tests.yml").read_text()))
    assert tested == {str(rule["alert"]) for rule in alerts()}


def test_each_alert_has_a_runbook_and_the_recommended_ones_are_there() -> None:
    names = {str(rule["alert"]) for rule in alerts()}
    assert names >= EXPECTED_ALERTS
    for rule in alerts():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict) and annotations.get("runbook"), rule["alert"]


def exported_names() -> set[str]:
    """Every series name the worker's and the HTTP service's pages can carry."""
    ours = {
        value
        for name, value in vars(metrics).items()
        if name.isupper() and isinstance(value, str) and value.startswith("withdrawal")
    }
    ours |= {http.HTTP_REQUESTS, http.HTTP_DURATION}
    suffixed = {f"{n}{s}" for n in ours for s in ("", "_total", "_bucket", "_sum", "_count")}
    return suffixed | {"up"}


def referenced_names(expr: str) -> set[str]:
    """Series names in a PromQL expression: what is left once label sets, ``by (...)``
    groupings, strings and function names are taken out."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}", "{}", bare)
    bare = re.sub(r"\bby\s*\([^)]*\)", "", bare)
    words = set(re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", bare))
    functions = {"sum", "max", "rate", "increase", "delta", "histogram_quantile", "absent"}
    return {w for w in words - functions if "_" in w or w == "up"}


def test_rules_and_dashboard_read_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "withdrawals.json").read_text())
    exprs = [str(rule["expr"]) for rule in alerts()]
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    exported = exported_names()
    for expr in exprs:
        for name in referenced_names(expr):
            assert name.startswith("temporal_") or name in exported, (name, expr)
    assert any("withdrawals_finished_total" in expr for expr in exprs)
