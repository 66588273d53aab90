"""The outbound endpoints' health for a page: read at most once per VPC and run, only for a page
about a VPC whose forward rules go through endpoints (domain/endpoint_health.py says which), and
only while the run has time to spare (aws/endpoint_health.py reads; it never raises).
"""

from __future__ import annotations

from typing import Any

from dns_watchdog.aws.endpoint_health import read_endpoint_health
from dns_watchdog.domain.discovery import Discovery
from dns_watchdog.domain.endpoint_health import EndpointHealth, endpoints_worth_reading
from dns_watchdog.domain.models import Severity, Verdict
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.observability import logger

# What one reading takes at most: a GetResolverEndpoint per endpoint and one GetMetricData.
READING_BUDGET_S = 10.0


class EndpointHealthReader:
    """Reads the endpoints behind a page's forward rules (clients of the VPC's place)."""

    def __init__(self, *, resolver: Any, cloudwatch: Any) -> None:
        self._resolver = resolver
        self._cloudwatch = cloudwatch

    def read(
        self, outcome: VpcOutcome, discovery: Discovery | None, budget: RunBudget
    ) -> tuple[EndpointHealth, ...] | None:
        """The endpoints' health for this page (None: not read: not worth it, or no time)."""
        endpoints = discovery.outbound_endpoints if discovery is not None else ()
        judgement = outcome.judgement
        wanted = endpoints_worth_reading(
            diagnosis_code=judgement.diagnosis.code,
            failed=judgement.verdict == Verdict.FAILED,
            pages=outcome.severity in (Severity.CRITICAL, Severity.WARNING),
            endpoints=endpoints,
        )
        if not wanted:
            return None
        if budget.slice_s(READING_BUDGET_S) < READING_BUDGET_S:
            logger.info(
                "Outbound endpoints not read: no time left",
                extra={"vpc_id": outcome.facts.vpc_id},
            )
            return None
        healths = read_endpoint_health(
            self._resolver, self._cloudwatch, endpoints, now=budget.wall()
        )
        logger.info(
            "Outbound endpoints read",
            extra={
                "vpc_id": outcome.facts.vpc_id,
                "signals": {health.endpoint_id: health.signal for health in healths},
            },
        )
        return healths
