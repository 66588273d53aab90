"""One check: which VPCs, their facts, their canaries' findings, the verdict, state and alerts."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from dns_watchdog import constants as names
from dns_watchdog.aws.canaries import CanaryDirectory
from dns_watchdog.aws.invoker import REFRESH_GONE, CanaryInvoker, whole_run_blinded
from dns_watchdog.aws.publisher import AlertPublisher
from dns_watchdog.aws.reachability import ReachabilityAnalyzer
from dns_watchdog.aws.state import StateConflict, StateStore
from dns_watchdog.aws.vpcs import UnknownResource, VpcDirectory
from dns_watchdog.config import CheckerConfig
from dns_watchdog.domain.blocking import PROTOCOLS, BlockingFinding, analysis_plan, not_analysed
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.flap import PROBLEMS, needs_confirmation
from dns_watchdog.domain.healing import HealPlan, HealReport, plan_heal
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.judge import Judgement, judge
from dns_watchdog.domain.lint import (
    LintFinding,
    addresses_to_look_up,
    lint_option_set,
    public_servers,
)
from dns_watchdog.domain.models import CanaryRun, Severity, Verdict
from dns_watchdog.domain.outcome import VpcOutcome, conclude
from dns_watchdog.domain.preflight import (
    VpcPrediction,
    candidate_servers,
    predict,
    preflight_result,
)
from dns_watchdog.domain.request import CheckRequest, PreflightRequest
from dns_watchdog.domain.vpc import AMAZON_PROVIDED_DNS, OptionSet, VpcFacts
from dns_watchdog.observability import METRICS_NAMESPACE, count, detailed_metrics, logger
from dns_watchdog.render.alert import build_alert
from dns_watchdog.render.chat import build_chat_notification, build_preflight_chat_notification
from dns_watchdog.render.preflight import build_preflight_warning
from dns_watchdog.render.view import AlertContext

# Seconds a run always keeps, before its deadline, to publish its alerts and store its state.
RESERVE_S = 10.0

# A concurrent check may write the VPC's state between this check's read and write: read again
# and decide again, a few times.
STATE_WRITE_ATTEMPTS = 3


class CheckIncomplete(RuntimeError):
    """Some VPCs could not be concluded (alert or state write failed): retry the event."""


def _latencies(judgement: Judgement) -> list[float]:
    """Every lookup's latency through the forwarder, in milliseconds."""
    return [
        probe.elapsed_ms
        for report in judgement.canaries
        for probe in report.probes
        if probe.elapsed_ms is not None
    ]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime, precision: str) -> str:
    return moment.isoformat(timespec=precision).replace("+00:00", "Z")


