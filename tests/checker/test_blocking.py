"""A Network Insights analysis becomes the one sentence on-call reads: which component blocks
DNS from the canary to the server, or that the network allows it and the server is at fault.

The analyses are shaped like DescribeNetworkInsightsAnalyses' `NetworkInsightsAnalyses` entries.
"""

from __future__ import annotations

from typing import Any

import pytest
from dns_watchdog.domain.blocking import (
    BlockingFinding,
    BlockingKind,
    blocking_finding,
    not_analysed,
    unanalysable,
)
from dns_watchdog.render.blocking import render_blocking_lines
from pydantic import ValidationError

pytestmark = pytest.mark.unit

SERVER = "10.1.1.10"
CANARY_ENI = "eni-0a1b2c3d4e5f60718"


def analysis(*explanations: dict[str, Any], found: bool = False, **fields: Any) -> dict[str, Any]:
    return {
        "NetworkInsightsAnalysisId": "nia-0123456789abcdef0",
        "NetworkInsightsPathId": "nip-0123456789abcdef0",
        "Status": "succeeded",
        "NetworkPathFound": found,
        "Explanations": list(explanations),
        **fields,
    }


SG_EGRESS = {
    "ExplanationCode": "ENI_SG_RULES_MISMATCH",
    "Direction": "egress",
    "Component": {"Id": CANARY_ENI, "Arn": f"arn:aws:ec2:us-east-1:123456789012:{CANARY_ENI}"},
    "SecurityGroups": [{"Id": "sg-0aaa1111bbbb2222c", "Name": "canary"}],
}
ACL_DENY = {
    "ExplanationCode": "SUBNET_ACL_RESTRICTION",
    "Direction": "egress",
    "Acl": {"Id": "acl-0f00ba4"},
    "AclRule": {
        "Cidr": "10.1.1.0/24",
        "Egress": True,
        "PortRange": {"From": 53, "To": 53},
        "Protocol": "17",
        "RuleAction": "deny",
        "RuleNumber": 90,
    },
    "Subnet": {"Id": "subnet-0c0ffee"},
}
NO_ROUTE = {
    "ExplanationCode": "NO_ROUTE_TO_DESTINATION",
    "RouteTable": {"Id": "rtb-0d15ea5e"},
    "Subnet": {"Id": "subnet-0c0ffee"},
}


def test_a_security_group_without_an_egress_rule_is_named() -> None:
    # Given an analysis that found the canary's security group lets no DNS out
    # When it is read
    finding = blocking_finding(analysis(SG_EGRESS), protocol="udp", server=SERVER)
    # Then the finding names the group, the direction, the interface and the code
    assert finding.kind is BlockingKind.SECURITY_GROUP
    assert finding.component_id == "sg-0aaa1111bbbb2222c"
    assert finding.blocked
    assert finding.text == (
        "UDP 53 to 10.1.1.10 is blocked: no egress rule of security group sg-0aaa1111bbbb2222c "
        f"on {CANARY_ENI} allows it (ENI_SG_RULES_MISMATCH)."
    )


def test_the_servers_security_groups_are_named_when_several() -> None:
    explanation = {
        "ExplanationCode": "ENI_SG_RULES_MISMATCH",
        "Direction": "ingress",
        "Component": {"Id": "eni-0server"},
        "SecurityGroups": [{"Id": "sg-01"}, {"Id": "sg-02"}],
    }
    finding = blocking_finding(analysis(explanation), protocol="tcp", server=SERVER)
    assert finding.component_id == "sg-01"
    assert "no ingress rule of security groups sg-01, sg-02 on eni-0server" in finding.text
    assert finding.text.startswith("TCP 53 to 10.1.1.10")


def test_a_network_acl_deny_entry_is_named_with_its_number() -> None:
    finding = blocking_finding(analysis(ACL_DENY), protocol="udp", server=SERVER)
    assert finding.kind is BlockingKind.NETWORK_ACL
    assert finding.component_id == "acl-0f00ba4"
    assert finding.text == (
        "UDP 53 to 10.1.1.10 is blocked by egress entry #90 (deny) of network ACL acl-0f00ba4 "
        "of subnet subnet-0c0ffee (SUBNET_ACL_RESTRICTION)."
    )


def test_a_network_acl_without_a_matching_entry_says_none_allows_it() -> None:
    explanation = {"ExplanationCode": "SUBNET_ACL_RESTRICTION", "Acl": {"Id": "acl-1"}}
    finding = blocking_finding(analysis(explanation), protocol="udp", server=SERVER)
    assert finding.kind is BlockingKind.NETWORK_ACL
    assert "no entry of network ACL acl-1 allows it" in finding.text


