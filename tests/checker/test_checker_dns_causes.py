"""What the VPC's own DNS says in a page, through the checker's handler and the real canary
against the DNS lab: a private hosted zone disassociated from the VPC is announced as such (not
as a DNS failure), and a DNS Firewall rule that starts blocking a probe's name is named as the
cause, without the advice to roll the option set back."""

from __future__ import annotations

from typing import Any

import pytest
from real_canary import AWS_RECORDS, Invoke, LabVpc, manual_check

from devtools.awsworld import DnsExtrasStandIn
from devtools.lambdakit import cloudtrail_event

pytestmark = pytest.mark.integration

APP = "app.corp.internal"
GROUP = "rslvr-frg-0123456789abcdef"
DOMAIN_LIST = "rslvr-fdl-0123456789abcdef"
# The actor of events/disassociate_vpc_from_hosted_zone.json.
ACTOR = "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/alice"


def zone_served(vpc: LabVpc) -> str:
    """A private zone associated with the VPC in Route 53, its name answered by the lab's
    Amazon resolver; the zone's id."""
    zone = vpc.world.private_zone(vpc.vpc_id, "corp.internal", {APP: "10.9.0.5"})
    vpc.amazon.set_records({**AWS_RECORDS, APP: {"A": ["10.9.0.5"]}})
    return zone


def asked_for(vpc: LabVpc, name: str) -> int:
    return sum(1 for query in vpc.amazon.queries if query.name.rstrip(".") == name)


def extras(vpc: LabVpc) -> DnsExtrasStandIn:
    assert vpc.world.dns_extras is not None
    return vpc.world.dns_extras


def firewall_blocks(vpc: LabVpc, domains: list[str]) -> None:
    """A DNS Firewall rule group associated with the VPC whose rule blocks `domains` (NXDOMAIN)."""
    stand_in = extras(vpc)
    stand_in.firewall_associations[vpc.vpc_id] = [
        {"FirewallRuleGroupId": GROUP, "VpcId": vpc.vpc_id, "Priority": 101, "Status": "COMPLETE"}
    ]
    stand_in.firewall_rules[GROUP] = [
        {
            "Name": "block-corp-app",
            "FirewallDomainListId": DOMAIN_LIST,
            "Priority": 1,
            "Action": "BLOCK",
            "BlockResponse": "NXDOMAIN",
        }
    ]
    stand_in.firewall_domains[DOMAIN_LIST] = domains


def delete_zone(vpc: LabVpc, zone: str) -> None:
    """moto refuses to disassociate a zone's last VPC (as Route 53 does): delete the zone."""
    route53 = vpc.world.client("route53")
    for record in route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]:
        if record["Type"] not in ("SOA", "NS"):
            route53.change_resource_record_sets(
                HostedZoneId=zone,
                ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]},
            )
    route53.delete_hosted_zone(Id=zone)


def disassociated(vpc: LabVpc, zone: str) -> dict[str, Any]:
    return cloudtrail_event(
        "disassociate_vpc_from_hosted_zone",
        hostedZoneId=zone,
        vPC={"vPCRegion": vpc.world.region, "vPCId": vpc.vpc_id},
    )


def test_a_zone_disassociated_from_the_vpc_is_announced_with_who_did_it_and_pages_no_one(
    lab_vpc: LabVpc, checker: Invoke
) -> None:
    # Given a VPC whose private zone's name the canary probes and the Amazon resolver answers
    zone = zone_served(lab_vpc)
    checker(manual_check([lab_vpc.vpc_id]))
    assert asked_for(lab_vpc, APP) > 0
    lab_vpc.world.alerts()
    asked_before = asked_for(lab_vpc, APP)
    # When the zone is disassociated (its names now NXDOMAIN everywhere)
    delete_zone(lab_vpc, zone)
    lab_vpc.amazon.set_records(AWS_RECORDS)
    result = checker(disassociated(lab_vpc, zone))
    # Then the canary was not asked for the zone's name, and DNS is judged OK
    assert asked_for(lab_vpc, APP) == asked_before
    assert result["vpcs"][0]["verdict"] == "OK"
    # and one INFO announcement names the zone, the VPC and who disassociated it
    [alert] = lab_vpc.world.alerts()
    assert alert.severity == "INFO"
    sentence = f"private hosted zone corp.internal ({zone}) was disassociated from {lab_vpc.vpc_id}"
    assert f"{sentence} by {ACTOR} (DisassociateVPCFromHostedZone" in alert.text
    assert "not a DNS failure" in alert.text
    assert "associate-dhcp-options" not in alert.text
    [lost] = alert.document["lost_zones"]
    assert lost == {
        "zone_id": zone,
        "zone_name": "corp.internal",
        "vpc_id": lab_vpc.vpc_id,
        "disassociated_by": ACTOR,
        "sentence": sentence,
    }
    # and the next check says nothing more about it
    checker(manual_check([lab_vpc.vpc_id]))
    assert lab_vpc.world.alerts() == []


def test_a_firewall_rule_that_starts_blocking_a_probe_name_is_named_and_no_rollback_advised(
    lab_vpc: LabVpc, checker: Invoke
) -> None:
    # Given a checked VPC whose private zone's name resolves
    zone_served(lab_vpc)
    checker(manual_check([lab_vpc.vpc_id]))
    lab_vpc.world.alerts()
    # When a DNS Firewall rule starts blocking that name (the Amazon resolver says NXDOMAIN),
    # within the discovery's TTL (the stored discovery knows no firewall)
    firewall_blocks(lab_vpc, [APP])
    lab_vpc.amazon.set_records(AWS_RECORDS)
    checker(manual_check([lab_vpc.vpc_id]))
    # Then the page names the rule group, the rule and its domain list as the cause
    [alert] = lab_vpc.world.alerts()
    assert alert.severity in ("CRITICAL", "WARNING")
    expected = (
        f"DNS Firewall rule group {GROUP} (rule block-corp-app, domain list {DOMAIN_LIST}) "
        f"blocks {APP}"
    )
    assert expected in alert.text
    # and it does not advise rolling the option set back
    assert "No rollback advised: the VPC's DNS Firewall blocks the failing names" in alert.text
    assert "associate-dhcp-options --dhcp-options-id" not in alert.text
    document = alert.document
    assert document["rollback"] == "not_option_set"
    [block] = document["firewall_blocks"]
    assert (block["rule_group_id"], block["rule_name"], block["domain_list_id"]) == (
        GROUP,
        "block-corp-app",
        DOMAIN_LIST,
    )


def test_a_name_the_firewall_blocked_at_discovery_is_expected_blocked(
    lab_vpc: LabVpc, checker: Invoke
) -> None:
    # Given a VPC whose DNS Firewall already blocks its zone's name when discovery reads it
    zone_served(lab_vpc)
    firewall_blocks(lab_vpc, ["*.corp.internal"])
    lab_vpc.amazon.set_records(AWS_RECORDS)
    # When it is checked
    result = checker(manual_check([lab_vpc.vpc_id]))
    # Then the canary expected the block, found it, and DNS is OK: nothing pages
    assert asked_for(lab_vpc, APP) > 0
    assert result["vpcs"][0]["verdict"] == "OK"
    assert [a.severity for a in lab_vpc.world.alerts()] in ([], ["INFO"])
