"""Discovery of a VPC's own DNS against AWS: moto for Route 53, Resolver rules and endpoints;
botocore's Stubber where moto has nothing (Route 53 Profiles, DNS Firewall) or where a call must
fail in a precise way (a zone or rule shared from another account and denied here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from checker_doubles import World
from dns_watchdog.aws.dns_discovery import DnsDiscovery
from dns_watchdog.domain.discovery import Found, blocking_firewall, discovered

from devtools.lambdakit import REGION

pytestmark = pytest.mark.integration

PROFILE = "rp-0123456789abcdef"
SHARED_ZONE = "Z0999999999SHAREDZONE"
SHARED_RULE = "rslvr-rr-0999999999abcdef0"
GROUP = "rslvr-frg-0123456789abcdef"
DOMAIN_LIST = "rslvr-fdl-0123456789abcdef"
SHARED_ARN = f"arn:aws:route53resolver:{REGION}:111111111111"
MANAGED_LIST = "rslvr-fdl-managed0000000001"


def reader(world: World, **stubbed: Any) -> DnsDiscovery:
    # The default session's clients: the kit's stand-in answers DNS Firewall and Profiles there.
    clients = {
        "route53": boto3.client("route53"),
        "resolver": boto3.client("route53resolver"),
        "profiles": boto3.client("route53profiles"),
        "ec2": world.ec2,
    }
    return DnsDiscovery(**{**clients, **stubbed}, region=REGION)


@pytest.fixture
def vpc(moto_world: World) -> str:
    vpc_id = moto_world.create_vpc("10.0.0.0/16")
    moto_world.create_subnet(vpc_id, "10.0.1.0/24")
    return vpc_id


def by_kind(found: Found) -> dict[str, list[tuple[str, str]]]:
    kinds: dict[str, list[tuple[str, str]]] = {}
    for probe in found.probes:
        kinds.setdefault(probe.source.kind, []).append((probe.name, probe.type))
    return kinds


def test_zones_rules_and_endpoints_of_the_vpc_become_probes(moto_world: World, vpc: str) -> None:
    # Given a private zone with records, one without, a forward rule and an STS endpoint
    corp = moto_world.private_zone(
        vpc, "corp.internal", {"db.corp.internal": "10.9.0.6", "app.corp.internal": "10.9.0.5"}
    )
    moto_world.private_zone(vpc, "empty.internal")
    rule = moto_world.forward_rule(vpc, "onprem.example", ["10.9.0.10", "10.9.0.11"])
    subnet = moto_world.ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    moto_world.ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.sts",
        VpcEndpointType="Interface",
        SubnetIds=[subnet],
        PrivateDnsEnabled=True,
    )
    # When the VPC's DNS is discovered
    found = reader(moto_world).read(vpc, cap=10)
    # Then: the zone's first record below its apex (Route 53's sorted order), the empty zone's
    # SOA, the rule's domain (SOA) with its targets, the endpoint's service name
    kinds = by_kind(found)
    assert kinds["private_zone"] == [("app.corp.internal", "A"), ("empty.internal", "SOA")]
    assert kinds["forward_rule"] == [("onprem.example", "SOA")]
    assert kinds["endpoint"] == [(f"sts.{REGION}.amazonaws.com", "A")]
    [forward] = [p for p in found.probes if p.source.kind == "forward_rule"]
    assert forward.source.id == rule
    assert forward.targets == ("10.9.0.10", "10.9.0.11")
    assert {z.id for z in found.zones} >= {corp}
    assert found.undetermined == ()


def test_only_the_zones_the_cap_keeps_have_their_records_read(moto_world: World, vpc: str) -> None:
    for i in range(4):
        moto_world.private_zone(vpc, f"z{i}.internal", {f"app.z{i}.internal": "10.9.0.5"})
    calls: list[str] = []
    route53 = boto3.client("route53")
    route53.meta.events.register("before-call.route53", lambda model, **_: calls.append(model.name))
    found = reader(moto_world, route53=route53).read(vpc, cap=2)
    discovery = discovered(vpc, found, cap=2, at="2024-05-14T10:00:00Z")
    assert [p.name for p in discovery.probes] == ["app.z0.internal", "app.z1.internal"]
    assert discovery.dropped == 2
    assert calls.count("ListResourceRecordSets") == 2


@pytest.fixture
def stubbed(stub_session: boto3.session.Session) -> Iterator[dict[str, Stubber]]:
    clients = {
        "route53": stub_session.client("route53"),
        "resolver": stub_session.client("route53resolver"),
        "profiles": stub_session.client("route53profiles"),
        "ec2": stub_session.client("ec2"),
    }
    stubbers = {name: Stubber(client) for name, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    yield stubbers
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def stub_reader(stubbed: dict[str, Stubber]) -> DnsDiscovery:
    return DnsDiscovery(
        route53=stubbed["route53"].client,
        resolver=stubbed["resolver"].client,
        profiles=stubbed["profiles"].client,
        ec2=stubbed["ec2"].client,
        region=REGION,
    )


VPC = "vpc-0a1b2c3d4e5f60718"


def nothing_else(stubbed: dict[str, Stubber], *, skip: tuple[str, ...] = ()) -> None:
    """Empty answers for the parts a test does not look at, in the adapter's order."""
    parts = {
        "zones": (
            "route53",
            "list_hosted_zones_by_vpc",
            {"HostedZoneSummaries": [], "MaxItems": "100"},
        ),
        "rules": ("resolver", "list_resolver_rule_associations", {"ResolverRuleAssociations": []}),
        "profiles": ("profiles", "list_profile_associations", {"ProfileAssociations": []}),
        "endpoints": ("ec2", "describe_vpc_endpoints", {"VpcEndpoints": []}),
        "firewall": (
            "resolver",
            "list_firewall_rule_group_associations",
            {"FirewallRuleGroupAssociations": []},
        ),
    }
    for part, (client, operation, answer) in parts.items():
        if part not in skip:
            stubbed[client].add_response(operation, answer)


