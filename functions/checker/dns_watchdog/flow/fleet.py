"""The canaries of a run: one plan builder, every canary asked at once, stale ones refreshed.

Checks, preflights and self-healing's verification all ask through `CanaryFleet.ask`, so the
plan a canary gets (`payload`) is built in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from dns_watchdog.aws.invoker import REFRESH_GONE, CanaryInvoker, whole_run_blinded
from dns_watchdog.config import CheckerConfig
from dns_watchdog.constants import CANARY_MAX_PROBES
from dns_watchdog.domain.discovery import Discovery, configured_probes, plan_probes
from dns_watchdog.domain.models import CanaryRun
from dns_watchdog.domain.vpc import VpcFacts
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.flow.scope import Watched


class CheckIncomplete(RuntimeError):
    """Some VPCs could not be concluded, or nothing could be judged: retry the event."""


class CanaryFleet:
    """Asks canaries for their findings within a run's budget (invoker.py does one Invoke)."""

    def __init__(
        self, invoker: CanaryInvoker, config: CheckerConfig, *, region: str | None = None
    ) -> None:
        self._invoker = invoker
        self._config = config
        # Where the canaries run: `{region}` in configured names, for the DNS Firewall's match.
        self._region = region or config.region

    @property
    def invoker(self) -> CanaryInvoker:
        return self._invoker

    def payload(
        self,
        facts: VpcFacts,
        candidates: tuple[str, ...] | None = None,
        discovery: Discovery | None = None,
    ) -> dict[str, Any]:
        """The probe plan for a canary of this VPC (canary contract); with `candidates`, a
        preflight of those servers; with `discovery`, the configured probes first and then the
        discovered ones (docs/canary-contract.md), each a DNS Firewall blocks expecting the
        block. Without discovery, or when it adds nothing, the plan is as it always was."""
        payload: dict[str, Any] = {
            "deadline_ms": self._config.canary_deadline_ms,
            "expected_nameservers": list(facts.expected_nameservers),
        }
        plan = self._config.probe_plan
        if plan is not None:
            payload["probes"] = plan.probes
        if discovery is not None:
            configured = (
                plan.probes if plan is not None else configured_probes(self._config.probe_names)
            )
            planned = plan_probes(
                configured, discovery, max_probes=CANARY_MAX_PROBES, region=self._region
            )
            if list(planned.probes) != list(configured):
                payload["probes"] = list(planned.probes)
        if candidates is not None:
            payload["candidate_nameservers"] = list(candidates)
        return payload

    def ask(
        self,
        watched: Mapping[str, Watched],
        budget: RunBudget,
        candidates: Mapping[str, tuple[str, ...]] | None = None,
        discoveries: Mapping[str, Discovery] | None = None,
    ) -> dict[str, list[CanaryRun]]:
        """Every canary of every watched VPC at once (each VPC's plan with its discovery, if
        any); raises CheckIncomplete when the run judged nothing because the checker itself
        could not reach any canary."""
        jobs = [(vpc_id, arn) for vpc_id, one in watched.items() for arn in one.canary_arns]
        if not jobs:
            return {}
        # A refresh ends with one more Invoke: it must end before the run's spare time does.
        timeout_s = self._config.canary_invoke_timeout_s
        refresh_expiry = budget.expiry(self._config.refresh_budget_s, keep_s=timeout_s)
        workers = min(self._config.max_concurrent_invocations, len(jobs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="canary") as pool:
            futures = [
                pool.submit(
                    self._run_canary,
                    arn,
                    watched[vpc_id].facts,
                    self.payload(
                        watched[vpc_id].facts,
                        (candidates or {}).get(vpc_id),
                        (discoveries or {}).get(vpc_id),
                    ),
                    refresh_expiry,
                    budget,
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

    def _run_canary(
        self,
        arn: str,
        facts: VpcFacts,
        payload: dict[str, Any],
        refresh_expiry: float,
        budget: RunBudget,
    ) -> CanaryRun:
        run = self._invoker.invoke(arn, payload)
        if run.status != "stale":
            return run
        reason = self._invoker.refresh(arn, facts.option_set.option_set_id, refresh_expiry)
        if reason == REFRESH_GONE:
            return replace(run, status="gone", detail=reason)
        if reason is not None:
            return replace(run, detail=f"could not refresh it: {reason}")
        if budget.monotonic() >= refresh_expiry:
            return replace(run, detail="refreshed, but no refresh budget left to ask again")
        again = self._invoker.invoke(arn, payload)
        if again.status == "stale":
            return replace(
                again,
                refreshed=True,
                detail="it still reports the older option set after its configuration was updated",
            )
        return replace(again, refreshed=True)
