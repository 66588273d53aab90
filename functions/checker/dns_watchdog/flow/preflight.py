"""A preflight: what associating an option set would do to Lambda DNS in each watched VPC.

Nothing is associated, stored or published (except the automatic preflight of a
CreateDhcpOptions call, which warns once when a VPC would break): the canaries probe the
candidate's servers directly.
"""

from __future__ import annotations

from typing import Any

from dns_watchdog.domain.preflight import candidate_servers, predict, preflight_result
from dns_watchdog.domain.request import PreflightRequest
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.flow.fleet import CanaryFleet
from dns_watchdog.flow.notifier import Notifier
from dns_watchdog.flow.option_sets import OptionSets
from dns_watchdog.flow.scope import Scope
from dns_watchdog.observability import logger


class PreflightCheck:
    """Lints the candidate and asks the canaries, within the invocation's own budget."""

    def __init__(
        self,
        scope: Scope,
        option_sets: OptionSets,
        fleet: CanaryFleet,
        notifier: Notifier,
        region: str,
    ) -> None:
        self._scope = scope
        self._option_sets = option_sets
        self._fleet = fleet
        self._notifier = notifier
        self._region = region

    def run(self, request: PreflightRequest, budget: RunBudget) -> dict[str, Any]:
        """The prediction per VPC; a VPC that cannot be described does not stop the others."""
        candidate = self._option_sets.describe(request.option_set_id)
        if candidate is None:
            # Nothing to predict, and a retry would not help: say so, do not raise.
            error = f"option set {request.option_set_id} does not exist in this region"
            logger.warning("Preflight rejected", extra={"error": error})
            return {"status": "error", "dhcp_options_id": request.option_set_id, "error": error}
        scoped = self._scope.of_preflight(request.vpc_ids)
        watched = scoped.watched
        servers = {v: candidate_servers(candidate, w.facts) for v, w in watched.items()}
        probed = {v: w for v, w in watched.items() if servers[v]}
        runs = self._fleet.ask(probed, budget, servers)
        predictions = [predict(candidate, w.facts, runs.get(v, [])) for v, w in watched.items()]
        lint = self._option_sets.lint(
            candidate, {v: w.facts.cidr_block for v, w in watched.items()}
        )
        result = preflight_result(candidate, lint, predictions, scoped.errors)
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
            result["alert_published"] = self._notifier.warn_before_association(
                request,
                candidate,
                lint,
                [p for p in predictions if p.breaks],
                self._region,
                budget,
            )
        return result
