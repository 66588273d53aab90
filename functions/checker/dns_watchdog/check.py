"""One check: which VPCs, their facts, their canaries' findings, the verdict, state and alerts."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from dns_watchdog import constants as names
from dns_watchdog.alerts import AlertContext, build_alert
from dns_watchdog.aws_vpc import UnknownResource, VpcDirectory
from dns_watchdog.canaries import CanaryDirectory
from dns_watchdog.config import CheckerConfig
from dns_watchdog.invoker import CanaryInvoker
from dns_watchdog.judge import Judgement
from dns_watchdog.models import CanaryRun, Verdict
from dns_watchdog.observability import METRICS_NAMESPACE, logger, metrics
from dns_watchdog.outcome import conclude
from dns_watchdog.publisher import AlertPublisher
from dns_watchdog.request import CheckRequest
from dns_watchdog.state import StateStore
from dns_watchdog.vpc import VpcFacts


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _VpcPlan:
    facts: VpcFacts
    canary_arns: tuple[str, ...]


class Checker:
    """Runs a check request end to end; AWS failures raise, bad targets are reported."""

    def __init__(
        self,
        *,
        config: CheckerConfig,
        vpcs: VpcDirectory,
        canaries: CanaryDirectory,
        invoker: CanaryInvoker,
        state: StateStore,
        publisher: AlertPublisher,
        now: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._vpcs = vpcs
        self._canaries = canaries
        self._invoker = invoker
        self._state = state
        self._publisher = publisher
        self._now = now
        self._monotonic = monotonic

    def run(self, request: CheckRequest) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        vpc_ids, known_canaries = self._scope(request, results)
        plans: dict[str, _VpcPlan] = {}
        for vpc_id in vpc_ids:
            try:
                facts = self._vpcs.describe_vpc(vpc_id)
            except UnknownResource as exc:
                logger.warning("VPC not checked", extra={"vpc_id": vpc_id, "error": str(exc)})
                results.append({"vpc_id": vpc_id, "status": "error", "error": str(exc)})
                continue
            arns = known_canaries.get(vpc_id)
            plans[vpc_id] = _VpcPlan(
                facts, arns if arns is not None else self._canaries.for_vpc(vpc_id)
            )
        runs = self._invoke_all(plans)
        for vpc_id, plan in plans.items():
            results.append(self._conclude(request, plan.facts, runs.get(vpc_id, [])))
        published = sum(1 for result in results if result.get("alert"))
        # The heartbeat: the operations alarm fires when no check run completes for a while.
        metrics.add_metric(name=names.METRIC_CHECKS_COMPLETED, unit=MetricUnit.Count, value=1)
        return {
            "status": "checked",
            "event_name": request.event_name,
            "trigger": request.trigger,
            "vpcs": results,
            "alerts_published": published,
        }

    def _scope(
        self, request: CheckRequest, results: list[dict[str, Any]]
    ) -> tuple[list[str], dict[str, tuple[str, ...]]]:
        if request.trigger == "sweep":
            by_vpc = self._canaries.all_by_vpc()
            return list(by_vpc), by_vpc
        vpc_ids: list[str] = []
        for target in request.targets:
            try:
                if target.kind == "security_group":
                    vpc_id = self._vpcs.vpc_of_security_group(target.resource_id)
                elif target.kind == "network_acl":
                    vpc_id = self._vpcs.vpc_of_network_acl(target.resource_id)
                else:
                    vpc_id = target.resource_id
            except UnknownResource as exc:
                logger.warning(
                    "Target not checked", extra={"target": target.resource_id, "error": str(exc)}
                )
                results.append({"target": target.resource_id, "status": "error", "error": str(exc)})
                continue
            if vpc_id not in vpc_ids:
                vpc_ids.append(vpc_id)
        return vpc_ids, {}

    def _invoke_all(self, plans: dict[str, _VpcPlan]) -> dict[str, list[CanaryRun]]:
        jobs = [(vpc_id, arn) for vpc_id, plan in plans.items() for arn in plan.canary_arns]
        if not jobs:
            return {}
        refresh_expiry = self._monotonic() + self._config.refresh_budget_s
        workers = min(self._config.max_concurrent_invocations, len(jobs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="canary") as pool:
            futures = [
                pool.submit(self._run_canary, arn, plans[vpc_id].facts, refresh_expiry)
                for vpc_id, arn in jobs
            ]
            # result() re-raises AWS failures from the worker threads.
            outcomes = [future.result() for future in futures]
        runs: dict[str, list[CanaryRun]] = {}
        for (vpc_id, _), run in zip(jobs, outcomes, strict=True):
            runs.setdefault(vpc_id, []).append(run)
        return runs

    def _payload(self, facts: VpcFacts) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "deadline_ms": self._config.canary_deadline_ms,
            "expected_nameservers": list(facts.expected_nameservers),
        }
        if self._config.probe_plan is not None:
            payload["probes"] = self._config.probe_plan.probes
        return payload

    def _run_canary(self, arn: str, facts: VpcFacts, refresh_expiry: float) -> CanaryRun:
        payload = self._payload(facts)
        run = self._invoker.invoke(arn, payload)
        if run.status != "stale":
            return run
        reason = self._invoker.refresh(arn, facts.option_set.option_set_id, refresh_expiry)
        if reason is not None:
            return replace(run, detail=f"could not refresh it: {reason}")
        if self._monotonic() >= refresh_expiry:
            return replace(run, detail="refreshed, but no refresh budget left to ask again")
        again = self._invoker.invoke(arn, payload)
        if again.status == "stale":
            return replace(
                again,
                refreshed=True,
                detail="it still reports the older option set after its configuration was updated",
            )
        return replace(again, refreshed=True)

    def _conclude(
        self, request: CheckRequest, facts: VpcFacts, runs: list[CanaryRun]
    ) -> dict[str, Any]:
        vpc_id = facts.vpc_id
        now = self._now().isoformat(timespec="seconds").replace("+00:00", "Z")
        outcome = conclude(
            facts=facts,
            runs=runs,
            stored=self._state.get(vpc_id),
            request=request,
            now=now,
        )
        judgement, severity = outcome.judgement, outcome.severity
        logger.info(
            "VPC judged",
            extra={
                "vpc_id": vpc_id,
                "verdict": judgement.verdict.value,
                "diagnosis": judgement.diagnosis.code,
                "option_set_id": facts.option_set.option_set_id,
                "canaries": len(runs),
                "alert": severity.value if severity else None,
                "why": outcome.decision.why,
            },
        )
        if severity is not None:
            known = {i: self._vpcs.describe_option_set(i) for i in outcome.option_sets_to_describe}
            alert = build_alert(outcome, known, AlertContext(request, self._config.region, now))
            message_id = self._publisher.publish(alert)
            metrics.add_metric(name=names.METRIC_ALERTS_PUBLISHED, unit=MetricUnit.Count, value=1)
            logger.info(
                "Alert published",
                extra={"vpc_id": vpc_id, "subject": alert.subject, "message_id": message_id},
            )
        # Stored only after the alert went out, so a failed publish is retried with the event.
        self._state.put(outcome.state)
        self._record_metrics(vpc_id, judgement)
        return {
            "vpc_id": vpc_id,
            "status": "checked",
            "verdict": judgement.verdict.value,
            "diagnosis": judgement.diagnosis.code,
            "option_set_id": facts.option_set.option_set_id,
            "previous_option_set_id": outcome.state.previous_option_set_id,
            "last_good_option_set_id": outcome.state.last_good_option_set_id,
            "canaries": len(runs),
            "alert": severity.value if severity else None,
        }

    def _record_metrics(self, vpc_id: str, judgement: Judgement) -> None:
        metrics.add_metric(name=names.METRIC_CHECKS_RUN, unit=MetricUnit.Count, value=1)
        failing = sum(
            1
            for report in judgement.canaries
            if report.status != "gone" and report.severity != Verdict.OK
        )
        if failing:
            metrics.add_metric(
                name=names.METRIC_CANARY_FAILURES, unit=MetricUnit.Count, value=failing
            )
        # One EMF document per VPC rather than one per lookup; Powertools publishes a document
        # early whenever a metric reaches 100 values, the EMF limit, keeping the dimension.
        latencies = [
            probe.elapsed_ms
            for report in judgement.canaries
            for probe in report.probes
            if probe.elapsed_ms is not None
        ]
        if not latencies:
            return
        vpc_metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE)
        vpc_metrics.add_dimension(name=names.VPC_ID_DIMENSION, value=vpc_id)
        for value in latencies:
            vpc_metrics.add_metric(
                name=names.METRIC_LOOKUP_LATENCY, unit=MetricUnit.Milliseconds, value=value
            )
        if vpc_metrics.metric_set:
            vpc_metrics.flush_metrics()
