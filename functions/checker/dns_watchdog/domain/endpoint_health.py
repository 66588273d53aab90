"""How the Route 53 Resolver outbound endpoints behind a VPC's forward rules are doing (pure).

A forward rule's queries leave the VPC through an outbound endpoint: its network interfaces
send them to the rule's target addresses. When a rule's names stop resolving, the endpoint's
own health is a second, passive signal beside the canary's probes: the endpoint's status
(Route 53 Resolver `GetResolverEndpoint`), the fewest healthy interfaces CloudWatch counted in
the last minutes (`EndpointHealthyENICount`) against the addresses the endpoint has, and the
worst capacity status (`ResolverEndpointCapacityStatus`: 0 OK, 1 one interface above 50 %,
2 one above 75 %). This module only classifies what was read; render/endpoint_health.py words it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# ResolverEndpointStatus values (botocore's route53resolver model) that mean "serving".
SERVING_STATUSES = frozenset({"OPERATIONAL", "UPDATING"})
# ResolverEndpointCapacityStatus values (Route 53 developer guide).
CAPACITY_WARNING = 1
CAPACITY_CRITICAL = 2

Signal = Literal["unread", "down", "degraded", "busy", "ok", "no_data"]


@dataclass(frozen=True)
class EndpointHealth:
    """What was read about one outbound endpoint (None: that reading had no value)."""

    endpoint_id: str
    status: str = ""
    status_message: str = ""
    # The addresses (network interfaces) the endpoint has.
    interfaces: int | None = None
    # The fewest healthy interfaces in the window; the worst capacity status in it.
    healthy_interfaces: int | None = None
    capacity_status: int | None = None
    # Why the endpoint could not be read at all (empty when it was).
    unread: str = ""

    @property
    def signal(self) -> Signal:
        """The one word for this endpoint, worst first."""
        if self.unread:
            return "unread"
        stopped = bool(self.status) and self.status not in SERVING_STATUSES
        if stopped or self.healthy_interfaces == 0:
            return "down"
        if self._interfaces_lost():
            return "degraded"
        if self.capacity_status is not None and self.capacity_status >= CAPACITY_WARNING:
            return "busy"
        read_nothing = self.healthy_interfaces is None and self.capacity_status is None
        return "no_data" if not self.status and read_nothing else "ok"

    def _interfaces_lost(self) -> bool:
        healthy, total = self.healthy_interfaces, self.interfaces
        return healthy is not None and total is not None and healthy < total

    @property
    def troubled(self) -> bool:
        return self.signal in ("down", "degraded", "busy")


_ORDER: dict[Signal, int] = {
    "down": 0,
    "degraded": 1,
    "busy": 2,
    "unread": 3,
    "no_data": 4,
    "ok": 5,
}


def worst_first(healths: tuple[EndpointHealth, ...]) -> tuple[EndpointHealth, ...]:
    """The endpoints, the most troubled first (then by id, so a page reads the same twice)."""
    return tuple(sorted(healths, key=lambda health: (_ORDER[health.signal], health.endpoint_id)))


# The diagnosis of a forward rule whose targets fail (docs/canary-contract.md).
RULE_TARGETS_FAILING = "RESOLVER_RULE_TARGETS_FAILING"


def endpoints_worth_reading(
    *, diagnosis_code: str, failed: bool, pages: bool, endpoints: tuple[str, ...]
) -> bool:
    """Whether a page reads the VPC's outbound endpoints: it is a page (`pages`: CRITICAL or
    WARNING), the VPC has forward rules with endpoints, and the rule's targets fail or the
    verdict is FAILED. A healthy check never reads them."""
    if not pages or not endpoints:
        return False
    return diagnosis_code == RULE_TARGETS_FAILING or failed
