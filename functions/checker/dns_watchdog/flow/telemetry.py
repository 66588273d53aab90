"""What a run says about itself: the 'VPC judged' lines, metrics, the sweep summary, and the
full canary findings when an alert had to be shortened."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from dns_watchdog import constants as names
from dns_watchdog.domain.judge import Judgement
from dns_watchdog.domain.models import CanaryRun, Verdict
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.observability import METRICS_NAMESPACE, count, detailed_metrics, logger


def latencies(judgement: Judgement) -> list[float]:
    """Every lookup's latency through the forwarder, in milliseconds."""
    return [
        probe.elapsed_ms
        for report in judgement.canaries
        for probe in report.probes
        if probe.elapsed_ms is not None
    ]


def log_judged(outcome: VpcOutcome, canaries: int) -> None:
    judgement, severity = outcome.judgement, outcome.severity
    measured = latencies(judgement)
    logger.info(
        "VPC judged",
        extra={
            "vpc_id": outcome.facts.vpc_id,
            "verdict": judgement.verdict.value,
            "diagnosis": judgement.diagnosis.code,
            "option_set_id": outcome.facts.option_set.option_set_id,
            "canaries": canaries,
            "alert": severity.value if severity else None,
            "why": outcome.skipped or outcome.decision.why,
            # The workloads cached with the VPC's state (read when an alert went out; None:
            # never read): the dashboard's fleet table shows them next to the verdict.
            "workloads": outcome.state.workloads.workloads if outcome.state.workloads else None,
            # Per-VPC latency for the dashboard's Logs Insights widgets (no metric per VPC).
            "lookup_ms_max": max(measured) if measured else None,
            "lookup_ms_median": statistics.median(measured) if measured else None,
        },
    )


def log_full_findings(outcome: VpcOutcome) -> None:
    """Every canary's findings, for an alert that shows part of them and points here."""
    for report in outcome.judgement.canaries:
        logger.info(
            "Canary findings",
            extra={
                "vpc_id": outcome.facts.vpc_id,
                "canary": report.name,
                "status": report.status,
                "diagnosis": report.diagnosis.model_dump(mode="json"),
                "probes": [p.model_dump(mode="json") for p in report.probes],
                "direct": [p.model_dump(mode="json") for p in report.direct],
            },
        )


def record_checked(vpc_id: str, judgement: Judgement) -> None:
    count(names.METRIC_CHECKS_RUN, 1)
    failing = sum(
        1
        for report in judgement.canaries
        if report.status != "gone" and report.severity != Verdict.OK
    )
    if failing:
        count(names.METRIC_CANARY_FAILURES, failing)
    measured = latencies(judgement)
    if not measured or not detailed_metrics():
        # Per-VPC latency is a custom metric per VPC: opt-in (DetailedMetrics); the dashboard
        # reads it from the 'VPC judged' log lines instead.
        return
    # One EMF document per VPC rather than one per lookup; Powertools publishes a document
    # early whenever a metric reaches 100 values, the EMF limit, keeping the dimension.
    vpc_metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE)
    vpc_metrics.add_dimension(name=names.VPC_ID_DIMENSION, value=vpc_id)
    for value in measured:
        vpc_metrics.add_metric(
            name=names.METRIC_LOOKUP_LATENCY, unit=MetricUnit.Milliseconds, value=value
        )
    if vpc_metrics.metric_set:
        vpc_metrics.flush_metrics()


def record_skipped() -> None:
    count(names.METRIC_CHECKS_SKIPPED, 1)


def record_completed() -> None:
    """The heartbeat: the operations alarm fires when no check run completes for a while."""
    count(names.METRIC_CHECKS_COMPLETED, 1)


def summarise_sweep(
    results: Sequence[Mapping[str, Any]], runs: Mapping[str, list[CanaryRun]]
) -> None:
    """One log line and one metric that say what the sweep covered."""
    verdicts = Counter(str(r.get("verdict") or r.get("status")) for r in results)
    without_healthy = sorted(
        vpc_id
        for vpc_id, vpc_runs in runs.items()
        if not any(
            run.findings is not None and run.findings.diagnosis.severity == Verdict.OK
            for run in vpc_runs
        )
    )
    logger.info(
        "Sweep summary",
        extra={
            "vpcs_checked": len(results),
            "canaries_invoked": sum(len(vpc_runs) for vpc_runs in runs.values()),
            "verdicts": dict(verdicts),
            "vpcs_without_a_healthy_canary": without_healthy,
        },
    )
    count(names.METRIC_VPCS_WITHOUT_HEALTHY_CANARY, len(without_healthy))
