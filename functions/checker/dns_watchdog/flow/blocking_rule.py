"""Opt-in (NAME_BLOCKING_RULE): name what blocks DNS from a canary to its unreachable servers.

Imported only when the option is on. Reachability Analyzer (aws/reachability.py) analyses the
path from the canary's placement to port 53 of each server the page is about, within one
time budget per run (all VPCs share it), once per incident and server, and within the day's
budgets of analyses per VPC (its stored state) and per account (aws/analysis_count.py; counted
before an analysis starts): when one is spent the page says so instead. Never raises: the
analysis only adds lines to a page that goes out anyway.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import takewhile

from dns_watchdog.aws.analysis_count import AnalysisCount
from dns_watchdog.aws.invoker import CanaryInvoker
from dns_watchdog.aws.reachability import ReachabilityAnalyzer
from dns_watchdog.domain.analysis_budget import (
    ANALYSES_PER_SERVER,
    BudgetSpent,
    day_of,
    within_budget,
)
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
    """What was found in the way, whose budget was spent (if any), and the state to store so no
    server is analysed twice in one incident and the VPC's analyses of the day are counted."""

    findings: tuple[BlockingFinding, ...]
    incident: str | None
    spent: tuple[BudgetSpent, ...] = ()
    day: str = ""
    started: int = 0

    def remembered(self, state: VpcState) -> VpcState:
        if self.started:
            state = state.with_analyses(self.day, self.started)
        if not self.findings:
            return state
        return state.with_servers_analysed(self.incident, (f.server for f in self.findings))


@dataclass(frozen=True)
class DailyBudgets:
    """Today's analyses per VPC and per account, and where the account's are counted."""

    per_vpc: int
    per_account: int
    count: AnalysisCount
    # The account whose analyses are counted (None: the checker's own, its id not configured).
    account: str | None

    @property
    def owner(self) -> str:
        return f"account {self.account}" if self.account else "this account"


class BlockingRuleNamer:
    """One per run: its analysis deadline is set by the run's first analysis."""

    def __init__(
        self,
        analyzer: ReachabilityAnalyzer,
        invoker: CanaryInvoker,
        budget_s: float,
        budget: RunBudget,
        daily: DailyBudgets,
    ) -> None:
        self._analyzer = analyzer
        self._invoker = invoker
        self._budget_s = budget_s
        self._budget = budget
        self._daily = daily
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
        vpc_id = outcome.facts.vpc_id
        day = day_of(self._budget.timestamp())
        extra = {"vpc_id": vpc_id, "servers": list(plan.servers)}
        try:
            servers, spent = self._within_budgets(plan.servers, outcome.state, vpc_id, day)
        except Exception as exc:
            logger.exception("Could not count the day's analyses", extra=extra)
            return Named(_not_analysed(plan, f"could not count today's analyses ({exc})"), incident)
        if spent:
            logger.warning(
                "Blocking rule not analysed: today's budget is spent",
                extra={**extra, "spent": [(s.scope, s.owner, s.limit) for s in spent]},
            )
        if not servers:
            return Named((), incident, spent)
        plan = replace(plan, servers=servers)
        if self._deadline is None:
            self._deadline = self._budget.expiry(self._budget_s)
        try:
            findings = self._analyse(plan, vpc_id, self._deadline)
        except Exception as exc:
            logger.exception("Could not name the blocking rule", extra=extra)
            findings = _not_analysed(plan, f"unexpected error ({type(exc).__name__})")
        logger.info(
            "Blocking rule",
            extra={**extra, "findings": [f"{f.protocol}:{f.kind.value}" for f in findings]},
        )
        return Named(findings, incident, spent, day, len(servers) * ANALYSES_PER_SERVER)

    def _within_budgets(
        self, servers: tuple[str, ...], state: VpcState, vpc_id: str, day: str
    ) -> tuple[tuple[str, ...], tuple[BudgetSpent, ...]]:
        """The servers both of today's budgets hold, and the facts for those they do not: the
        VPC's from its stored count, then the account's, reserved server by server."""
        daily = self._daily
        fits, vpc_spent = within_budget(
            servers, used=state.analyses_on(day), limit=daily.per_vpc, scope="vpc", owner=vpc_id
        )
        reserved = tuple(
            takewhile(
                lambda _: daily.count.reserve(
                    daily.account or "home", day, ANALYSES_PER_SERVER, daily.per_account
                ),
                fits,
            )
        )
        spent = [vpc_spent] if vpc_spent else []
        if len(reserved) < len(fits):
            refused = fits[len(reserved) :]
            spent.append(BudgetSpent("account", daily.owner, daily.per_account, refused))
        return reserved, tuple(spent)

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