def test_a_profile_brings_its_zones_rules_and_firewall_with_the_profile_as_via(
    stubbed: dict[str, Stubber],
) -> None:
    nothing_else(stubbed, skip=("profiles", "firewall"))
    # (in the adapter's order: profiles come after zones and rules, before endpoints)
    resolver, profiles, route53 = stubbed["resolver"], stubbed["profiles"], stubbed["route53"]
    profiles.add_response(
        "list_profile_associations",
        {
            "ProfileAssociations": [
                {"ProfileId": PROFILE, "ResourceId": VPC, "Status": "COMPLETE"}
            ],
            "NextToken": "p2",
        },
        {"ResourceId": VPC},
    )
    profiles.add_response(
        "list_profile_associations",
        {"ProfileAssociations": []},
        {"ResourceId": VPC, "NextToken": "p2"},
    )
    profiles.add_response(
        "list_profile_resource_associations",
        {
            "ProfileResourceAssociations": [
                {
                    "ResourceArn": "arn:aws:route53:::hostedzone/Z0123456789PROFILE",
                    "ResourceType": "AWS::Route53::HostedZone",
                    "Status": "COMPLETE",
                },
                {
                    "ResourceArn": f"{SHARED_ARN}:resolver-rule/rslvr-rr-0123456789abcdef0",
                    "ResourceType": "AWS::Route53Resolver::ResolverRule",
                    "Status": "COMPLETE",
                },
                {
                    "ResourceArn": f"{SHARED_ARN}:firewall-rule-group/{GROUP}",
                    "ResourceType": "AWS::Route53Resolver::FirewallRuleGroup",
                    "ResourceProperties": '{"priority": 102}',
                    "Status": "COMPLETE",
                },
            ]
        },
        {"ProfileId": PROFILE},
    )
    route53.add_response(
        "list_resource_record_sets",
        {
            "ResourceRecordSets": [
                {
                    "Name": "shared.internal.",
                    "Type": "SOA",
                    "TTL": 900,
                    "ResourceRecords": [{"Value": "x"}],
                },
                {
                    "Name": "\\052.shared.internal.",
                    "Type": "A",
                    "TTL": 60,
                    "ResourceRecords": [{"Value": "10.0.0.9"}],
                },
                {
                    "Name": "v6.shared.internal.",
                    "Type": "AAAA",
                    "TTL": 60,
                    "ResourceRecords": [{"Value": "fd00::9"}],
                },
            ],
            "IsTruncated": False,
            "MaxItems": "100",
        },
        {"HostedZoneId": "Z0123456789PROFILE", "MaxItems": "100"},
    )
    resolver.add_response(
        "get_resolver_rule",
        {
            "ResolverRule": {
                "Id": "rslvr-rr-0123456789abcdef0",
                "DomainName": "onprem.example.",
                "RuleType": "FORWARD",
                "TargetIps": [
                    {"Ip": "10.9.0.10", "Port": 53},
                    {"Ipv6": "fd00:9::10", "Port": 53},
                    {"Ip": "10.9.0.12", "Port": 443, "Protocol": "DoH"},
                ],
            }
        },
        {"ResolverRuleId": "rslvr-rr-0123456789abcdef0"},
    )
    resolver.add_response(
        "list_firewall_rule_group_associations", {"FirewallRuleGroupAssociations": []}
    )
    resolver.add_response(
        "list_firewall_rules",
        {
            "FirewallRules": [
                {
                    "FirewallDomainListId": DOMAIN_LIST,
                    "Priority": 1,
                    "Action": "BLOCK",
                    "BlockResponse": "NXDOMAIN",
                }
            ]
        },
        {"FirewallRuleGroupId": GROUP},
    )
    resolver.add_response(
        "list_firewall_domains",
        {"Domains": ["*.blocked.example"]},
        {"FirewallDomainListId": DOMAIN_LIST},
    )
    found = stub_reader(stubbed).read(VPC, cap=10)
    discovery = discovered(VPC, found, cap=10, at="2024-05-14T10:00:00Z")
    plans = [p.as_plan() for p in discovery.probes]
    # The profile's zone (its AAAA record, probed as AAAA; the wildcard skipped), its rule with
    # the plain-DNS targets only, both marked as brought by the profile
    assert plans == [
        {
            "name": "v6.shared.internal",
            "type": "AAAA",
            "expect": {"rcode": "NOERROR"},
            "source": {
                "kind": "private_zone",
                "id": "Z0123456789PROFILE",
                "domain": "shared.internal",
                "via": PROFILE,
            },
        },
        {
            "name": "onprem.example",
            "type": "SOA",
            "expect": {"rcode": "NOERROR"},
            "source": {
                "kind": "forward_rule",
                "id": "rslvr-rr-0123456789abcdef0",
                "domain": "onprem.example",
                "via": PROFILE,
            },
            "targets": ["10.9.0.10", "fd00:9::10"],
        },
    ]
    # and its firewall group blocks what its list says
    rule = blocking_firewall("x.blocked.example", discovery)
    assert rule is not None
    assert rule.group_id == GROUP
    assert rule.via == PROFILE
    assert rule.group_priority == 102
    assert rule.block_rcode == "NXDOMAIN"


