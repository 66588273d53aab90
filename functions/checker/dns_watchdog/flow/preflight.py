"""A preflight: what associating an option set would do to Lambda DNS in each watched VPC.

Nothing is associated, stored or published (except the automatic preflight of a
CreateDhcpOptions call, which warns once when a VPC would break): the canaries probe the
candidate's servers directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.preflight import (
    VpcPrediction,
    candidate_servers,
    predict,
    preflight_result,
)
from dns_watchdog.domain.request import PreflightRequest
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.flow.fleet import CanaryFleet
from dns_watchdog.flow.notifier import Notifier
from dns_watchdog.flow.option_sets import OptionSets
from dns_watchdog.flow.scope import Scope, Watched
from dns_watchdog.observability import logger

if TYPE_CHECKING:
    from dns_watchdog.aws.state import StateStore
    from dns_watchdog.domain.discovery import Discovery
    from dns_watchdog.domain.history import VpcState
    from dns_watchdog.domain.workloads import BlastRadius
    from dns_watchdog.flow.blast import BlastReader
    from dns_watchdog.flow.discovery import DiscoveryKeeper

# The VPCs of one preflight WARNING whose blast radius is read (a few calls each); the rest are
# listed without it.
MAX_PREFLIGHT_BLAST_VPCS = 10


class PreflightCheck:
    """Lints the candidate and asks the canaries, within the invocation's own budget."""

    def __init__(
        self,
        scope: Scope,
        option_sets: OptionSets,
        fleet: CanaryFleet,
        notifier: Notifier,
        region: str,
        *,
        blast: BlastReader | None = None,
        state: StateStore | None = None,
        discovery: DiscoveryKeeper | None = None,
    ) -> None:
        self._scope = scope
        self._option_sets = option_sets
        self._fleet = fleet
        self._notifier = notifier
        self._region = region
        self._blast = blast
        self._state = state
        self._discovery = discovery

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
        discoveries = self._discoveries(probed, budget)
        runs = self._fleet.ask(probed, budget, servers, discoveries)
        predictions = [predict(candidate, w.facts, runs.get(v, [])) for v, w in watched.items()]
        lint = self._option_sets.lint(
            candidate, {v: w.facts.cidr_block for v, w in watched.items()}, discoveries
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
            breaking = [p for p in predictions if p.breaks]
            result["alert_published"] = self._notifier.warn_before_association(
                request,
                candidate,
                lint,
                breaking,
                self._region,
                budget,
                blasts=self._blasts(breaking, watched, budget.timestamp()),
            )
        return result

    def _discoveries(
        self, watched: Mapping[str, Watched], budget: RunBudget
    ) -> dict[str, Discovery]:
        """Each VPC's own DNS (stored while fresh, else read), so the canaries ask the candidate
        for its private zones' and rules' names too."""
        if self._discovery is None:
            return {}
        now = budget.wall()
        return {
            vpc_id: self._discovery.for_preflight(vpc_id, self._stored(vpc_id), now)
            for vpc_id in watched
        }

    def _stored(self, vpc_id: str) -> VpcState | None:
        if self._state is None:
            return None
        try:
            return self._state.get(vpc_id)
        except AwsCallFailed as exc:
            logger.warning("State not read", extra={"vpc_id": vpc_id, "error": str(exc)})
            return None

    def _blasts(
        self, breaking: Sequence[VpcPrediction], watched: Mapping[str, Watched], now: str
    ) -> dict[str, BlastRadius]:
        """What the WARNING says is hit in the first VPCs that would break (cached with their
        state when read; a VPC never checked has no state to cache it with)."""
        if self._blast is None or not breaking:
            return {}
        blasts = {}
        for prediction in breaking[:MAX_PREFLIGHT_BLAST_VPCS]:
            vpc_id = prediction.facts.vpc_id
            stored = self._stored(vpc_id)
            blast = self._blast.read(vpc_id, watched[vpc_id].canary_arns, stored, now)
            blasts[vpc_id] = blast
            if self._state is not None and blast.status == "read" and blast.census is not None:
                try:
                    self._state.remember_workloads(vpc_id, blast.census)
                except AwsCallFailed as exc:
                    logger.warning(
                        "Workloads not cached", extra={"vpc_id": vpc_id, "error": str(exc)}
                    )
        return blasts
