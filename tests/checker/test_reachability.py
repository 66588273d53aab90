"""Naming the blocking rule against EC2: every request and response of the Reachability Analyzer
flow pinned with botocore's Stubber (moto has no Network Insights API).

What a user relies on: the alert names the security group, ACL entry or route table in the way
(or says the network is fine); the analysis stays within its budget; the paths and analyses it
creates are always deleted; and a denied, throttled or slow analysis never breaks the check.
Time is a fake clock that the injected `sleep` advances: no real waiting, no sockets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from dns_watchdog.aws.reachability import TIMED_OUT, ReachabilityAnalyzer
from dns_watchdog.constants import ANALYSIS_TAG_KEY
from dns_watchdog.domain.blocking import BlockingKind
from dns_watchdog.domain.vpc import CanaryPlacement

pytestmark = pytest.mark.unit

VPC = "vpc-0123456789abcdef0"
SUBNETS = ("subnet-0aaa000000000000a", "subnet-0bbb000000000000b")
GROUPS = ("sg-0ccc000000000000c",)
PLACEMENT = CanaryPlacement(VPC, SUBNETS, GROUPS)
CANARY_ENI = "eni-0c0000000000000a1"
SERVER_ENI = "eni-05e7e7e7e7e7e7e01"
SERVER = "10.1.1.10"
OUTSIDE_SERVER = "192.168.50.53"
PATHS = {"udp": "nip-0000000000000u001", "tcp": "nip-0000000000000t001"}
ANALYSES = {"udp": "nia-0000000000000u001", "tcp": "nia-0000000000000t001"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def ec2(stub_session: boto3.session.Session) -> Any:
    return stub_session.client("ec2")


@pytest.fixture
def stub(ec2: Any) -> Iterator[Stubber]:
    with Stubber(ec2) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def analyzer(ec2: Any, clock: FakeClock) -> ReachabilityAnalyzer:
    tokens = iter(f"token-{n}" for n in range(1, 100))
    return ReachabilityAnalyzer(
        ec2, sleep=clock.sleep, clock=clock, token=lambda: next(tokens), poll_interval_s=2.0
    )


# --- the EC2 conversation, one call at a time ---------------------------------------------------


def interface(
    eni: str, subnet: str, groups: tuple[str, ...], kind: str = "lambda"
) -> dict[str, Any]:
    return {
        "NetworkInterfaceId": eni,
        "SubnetId": subnet,
        "VpcId": VPC,
        "InterfaceType": kind,
        "Status": "in-use",
        "Groups": [{"GroupId": g, "GroupName": g} for g in groups],
    }


def expect_canary_interfaces(stub: Stubber, *interfaces: dict[str, Any]) -> None:
    stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": list(interfaces)},
        {
            "Filters": [
                {"Name": "interface-type", "Values": ["lambda"]},
                {"Name": "vpc-id", "Values": [VPC]},
                {"Name": "subnet-id", "Values": list(SUBNETS)},
                {"Name": "group-id", "Values": [GROUPS[0]]},
            ]
        },
    )


def expect_server_interface(stub: Stubber, server: str, found: str | None) -> None:
    interfaces = [interface(found, SUBNETS[0], ("sg-0dns",), kind="interface")] if found else []
    stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": interfaces},
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [VPC]},
                {"Name": "addresses.private-ip-address", "Values": [server]},
            ]
        },
    )


def tags(resource_type: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": ANALYSIS_TAG_KEY, "Value": VPC}]}]


def expect_create_path(
    stub: Stubber, protocol: str, token: str, *, server: str, destination: str | None
) -> None:
    request: dict[str, Any] = {
        "Source": CANARY_ENI,
        "Protocol": protocol,
        "TagSpecifications": tags("network-insights-path"),
        "ClientToken": token,
    }
    if destination:
        request |= {"Destination": destination, "DestinationIp": server, "DestinationPort": 53}
    else:
        request["FilterAtSource"] = {
            "DestinationAddress": server,
            "DestinationPortRange": {"FromPort": 53, "ToPort": 53},
        }
    stub.add_response(
        "create_network_insights_path",
        {
            "NetworkInsightsPath": {
                "NetworkInsightsPathId": PATHS[protocol],
                "Source": CANARY_ENI,
                "Protocol": protocol,
            }
        },
        request,
    )


def expect_start(stub: Stubber, protocol: str, token: str) -> None:
    stub.add_response(
        "start_network_insights_analysis",
        {
            "NetworkInsightsAnalysis": {
                "NetworkInsightsAnalysisId": ANALYSES[protocol],
                "NetworkInsightsPathId": PATHS[protocol],
                "Status": "running",
            }
        },
        {
            "NetworkInsightsPathId": PATHS[protocol],
            "TagSpecifications": tags("network-insights-analysis"),
            "ClientToken": token,
        },
    )


def result(protocol: str, status: str = "succeeded", **fields: Any) -> dict[str, Any]:
    return {
        "NetworkInsightsAnalysisId": ANALYSES[protocol],
        "NetworkInsightsPathId": PATHS[protocol],
        "Status": status,
        **fields,
    }


def expect_describe(stub: Stubber, pending: list[str], *analyses: dict[str, Any]) -> None:
    stub.add_response(
        "describe_network_insights_analyses",
        {"NetworkInsightsAnalyses": list(analyses)},
        {"NetworkInsightsAnalysisIds": [ANALYSES[p] for p in pending]},
    )


def expect_deletes(stub: Stubber, analyses: list[str], paths: list[str]) -> None:
    for protocol in analyses:
        stub.add_response(
            "delete_network_insights_analysis",
            {"NetworkInsightsAnalysisId": ANALYSES[protocol]},
            {"NetworkInsightsAnalysisId": ANALYSES[protocol]},
        )
    for protocol in paths:
        stub.add_response(
            "delete_network_insights_path",
            {"NetworkInsightsPathId": PATHS[protocol]},
            {"NetworkInsightsPathId": PATHS[protocol]},
        )


def expect_started(
    stub: Stubber, *, server: str = SERVER, destination: str | None = SERVER_ENI
) -> None:
    """Interfaces found, one path and one analysis per protocol (tokens 1-4)."""
    expect_canary_interfaces(stub, interface(CANARY_ENI, SUBNETS[0], GROUPS))
    expect_server_interface(stub, server, destination)
    expect_create_path(stub, "udp", "token-1", server=server, destination=destination)
    expect_create_path(stub, "tcp", "token-2", server=server, destination=destination)
    expect_start(stub, "udp", "token-3")
    expect_start(stub, "tcp", "token-4")


# --- outcomes on-call sees ----------------------------------------------------------------------


def test_a_security_group_blocking_dns_to_the_servers_interface_is_named(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    # Given a server in the canary's VPC whose security group admits no DNS
    blocked = {
        "NetworkPathFound": False,
        "Explanations": [
            {
                "ExplanationCode": "ENI_SG_RULES_MISMATCH",
                "Direction": "ingress",
                "Component": {"Id": SERVER_ENI},
                "SecurityGroups": [{"Id": "sg-0dns"}],
            }
        ],
    }
    expect_started(stub)
    # UDP finishes on the first poll, TCP on the second: only TCP is asked for again
    expect_describe(stub, ["udp", "tcp"], result("udp", **blocked), result("tcp", "running"))
    expect_describe(stub, ["tcp"], result("tcp", **blocked))
    expect_deletes(stub, ["udp", "tcp"], ["udp", "tcp"])

    # When the blocking rule is named
    findings = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now + 60)

    # Then both protocols name the server's security group, after two polls of two seconds
    assert [(f.protocol, f.kind, f.component_id) for f in findings] == [
        ("udp", BlockingKind.SECURITY_GROUP, "sg-0dns"),
        ("tcp", BlockingKind.SECURITY_GROUP, "sg-0dns"),
    ]
    assert findings[0].text == (
        "UDP 53 to 10.1.1.10 is blocked: no ingress rule of security group sg-0dns on "
        f"{SERVER_ENI} allows it (ENI_SG_RULES_MISMATCH)."
    )
    assert clock.sleeps == [2.0, 2.0]


def test_a_network_acl_entry_on_the_way_out_to_an_outside_server_is_named(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    # Given a server outside the VPC (no interface holds its address): the path ends at it
    denied = {
        "NetworkPathFound": False,
        "Explanations": [
            {
                "ExplanationCode": "SUBNET_ACL_RESTRICTION",
                "Direction": "egress",
                "Acl": {"Id": "acl-0f00ba4"},
                "AclRule": {"Egress": True, "RuleAction": "deny", "RuleNumber": 90},
                "Subnet": {"Id": SUBNETS[0]},
            }
        ],
    }
    expect_started(stub, server=OUTSIDE_SERVER, destination=None)
    expect_describe(stub, ["udp", "tcp"], result("udp", **denied), result("tcp", **denied))
    expect_deletes(stub, ["udp", "tcp"], ["udp", "tcp"])

    findings = analyzer.name_blocking_rule(PLACEMENT, OUTSIDE_SERVER, deadline=clock.now + 60)

    assert {f.kind for f in findings} == {BlockingKind.NETWORK_ACL}
    assert findings[1].text == (
        f"TCP 53 to {OUTSIDE_SERVER} is blocked by egress entry #90 (deny) of network ACL "
        f"acl-0f00ba4 of subnet {SUBNETS[0]} (SUBNET_ACL_RESTRICTION)."
    )


def test_no_route_to_the_server_names_the_route_table(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    no_route = {
        "NetworkPathFound": False,
        "Explanations": [
            {"ExplanationCode": "NO_ROUTE_TO_DESTINATION", "RouteTable": {"Id": "rtb-0d15ea5e"}}
        ],
    }
    expect_started(stub, server=OUTSIDE_SERVER, destination=None)
    expect_describe(stub, ["udp", "tcp"], result("udp", **no_route), result("tcp", **no_route))
    expect_deletes(stub, ["udp", "tcp"], ["udp", "tcp"])

    findings = analyzer.name_blocking_rule(PLACEMENT, OUTSIDE_SERVER, deadline=clock.now + 60)

    assert [(f.kind, f.component_id) for f in findings] == [
        (BlockingKind.ROUTE_TABLE, "rtb-0d15ea5e"),
        (BlockingKind.ROUTE_TABLE, "rtb-0d15ea5e"),
    ]


def test_a_reachable_server_sends_on_call_to_the_server(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    expect_started(stub)
    expect_describe(
        stub,
        ["udp", "tcp"],
        result("udp", NetworkPathFound=True),
        result("tcp", NetworkPathFound=True),
    )
    expect_deletes(stub, ["udp", "tcp"], ["udp", "tcp"])

    findings = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now + 60)

    assert {f.kind for f in findings} == {BlockingKind.REACHABLE}
    assert all(f.text.endswith("look at the server.") for f in findings)


def test_a_slow_analysis_stops_at_the_deadline_and_is_still_deleted(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    # Given analyses that are still running when a 5-second budget runs out
    expect_started(stub)
    for _ in range(3):  # polls after 2 s, 4 s and 5 s
        expect_describe(stub, ["udp", "tcp"], result("udp", "running"), result("tcp", "running"))
    expect_deletes(stub, ["udp", "tcp"], ["udp", "tcp"])
    start = clock.now

    findings = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=start + 5)

    # Then polling never sleeps past the deadline, both say why, and every resource is deleted
    # (the Stubber fixture fails the test if a queued delete was not called)
    assert clock.sleeps == [2.0, 2.0, 1.0]
    assert clock.now == start + 5
    assert {f.kind for f in findings} == {BlockingKind.NOT_ANALYSED}
    assert findings[0].text == f"UDP 53 to {SERVER}: could not analyse: {TIMED_OUT}"


def test_access_denied_becomes_a_reason_not_an_exception(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    # Given a checker role without Reachability Analyzer permissions
    expect_canary_interfaces(stub, interface(CANARY_ENI, SUBNETS[0], GROUPS))
    expect_server_interface(stub, SERVER, SERVER_ENI)
    stub.add_client_error(
        "create_network_insights_path",
        service_error_code="UnauthorizedOperation",
        service_message="You are not authorized to perform this operation.",
        http_status_code=403,
    )

    findings = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now + 60)

    # Then nothing was created, so nothing is deleted, and the alert line says why
    assert [f.text for f in findings] == [
        f"{p} 53 to {SERVER}: could not analyse: the checker may not call "
        "CreateNetworkInsightsPath (UnauthorizedOperation)"
        for p in ("UDP", "TCP")
    ]


def test_a_failure_half_way_still_deletes_what_was_created(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    # Given the UDP path created, and the TCP analysis refused by throttling
    expect_canary_interfaces(stub, interface(CANARY_ENI, SUBNETS[0], GROUPS))
    expect_server_interface(stub, SERVER, SERVER_ENI)
    expect_create_path(stub, "udp", "token-1", server=SERVER, destination=SERVER_ENI)
    expect_create_path(stub, "tcp", "token-2", server=SERVER, destination=SERVER_ENI)
    expect_start(stub, "udp", "token-3")
    stub.add_client_error(
        "start_network_insights_analysis",
        service_error_code="RequestLimitExceeded",
        service_message="Request limit exceeded.",
        http_status_code=503,
    )
    # Then the UDP analysis and both paths are deleted
    expect_deletes(stub, ["udp"], ["udp", "tcp"])

    findings = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now + 60)

    assert {f.text.split(": ", 1)[1] for f in findings} == {
        "could not analyse: EC2 throttled StartNetworkInsightsAnalysis (RequestLimitExceeded)"
    }


def test_a_failed_delete_is_logged_and_the_others_still_run(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    expect_started(stub)
    expect_describe(
        stub,
        ["udp", "tcp"],
        result("udp", NetworkPathFound=True),
        result("tcp", NetworkPathFound=True),
    )
    stub.add_client_error(
        "delete_network_insights_analysis", service_error_code="UnauthorizedOperation"
    )
    stub.add_response(
        "delete_network_insights_analysis",
        {"NetworkInsightsAnalysisId": ANALYSES["tcp"]},
        {"NetworkInsightsAnalysisId": ANALYSES["tcp"]},
    )
    expect_deletes(stub, [], ["udp", "tcp"])

    findings = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now + 60)

    assert {f.kind for f in findings} == {BlockingKind.REACHABLE}


def test_a_failed_analysis_reports_the_services_message(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    expect_started(stub)
    message = "The request failed due to modifications in network resources during the analysis"
    expect_describe(
        stub,
        ["udp", "tcp"],
        result("udp", "failed", StatusMessage=message),
        result("tcp", NetworkPathFound=True),
    )
    expect_deletes(stub, ["udp", "tcp"], ["udp", "tcp"])

    udp, tcp = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now + 60)

    assert udp.text == f"UDP 53 to {SERVER}: could not analyse: the analysis failed: {message}"
    assert tcp.kind is BlockingKind.REACHABLE


# --- finding the canary's interface -------------------------------------------------------------


def test_the_canarys_interface_has_exactly_its_security_groups(
    analyzer: ReachabilityAnalyzer, stub: Stubber
) -> None:
    # Given Lambda interfaces in the canary's subnets, one with an extra group (another function's)
    # and two with exactly the canary's groups, in the second and first subnet
    expect_canary_interfaces(
        stub,
        interface("eni-0extra", SUBNETS[0], (*GROUPS, "sg-0other")),
        interface("eni-0second", SUBNETS[1], GROUPS),
        interface("eni-0first", SUBNETS[0], GROUPS),
    )
    # Then the one in the canary's first subnet with exactly its groups is the source
    assert analyzer.canary_interface(PLACEMENT) == "eni-0first"


def test_no_lambda_interface_means_no_analysis_and_no_paths(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    expect_canary_interfaces(stub, interface("eni-0extra", SUBNETS[0], (*GROUPS, "sg-0other")))

    findings = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now + 60)

    assert {f.kind for f in findings} == {BlockingKind.NOT_ANALYSED}
    assert "no Lambda network interface with the canary's subnets and security groups" in (
        findings[0].text
    )


def test_a_canary_outside_any_vpc_is_not_analysed(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    placement = CanaryPlacement(VPC, (), ())
    findings = analyzer.name_blocking_rule(placement, SERVER, deadline=clock.now + 60)
    assert findings[0].text.endswith("could not analyse: the canary is not attached to a VPC")


def test_no_budget_left_means_no_ec2_call(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    findings = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now)
    assert (
        findings[1].text
        == f"TCP 53 to {SERVER}: could not analyse: no time left in the analysis budget"
    )


def test_one_protocol_can_be_asked_alone(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    expect_canary_interfaces(stub, interface(CANARY_ENI, SUBNETS[0], GROUPS))
    expect_server_interface(stub, SERVER, None)
    expect_create_path(stub, "tcp", "token-1", server=SERVER, destination=None)
    expect_start(stub, "tcp", "token-2")
    expect_describe(stub, ["tcp"], result("tcp", NetworkPathFound=True))
    expect_deletes(stub, ["tcp"], ["tcp"])

    findings = analyzer.name_blocking_rule(
        PLACEMENT, SERVER, deadline=clock.now + 60, protocols=("tcp",)
    )

    assert [(f.protocol, f.kind) for f in findings] == [("tcp", BlockingKind.REACHABLE)]


def test_the_amazon_resolver_is_not_analysed_and_costs_nothing(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    # No EC2 call is queued: any call would fail the test
    findings = analyzer.name_blocking_rule(PLACEMENT, "169.254.169.253", deadline=clock.now + 60)
    assert {f.kind for f in findings} == {BlockingKind.NOT_ANALYSED}
    assert "link-local" in findings[0].text


def test_a_result_in_hand_survives_a_later_failed_poll(
    analyzer: ReachabilityAnalyzer, stub: Stubber, clock: FakeClock
) -> None:
    # Given UDP finished on the first poll, and the second poll throttled
    expect_started(stub)
    expect_describe(
        stub, ["udp", "tcp"], result("udp", NetworkPathFound=True), result("tcp", "running")
    )
    stub.add_client_error(
        "describe_network_insights_analyses", service_error_code="RequestLimitExceeded"
    )
    expect_deletes(stub, ["udp", "tcp"], ["udp", "tcp"])

    udp, tcp = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now + 60)

    # Then UDP keeps its answer and TCP says why it has none
    assert udp.kind is BlockingKind.REACHABLE
    assert tcp.text == (
        f"TCP 53 to {SERVER}: could not analyse: "
        "EC2 throttled DescribeNetworkInsightsAnalyses (RequestLimitExceeded)"
    )


def test_ec2_out_of_reach_is_a_reason_too(
    stub_session: boto3.session.Session, clock: FakeClock
) -> None:
    # Given an EC2 endpoint that cannot be reached (raised where the request would be sent)
    # (one attempt: the SDK's retries would only add their backoff to the test's time)
    ec2 = stub_session.client("ec2", config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://ec2.us-east-1.amazonaws.com")

    ec2.meta.events.register("before-send.ec2", unreachable)
    analyzer = ReachabilityAnalyzer(ec2, sleep=clock.sleep, clock=clock)

    findings = analyzer.name_blocking_rule(PLACEMENT, SERVER, deadline=clock.now + 60)

    assert {f.text.split(": ", 1)[1] for f in findings} == {
        "could not analyse: EC2 could not be reached: EndpointConnectionError"
    }