def test_denied_reads_of_shared_zones_and_rules_are_undetermined_never_fatal(
    stubbed: dict[str, Stubber],
) -> None:
    route53, resolver = stubbed["route53"], stubbed["resolver"]
    route53.add_response(
        "list_hosted_zones_by_vpc",
        {
            "HostedZoneSummaries": [
                {
                    "HostedZoneId": SHARED_ZONE,
                    "Name": "shared.corp.",
                    "Owner": {"OwningAccount": "999999999999"},
                }
            ],
            "MaxItems": "100",
        },
        {"VPCId": VPC, "VPCRegion": REGION},
    )
    resolver.add_response(
        "list_resolver_rule_associations",
        {
            "ResolverRuleAssociations": [
                {"ResolverRuleId": SHARED_RULE, "VPCId": VPC, "Status": "COMPLETE"}
            ]
        },
    )
    resolver.add_client_error(
        "get_resolver_rule",
        "AccessDeniedException",
        "User is not authorized to access this rule",
        403,
    )
    stubbed["profiles"].add_client_error(
        "list_profile_associations",
        "AccessDeniedException",
        "not authorized: route53profiles:ListProfileAssociations",
        403,
    )
    stubbed["ec2"].add_response("describe_vpc_endpoints", {"VpcEndpoints": []})
    resolver.add_response(
        "list_firewall_rule_group_associations", {"FirewallRuleGroupAssociations": []}
    )
    route53.add_client_error(
        "list_resource_record_sets", "AccessDenied", "not authorized to access hosted zone", 403
    )
    found = stub_reader(stubbed).read(VPC, cap=10)
    discovery = discovered(VPC, found, cap=10, at="2024-05-14T10:00:00Z")
    # The shared zone is still probed at its apex (its name came from the VPC's own list);
    # what could not be read is recorded with why
    assert [(p.name, p.type) for p in discovery.probes] == [("shared.corp", "SOA")]
    assert not discovery.determined
    reasons = {(u.part, u.id): u.reason for u in discovery.undetermined}
    assert reasons[("rule", SHARED_RULE)].startswith(
        "GetResolverRule " + SHARED_RULE + ": AccessDeniedException"
    )
    assert "AccessDeniedException" in reasons[("profiles", VPC)]
    assert "AccessDenied" in reasons[("zone", SHARED_ZONE)]