def _summary(outcome: VpcOutcome, canaries: int) -> dict[str, Any]:
    """What the invocation result says about one VPC."""
    state = outcome.state
    severity = outcome.severity
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
    }


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
        sleep: Callable[[float], None] = time.sleep,
        region: str | None = None,
        account_id: str | None = None,
        analyzer: ReachabilityAnalyzer | None = None,
    ) -> None:
        """One checker per place: `region` (default: the configured one) and, in organization
        mode, `account_id`, which alerts then name (None in single-account mode)."""
        self._config = config
        self._region = region or config.region
        self._account_id = account_id
        # Opt-in (NAME_BLOCKING_RULE): None when off. Its clock must be `monotonic`.
        self._analyzer = analyzer
        # The run's blocking-analysis deadline, set by its first analysis (all VPCs share it).
        self._blocking_deadline: float | None = None
        self._vpcs = vpcs
        self._canaries = canaries
        self._invoker = invoker
        self._state = state
        self._publisher = publisher
        self._now = now
        self._monotonic = monotonic
        self._sleep = sleep
        self._deadline: float | None = None

    def run(
        self,
        request: CheckRequest,
        request_id: str | None = None,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """Check every VPC of the request; each VPC is concluded and alerted on its own.

        A VPC whose alert or state write fails does not stop the others; the run then raises
        CheckIncomplete at the end, so the event is retried (the VPCs already done are not
        alerted twice: their state is stored and their alerts are recorded as published).

        `deadline` (monotonic seconds) is when the function's time runs out: the optional steps
        (refreshing stale canaries, the sweep's confirmation, self-healing, naming the blocking
        rule) shrink or give way so that `RESERVE_S` is always left to publish and store.
        """
        results: list[dict[str, Any]] = []
        self._blocking_deadline = None
        self._deadline = deadline
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
        observed_at = _timestamp(self._now(), "milliseconds")
        runs = self._invoke_all(plans)
        confirmed, confirm_delay = self._confirm(request, plans, runs)
        failures: list[str] = []
        for vpc_id, plan in plans.items():
            try:
                results.append(
                    self._conclude(
                        request,
                        plan,
                        runs.get(vpc_id, []),
                        observed_at,
                        request_id,
                        confirm_delay if vpc_id in confirmed else None,
                    )
                )
            except (AwsCallFailed, StateConflict) as exc:
                logger.exception("VPC not concluded", extra={"vpc_id": vpc_id})
                results.append({"vpc_id": vpc_id, "status": "error", "error": str(exc)})
                failures.append(f"{vpc_id}: {exc}")
        if failures:
            raise CheckIncomplete(
                f"{len(failures)} of {len(plans)} VPCs not concluded: " + "; ".join(failures)
            )
        published = sum(1 for result in results if result.get("alert"))
        if request.trigger == "sweep":
            self._summarise_sweep(results, runs)
        # The heartbeat: the operations alarm fires when no check run completes for a while.
        count(names.METRIC_CHECKS_COMPLETED, 1)
        return {
            "status": "checked",
            "event_name": request.event_name,
            "trigger": request.trigger,
            "vpcs": results,
            "alerts_published": published,
        }

    def preflight(self, request: PreflightRequest) -> dict[str, Any]:
        """Lint the candidate option set and predict each VPC's verdict if it were associated.

        Nothing is associated, stored or published: the canaries probe the candidate's servers
        directly. A VPC that cannot be described is reported and does not stop the others.
        """
        candidate = self._vpcs.describe_option_set(request.option_set_id)
        if candidate is None:
            # Nothing to predict, and a retry would not help: say so, do not raise.
            error = f"option set {request.option_set_id} does not exist in this region"
            logger.warning("Preflight rejected", extra={"error": error})
            return {"status": "error", "dhcp_options_id": request.option_set_id, "error": error}
        if request.vpc_ids:
            vpc_ids, known = list(request.vpc_ids), {}
        else:
            known = self._canaries.all_by_vpc()
            vpc_ids = list(known)
        errors: list[dict[str, Any]] = []
        plans: dict[str, _VpcPlan] = {}
        for vpc_id in vpc_ids:
            try:
                facts = self._vpcs.describe_vpc(vpc_id)
            except UnknownResource as exc:
                errors.append({"vpc_id": vpc_id, "status": "error", "error": str(exc)})
                continue
            arns = known.get(vpc_id)
            plans[vpc_id] = _VpcPlan(
                facts, arns if arns is not None else self._canaries.for_vpc(vpc_id)
            )
        servers = {v: candidate_servers(candidate, p.facts) for v, p in plans.items()}
        probed = {v: p for v, p in plans.items() if servers[v]}
        runs = self._invoke_all(probed, servers)
        predictions = [predict(candidate, p.facts, runs.get(v, [])) for v, p in plans.items()]
        lint = self.lint(candidate, {v: p.facts.cidr_block for v, p in plans.items()})
        result = preflight_result(candidate, lint, predictions, errors)
        logger.info(
            "Preflight",
            extra={
                "option_set_id": candidate.option_set_id,
                "would_break": result["would_break"],
                "lint": [f.code.value for f in lint],
                "verdicts": {p.facts.vpc_id: p.judgement.verdict.value for p in predictions},
            },
        )
        if request.change is not None:
            result["alert_published"] = self._warn_before_association(
                request, candidate, lint, [p for p in predictions if p.breaks]
            )
        return result

    def _warn_before_association(
        self,
        request: PreflightRequest,
        candidate: OptionSet,
        lint: list[LintFinding],
        breaking: list[VpcPrediction],
    ) -> bool:
        """After CreateDhcpOptions: one WARNING when a watched VPC would break, else nothing."""
        extra = {"option_set_id": candidate.option_set_id, "event_id": request.event_id}
        if not breaking:
            logger.info("New option set looks safe for every watched VPC: no alert", extra=extra)
            return False
        alert = build_preflight_warning(
            candidate.option_set_id,
            candidate.domain_name_servers,
            lint,
            breaking,
            request.change,
            self._region,
        )
        key = f"preflight#{candidate.option_set_id}#{request.event_id}"
        message_id = self._publisher.publish_once(alert, key)
        if self._publisher.chat_topic_arn is not None:
            chat = build_preflight_chat_notification(
                alert,
                candidate.option_set_id,
                [p.facts.vpc_id for p in breaking],
                self._region,
            )
            chat_id = self._publisher.publish_chat_once(chat, key)
            logger.info("Chat notification", extra={**extra, "message_id": chat_id})
        if message_id is None:
            logger.info("Preflight warning already published", extra={**extra, "key": key})
            return False
        count(names.METRIC_ALERTS_PUBLISHED, 1)
        logger.info("Preflight warning published", extra={**extra, "message_id": message_id})
        return True

    def _spare_s(self) -> float:
        """Seconds the run may still spend before it must publish and store (inf: no limit)."""
        if self._deadline is None:
            return float("inf")
        return self._deadline - RESERVE_S - self._monotonic()

    def _confirm(
        self, request: CheckRequest, plans: dict[str, _VpcPlan], runs: dict[str, list[CanaryRun]]
    ) -> tuple[set[str], float]:
        """Ask again the canaries of VPCs whose sweep failure would page (flap.py); their second
        runs replace the first in `runs`. Return the VPCs whose failure was confirmed, and how
        long after the first run they were asked again."""
        suspects = {
            vpc_id: plan
            for vpc_id, plan in plans.items()
            if needs_confirmation(
                request.trigger,
                judge(vpc_id, runs.get(vpc_id, []), dns_support=plan.facts.dns_support).verdict,
                self._state.get(vpc_id),
            )
        }
        if not suspects:
            return set(), 0.0
        # The second run must fit before the deadline: ask sooner when time is short.
        room = self._spare_s() - self._config.canary_invoke_timeout_s
        delay = max(0.0, min(self._config.sweep_confirm_delay_s, room))
        logger.info(
            "Confirming sweep failures", extra={"vpc_ids": sorted(suspects), "delay_s": delay}
        )
        self._sleep(delay)
        runs.update(self._invoke_all(suspects))
        confirmed = set()
        for vpc_id, plan in suspects.items():
            again = judge(vpc_id, runs.get(vpc_id, []), dns_support=plan.facts.dns_support)
            if again.verdict in PROBLEMS:
                confirmed.add(vpc_id)
            else:
                logger.info(
                    "Sweep failure not confirmed",
                    extra={"vpc_id": vpc_id, "verdict": again.verdict.value},
                )
        return confirmed, delay

    def _summarise_sweep(
        self, results: list[dict[str, Any]], runs: dict[str, list[CanaryRun]]
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

    def _scope(
        self, request: CheckRequest, results: list[dict[str, Any]]
    ) -> tuple[list[str], dict[str, tuple[str, ...]]]:
        if request.trigger == "sweep":
            by_vpc = self._canaries.all_by_vpc()
            return list(by_vpc), by_vpc
        vpc_ids: list[str] = []
        for target in request.resources:
            try:
                if target.kind == "security_group":
                    vpc_id = self._vpcs.vpc_of_security_group(target.resource_id)
                elif target.kind == "network_acl":
                    vpc_id = self._vpcs.vpc_of_network_acl(target.resource_id)
                else:
                    vpc_id = target.resource_id
            except UnknownResource as exc:
                logger.warning(
                    "Resource not checked", extra={"target": target.resource_id, "error": str(exc)}
                )
                results.append({"target": target.resource_id, "status": "error", "error": str(exc)})
                continue
            if vpc_id not in vpc_ids:
                vpc_ids.append(vpc_id)
        return vpc_ids, {}

    def _invoke_all(
        self,
        plans: dict[str, _VpcPlan],
        candidates: dict[str, tuple[str, ...]] | None = None,
    ) -> dict[str, list[CanaryRun]]:
        """Every canary of every plan at once; with `candidates`, a preflight of those servers."""
        jobs = [(vpc_id, arn) for vpc_id, plan in plans.items() for arn in plan.canary_arns]
        if not jobs:
            return {}
        # A refresh ends with one more Invoke: it must end before the run's spare time does.
        refresh_expiry = self._monotonic() + min(
            self._config.refresh_budget_s,
            max(0.0, self._spare_s() - self._config.canary_invoke_timeout_s),
        )
        workers = min(self._config.max_concurrent_invocations, len(jobs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="canary") as pool:
            futures = [
                pool.submit(
                    self._run_canary,
                    arn,
                    plans[vpc_id].facts,
                    refresh_expiry,
                    candidates.get(vpc_id) if candidates is not None else None,
                )
                for vpc_id, arn in jobs
            ]
            # result() re-raises what the invoker raises: the checker's own credentials failing.
            outcomes = [future.result() for future in futures]
        blind = whole_run_blinded(outcomes)
        if blind:
            # Nothing could be judged: fail, so the event is retried and kept by the DLQ.
            raise CheckIncomplete(blind)
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

    def _run_canary(
        self,
        arn: str,
        facts: VpcFacts,
        refresh_expiry: float,
        candidates: tuple[str, ...] | None = None,
    ) -> CanaryRun:
        payload = self._payload(facts)
        if candidates is not None:
            payload["candidate_nameservers"] = list(candidates)
        run = self._invoker.invoke(arn, payload)
        if run.status != "stale":
            return run
        reason = self._invoker.refresh(arn, facts.option_set.option_set_id, refresh_expiry)
        if reason == REFRESH_GONE:
            return replace(run, status="gone", detail=reason)
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
        self,
        request: CheckRequest,
        plan: _VpcPlan,
        runs: list[CanaryRun],
        observed_at: str,
        request_id: str | None,
        confirmed_after_s: float | None = None,
    ) -> dict[str, Any]:
        """Decide, alert once, store; on a concurrent write, read again and decide again."""
        facts = plan.facts
        vpc_id = facts.vpc_id
        # Self-healing acts (or reports its dry run) at most once per invocation, before the
        # alert it is reported in.
        healing: HealReport | None = None
        # The blocking rule is named (opt-in) at most once per invocation, before the alert.
        blocking: tuple[BlockingFinding, ...] | None = None
        # What this invocation already paged for this VPC: deciding again after a conflicting
        # write must not page the same thing a second time.
        paged: set[tuple[str, str]] = set()
        published = False
        for _ in range(STATE_WRITE_ATTEMPTS):
            now = _timestamp(self._now(), "seconds")
            outcome = conclude(
                facts=facts,
                runs=runs,
                stored=self._state.get(vpc_id),
                request=request,
                now=now,
                observed_at=observed_at,
            )
            self._log_outcome(outcome, len(runs))
            if outcome.skipped:
                count(names.METRIC_CHECKS_SKIPPED, 1)
                return {**_summary(outcome, len(runs)), "status": "skipped", "why": outcome.skipped}
            page = (str(outcome.severity), outcome.judgement.verdict.value)
            if outcome.severity is not None and page not in paged:
                if healing is None:
                    healing = self._heal(request, outcome, plan.canary_arns, now)
                if blocking is None:
                    blocking = self._name_blocking(outcome)
                context = AlertContext(
                    request,
                    self._region,
                    now,
                    request_id,
                    confirmed_after_s=confirmed_after_s,
                    healing=healing,
                    account_id=self._account_id,
                    account_name=request.account_name,
                    blocking=blocking,
                )
                published = self._alert(context, outcome) or published
                paged.add(page)
            state = outcome.state
            if healing is not None and (healing.plan.act or healing.plan.dry_run):
                state = replace(state, healed_incident=healing.plan.incident_started_at)
            if blocking:
                state = _blocking_analysed(state, outcome, blocking)
            try:
                self._state.put(state)
            except StateConflict:
                logger.info("State changed meanwhile: deciding again", extra={"vpc_id": vpc_id})
                continue
            self._record_metrics(vpc_id, outcome.judgement)
            return {**_summary(outcome, len(runs)), "alert_published": published}
        raise StateConflict(
            f"the state of {vpc_id} kept changing during {STATE_WRITE_ATTEMPTS} attempts"
        )

    def _heal_plan(self, request: CheckRequest, outcome: VpcOutcome, now: str) -> HealPlan | None:
        config = self._config
        if config.self_healing == "off":
            return None
        try:
            known = {i: self._vpcs.describe_option_set(i) for i in outcome.option_sets_to_describe}
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
            own_role_arn=config.checker_role_arn,
            max_age_s=config.self_healing_max_age_hours * 3600,
            healed_incident=outcome.state.healed_incident,
            now=now,
        )

    def _heal(
        self,
        request: CheckRequest,
        outcome: VpcOutcome,
        canary_arns: tuple[str, ...],
        now: str,
    ) -> HealReport | None:
        """Opt-in self-healing (healing.py): plan; if the plan acts, associate the last good
        option set and ask the canaries again. Never raises: the page goes out whatever happens.
        """
        plan = self._heal_plan(request, outcome, now)
        if plan is None:
            return None
        vpc_id = outcome.facts.vpc_id
        extra = {"vpc_id": vpc_id, "option_set_id": plan.option_set_id, "reason": plan.reason}
        if plan.act and self._spare_s() < 2 * self._config.canary_invoke_timeout_s:
            # Associating without time to verify would change the VPC blind: hold back.
            plan = replace(
                plan, act=False, reason="not enough time left in this run to verify a rollback"
            )
        if not plan.act:
            logger.info("Self-healing did not act", extra={**extra, "dry_run": plan.dry_run})
            return HealReport(plan)
        assert plan.option_set_id is not None  # a plan that acts names its target
        try:
            self._vpcs.associate_option_set(vpc_id, plan.option_set_id)
        except AwsCallFailed as exc:
            logger.error("Self-healing failed", extra={**extra, "error": str(exc)})
            return HealReport(plan, error=str(exc))
        associated_at = _timestamp(self._now(), "seconds")
        logger.warning("Self-healing associated the last good option set", extra=extra)
        try:
            facts = self._vpcs.describe_vpc(vpc_id)
            runs = self._invoke_all({vpc_id: _VpcPlan(facts, canary_arns)})
        # The association is done; whatever fails while verifying it must not hold up the page.
        except Exception as exc:
            logger.exception("Self-healing could not verify", extra=extra)
            return HealReport(plan, associated_at, error=f"associated, but not verified: {exc}")
        again = judge(vpc_id, runs.get(vpc_id, []), dns_support=facts.dns_support)
        logger.info("Self-healing verified", extra={**extra, "verdict": again.verdict.value})
        return HealReport(plan, associated_at, again.verdict, again.diagnosis.code)

    def _name_blocking(self, outcome: VpcOutcome) -> tuple[BlockingFinding, ...]:
        """Opt-in: what blocks DNS from a canary to the unreachable servers a page is about
        (blocking.py, reachability.py), within the run's analysis budget; () when not asked.
        Never raises: the page goes out whatever happens here.
        """
        if self._analyzer is None or outcome.severity not in (Severity.CRITICAL, Severity.WARNING):
            return ()
        incident = outcome.decision.incident_started_at or ""
        done = {
            key.partition("#")[2]
            for key in outcome.state.blocking_analysed
            if key.partition("#")[0] == incident
        }
        custom = [
            s for s in outcome.facts.option_set.domain_name_servers if s != AMAZON_PROVIDED_DNS
        ]
        target = analysis_plan(outcome.judgement, custom, already_analysed=done)
        if target is None:
            return ()
        if self._blocking_deadline is None:
            self._blocking_deadline = self._monotonic() + max(
                0.0, min(self._config.blocking_analysis_budget_s, self._spare_s())
            )
        deadline, analyzer = self._blocking_deadline, self._analyzer
        extra = {"vpc_id": outcome.facts.vpc_id, "servers": list(target.servers)}
        try:
            placement = self._invoker.placement(target.canary_arn, outcome.facts.vpc_id)
            if isinstance(placement, str):
                findings = tuple(
                    not_analysed(placement, protocol=p, server=s)
                    for s in target.servers
                    for p in PROTOCOLS
                )
            else:
                # One server's analyses (UDP and TCP at once) per thread: all end by `deadline`.
                with ThreadPoolExecutor(len(target.servers), "blocking") as pool:
                    answers = pool.map(
                        lambda server: analyzer.name_blocking_rule(
                            placement, server, deadline=deadline
                        ),
                        target.servers,
                    )
                    findings = tuple(f for answer in answers for f in answer)
        # The analysis only adds lines to a page that goes out anyway.
        except Exception as exc:
            logger.exception("Could not name the blocking rule", extra=extra)
            reason = f"unexpected error ({type(exc).__name__})"
            findings = tuple(
                not_analysed(reason, protocol=p, server=s)
                for s in target.servers
                for p in PROTOCOLS
            )
        logger.info(
            "Blocking rule",
            extra={**extra, "findings": [f"{f.protocol}:{f.kind.value}" for f in findings]},
        )
        return findings

    def _alert(self, context: AlertContext, outcome: VpcOutcome) -> bool:
        """Publish the outcome's alert, unless it was already published; say if it went out."""
        known = {i: self._vpcs.describe_option_set(i) for i in outcome.option_sets_to_describe}
        if context.request.announces_option_set:
            facts = outcome.facts
            findings = self.lint(facts.option_set, {facts.vpc_id: facts.cidr_block})
            context = replace(context, lint=tuple(findings))
        alert = build_alert(outcome, known, context)
        if alert.document["shortened"]:
            # The alert shows part of the evidence and points here for the rest.
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
        message_id = self._publisher.publish_once(alert, outcome.alert_key)
        extra = {"vpc_id": outcome.facts.vpc_id, "subject": alert.subject}
        if self._publisher.chat_topic_arn is not None:
            # After the page: a broken chat topic fails the run (retried) but never holds it up.
            chat = build_chat_notification(outcome, known, context)
            chat_id = self._publisher.publish_chat_once(chat, outcome.alert_key)
            logger.info("Chat notification", extra={**extra, "message_id": chat_id})
        if message_id is None:
            logger.info("Alert already published", extra={**extra, "key": outcome.alert_key})
            return False
        count(names.METRIC_ALERTS_PUBLISHED, 1)
        logger.info("Alert published", extra={**extra, "message_id": message_id})
        return True

    def lint(self, option_set: OptionSet, vpc_cidrs: dict[str, str]) -> list[LintFinding]:
        """The option set's lint, asking EC2 who holds the server addresses inside `vpc_cidrs`."""
        lookups = addresses_to_look_up(option_set, vpc_cidrs)
        held = self._vpcs.held_addresses(lookups) if lookups else set()
        # Route tables only matter (and are read) when a server is at a public address.
        routes = (
            {vpc_id: self._vpcs.routes_out(vpc_id) for vpc_id in vpc_cidrs}
            if public_servers(option_set)
            else None
        )
        return lint_option_set(
            option_set,
            allowed_networks=self._config.lint_allowed_networks,
            vpc_cidrs=vpc_cidrs,
            held_addresses=held,
            routes_out=routes,
        )

    @staticmethod
    def _log_outcome(outcome: VpcOutcome, canaries: int) -> None:
        judgement, severity = outcome.judgement, outcome.severity
        latencies = _latencies(judgement)
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
                # Per-VPC latency for the dashboard's Logs Insights widgets (no metric per VPC).
                "lookup_ms_max": max(latencies) if latencies else None,
                "lookup_ms_median": statistics.median(latencies) if latencies else None,
            },
        )

    def _record_metrics(self, vpc_id: str, judgement: Judgement) -> None:
        count(names.METRIC_CHECKS_RUN, 1)
        failing = sum(
            1
            for report in judgement.canaries
            if report.status != "gone" and report.severity != Verdict.OK
        )
        if failing:
            count(names.METRIC_CANARY_FAILURES, failing)
        # One EMF document per VPC rather than one per lookup; Powertools publishes a document
        # early whenever a metric reaches 100 values, the EMF limit, keeping the dimension.
        latencies = _latencies(judgement)
        if not latencies or not detailed_metrics():
            # Per-VPC latency is a custom metric per VPC: opt-in (DetailedMetrics); the dashboard
            # reads it from the 'VPC judged' log lines instead.
            return
        vpc_metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE)
        vpc_metrics.add_dimension(name=names.VPC_ID_DIMENSION, value=vpc_id)
        for value in latencies:
            vpc_metrics.add_metric(
                name=names.METRIC_LOOKUP_LATENCY, unit=MetricUnit.Milliseconds, value=value
            )
        if vpc_metrics.metric_set:
            vpc_metrics.flush_metrics()


def _blocking_analysed(
    state: VpcState, outcome: VpcOutcome, findings: tuple[BlockingFinding, ...]
) -> VpcState:
    """Remember the servers analysed in this incident (earlier incidents' entries are dropped)."""
    incident = outcome.decision.incident_started_at or ""
    kept = [k for k in state.blocking_analysed if k.partition("#")[0] == incident]
    new = [f"{incident}#{f.server}" for f in findings]
    return replace(state, blocking_analysed=tuple(dict.fromkeys([*kept, *new])))
