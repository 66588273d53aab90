"""The cost budget: the default stack for 10 VPCs with a 5-minute sweep stays at most $2.50 a
month (us-east-1 list prices), and the README's cost table is the model's."""

from __future__ import annotations

import pytest

from devtools import cost

pytestmark = pytest.mark.iac


def test_the_default_stack_for_10_vpcs_at_5_minute_sweeps_fits_the_budget() -> None:
    lines = cost.estimate(vpcs=10, sweep_minutes=5)
    assert cost.total(lines) <= cost.BUDGET_USD, "\n" + cost.table()


def test_the_model_counts_what_the_template_creates() -> None:
    by_item = {line.item: line for line in cost.estimate()}
    assert by_item["KMS keys"].usage.startswith("1 (WatchdogKey)")
    assert by_item["CloudWatch dashboards"].usd == 0
    assert by_item["CloudWatch custom metrics"].usage == "1: ChecksCompleted"
    opted_in = {
        line.item: line
        for line in cost.estimate(
            parameters={
                "CreateDashboard": "true",
                "EncryptOperationsTopic": "true",
                "DetailedMetrics": "true",
            }
        )
    }
    assert opted_in["KMS keys"].usage.startswith("2 (WatchdogKey, OperationsKey)")
    assert opted_in["CloudWatch dashboards"].usd == cost.DASHBOARD_MONTH
    assert opted_in["CloudWatch custom metrics"].usage.endswith("LookupLatency per VPC (10)")
    # Without a sweep there is no heartbeat alarm
    no_sweep = {
        line.item: line
        for line in cost.estimate(parameters={"SweepIntervalMinutes": "0"}, sweep_minutes=5)
    }
    assert "HeartbeatAlarm" not in no_sweep["CloudWatch alarms"].usage


def test_synthetics_at_the_same_frequency_is_in_the_table() -> None:
    assert cost.synthetics(10, 5) == pytest.approx(103.68)
    assert "CloudWatch Synthetics" in cost.table()


def test_workload_evidence_at_its_daily_budget_is_in_the_table() -> None:
    # 10 GiB a day for 30 days at 0.005 USD per GB scanned
    assert cost.evidence_ceiling(10) == pytest.approx(300 * 1.073741824 * 0.005)
    assert "WorkloadEvidence" in cost.table()


def test_the_readme_cost_table_is_the_models() -> None:
    readme = cost.README.read_text()
    assert cost.readme_with_table(readme, cost.table()) == readme, "run make cost"
