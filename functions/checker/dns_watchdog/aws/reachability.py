"""EC2 adapter: ask Reachability Analyzer what blocks DNS from a canary to a server (opt-in).

The flow, for one canary and one configured server, within one absolute deadline:

1. **The canary's network interface.** Lambda attaches a VPC function through a Hyperplane
   network interface (`InterfaceType` `lambda`) that it creates per unique combination of subnet
   and security groups and shares among every function with that same combination. Its
   description and requester id name only the function whose configuration created it, so a
   canary that shares an interface created for another function would not be found by them.
   The canary is found the way Lambda itself keys the interface: DescribeNetworkInterfaces
   filtered by `interface-type` = `lambda`, `vpc-id`, `subnet-id` (the canary's subnets) and
   `group-id` (one of its groups), keeping interfaces whose security groups are exactly the
   canary's; the first in the canary's subnet order (then by id) is the source. Any of them is
   a faithful source: the path's rules are those of the subnet and the groups.
2. **The server's network interface**, when the server is an address in the same VPC
   (DescribeNetworkInterfaces by `vpc-id` and `addresses.private-ip-address`): then the path
   ends at it, so its security groups' ingress rules are analysed too. Otherwise the path ends
   at the address (`FilterAtSource.DestinationAddress`), which models the way out of the VPC.
3. **One path per protocol** (UDP, then TCP; port 53), tagged `ANALYSIS_TAG_KEY` = VPC id, and
   one analysis of each, also tagged. The two analyses run at the same time on AWS's side: both
   are started before either is polled, and one DescribeNetworkInsightsAnalyses call polls both.
   No threads are needed for that, and the calls stay in a fixed order (auditable, and pinned
   call by call in the tests).
4. **Polling** sleeps (injectable) at most until the deadline; what has not finished by then is
   "could not analyse: no result within the analysis budget".
5. **Clean-up, always**: every analysis and path created is deleted, analyses first (a path with
   analyses cannot go), whether the analysis succeeded, timed out or failed. A delete that fails
   is logged with the ids (the resources carry the tag, so they can be found and removed).

This feature only adds a line to an alert that is sent anyway, so nothing here raises into the
check: every AWS or transport error (access denied, throttling, a deleted interface) becomes a
`not_analysed` finding naming the reason.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.aws.calls import failure_reason
from dns_watchdog.constants import ANALYSIS_TAG_KEY, DNS_PORT
from dns_watchdog.domain.blocking import (
    PROTOCOLS,
    BlockingFinding,
    Protocol,
    blocking_finding,
    not_analysed,
    unanalysable,
)
from dns_watchdog.domain.text import clip
from dns_watchdog.domain.vpc import CanaryPlacement
from dns_watchdog.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import (
        CreateNetworkInsightsPathRequestTypeDef,
        FilterTypeDef,
        TagSpecificationTypeDef,
    )

# The EC2 operations this adapter calls (aws/vpcs.py says why).
ANALYZER_OPERATIONS = frozenset(
    {
        "CreateNetworkInsightsPath",
        "DeleteNetworkInsightsAnalysis",
        "DeleteNetworkInsightsPath",
        "DescribeNetworkInsightsAnalyses",
        "DescribeNetworkInterfaces",
        "StartNetworkInsightsAnalysis",
    }
)

# Between two polls; analyses usually take tens of seconds.
DEFAULT_POLL_INTERVAL_S = 2.0
TIMED_OUT = "no result within the analysis budget"
NO_TIME = "no time left in the analysis budget"
_MAX_MESSAGE_CHARS = 200


class AnalysisUnavailable(RuntimeError):
    """Why no analysis can be made (the message is the finding's reason)."""


def _log_failure(reason: str, exc: Exception, server: str) -> None:
    # Not raised (the feature is optional), but never silent: a parameter error here is a bug.
    logger.warning(
        "Could not name the blocking rule",
        extra={"server": server, "reason": reason, "error": clip(repr(exc), _MAX_MESSAGE_CHARS)},
    )


class ReachabilityAnalyzer:
    """Runs Network Insights path analyses for the checker (EC2 client injectable)."""

    def __init__(
        self,
        client: EC2Client | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        token: Callable[[], str] = lambda: str(uuid.uuid4()),
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> None:
        self._ec2 = client or boto3.client("ec2")
        self._sleep = sleep
        self._clock = clock
        self._token = token
        self._poll_interval_s = poll_interval_s

    # --- the one entry point for the check -------------------------------------------------

    def name_blocking_rule(
        self,
        placement: CanaryPlacement,
        server: str,
        *,
        deadline: float,
        protocols: Sequence[Protocol] = PROTOCOLS,
    ) -> tuple[BlockingFinding, ...]:
        """What blocks `protocols` port 53 from the canary at `placement` to `server`.

        `deadline` is a value of the analyzer's clock (`time.monotonic` by default) by which
        polling stops; the deletes that follow still run. Never raises for AWS errors.
        """
        try:
            reason = unanalysable(server)
            if reason:
                raise AnalysisUnavailable(reason)
            if self._clock() >= deadline:
                raise AnalysisUnavailable(NO_TIME)
            source = self.canary_interface(placement)
            destination = self.server_interface(placement.vpc_id, server)
        except AnalysisUnavailable as exc:
            return tuple(not_analysed(str(exc), protocol=p, server=server) for p in protocols)
        except (ClientError, BotoCoreError) as exc:
            reason = failure_reason(exc, "EC2")
            _log_failure(reason, exc, server)
            return tuple(not_analysed(reason, protocol=p, server=server) for p in protocols)
        return self.analyse(
            source,
            server,
            vpc_id=placement.vpc_id,
            destination_interface=destination,
            deadline=deadline,
            protocols=protocols,
        )

    # --- the steps ---------------------------------------------------------------------------

    def canary_interface(self, placement: CanaryPlacement) -> str:
        """The id of a Lambda network interface with the canary's subnet and security groups."""
        if not placement.subnet_ids or not placement.security_group_ids:
            raise AnalysisUnavailable("the canary is not attached to a VPC")
        filters: list[FilterTypeDef] = [
            {"Name": "interface-type", "Values": ["lambda"]},
            {"Name": "vpc-id", "Values": [placement.vpc_id]},
            {"Name": "subnet-id", "Values": list(placement.subnet_ids)},
            {"Name": "group-id", "Values": [placement.security_group_ids[0]]},
        ]
        wanted = set(placement.security_group_ids)
        candidates: list[tuple[int, str]] = []
        for interface in self._interfaces(filters):
            groups = {g.get("GroupId") for g in interface.get("Groups", [])}
            subnet = interface.get("SubnetId", "")
            if groups == wanted and subnet in placement.subnet_ids:
                order = placement.subnet_ids.index(subnet)
                candidates.append((order, interface["NetworkInterfaceId"]))
        if not candidates:
            raise AnalysisUnavailable(
                "no Lambda network interface with the canary's subnets and security groups "
                "(Lambda creates it when the canary is created or its VPC settings change)"
            )
        return min(candidates)[1]

    def server_interface(self, vpc_id: str, server: str) -> str | None:
        """The network interface holding `server` in the VPC, or None (the server is elsewhere)."""
        filters: list[FilterTypeDef] = [
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "addresses.private-ip-address", "Values": [server]},
        ]
        found = sorted(i["NetworkInterfaceId"] for i in self._interfaces(filters))
        return found[0] if found else None

    def analyse(
        self,
        source_interface: str,
        server: str,
        *,
        vpc_id: str,
        destination_interface: str | None,
        deadline: float,
        protocols: Sequence[Protocol] = PROTOCOLS,
    ) -> tuple[BlockingFinding, ...]:
        """Create, start, poll and delete one path and analysis per protocol."""
        paths: dict[Protocol, str] = {}
        analyses: dict[Protocol, str] = {}
        results: dict[Protocol, Mapping[str, Any]] = {}
        reason = TIMED_OUT
        try:
            for protocol in protocols:
                paths[protocol] = self._create_path(
                    source_interface, server, protocol, vpc_id, destination_interface
                )
            for protocol in protocols:
                analyses[protocol] = self._start(paths[protocol], vpc_id)
            self._poll(analyses, deadline, finished=results)
        except (ClientError, BotoCoreError) as exc:
            reason = failure_reason(exc, "EC2")
            _log_failure(reason, exc, server)
        finally:
            self._delete(analyses.values(), paths.values())
        return tuple(
            blocking_finding(results[p], protocol=p, server=server)
            if p in results
            else not_analysed(reason, protocol=p, server=server)
            for p in protocols
        )

    # --- EC2 calls ---------------------------------------------------------------------------

    def _interfaces(self, filters: list[FilterTypeDef]) -> Iterable[Mapping[str, Any]]:
        paginator = self._ec2.get_paginator("describe_network_interfaces")
        for page in paginator.paginate(Filters=filters):
            yield from page.get("NetworkInterfaces", [])

    @staticmethod
    def _tags(resource_type: Any, vpc_id: str) -> list[TagSpecificationTypeDef]:
        return [
            {"ResourceType": resource_type, "Tags": [{"Key": ANALYSIS_TAG_KEY, "Value": vpc_id}]}
        ]

    def _create_path(
        self,
        source_interface: str,
        server: str,
        protocol: Protocol,
        vpc_id: str,
        destination_interface: str | None,
    ) -> str:
        request: CreateNetworkInsightsPathRequestTypeDef = {
            "Source": source_interface,
            "Protocol": protocol,
            "TagSpecifications": self._tags("network-insights-path", vpc_id),
            "ClientToken": self._token(),
        }
        if destination_interface:
            # The server's own interface: its security groups' ingress rules count too.
            request["Destination"] = destination_interface
            request["DestinationIp"] = server
            request["DestinationPort"] = DNS_PORT
        else:
            # An address outside the VPC (on premises, another VPC): the path ends at the address.
            request["FilterAtSource"] = {
                "DestinationAddress": server,
                "DestinationPortRange": {"FromPort": DNS_PORT, "ToPort": DNS_PORT},
            }
        path = self._ec2.create_network_insights_path(**request)["NetworkInsightsPath"]
        return path["NetworkInsightsPathId"]

    def _start(self, path_id: str, vpc_id: str) -> str:
        analysis = self._ec2.start_network_insights_analysis(
            NetworkInsightsPathId=path_id,
            TagSpecifications=self._tags("network-insights-analysis", vpc_id),
            ClientToken=self._token(),
        )["NetworkInsightsAnalysis"]
        return analysis["NetworkInsightsAnalysisId"]

    def _poll(
        self,
        analyses: Mapping[Protocol, str],
        deadline: float,
        *,
        finished: dict[Protocol, Mapping[str, Any]],
    ) -> None:
        """Fill `finished` by protocol until all are done or the deadline passes.

        Filled in place, so an analysis that finished before a later poll failed still counts.
        """
        by_id = {analysis_id: protocol for protocol, analysis_id in analyses.items()}
        while len(finished) < len(analyses):
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            self._sleep(min(self._poll_interval_s, remaining))
            pending = [a for a, p in by_id.items() if p not in finished]
            found = self._ec2.describe_network_insights_analyses(
                NetworkInsightsAnalysisIds=pending
            )["NetworkInsightsAnalyses"]
            for analysis in found:
                protocol = by_id.get(analysis.get("NetworkInsightsAnalysisId", ""))
                if protocol and analysis.get("Status") in ("succeeded", "failed"):
                    finished[protocol] = analysis

    def _delete(self, analysis_ids: Iterable[str], path_ids: Iterable[str]) -> None:
        for analysis_id in list(analysis_ids):
            try:
                self._ec2.delete_network_insights_analysis(NetworkInsightsAnalysisId=analysis_id)
            except (ClientError, BotoCoreError) as exc:
                logger.warning(
                    "Could not delete a Network Insights analysis",
                    extra={"analysis_id": analysis_id, "reason": failure_reason(exc, "EC2")},
                )
        for path_id in list(path_ids):
            try:
                self._ec2.delete_network_insights_path(NetworkInsightsPathId=path_id)
            except (ClientError, BotoCoreError) as exc:
                logger.warning(
                    "Could not delete a Network Insights path",
                    extra={"path_id": path_id, "reason": failure_reason(exc, "EC2")},
                )
