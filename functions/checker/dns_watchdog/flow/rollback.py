"""A rollback somebody asked for, carried out: plan (domain/rollback.py), associate, verify,
record.

Asked by the chat "Roll back" button (through the checker's chat alias) or `vpc-dns-watchdog
rollback`. The checker associates only its own verified last good option set, and only if the
VPC, described right before, is still on the set it judged (`VpcDirectory.replace_option_set`).
A refusal changes nothing and says why. Whatever happens, the result says it and, unless refused,
a record (who asked, what was done, the verification) is published; failures of the
association or its verification are reported, not raised (a retry would only repeat them).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dns_watchdog.aws.state import StateStore
from dns_watchdog.aws.vpcs import UnknownResource, VpcDirectory
from dns_watchdog.config import CheckerConfig
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.judge import judge
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import RollbackRequest
from dns_watchdog.domain.rollback import (
    RollbackPlan,
    RollbackReport,
    last_good_of,
    plan_rollback,
)
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.flow.fleet import CanaryFleet
from dns_watchdog.flow.notifier import Notifier
from dns_watchdog.flow.option_sets import OptionSets
from dns_watchdog.flow.scope import Scope, Watched
from dns_watchdog.observability import logger
from dns_watchdog.render.rollback import rollback_summary


class Rollbacker:
    """Puts a VPC's last good option set back when somebody asks and the guard rails allow it."""

    def __init__(
        self,
        config: CheckerConfig,
        place: Place,
        *,
        scope: Scope,
        vpcs: VpcDirectory,
        option_sets: OptionSets,
        fleet: CanaryFleet,
        state: StateStore,
        notifier: Notifier,
    ) -> None:
        self._config = config
        self._place = place
        self._scope = scope
        self._vpcs = vpcs
        self._option_sets = option_sets
        self._fleet = fleet
        self._state = state
        self._notifier = notifier

    def run(self, request: RollbackRequest, budget: RunBudget) -> dict[str, Any]:
        """Plan, associate, verify and record; the result says what came of the request."""
        report = self._report(request, budget)
        published = self._notifier.record_rollback(report, budget.request_id, budget)
        summary = rollback_summary(report)
        extra = {
            "vpc_id": request.vpc_id,
            "status": report.status,
            "requested_by": request.requested_by,
            "via_chat": request.via_chat,
            "summary": summary,
        }
        logger.warning("Rollback requested", extra=extra)
        return result_of(report, summary, published)

    def _report(self, request: RollbackRequest, budget: RunBudget) -> RollbackReport:
        scoped = self._scope.of_vpcs([request.vpc_id])
        if request.vpc_id not in scoped.watched:
            reason = scoped.errors[0]["error"] if scoped.errors else "it cannot be described"
            plan = RollbackPlan(request.vpc_id, "unknown", None, str(reason))
            return RollbackReport(request, self._place, plan)
        watched = scoped.watched[request.vpc_id]
        stored = self._state.get(request.vpc_id)
        current = watched.facts.option_set.option_set_id
        target = last_good_of(stored, current)
        plan = plan_rollback(
            watched.facts,
            stored,
            self._option_sets.known([target] if target else []),
            enabled=self._config.rollback_enabled,
            max_age_s=self._config.self_healing_max_age_hours * 3600,
            now=budget.timestamp(),
        )
        incident = stored.incident_started_at if stored is not None else None
        report = RollbackReport(request, self._place, plan, incident)
        if plan.act and budget.spare_s() < 2 * self._config.canary_invoke_timeout_s:
            # Associating without time to verify would change the VPC blind.
            refusal = "not enough time left in this run to verify a rollback"
            return replace(report, plan=replace(plan, refusal=refusal))
        if not plan.act:
            return report
        return self._act(report, watched, budget)

    def _act(self, report: RollbackReport, watched: Watched, budget: RunBudget) -> RollbackReport:
        plan = report.plan
        assert plan.target is not None  # a plan that acts names its target
        try:
            moved_to = self._vpcs.replace_option_set(plan.vpc_id, plan.judged, plan.target)
        except (AwsCallFailed, UnknownResource) as exc:
            return replace(report, error=str(exc))
        if moved_to is not None:
            return replace(report, moved_to=moved_to)
        report = replace(report, associated_at=budget.timestamp())
        try:
            facts = self._vpcs.describe_vpc(plan.vpc_id)
            runs = self._fleet.ask({plan.vpc_id: Watched(facts, watched.canary_arns)}, budget)
        # The association is done; whatever fails while verifying it must not hide that.
        except Exception as exc:
            logger.exception("Rollback could not be verified", extra={"vpc_id": plan.vpc_id})
            return replace(report, error=f"associated, but not verified: {exc}")
        again = judge(plan.vpc_id, runs.get(plan.vpc_id, []), dns_support=facts.dns_support)
        return replace(
            report, verified_verdict=again.verdict, verified_diagnosis=again.diagnosis.code
        )


def result_of(report: RollbackReport, summary: str, published: bool) -> dict[str, Any]:
    """The handler's answer to a rollback request."""
    plan = report.plan
    return {
        "status": report.status,
        "event_name": report.request.event_name,
        "vpc_id": plan.vpc_id,
        "account_id": report.place.account,
        "region": report.place.region,
        "requested_by": report.request.requested_by,
        "from_option_set_id": plan.judged,
        "option_set_id": plan.target,
        "reason": plan.refusal,
        "moved_to": report.moved_to,
        "associated_at": report.associated_at,
        "verified_verdict": report.verified_verdict.value if report.verified_verdict else None,
        "verified_diagnosis": report.verified_diagnosis,
        "error": report.error,
        "summary": summary,
        "alert_published": published,
    }
