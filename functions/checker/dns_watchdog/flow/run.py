"""One check run: it orders the steps; each collaborator owns one concern.

    scope -> ask the canaries -> confirm a sweep's failures -> per VPC: decide (outcome.py),
    heal (opt-in), name the blocking rule (opt-in), workload evidence (opt-in), page, store
    -> summary

The run is made per invocation with that invocation's `RunBudget`; nothing of one run is kept
on an object that outlives it. A VPC whose alert or state write fails does not stop the others;
the run then raises `CheckIncomplete` at the end, so the event is retried (VPCs already done are
not alerted twice: their state is stored and their alerts are recorded as published).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from dns_watchdog.aws.state import StateConflict, StateStore
from dns_watchdog.config import CheckerConfig
from dns_watchdog.constants import CHAT_ROLLBACK_ALIAS
from dns_watchdog.domain.coalesce import coalesced
from dns_watchdog.domain.discovery import Discovery
from dns_watchdog.domain.dns_causes import needs_firewall_reading
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.flap import PROBLEMS, needs_confirmation
from dns_watchdog.domain.healing import HealReport
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.judge import judge
from dns_watchdog.domain.lint import LintFinding
from dns_watchdog.domain.models import CanaryRun, Severity
from dns_watchdog.domain.outcome import VpcOutcome, conclude
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.workloads import BlastRadius, Priority, prioritise
from dns_watchdog.flow import telemetry
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.flow.fleet import CanaryFleet, CheckIncomplete
from dns_watchdog.flow.notifier import Notifier
from dns_watchdog.flow.option_sets import OptionSets
from dns_watchdog.flow.scope import Scope, Watched
from dns_watchdog.observability import logger
from dns_watchdog.render.view import AlertContext, RollbackButton

if TYPE_CHECKING:
    from dns_watchdog.domain.endpoint_health import EndpointHealth
    from dns_watchdog.domain.evidence import WorkloadEvidence
    from dns_watchdog.flow.blast import BlastReader
    from dns_watchdog.flow.blocking_rule import BlockingRuleNamer, Named
    from dns_watchdog.flow.discovery import DiscoveryKeeper
    from dns_watchdog.flow.endpoint_health import EndpointHealthReader
    from dns_watchdog.flow.evidence import EvidenceCollector
    from dns_watchdog.flow.healer import Healer

# A concurrent check may write the VPC's state between this check's read and write: read again
# and decide again, a few times.
STATE_WRITE_ATTEMPTS = 3
# VPCs whose DNS is discovered at once (each reading is a handful of sequential AWS calls).
DISCOVERY_WORKERS = 8

# The alerts that say what is hit (a RECOVERED or an INFO announcement hits nothing).
_IMPACT_SEVERITIES = (Severity.CRITICAL, Severity.WARNING)

__all__ = ["STATE_WRITE_ATTEMPTS", "CheckIncomplete", "CheckRun", "Crew"]


@dataclass(frozen=True)
class Crew:
    """The collaborators of one run, in one place (flow/places.py builds them per run).

    `healer`, `namer` and `evidence` are None when their opt-in feature is off; `blast` (what an
    alert says is hit) is None only where a crew is built without it.
    """

    config: CheckerConfig
    place: Place
    organization: bool
    scope: Scope
    fleet: CanaryFleet
    option_sets: OptionSets
    state: StateStore
    notifier: Notifier
    healer: Healer | None = None
    namer: BlockingRuleNamer | None = None
    evidence: EvidenceCollector | None = None
    # None when PrivateDnsDiscovery is off.
    discovery: DiscoveryKeeper | None = None
    blast: BlastReader | None = None
    # The outbound endpoints' health on pages about forward rules (None: discovery is off).
    endpoints: EndpointHealthReader | None = None
    sleep: Callable[[float], None] = time.sleep


@dataclass
class _Paging:
    """What one VPC's conclusion did so far: deciding again after a conflicting write must
    neither heal, analyse nor page the same thing a second time."""

    healing: HealReport | None = None
    named: Named | None = None
    # Workload evidence, asked at most once per VPC and run (None: not collected).
    evidence_asked: bool = False
    evidence: WorkloadEvidence | None = None
    blast: BlastRadius | None = None
    priority: Priority | None = None
    # The outbound endpoints' health, read at most once per VPC and run (None: not read).
    endpoints_asked: bool = False
    endpoints: tuple[EndpointHealth, ...] | None = None
    paged: set[tuple[str, str]] = field(default_factory=set)
    published: bool = False


class CheckRun:
    """Runs one check request end to end; AWS failures raise, bad targets are reported."""

    def __init__(self, crew: Crew, budget: RunBudget) -> None:
        self._crew = crew
        self._budget = budget
        # Each VPC's stored state, read once per run (a sweep's confirmation and its conclusion
        # share it); a conflicting write forgets it, so deciding again reads it afresh.
        self._states: dict[str, VpcState | None] = {}
        # Each VPC's discovery of its own DNS, and the VPCs whose discovery was read in this run
        # (their state keeps it).
        self._discoveries: dict[str, Discovery] = {}
        self._discovered_now: set[str] = set()

    def run(self, request: CheckRequest) -> dict[str, Any]:
        """Check every VPC of the request; each VPC is concluded and alerted on its own."""
        crew = self._crew
        scoped = crew.scope.of_check(request)
        results: list[dict[str, Any]] = list(scoped.errors)
        watched_now, acknowledged = self._coalesce(request, scoped.watched)
        results += acknowledged
        observed_at = self._budget.timestamp("milliseconds")
        self._discover(request, watched_now)
        runs = crew.fleet.ask(watched_now, self._budget, discoveries=self._discoveries)
        confirmed, delay = self._confirm(request, watched_now, runs)
        self._read_firewall_again(watched_now, runs)
        failures: list[str] = []
        for vpc_id, watched in watched_now.items():
            try:
                after = delay if vpc_id in confirmed else None
                results.append(
                    self._conclude(request, watched, runs.get(vpc_id, []), observed_at, after)
                )
            except (AwsCallFailed, StateConflict) as exc:
                logger.exception("VPC not concluded", extra={"vpc_id": vpc_id})
                results.append({"vpc_id": vpc_id, "status": "error", "error": str(exc)})
                failures.append(f"{vpc_id}: {exc}")
        if failures:
            raise CheckIncomplete(
                f"{len(failures)} of {len(watched_now)} VPCs not concluded: " + "; ".join(failures)
            )
        if request.trigger == "sweep":
            telemetry.summarise_sweep(results, runs)
        telemetry.record_completed()
        return {
            "status": "checked",
            "event_name": request.event_name,
            "trigger": request.trigger,
            "vpcs": results,
            "alerts_published": sum(1 for result in results if result.get("alert")),
        }

    def _coalesce(
        self, request: CheckRequest, watched: dict[str, Watched]
    ) -> tuple[dict[str, Watched], list[dict[str, Any]]]:
        """The VPCs to ask the canaries about, and the results of those whose change event is
        acknowledged without it: a re-association of the unchanged option set soon after the
        VPC's last check (domain/coalesce.py)."""
        window_s = self._crew.config.change_coalesce_window_s
        if not request.announces_option_set or window_s <= 0:
            return watched, []
        now = self._budget.timestamp()
        kept: dict[str, Watched] = {}
        results: list[dict[str, Any]] = []
        for vpc_id, one in watched.items():
            stored = self._crew.state.get(vpc_id)
            current = one.facts.option_set.option_set_id
            why = coalesced(stored, request, current, now=now, window_s=window_s)
            if why is None or stored is None:
                kept[vpc_id] = one
                continue
            logger.info("Change coalesced", extra={"vpc_id": vpc_id, "why": why})
            telemetry.record_skipped()
            results.append(
                {
                    "vpc_id": vpc_id,
                    "status": "coalesced",
                    "why": why,
                    "verdict": stored.verdict.value,
                    "option_set_id": current,
                    "last_checked_at": stored.last_checked_at,
                    "alert": None,
                }
            )
        return kept, results

    def _discover(self, request: CheckRequest, watched: dict[str, Watched]) -> None:
        """Each watched VPC's discovery: the stored one while fresh, else read again (several
        VPCs at once)."""
        keeper = self._crew.discovery
        if keeper is None or not watched:
            return
        now = self._budget.wall()
        stored = {vpc_id: self._stored(vpc_id) for vpc_id in watched}
        workers = min(DISCOVERY_WORKERS, len(watched))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="discovery") as pool:
            futures = {
                vpc_id: pool.submit(keeper.current, vpc_id, stored[vpc_id], request, now)
                for vpc_id in watched
            }
            for vpc_id, future in futures.items():
                discovery, fresh = future.result()
                self._discoveries[vpc_id] = discovery
                if fresh:
                    self._discovered_now.add(vpc_id)

    def _read_firewall_again(
        self, watched: dict[str, Watched], runs: dict[str, list[CanaryRun]]
    ) -> None:
        """Read again the DNS of VPCs whose names the Amazon resolver answers NXDOMAIN or no
        data for when their stored discovery names no firewall rule for them: a DNS Firewall
        rule that started blocking them since is then named (once per VPC and run)."""
        keeper = self._crew.discovery
        if keeper is None:
            return
        for vpc_id, one in watched.items():
            stored = self._discoveries.get(vpc_id)
            if vpc_id in self._discovered_now or stored is None:
                continue
            judgement = judge(vpc_id, runs.get(vpc_id, []), dns_support=one.facts.dns_support)
            if not needs_firewall_reading(judgement, stored):
                continue
            why = "names blocked at the Amazon resolver"
            fresh = keeper.read_again(vpc_id, stored, self._budget.wall(), why)
            self._discoveries[vpc_id] = fresh
            self._discovered_now.add(vpc_id)

    def _confirm(
        self,
        request: CheckRequest,
        watched: dict[str, Watched],
        runs: dict[str, list[CanaryRun]],
    ) -> tuple[set[str], float]:
        """Ask again the canaries of VPCs whose sweep failure would page (flap.py); their second
        runs replace the first in `runs`. Return the VPCs whose failure was confirmed, and how
        long after the first run they were asked again."""
        crew = self._crew
        suspects = {
            vpc_id: one
            for vpc_id, one in watched.items()
            if needs_confirmation(
                request.trigger,
                judge(vpc_id, runs.get(vpc_id, []), dns_support=one.facts.dns_support).verdict,
                self._stored(vpc_id),
            )
        }
        if not suspects:
            return set(), 0.0
        # The second run must fit before the deadline: ask sooner when time is short.
        delay = self._budget.slice_s(
            crew.config.sweep_confirm_delay_s, keep_s=crew.config.canary_invoke_timeout_s
        )
        logger.info(
            "Confirming sweep failures", extra={"vpc_ids": sorted(suspects), "delay_s": delay}
        )
        crew.sleep(delay)
        runs.update(crew.fleet.ask(suspects, self._budget, discoveries=self._discoveries))
        confirmed = set()
        for vpc_id, one in suspects.items():
            again = judge(vpc_id, runs.get(vpc_id, []), dns_support=one.facts.dns_support)
            if again.verdict in PROBLEMS:
                confirmed.add(vpc_id)
            else:
                logger.info(
                    "Sweep failure not confirmed",
                    extra={"vpc_id": vpc_id, "verdict": again.verdict.value},
                )
        return confirmed, delay

    def _conclude(
        self,
        request: CheckRequest,
        watched: Watched,
        runs: list[CanaryRun],
        observed_at: str,
        confirmed_after_s: float | None,
    ) -> dict[str, Any]:
        """Decide, alert once, store; on a concurrent write, read again and decide again."""
        vpc_id = watched.facts.vpc_id
        paging = _Paging()
        for _ in range(STATE_WRITE_ATTEMPTS):
            now = self._budget.timestamp()
            outcome = conclude(
                facts=watched.facts,
                runs=runs,
                stored=self._stored(vpc_id),
                request=request,
                now=now,
                observed_at=observed_at,
                discovery=self._discoveries.get(vpc_id),
                discovered_now=vpc_id in self._discovered_now,
            )
            telemetry.log_judged(outcome, len(runs))
            if outcome.skipped:
                telemetry.record_skipped()
                return {**_summary(outcome, len(runs)), "status": "skipped", "why": outcome.skipped}
            self._page(request, outcome, watched, paging, (now, confirmed_after_s))
            try:
                remembered = self._with_discovery(self._remembered(outcome, paging))
                self._states[vpc_id] = self._crew.state.put(remembered)
            except StateConflict:
                logger.info("State changed meanwhile: deciding again", extra={"vpc_id": vpc_id})
                del self._states[vpc_id]
                continue
            telemetry.record_checked(vpc_id, outcome.judgement)
            return {**_summary(outcome, len(runs), paging), "alert_published": paging.published}
        raise StateConflict(
            f"the state of {vpc_id} kept changing during {STATE_WRITE_ATTEMPTS} attempts"
        )

    def _stored(self, vpc_id: str) -> VpcState | None:
        if vpc_id not in self._states:
            self._states[vpc_id] = self._crew.state.get(vpc_id)
        return self._states[vpc_id]

    def _page(
        self,
        request: CheckRequest,
        outcome: VpcOutcome,
        watched: Watched,
        paging: _Paging,
        when: tuple[str, float | None],
    ) -> None:
        """Heal and name the blocking rule (each at most once per VPC and run), then page.

        `when`: the time the outcome was decided, and how long after the first canary run a
        sweep's failure was confirmed (None: not a confirmed sweep failure)."""
        crew = self._crew
        now, confirmed_after_s = when
        page = (str(outcome.severity), outcome.judgement.verdict.value)
        if outcome.severity is None or page in paging.paged:
            return
        if paging.healing is None and crew.healer is not None:
            paging.healing = crew.healer.heal(request, outcome, watched, self._budget)
        if paging.named is None and crew.namer is not None:
            paging.named = crew.namer.name(outcome)
        outcome = self._impact(outcome, watched, paging, now)
        if not paging.evidence_asked and crew.evidence is not None:
            paging.evidence = crew.evidence.collect(outcome, _all_named(paging.blast))
            paging.evidence_asked = True
        if not paging.endpoints_asked and crew.endpoints is not None:
            discovery = self._discoveries.get(outcome.facts.vpc_id)
            paging.endpoints = crew.endpoints.read(outcome, discovery, self._budget)
            paging.endpoints_asked = True
        known = crew.option_sets.known(outcome.option_sets_to_describe)
        context = AlertContext(
            request,
            crew.place,
            now,
            self._budget.request_id,
            lint=self._announced_lint(request, outcome),
            confirmed_after_s=confirmed_after_s,
            healing=paging.healing,
            names_account=crew.organization,
            account_name=request.account_name,
            blocking=paging.named.findings if paging.named else (),
            rollback_button=rollback_button(crew.config),
            blocking_spent=paging.named.spent if paging.named else (),
            evidence=paging.evidence,
            blast=paging.blast,
            priority=paging.priority,
            endpoints=paging.endpoints,
        )
        paging.published = (
            crew.notifier.page(outcome, known, context, self._budget) or paging.published
        )
        paging.paged.add(page)

    def _impact(
        self, outcome: VpcOutcome, watched: Watched, paging: _Paging, now: str
    ) -> VpcOutcome:
        """What the page says is hit (read once per VPC and run), and the outcome with the
        severity it goes out with (PriorityFromImpact may lower a CRITICAL to a WARNING)."""
        crew = self._crew
        vpc_id = outcome.facts.vpc_id
        if outcome.severity not in _IMPACT_SEVERITIES:
            return outcome  # a recovery or an announcement: nothing is hit
        if paging.blast is None and crew.blast is not None:
            stored = self._stored(vpc_id)
            paging.blast = crew.blast.read(vpc_id, watched.canary_arns, stored, now)
        severity = outcome.severity
        assert severity is not None  # one of _IMPACT_SEVERITIES
        paging.priority = prioritise(
            severity, paging.blast, from_impact=crew.config.priority_from_impact, vpc_id=vpc_id
        )
        if paging.priority.lowered_from is None:
            return outcome
        logger.info(
            "Alert lowered",
            extra={"vpc_id": vpc_id, "severity": paging.priority.severity.value},
        )
        decision = replace(outcome.decision, severity=paging.priority.severity)
        return replace(outcome, decision=decision)

    def _announced_lint(
        self, request: CheckRequest, outcome: VpcOutcome
    ) -> tuple[LintFinding, ...]:
        """An option-set change's alert carries the lint of the set it announces."""
        if not request.announces_option_set:
            return ()
        facts = outcome.facts
        discovery = self._discoveries.get(facts.vpc_id)
        return tuple(
            self._crew.option_sets.lint(
                facts.option_set,
                {facts.vpc_id: facts.cidr_block},
                {facts.vpc_id: discovery} if discovery is not None else None,
            )
        )

    def _with_discovery(self, state: VpcState) -> VpcState:
        """The state keeps the discovery read in this run (a stored one is kept as it was)."""
        if state.vpc_id not in self._discovered_now:
            return state
        from dns_watchdog.flow.discovery import discovery_text  # noqa: PLC0415  # only when on

        return replace(state, discovery=discovery_text(self._discoveries[state.vpc_id]))

    @staticmethod
    def _remembered(outcome: VpcOutcome, paging: _Paging) -> VpcState:
        """The state to store: the outcome's, and what healing and analyses must remember."""
        state = outcome.state
        healing = paging.healing
        if healing is not None and (healing.plan.act or healing.plan.dry_run):
            state = replace(state, healed_incident=healing.plan.incident_started_at)
        if paging.named is not None:
            state = paging.named.remembered(state)
        blast = paging.blast
        if blast is not None and blast.status == "read" and blast.census is not None:
            state = replace(state, workloads=blast.census)
        return state