def test_a_missing_route_names_the_route_table() -> None:
    finding = blocking_finding(analysis(NO_ROUTE), protocol="udp", server=SERVER)
    assert finding.kind is BlockingKind.ROUTE_TABLE
    assert finding.component_id == "rtb-0d15ea5e"
    assert finding.text == (
        "UDP 53 to 10.1.1.10 is blocked: route table rtb-0d15ea5e has no usable route to it "
        "(NO_ROUTE_TO_DESTINATION)."
    )


def test_a_blackholed_route_says_its_state() -> None:
    explanation = {
        "ExplanationCode": "BAD_STATE_ROUTE",
        "RouteTable": {"Id": "rtb-1"},
        "RouteTableRoute": {"DestinationCidr": "10.9.0.0/16", "State": "blackhole"},
    }
    finding = blocking_finding(analysis(explanation), protocol="tcp", server="10.9.0.2")
    assert finding.kind is BlockingKind.ROUTE_TABLE
    assert "route 10.9.0.0/16 in route table rtb-1 is blackhole (BAD_STATE_ROUTE)" in finding.text


def test_an_unknown_code_with_a_known_component_still_lands_in_its_kind() -> None:
    explanation = {"ExplanationCode": "SOME_FUTURE_CODE", "Acl": {"Id": "acl-2"}}
    finding = blocking_finding(analysis(explanation), protocol="udp", server=SERVER)
    assert finding.kind is BlockingKind.NETWORK_ACL
    assert finding.component_id == "acl-2"


def test_an_explanation_about_something_else_quotes_its_code_and_component() -> None:
    explanation = {"ExplanationCode": "BAD_STATE", "Component": {"Id": "tgw-attach-1"}}
    finding = blocking_finding(analysis(explanation), protocol="udp", server=SERVER)
    assert finding.kind is BlockingKind.OTHER
    assert finding.component_id == "tgw-attach-1"
    assert finding.text == "UDP 53 to 10.1.1.10 is blocked at tgw-attach-1 (BAD_STATE)."


def test_the_first_named_rule_wins_and_the_other_codes_are_listed() -> None:
    # Given an analysis with a vague explanation first, then an ACL and a security group
    vague = {"ExplanationCode": "BAD_STATE", "Component": {"Id": "x-1"}}
    result = analysis(vague, ACL_DENY, SG_EGRESS)
    finding = blocking_finding(result, protocol="udp", server=SERVER)
    # Then the ACL is the finding, and the rest are mentioned
    assert finding.kind is BlockingKind.NETWORK_ACL
    assert finding.other_codes == ("BAD_STATE", "ENI_SG_RULES_MISMATCH")
    assert finding.text.endswith("(SUBNET_ACL_RESTRICTION); also BAD_STATE, ENI_SG_RULES_MISMATCH.")


def test_a_reachable_path_sends_on_call_to_the_server() -> None:
    finding = blocking_finding(analysis(found=True), protocol="udp", server=SERVER)
    assert finding.kind is BlockingKind.REACHABLE
    assert not finding.blocked
    assert finding.component_id is None
    assert finding.text.endswith("look at the server.")


def test_unreachable_without_explanations_says_so() -> None:
    finding = blocking_finding(analysis(), protocol="udp", server=SERVER)
    assert finding.kind is BlockingKind.OTHER
    assert (
        finding.text == "UDP 53 to 10.1.1.10 is not reachable, and the analysis named no component."
    )


def test_a_failed_analysis_is_not_analysed_with_the_services_message() -> None:
    failed = analysis(Status="failed", StatusMessage="The request failed due to throttling errors")
    finding = blocking_finding(failed, protocol="tcp", server=SERVER)
    assert finding.kind is BlockingKind.NOT_ANALYSED
    assert finding.text == (
        "TCP 53 to 10.1.1.10: could not analyse: the analysis failed: "
        "The request failed due to throttling errors"
    )


def test_a_running_analysis_is_not_a_result() -> None:
    finding = blocking_finding(analysis(Status="running"), protocol="udp", server=SERVER)
    assert finding.kind is BlockingKind.NOT_ANALYSED
    assert "has not finished" in finding.text


def test_hostile_sizes_are_clipped() -> None:
    explanation = {"ExplanationCode": "X" * 5000, "Component": {"Id": "y" * 5000}}
    finding = blocking_finding(analysis(explanation), protocol="udp", server=SERVER)
    assert len(finding.text) < 400
    assert len(not_analysed("z" * 5000, protocol="udp", server=SERVER).text) < 400


def test_findings_are_frozen_and_strict() -> None:
    finding = not_analysed("denied", protocol="udp", server=SERVER)
    with pytest.raises(ValidationError):
        finding.kind = BlockingKind.REACHABLE  # type: ignore[misc]
    with pytest.raises(ValidationError):
        BlockingFinding(protocol="icmp", server=SERVER, kind="other", text="x")  # type: ignore[arg-type]


