"""Opt-in self-healing, carried out: plan (domain/healing.py), associate, verify.

The association is made only if the VPC, described right before, is still on the option set that
was judged (`VpcDirectory.replace_option_set`): an operator's fix made while the canaries ran
stands, and the alert says self-healing held back.

Imported only when SELF_HEALING is not `off`. Never raises: the page goes out whatever happens
here, and says what self-healing did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dns_watchdog.aws.vpcs import UnknownResource, VpcDirectory
from dns_watchdog.config import CheckerConfig
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.healing import HealPlan, HealReport, OptionSetMismatch, plan_heal
from dns_watchdog.domain.judge import judge
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.flow.fleet import CanaryFleet
from dns_watchdog.flow.option_sets import OptionSets
from dns_watchdog.flow.scope import Watched
from dns_watchdog.observability import logger


class Healer:
    """Puts a VPC's last good option set back when the guard rails allow it."""

    def __init__(
        self,
        config: CheckerConfig,
        vpcs: VpcDirectory,
        option_sets: OptionSets,
        fleet: CanaryFleet,
    ) -> None:
        self._config = config
        self._vpcs = vpcs
        self._option_sets = option_sets
        self._fleet = fleet

    def heal(
        self, request: CheckRequest, outcome: VpcOutcome, watched: Watched, budget: RunBudget
    ) -> HealReport | None:
        """What self-healing did for this outcome (None: it has nothing to say)."""
        plan = self._plan(request, outcome, budget.timestamp())
        if plan is None:
            return None
        extra = {
            "vpc_id": outcome.facts.vpc_id,
            "option_set_id": plan.option_set_id,
            "reason": plan.reason,
        }
        if plan.act and budget.spare_s() < 2 * self._config.canary_invoke_timeout_s:
            # Associating without time to verify would change the VPC blind: hold back.
            plan = replace(
                plan, act=False, reason="not enough time left in this run to verify a rollback"
            )
        if not plan.act:
            logger.info("Self-healing did not act", extra={**extra, "dry_run": plan.dry_run})
            return HealReport(plan)
        return self._act(plan, watched, budget, extra)

    def _plan(self, request: CheckRequest, outcome: VpcOutcome, now: str) -> HealPlan | None:
        config = self._config
        try:
            known = self._option_sets.known(outcome.option_sets_to_describe)
        except AwsCallFailed as exc:
            logger.warning(
                "Self-healing not planned",
                extra={"vpc_id": outcome.facts.vpc_id, "error": str(exc)},
            )
            return None
        return plan_heal(
            outcome,
            outcome.rollback(known),
            request,
            mode=config.self_healing,
            opted_in=outcome.facts.self_heal_opt_in,
            own=config.own_identity,
            max_age_s=config.self_healing_max_age_hours * 3600,
            healed_incident=outcome.state.healed_incident,
            now=now,
        )

    def _act(
        self, plan: HealPlan, watched: Watched, budget: RunBudget, extra: Mapping[str, object]
    ) -> HealReport:
        vpc_id = watched.facts.vpc_id
        judged = watched.facts.option_set.option_set_id
        assert plan.option_set_id is not None  # a plan that acts names its target
        try:
            moved_to = self._vpcs.replace_option_set(vpc_id, judged, plan.option_set_id)
        except (AwsCallFailed, UnknownResource) as exc:
            logger.error("Self-healing failed", extra={**extra, "error": str(exc)})
            return HealReport(plan, error=str(exc))
        if moved_to is not None:
            logger.warning(
                "Self-healing held back: the VPC changed during the check",
                extra={**extra, "judged": judged, "found": moved_to},
            )
            mismatch = OptionSetMismatch("moved", moved_to, judged)
            reason = "the VPC changed during the check"
            return HealReport(replace(plan, act=False, reason=reason, mismatch=mismatch))
        associated_at = budget.timestamp()
        logger.warning("Self-healing associated the last good option set", extra=extra)
        try:
            facts = self._vpcs.describe_vpc(vpc_id)
            runs = self._fleet.ask({vpc_id: Watched(facts, watched.canary_arns)}, budget)
        # The association is done; whatever fails while verifying it must not hold up the page.
        except Exception as exc:
            logger.exception("Self-healing could not verify", extra=extra)
            return HealReport(plan, associated_at, error=f"associated, but not verified: {exc}")
        again = judge(vpc_id, runs.get(vpc_id, []), dns_support=facts.dns_support)
        logger.info("Self-healing verified", extra={**extra, "verdict": again.verdict.value})
        return HealReport(plan, associated_at, again.verdict, again.diagnosis.code)