def rollback_button(config: CheckerConfig) -> RollbackButton | None:
    """The chat "Roll back" button, when it is on and the checker knows its own name."""
    if not config.chat_rollback or not config.function_name:
        return None
    return RollbackButton(f"{config.function_name}:{CHAT_ROLLBACK_ALIAS}", config.region)


def _summary(outcome: VpcOutcome, canaries: int, paging: _Paging | None = None) -> dict[str, Any]:
    """What the invocation result says about one VPC (`paging`: what its page did)."""
    state = outcome.state
    severity = outcome.severity
    if paging is not None and paging.priority is not None:
        severity = paging.priority.severity
    return {
        "vpc_id": outcome.facts.vpc_id,
        "status": "checked",
        "verdict": outcome.judgement.verdict.value,
        "diagnosis": outcome.judgement.diagnosis.code,
        "option_set_id": outcome.facts.option_set.option_set_id,
        "previous_option_set_id": state.previous_option_set_id,
        "last_good_option_set_id": state.last_good_option_set_id,
        "canaries": canaries,
        "alert": severity.value if severity else None,
        "workloads": _workloads(state, paging),
    }


def _workloads(state: VpcState, paging: _Paging | None) -> int | None:
    """The VPC's workloads as the page read them, else as cached (None: never read)."""
    if paging is not None and paging.blast is not None and paging.blast.census is not None:
        return paging.blast.workloads
    return state.workloads.workloads if state.workloads is not None else None


def _all_named(blast: BlastRadius | None) -> tuple[str, ...] | None:
    """The VPC's functions, when the blast radius named every one (None: the evidence lists
    them itself)."""
    census = blast.census if blast is not None else None
    if census is None or not census.functions_complete:
        return None
    if len(census.functions) < census.functions_total:
        return None
    return census.functions
