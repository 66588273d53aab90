"""The fleet dashboard: valid JSON once CloudFormation substitutes it, Logs Insights widgets over
log lines the checker really writes, metric widgets over metrics that exist without opt-ins."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from dns_watchdog import constants
from iac_template import MAIN_TEMPLATE, Resolver, load_template

pytestmark = pytest.mark.iac

TEMPLATE = load_template(MAIN_TEMPLATE)
RESOURCES = TEMPLATE["Resources"]
CHECKER_SOURCE = "\n".join(
    path.read_text()
    for path in (Path(MAIN_TEMPLATE).parent / "functions" / "checker").rglob("*.py")
)
SAMPLES = {
    "CheckerLogGroup": "/aws/lambda/vpc-dns-watchdog-checker",
    "CheckerFunction": "vpc-dns-watchdog-CheckerFunction-abc",
    "EventsDeadLetterQueue.QueueName": "vpc-dns-watchdog-events-dlq",
    "CheckerFailureQueue.QueueName": "vpc-dns-watchdog-failed-checks",
}


def body() -> dict[str, Any]:
    resolver = Resolver(TEMPLATE, dict(SAMPLES))
    text = resolver.resolve(RESOURCES["FleetDashboard"]["Properties"]["DashboardBody"])
    document: dict[str, Any] = json.loads(text)
    return document


def widgets(kind: str) -> list[dict[str, Any]]:
    return [w["properties"] for w in body()["widgets"] if w["type"] == kind]


def test_the_dashboard_is_opt_in() -> None:
    assert RESOURCES["FleetDashboard"]["Condition"] == "WithDashboard"
    assert not Resolver(TEMPLATE, {}).condition("WithDashboard")
    assert Resolver(TEMPLATE, {"CreateDashboard": "true"}).condition("WithDashboard")


def test_every_log_widget_reads_the_checker_log_group_and_a_line_the_checker_writes() -> None:
    queries = [w["query"] for w in widgets("log")]
    assert len(queries) >= 3
    for query in queries:
        assert query.startswith(f"SOURCE '{SAMPLES['CheckerLogGroup']}' |")
        [message] = re.findall(r"filter message = '([^']+)'", query)
        assert f'"{message}"' in CHECKER_SOURCE, message


def test_the_fleet_table_has_one_row_per_vpc_with_its_verdict_and_option_set() -> None:
    [fleet] = [w["query"] for w in widgets("log") if "by vpc_id" in w["query"]]
    # The workload count sits next to the verdict (cached with the state: no call per sweep).
    assert "latest(verdict) as verdict, latest(workloads) as workloads" in fleet
    for field in ("verdict", "workloads", "option_set_id", "lookup_ms_median", "lookup_ms_max"):
        assert f"({field})" in fleet
        assert f'"{field}"' in CHECKER_SOURCE


def test_the_metric_widgets_show_metrics_that_exist_without_detailed_metrics() -> None:
    env = RESOURCES["CheckerFunction"]["Properties"]["Environment"]["Variables"]
    [health] = widgets("metric")
    shown = {tuple(m[:4]) for m in health["metrics"]}
    assert ("AWS/Lambda", "Errors", "FunctionName", SAMPLES["CheckerFunction"]) in shown
    for queue in ("EventsDeadLetterQueue", "CheckerFailureQueue"):
        name = SAMPLES[f"{queue}.QueueName"]
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name) in shown
    custom = [m for m in health["metrics"] if not m[0].startswith("AWS/")]
    for namespace, metric, dimension, value, _ in custom:
        assert namespace == env[constants.METRICS_NAMESPACE_ENV]
        assert metric in constants.ALARMED_METRICS
        assert (dimension, value) == (constants.SERVICE_DIMENSION, env[constants.SERVICE_NAME_ENV])