def test_the_checkers_own_credentials_failing_raises(stubbed: dict[str, Stubber]) -> None:
    stubbed["route53"].add_client_error("list_hosted_zones_by_vpc", "ExpiredToken", "expired", 403)
    with pytest.raises(ClientError, match="ExpiredToken"):
        stub_reader(stubbed).read(VPC, cap=10)


def test_a_firewall_list_is_read_page_by_page_and_an_unreadable_list_is_undetermined(
    stubbed: dict[str, Stubber],
) -> None:
    nothing_else(stubbed, skip=("firewall",))
    resolver = stubbed["resolver"]
    resolver.add_response(
        "list_firewall_rule_group_associations",
        {
            "FirewallRuleGroupAssociations": [
                {"FirewallRuleGroupId": GROUP, "VpcId": VPC, "Priority": 101, "Status": "COMPLETE"}
            ]
        },
        {"VpcId": VPC},
    )
    resolver.add_response(
        "list_firewall_rules",
        {
            "FirewallRules": [
                {
                    "FirewallDomainListId": DOMAIN_LIST,
                    "Priority": 2,
                    "Action": "BLOCK",
                    "BlockResponse": "NODATA",
                },
                {
                    "FirewallDomainListId": MANAGED_LIST,
                    "Priority": 3,
                    "Action": "BLOCK",
                },
                {
                    "FirewallThreatProtectionId": "rslvr-ftp-0000000000000001",
                    "Priority": 4,
                    "Action": "BLOCK",
                },
            ]
        },
        {"FirewallRuleGroupId": GROUP},
    )
    resolver.add_response(
        "list_firewall_domains",
        {"Domains": ["a.example"], "NextToken": "t"},
        {"FirewallDomainListId": DOMAIN_LIST},
    )
    resolver.add_response(
        "list_firewall_domains",
        {"Domains": ["*.b.example"]},
        {"FirewallDomainListId": DOMAIN_LIST, "NextToken": "t"},
    )
    resolver.add_client_error("list_firewall_domains", "AccessDeniedException", "managed list", 403)
    found = stub_reader(stubbed).read(VPC, cap=10)
    discovery = discovered(VPC, found, cap=10, at="2024-05-14T10:00:00Z")
    assert blocking_firewall("x.b.example", discovery) is not None
    assert blocking_firewall("a.example", discovery) is not None
    assert [(u.part, u.id) for u in discovery.undetermined] == [("firewall", MANAGED_LIST)]
