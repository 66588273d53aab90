"""Opt-in (NAME_BLOCKING_RULE): name what blocks DNS from a canary to its unreachable servers.

Imported only when the option is on. Reachability Analyzer (aws/reachability.py) analyses the
path from the canary's placement to port 53 of each server the page is about, within one
budget per run (all VPCs share it), once per incident and server. Never raises: the analysis
only adds lines to a page that goes out anyway.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dns_watchdog.aws.invoker import CanaryInvoker
from dns_watchdog.aws.reachability import ReachabilityAnalyzer
from dns_watchdog.domain.blocking import (
    PROTOCOLS,
    AnalysisPlan,
    BlockingFinding,
    analysis_plan,
    not_analysed,
)
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.models import Severity
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.domain.vpc import AMAZON_PROVIDED_DNS
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.observability import logger


@dataclass(frozen=True)
class Named:
    """What was found in the way, and the state to store so no server is analysed twice in
    one incident."""

    findings: tuple[BlockingFinding, ...]
    incident: str | None

    def remembered(self, state: VpcState) -> VpcState:
        if not self.findings:
            return state
        return state.with_servers_analysed(self.incident, (f.server for f in self.findings))


class BlockingRuleNamer:
    """One per run: its analysis deadline is set by the run's first analysis."""

    def __init__(
        self,
        analyzer: ReachabilityAnalyzer,
        invoker: CanaryInvoker,
        budget_s: float,
        budget: RunBudget,
    ) -> None:
        self._analyzer = analyzer
        self._invoker = invoker
        self._budget_s = budget_s
        self._budget = budget
        self._deadline: float | None = None

    def name(self, outcome: VpcOutcome) -> Named:
        """The findings for this page (none when it is not about unreachable servers)."""
        incident = outcome.decision.incident_started_at
        if outcome.severity not in (Severity.CRITICAL, Severity.WARNING):
            return Named((), incident)
        custom = [
            s for s in outcome.facts.option_set.domain_name_servers if s != AMAZON_PROVIDED_DNS
        ]
        done = outcome.state.servers_analysed(incident)
        plan = analysis_plan(outcome.judgement, custom, already_analysed=done)
        if plan is None:
            return Named((), incident)
        if self._deadline is None:
            self._deadline = self._budget.expiry(self._budget_s)
        extra = {"vpc_id": outcome.facts.vpc_id, "servers": list(plan.servers)}
        try:
            findings = self._analyse(plan, outcome.facts.vpc_id, self._deadline)
        except Exception as exc:
            logger.exception("Could not name the blocking rule", extra=extra)
            findings = _not_analysed(plan, f"unexpected error ({type(exc).__name__})")
        logger.info(
            "Blocking rule",
            extra={**extra, "findings": [f"{f.protocol}:{f.kind.value}" for f in findings]},
        )
        return Named(findings, incident)

    def _analyse(
        self, plan: AnalysisPlan, vpc_id: str, deadline: float
    ) -> tuple[BlockingFinding, ...]:
        placement = self._invoker.placement(plan.canary_arn, vpc_id)
        if isinstance(placement, str):
            return _not_analysed(plan, placement)
        analyzer = self._analyzer
        # One server's analyses (UDP and TCP at once) per thread: all end by `deadline`.
        with ThreadPoolExecutor(len(plan.servers), "blocking") as pool:
            answers = pool.map(
                lambda server: analyzer.name_blocking_rule(placement, server, deadline=deadline),
                plan.servers,
            )
            return tuple(f for answer in answers for f in answer)


def _not_analysed(plan: AnalysisPlan, reason: str) -> tuple[BlockingFinding, ...]:
    return tuple(
        not_analysed(reason, protocol=p, server=s) for s in plan.servers for p in PROTOCOLS
    )
