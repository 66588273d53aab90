"""Which VPCs a request is about, with their facts and the canaries that watch them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dns_watchdog.aws.canaries import CanaryDirectory
from dns_watchdog.aws.vpcs import UnknownResource, VpcDirectory
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import VpcFacts
from dns_watchdog.observability import logger


@dataclass(frozen=True)
class Watched:
    """One VPC to check: its facts and the canaries inside it."""

    facts: VpcFacts
    canary_arns: tuple[str, ...]


@dataclass
class Scoped:
    """The VPCs a request names that could be described, and the ones that could not."""

    watched: dict[str, Watched] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


class Scope:
    """Turns a request's resources into watched VPCs (unknown ones are reported, not raised)."""

    def __init__(self, vpcs: VpcDirectory, canaries: CanaryDirectory) -> None:
        self._vpcs = vpcs
        self._canaries = canaries

    def of_check(self, request: CheckRequest) -> Scoped:
        """A sweep: every VPC with canaries; otherwise the VPCs of the request's resources."""
        if request.trigger == "sweep":
            by_vpc = self._canaries.all_by_vpc()
            return self.of_vpcs(list(by_vpc), by_vpc)
        scoped = Scoped()
        vpc_ids: list[str] = []
        for resource in request.resources:
            try:
                vpc_id = self._vpc_of(resource.kind, resource.resource_id)
            except UnknownResource as exc:
                logger.warning(
                    "Target not checked", extra={"target": resource.resource_id, "error": str(exc)}
                )
                scoped.errors.append(
                    {"target": resource.resource_id, "status": "error", "error": str(exc)}
                )
                continue
            if vpc_id not in vpc_ids:
                vpc_ids.append(vpc_id)
        described = self.of_vpcs(vpc_ids)
        described.errors[:0] = scoped.errors
        return described

    def of_preflight(self, vpc_ids: Sequence[str]) -> Scoped:
        """The named VPCs, or every watched VPC when none is named."""
        if vpc_ids:
            return self.of_vpcs(list(vpc_ids))
        by_vpc = self._canaries.all_by_vpc()
        return self.of_vpcs(list(by_vpc), by_vpc)

    def of_vpcs(
        self, vpc_ids: Sequence[str], known: Mapping[str, tuple[str, ...]] | None = None
    ) -> Scoped:
        """Describe each VPC and find its canaries (`known`: canaries already looked up)."""
        scoped = Scoped()
        for vpc_id in vpc_ids:
            try:
                facts = self._vpcs.describe_vpc(vpc_id)
            except UnknownResource as exc:
                logger.warning("VPC not checked", extra={"vpc_id": vpc_id, "error": str(exc)})
                scoped.errors.append({"vpc_id": vpc_id, "status": "error", "error": str(exc)})
                continue
            arns = (known or {}).get(vpc_id)
            scoped.watched[vpc_id] = Watched(
                facts, arns if arns is not None else self._canaries.for_vpc(vpc_id)
            )
        return scoped

    def _vpc_of(self, kind: str, resource_id: str) -> str:
        if kind == "security_group":
            return self._vpcs.vpc_of_security_group(resource_id)
        if kind == "network_acl":
            return self._vpcs.vpc_of_network_acl(resource_id)
        return resource_id
