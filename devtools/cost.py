"""The cost model behind the README's cost table (`make cost` rewrites the table).

It counts what template.yaml creates with the given parameters (KMS keys, alarms, dashboards,
custom metrics from the checker's constants) and prices them with the invocations and durations
of a sweep schedule, at us-east-1 list prices. Durations are the benchmarks' figures rounded up
(see README "Benchmarks"): a canary invocation billed 300 ms (run plus an amortised cold start),
a sweep 1.5 s of checker time (real AWS API latency instead of moto's). tests/iac/test_cost.py
holds the default deployment to the budget and the README to this model.

Hand-written (a few conditions, a few prices): no pricing library covers CloudFormation counts.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dns_watchdog import constants  # the checker's names (PYTHONPATH=functions/checker)
from samtranslator.yaml_helper import yaml_parse

from devtools.lambdakit import REPO_ROOT

TEMPLATE = REPO_ROOT / "template.yaml"
README = REPO_ROOT / "README.md"
TABLE_START = "<!-- cost-table:start (make cost) -->"
TABLE_END = "<!-- cost-table:end -->"

BUDGET_USD = 2.50  # a month, 10 VPCs, 5-minute sweeps, default parameters

# us-east-1 list prices (USD)
LAMBDA_ARM_GB_S = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
DYNAMODB_WRITE = 1.25 / 1_000_000
DYNAMODB_READ = 0.25 / 1_000_000
KMS_KEY_MONTH = 1.00
KMS_REQUEST = 0.03 / 10_000
CUSTOM_METRIC_MONTH = 0.30
ALARM_MONTH = 0.10
DASHBOARD_MONTH = 3.00  # beyond an account's first three
LOGS_INGEST_GB = 0.50
SYNTHETICS_RUN = 0.0012
# CloudWatch Logs Insights: per GB of log data scanned, us-east-1 (the Amazon CloudWatch pricing
# page's figure, 0.005 USD per GB, as quoted in May and June 2026 by factualminds.com's and
# c3x.dev's CloudWatch cost guides; check the pricing page for your region).
LOGS_INSIGHTS_GB = 0.005

# The measured figures the estimate bills (benchmarks, rounded up).
CANARY_BILLED_S = 0.3
CANARY_MEMORY_GB = 0.25
SWEEP_BILLED_S = 1.5
CHECKER_MEMORY_GB = 0.5
LOG_BYTES_PER_CANARY_RUN = 1_000  # platform lines of the canary
LOG_BYTES_PER_VPC_CHECK = 1_000  # 'VPC judged' and the checker's platform lines per VPC
KMS_REQUESTS_PER_SWEEP = 3  # SNS, DynamoDB and Logs data keys are cached; a few per run
MINUTES_A_MONTH = 30 * 24 * 60


@dataclass(frozen=True)
class Line:
    item: str
    usage: str
    usd: float


def load_template() -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    return template


class _Conditions:
    """Evaluates the template's Conditions for parameter values (defaults otherwise)."""

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str]) -> None:
        self._template = template
        defaults = {
            name: str(spec.get("Default", ""))
            for name, spec in template.get("Parameters", {}).items()
        }
        self._values = {**defaults, **{k: str(v) for k, v in parameters.items()}}

    def holds(self, name: str | None) -> bool:
        return True if name is None else bool(self._eval(self._template["Conditions"][name]))

    def _eval(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        ((key, arg),) = node.items()
        if key == "Ref":
            return self._values.get(arg, arg)
        if key == "Condition":
            return self.holds(arg)
        if key == "Fn::Join":
            separator, items = arg
            value = self._eval(items)
            return separator.join(value if isinstance(value, list) else [value])
        args = [self._eval(a) for a in arg]
        operations = {
            "Fn::Equals": lambda: str(args[0]) == str(args[1]),
            "Fn::Not": lambda: not args[0],
            "Fn::And": lambda: all(args),
            "Fn::Or": lambda: any(args),
        }
        return operations[key]()


def created(template: Mapping[str, Any], parameters: Mapping[str, str], kind: str) -> list[str]:
    """Logical ids of the resources of `kind` the stack creates with these parameters."""
    conditions = _Conditions(template, parameters)
    return [
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind and conditions.holds(resource.get("Condition"))
    ]


def custom_metrics(parameters: Mapping[str, str], vpcs: int) -> tuple[int, str]:
    """How many custom metrics the checker publishes, and which."""
    if parameters.get("DetailedMetrics", "false") != "true":
        return len(constants.ALARMED_METRICS), ", ".join(constants.ALARMED_METRICS)
    service = [
        value
        for name, value in vars(constants).items()
        if name.startswith("METRIC_") and value != constants.METRIC_LOOKUP_LATENCY
    ]
    return len(service) + vpcs, f"{len(service)} service metrics + LookupLatency per VPC ({vpcs})"


def estimate(
    *, vpcs: int = 10, sweep_minutes: int = 5, parameters: Mapping[str, str] | None = None
) -> list[Line]:
    """The monthly cost of the stack, line by line."""
    parameters = {"SweepIntervalMinutes": str(sweep_minutes), **(parameters or {})}
    template = load_template()
    sweeps = MINUTES_A_MONTH // sweep_minutes
    canary_runs = sweeps * vpcs
    checker_gb_s = sweeps * SWEEP_BILLED_S * CHECKER_MEMORY_GB
    canary_gb_s = canary_runs * CANARY_BILLED_S * CANARY_MEMORY_GB
    keys = created(template, parameters, "AWS::KMS::Key")
    alarms = created(template, parameters, "AWS::CloudWatch::Alarm")
    dashboards = created(template, parameters, "AWS::CloudWatch::Dashboard")
    metrics, which = custom_metrics(parameters, vpcs)
    log_gb = (canary_runs * (LOG_BYTES_PER_CANARY_RUN + LOG_BYTES_PER_VPC_CHECK)) / 1e9
    kms_requests = sweeps * KMS_REQUESTS_PER_SWEEP
    return [
        Line(
            "Lambda checker, 512 MB",
            f"{sweeps:,} x {SWEEP_BILLED_S} s = {checker_gb_s:,.0f} GB-s",
            checker_gb_s * LAMBDA_ARM_GB_S,
        ),
        Line(
            "Lambda canaries, 256 MB",
            f"{canary_runs:,} x {CANARY_BILLED_S} s = {canary_gb_s:,.0f} GB-s",
            canary_gb_s * LAMBDA_ARM_GB_S,
        ),
        Line(
            "Lambda requests",
            f"{sweeps + canary_runs:,}",
            (sweeps + canary_runs) * LAMBDA_REQUEST,
        ),
        Line("EventBridge", "AWS service events on the default bus and schedules", 0.0),
        Line(
            "DynamoDB on demand",
            f"{canary_runs:,} reads + {canary_runs:,} writes",
            canary_runs * (DYNAMODB_READ + DYNAMODB_WRITE),
        ),
        Line("SNS", "a handful of alerts", 0.0),
        Line(
            "KMS keys",
            f"{len(keys)} ({', '.join(keys)}), ~{kms_requests:,} requests",
            len(keys) * KMS_KEY_MONTH + kms_requests * KMS_REQUEST,
        ),
        Line("CloudWatch custom metrics", f"{metrics}: {which}", metrics * CUSTOM_METRIC_MONTH),
        Line(
            "CloudWatch alarms",
            f"{len(alarms)} ({', '.join(alarms)})",
            len(alarms) * ALARM_MONTH,
        ),
        Line(
            "CloudWatch dashboards",
            f"{len(dashboards)}" + (" (free for an account's first three)" if dashboards else ""),
            len(dashboards) * DASHBOARD_MONTH,
        ),
        Line(
            "CloudWatch Logs, X-Ray", f"~{log_gb * 1000:,.0f} MB ingested", log_gb * LOGS_INGEST_GB
        ),
    ]


def total(lines: list[Line]) -> float:
    return sum(line.usd for line in lines)


def synthetics(vpcs: int = 10, sweep_minutes: int = 5) -> float:
    """CloudWatch Synthetics canaries, one per VPC, at the same frequency (runs only)."""
    return (MINUTES_A_MONTH // sweep_minutes) * vpcs * SYNTHETICS_RUN


def evidence_ceiling(daily_scan_gib: float = 10) -> float:
    """WorkloadEvidence at its daily scan budget every day of the month (the most it costs per
    account; a quiet month costs nothing)."""
    return daily_scan_gib * 30 * 1024**3 / 1e9 * LOGS_INSIGHTS_GB


def table(vpcs: int = 10, sweep_minutes: int = 5) -> str:
    lines = estimate(vpcs=vpcs, sweep_minutes=sweep_minutes)
    detailed = estimate(
        vpcs=vpcs,
        sweep_minutes=sweep_minutes,
        parameters={
            "DetailedMetrics": "true",
            "EncryptOperationsTopic": "true",
            "CreateDashboard": "true",
        },
    )
    rows = ["| item | usage per month | cost per month |", "| --- | --- | --- |"]
    rows += [f"| {line.item} | {line.usage} | ${line.usd:.2f} |" for line in lines]
    rows.append(f"| **total (defaults)** | | **${total(lines):.2f}** |")
    rows.append(
        "| with DetailedMetrics, EncryptOperationsTopic and CreateDashboard | | "
        f"${total(detailed):.2f} |"
    )
    rows.append(
        "| with WorkloadEvidence, its daily scan budget (EvidenceDailyScanGiB 10) spent every day "
        f"| 300 GiB scanned x ${LOGS_INSIGHTS_GB} per GB | at most ${evidence_ceiling():.2f} |"
    )
    rows.append(
        f"| CloudWatch Synthetics instead, one canary per VPC every {sweep_minutes} minutes | "
        f"{(MINUTES_A_MONTH // sweep_minutes) * vpcs:,} runs x ${SYNTHETICS_RUN} | "
        f"${synthetics(vpcs, sweep_minutes):.2f} |"
    )
    return "\n".join(rows)


def readme_with_table(readme: str, generated: str) -> str:
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.S)
    if not pattern.search(readme):
        raise ValueError(f"README.md has no {TABLE_START} ... {TABLE_END} section")
    return pattern.sub(lambda _: f"{TABLE_START}\n{generated}\n{TABLE_END}", readme)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md is out of date")
    args = parser.parse_args()
    generated = table()
    print(generated)
    current = README.read_text()
    updated = readme_with_table(current, generated)
    if args.check:
        if updated != current:
            raise SystemExit("README.md's cost table is out of date: run make cost")
        return
    README.write_text(updated)


if __name__ == "__main__":
    main()
