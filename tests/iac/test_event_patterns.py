"""The checker's EventBridge rules, as written in template.yaml, against the sample events.

Each rule's pattern is created in moto's EventBridge with an SQS queue as its target; every sample
event is put on the bus, and the queues show which rules it triggered.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from iac_template import (
    EVENTS_DIR,
    SAMPLE_CANARY_SG_ID,
    Bus,
    load_event,
)
from iac_template import checker_rule_patterns as rule_patterns
from moto import mock_aws

pytestmark = pytest.mark.iac

# Which rules each sample event must trigger (and no others).
EXPECTED_RULES: dict[str, set[str]] = {
    "associate_dhcp_options.json": {"DhcpOptionsAssociated"},
    "associate_dhcp_options_default.json": {"DhcpOptionsAssociated"},
    "associate_dhcp_options_failed.json": set(),
    "create_dhcp_options.json": {"DhcpOptionsCreated"},
    "modify_vpc_attribute.json": {"VpcAttributeModified"},
    "associate_resolver_rule.json": {"ResolverRuleAssociationChanged"},
    "disassociate_resolver_rule.json": {"ResolverRuleAssociationChanged"},
    "associate_vpc_with_hosted_zone.json": {"HostedZoneAssociationChanged"},
    "disassociate_vpc_from_hosted_zone.json": {"HostedZoneAssociationChanged"},
    "associate_firewall_rule_group.json": {"FirewallAssociationChanged"},
    "disassociate_firewall_rule_group.json": {"FirewallAssociationChanged"},
    "revoke_security_group_egress.json": {"SecurityGroupEgressChanged"},
    "modify_security_group_rules.json": {"SecurityGroupEgressChanged"},
    "replace_network_acl_entry.json": {"NetworkAclChanged"},
    "update_resolver_rule.json": {"ResolverConfigurationChanged"},
    "update_resolver_endpoint.json": {"ResolverConfigurationChanged"},
    "disassociate_resolver_endpoint_ip_address.json": {"ResolverConfigurationChanged"},
    "delete_resolver_endpoint.json": {"ResolverConfigurationChanged"},
    "update_resolver_dnssec_config.json": {"ResolverConfigurationChanged"},
    "update_firewall_domains.json": {"FirewallRulesChanged"},
    "create_firewall_rule.json": {"FirewallRulesChanged"},
    "update_firewall_rule.json": {"FirewallRulesChanged"},
    "delete_firewall_rule.json": {"FirewallRulesChanged"},
    "update_firewall_config.json": {"FirewallRulesChanged"},
    "create_vpc_endpoint.json": {"VpcEndpointPrivateDnsChanged"},
    "modify_vpc_endpoint.json": {"VpcEndpointPrivateDnsChanged"},
    "associate_profile.json": {"Route53ProfileChanged"},
    "disassociate_profile.json": {"Route53ProfileChanged"},
    "associate_resource_to_profile.json": {"Route53ProfileChanged"},
    "disassociate_resource_from_profile.json": {"Route53ProfileChanged"},
    "update_profile_resource_association.json": {"Route53ProfileChanged"},
    "scheduled_sweep.json": set(),
    "manual_check.json": set(),
}
# Not meant for the checker's rules: the canary's invocation payload and sam local's env file.
NOT_BUS_EVENTS = {"canary_probe.json", "env.json"}

OTHER_SG_ID = "sg-0fedcba987654321f"


@pytest.fixture
def bus() -> Iterator[Bus]:
    with mock_aws():
        yield Bus(rule_patterns())


def test_every_sample_event_has_an_expectation() -> None:
    samples = {path.name for path in EVENTS_DIR.glob("*.json")} - NOT_BUS_EVENTS
    assert samples == set(EXPECTED_RULES)


def test_every_rule_is_triggered_by_some_sample() -> None:
    expected = set().union(*EXPECTED_RULES.values())
    assert set(rule_patterns()) == expected


@pytest.mark.parametrize("sample", sorted(EXPECTED_RULES))
def test_sample_event_triggers_exactly_its_rules(bus: Bus, sample: str) -> None:
    # Given the rules of the template, When the sample event is put on the bus
    bus.put(load_event(sample))
    # Then exactly the expected rules send it to the checker
    assert bus.triggered() == EXPECTED_RULES[sample]


@pytest.mark.parametrize("sample", sorted(name for name, rules in EXPECTED_RULES.items() if rules))
def test_a_failed_call_matches_no_rule(bus: Bus, sample: str) -> None:
    # Given a change event, turned into the record of a call that failed
    event = copy.deepcopy(load_event(sample))
    event["detail"]["errorCode"] = "Client.DryRunOperation"
    event["detail"]["errorMessage"] = "Request would have succeeded, but DryRun flag is set."
    event["detail"]["responseElements"] = None
    # When it is put on the bus, Then no rule matches: nothing changed, nothing to check
    bus.put(event)
    assert bus.triggered() == set()


def test_egress_changes_of_other_security_groups_are_not_watched(bus: Bus) -> None:
    event = copy.deepcopy(load_event("revoke_security_group_egress.json"))
    event["detail"]["requestParameters"]["groupId"] = OTHER_SG_ID
    bus.put(event)
    assert bus.triggered() == set()


def test_rule_edits_of_other_security_groups_are_not_watched(bus: Bus) -> None:
    event = copy.deepcopy(load_event("modify_security_group_rules.json"))
    event["detail"]["requestParameters"]["ModifySecurityGroupRulesRequest"]["GroupId"] = OTHER_SG_ID
    bus.put(event)
    assert bus.triggered() == set()


def test_a_group_id_only_where_the_other_call_keeps_it_does_not_match(bus: Bus) -> None:
    # the two branches of the rule do not mix: a rule edit with a top-level groupId is no match
    event = copy.deepcopy(load_event("modify_security_group_rules.json"))
    event["detail"]["requestParameters"] = {"groupId": SAMPLE_CANARY_SG_ID}
    bus.put(event)
    assert bus.triggered() == set()


def test_watched_security_groups_extend_the_rule_edits_too() -> None:
    with mock_aws():
        bus = Bus(rule_patterns(watched_security_groups=OTHER_SG_ID))
        event = copy.deepcopy(load_event("modify_security_group_rules.json"))
        request = event["detail"]["requestParameters"]["ModifySecurityGroupRulesRequest"]
        request["GroupId"] = OTHER_SG_ID
        bus.put(event)
        assert bus.triggered() == {"SecurityGroupEgressChanged"}


def test_watched_security_groups_extend_the_egress_rule() -> None:
    with mock_aws():
        bus = Bus(rule_patterns(watched_security_groups=f"{OTHER_SG_ID},sg-0123456789abcdef0"))
        for group_id in (SAMPLE_CANARY_SG_ID, OTHER_SG_ID):
            event = copy.deepcopy(load_event("revoke_security_group_egress.json"))
            event["detail"]["requestParameters"]["groupId"] = group_id
            bus.put(event)
            assert bus.triggered() == {"SecurityGroupEgressChanged"}, group_id


def test_an_ingress_change_is_not_an_egress_change(bus: Bus) -> None:
    event = copy.deepcopy(load_event("revoke_security_group_egress.json"))
    event["detail"]["eventName"] = "RevokeSecurityGroupIngress"
    bus.put(event)
    assert bus.triggered() == set()


def _endpoint_request(event: dict[str, object]) -> dict[str, object]:
    detail = event["detail"]
    assert isinstance(detail, dict)
    request = detail["requestParameters"]
    assert isinstance(request, dict)
    [inner] = request.values()
    assert isinstance(inner, dict)
    return inner


@pytest.mark.parametrize(
    ("change", "matches"),
    [
        ({}, True),
        ({"PrivateDnsEnabled": "true"}, True),  # (a string, should CloudTrail record one)
        ("no PrivateDnsEnabled", True),  # private DNS is on by default for interface endpoints
        ({"PrivateDnsEnabled": False}, False),
        ({"VpcEndpointType": "Gateway"}, False),  # S3 / DynamoDB routes: no private DNS
        ("no VpcEndpointType", False),  # the API's default type is Gateway
    ],
)
def test_only_interface_endpoints_with_private_dns_are_watched(
    bus: Bus, change: dict[str, object] | str, matches: bool
) -> None:
    event = copy.deepcopy(load_event("create_vpc_endpoint.json"))
    request = _endpoint_request(event)
    if isinstance(change, str):
        del request[change.removeprefix("no ")]
    else:
        request.update(change)
    bus.put(event)
    assert bus.triggered() == ({"VpcEndpointPrivateDnsChanged"} if matches else set())


def test_an_endpoint_edit_that_leaves_private_dns_alone_is_not_watched(bus: Bus) -> None:
    event = copy.deepcopy(load_event("modify_vpc_endpoint.json"))
    request = _endpoint_request(event)
    del request["PrivateDnsEnabled"]
    request["AddSubnetId"] = {"tag": 1, "content": "subnet-0a1b2c3d4e5f60002"}
    bus.put(event)
    assert bus.triggered() == set()
