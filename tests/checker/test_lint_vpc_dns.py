"""The lint of custom servers in a VPC with its own DNS: the private hosted zones and Resolver
rules only its Amazon resolver (the VPC's CIDR base + 2) answers, which custom servers must
forward there (pure, over the VPC's discovery and its CIDR)."""

from __future__ import annotations

import pytest
from dns_watchdog.domain.discovery import (
    FORWARD_RULE,
    SYSTEM_RULE,
    DiscoveredProbe,
    Discovery,
    ProbeSource,
    Zone,
)
from dns_watchdog.domain.lint import (
    DOMAINS_NAMED,
    LintCode,
    LintSeverity,
    lint_option_set,
    vpc_dns_to_forward,
)
from dns_watchdog.domain.vpc import OptionSet

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
CIDR = "10.20.0.0/16"
CORPORATE = OptionSet("dopt-corp", ("10.1.1.10", "10.1.1.11"), "corp.example")
ZONES = (
    Zone("Z01", "corp.internal"),
    Zone("Z02", "db.internal"),
    Zone("Z03", "shared.internal", via="rp-0123456789abcdef"),
)


def rule(rule_id: str, domain: str, kind: str = FORWARD_RULE) -> DiscoveredProbe:
    targets = ("10.9.0.10",) if kind == FORWARD_RULE else ()
    return DiscoveredProbe(domain, "SOA", ProbeSource(kind, rule_id, domain), targets=targets)


def discovery(
    zones: tuple[Zone, ...] = (), rules: tuple[DiscoveredProbe, ...] = (), dropped: int = 0
) -> Discovery:
    return Discovery(VPC, "2024-05-14T09:00:00Z", probes=rules, zones=zones, dropped=dropped)


RULES = (rule("rslvr-rr-1", "onprem.example"), rule("rslvr-rr-2", "ec2.internal", SYSTEM_RULE))


def test_custom_servers_are_told_what_they_must_forward_and_where() -> None:
    [finding] = vpc_dns_to_forward(CORPORATE, CIDR, discovery(ZONES, RULES))
    assert finding.code == LintCode.VPC_DNS_TO_FORWARD
    assert finding.severity == LintSeverity.WARNING
    assert finding.message == (
        f"{VPC} has 3 private hosted zones and 2 resolver rules that custom DNS servers must "
        "forward to 10.20.0.2 (its Amazon resolver): corp.internal, db.internal, ec2.internal, "
        "onprem.example, shared.internal. dopt-corp names 10.1.1.10, 10.1.1.11: unless they "
        f"forward these domains there, Lambdas in {VPC} cannot resolve them."
    )


def test_one_zone_alone_is_counted_in_the_singular() -> None:
    [finding] = vpc_dns_to_forward(CORPORATE, CIDR, discovery(ZONES[:1]))
    assert finding.message.startswith(
        f"{VPC} has 1 private hosted zone that custom DNS servers must forward to 10.20.0.2 "
        "(its Amazon resolver): corp.internal."
    )


def test_rules_alone_and_a_capped_discovery_give_a_lower_bound() -> None:
    [finding] = vpc_dns_to_forward(CORPORATE, CIDR, discovery(rules=RULES[:1], dropped=3))
    assert finding.message.startswith(
        f"{VPC} has at least 1 resolver rule that custom DNS servers must forward to 10.20.0.2"
    )


def test_many_domains_are_named_up_to_a_limit_then_counted() -> None:
    zones = tuple(Zone(f"Z{i:02d}", f"zone-{i:02d}.internal") for i in range(DOMAINS_NAMED + 2))
    [finding] = vpc_dns_to_forward(CORPORATE, CIDR, discovery(zones))
    assert "zone-04.internal and 2 more." in finding.message
    assert "zone-05.internal" not in finding.message


@pytest.mark.parametrize(
    "servers",
    [
        ("AmazonProvidedDNS",),
        ("10.20.0.2",),  # the Amazon resolver at the VPC's base + 2
        ("169.254.169.253",),
        ("fd00:ec2::253",),
    ],
)
def test_the_amazon_resolver_under_any_of_its_addresses_needs_no_forwarding(
    servers: tuple[str, ...],
) -> None:
    assert vpc_dns_to_forward(OptionSet("dopt-a", servers, None), CIDR, discovery(ZONES)) == []


def test_a_vpc_without_zones_or_rules_gets_nothing() -> None:
    assert vpc_dns_to_forward(CORPORATE, CIDR, discovery()) == []


def test_the_full_lint_says_it_only_for_the_watched_vpcs_it_has_discoveries_of() -> None:
    found = {VPC: discovery(ZONES, RULES)}
    linted = lint_option_set(CORPORATE, vpc_cidrs={VPC: CIDR}, discoveries=found)
    assert [f.code for f in linted] == [LintCode.VPC_DNS_TO_FORWARD]
    assert lint_option_set(CORPORATE, vpc_cidrs={}, discoveries=found) == []
    assert lint_option_set(CORPORATE, vpc_cidrs={VPC: CIDR}) == []