def test_udp_and_tcp_blocked_by_the_same_rule_share_one_alert_line() -> None:
    udp = blocking_finding(analysis(SG_EGRESS), protocol="udp", server=SERVER)
    tcp = blocking_finding(analysis(SG_EGRESS), protocol="tcp", server=SERVER)
    assert render_blocking_lines([udp, tcp]) == [
        "Blocking rule: UDP and TCP 53 to 10.1.1.10 is blocked: no egress rule of security group "
        f"sg-0aaa1111bbbb2222c on {CANARY_ENI} allows it (ENI_SG_RULES_MISMATCH)."
    ]


def test_different_answers_get_a_line_each_in_order() -> None:
    udp = blocking_finding(analysis(ACL_DENY), protocol="udp", server=SERVER)
    tcp = blocking_finding(analysis(found=True), protocol="tcp", server=SERVER)
    other = not_analysed("the checker may not call X", protocol="udp", server="10.2.2.2")
    assert render_blocking_lines([udp, tcp, other]) == [
        "Blocking rule: UDP 53 to 10.1.1.10 is blocked by egress entry #90 (deny) of network ACL "
        "acl-0f00ba4 of subnet subnet-0c0ffee (SUBNET_ACL_RESTRICTION).",
        "Blocking rule: TCP 53 to 10.1.1.10 is reachable (security groups, network ACLs and "
        "routes allow it): look at the server.",
        "Blocking rule: UDP 53 to 10.2.2.2: could not analyse: the checker may not call X",
    ]


def test_chat_markdown_labels_the_same_lines_in_bold() -> None:
    udp = blocking_finding(analysis(SG_EGRESS), protocol="udp", server=SERVER)
    tcp = blocking_finding(analysis(SG_EGRESS), protocol="tcp", server=SERVER)
    other = not_analysed("the checker may not call X", protocol="udp", server="10.2.2.2")
    text = render_blocking_lines([udp, tcp, other])
    markdown = render_blocking_lines([udp, tcp, other], markdown=True)
    assert [line.removeprefix("*Blocking rule:*") for line in markdown] == [
        line.removeprefix("Blocking rule:") for line in text
    ]
    assert all(line.startswith("*Blocking rule:* ") for line in markdown)
    assert markdown[0].startswith("*Blocking rule:* UDP and TCP 53 to 10.1.1.10 is blocked: ")


def test_a_finding_is_its_path_and_what_it_says_about_it() -> None:
    finding = blocking_finding(analysis(found=True), protocol="tcp", server=SERVER)
    assert finding.path == "TCP 53 to 10.1.1.10"
    assert finding.path + finding.statement == finding.text
    assert finding.statement.startswith(" is reachable")


@pytest.mark.parametrize(
    ("server", "reason"),
    [
        ("169.254.169.253", "a link-local server is not behind security groups"),
        ("fd00::53", "IPv4 addresses only"),
        ("dns.example", "'dns.example' is not an IP address"),
    ],
)
def test_servers_no_path_analysis_can_explain_are_refused_with_a_reason(
    server: str, reason: str
) -> None:
    assert reason in (unanalysable(server) or "")


def test_an_ordinary_ipv4_server_can_be_analysed() -> None:
    assert unanalysable("10.1.1.10") is None
    assert unanalysable("192.168.50.53") is None


@pytest.mark.parametrize(
    "code",
    [
        "NO_PATH",
        "UNSUPPORTED_COMPONENT",
        "UNKNOWN_RESOURCE",
        "UNASSOCIATED_COMPONENT",
        "NO_SOURCE_OR_DESTINATION",
        "DISCONNECTED_VPCS",
        "FILTER_AT_SOURCE",
        "FILTER_AT_DESTINATION",
    ],
)
def test_an_analysis_that_could_not_follow_the_path_is_not_paged_as_blocked(code: str) -> None:
    # Given an answer that says the analyzer could not model the path (e.g. a Lambda interface
    # as the source), not that something blocks it
    explanation = {"ExplanationCode": code, "Component": {"Id": CANARY_ENI}}
    finding = blocking_finding(analysis(explanation), protocol="udp", server=SERVER)
    # Then the page says it could not be analysed, and why, and blames nothing
    assert finding.kind is BlockingKind.NOT_ANALYSED
    assert not finding.blocked
    assert finding.component_id is None
    assert "is blocked" not in finding.text
    assert finding.text.startswith(f"UDP 53 to {SERVER}: could not analyse: ")
    assert code in finding.text


def test_a_real_obstacle_beside_an_unanalysable_part_is_still_named() -> None:
    unsupported = {"ExplanationCode": "UNSUPPORTED_COMPONENT", "Component": {"Id": "x-1"}}
    finding = blocking_finding(analysis(unsupported, ACL_DENY), protocol="udp", server=SERVER)
    assert finding.kind is BlockingKind.NETWORK_ACL
    assert "UNSUPPORTED_COMPONENT" not in finding.other_codes
