"""Option-set lint: each finding a user can get, with its code, severity and sentence (pure)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from dns_watchdog.domain.lint import (
    IpNetwork,
    LintCode,
    LintSeverity,
    addresses_to_look_up,
    lint_option_set,
    parse_allowed_networks,
)
from dns_watchdog.domain.vpc import OptionSet

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
CIDRS = {VPC: "10.0.0.0/16"}


def codes(option_set: OptionSet, allowed: Sequence[IpNetwork] = ()) -> list[tuple[str, str]]:
    findings = lint_option_set(option_set, allowed_networks=allowed)
    return [(f.code.value, f.severity.value) for f in findings]


def test_amazon_provided_dns_alone_is_clean() -> None:
    assert lint_option_set(OptionSet("dopt-a", ("AmazonProvidedDNS",), "ec2.internal")) == []


def test_healthy_custom_servers_are_clean() -> None:
    option_set = OptionSet("dopt-c", ("10.0.1.10", "10.0.2.10"), "corp.example")
    assert (
        lint_option_set(
            option_set, vpc_cidrs=CIDRS, held_addresses={VPC: {"10.0.1.10", "10.0.2.10"}}
        )
        == []
    )


def test_no_servers_is_an_error() -> None:
    [finding] = lint_option_set(OptionSet("dopt-none", (), "corp.example"))
    assert (finding.code, finding.severity) == (LintCode.NO_SERVERS, LintSeverity.ERROR)
    assert finding.message.startswith("dopt-none names no domain-name-servers")
    assert finding.as_dict() == {
        "code": "NO_SERVERS",
        "severity": "ERROR",
        "message": finding.message,
    }


@pytest.mark.parametrize(
    ("server", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.78.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
    ],
)
def test_addresses_that_can_never_serve_are_errors(server: str, why: str) -> None:
    [finding] = lint_option_set(OptionSet("dopt-x", (server,), None))
    assert (finding.code, finding.severity) == (LintCode.UNUSABLE_ADDRESS, LintSeverity.ERROR)
    assert server in finding.message
    assert why in finding.message


@pytest.mark.parametrize("server", ["169.254.169.253", "fd00:ec2::253"])
def test_the_amazon_resolver_link_local_address_is_fine(server: str) -> None:
    assert lint_option_set(OptionSet("dopt-x", (server,), None)) == []


def test_allowed_networks_exempt_the_address_class_finding() -> None:
    allowed = parse_allowed_networks(" 127.0.0.0/8, ,::1/128")
    assert (
        lint_option_set(
            OptionSet("dopt-lab", ("127.0.0.53", "::1"), None), allowed_networks=allowed
        )
        == []
    )
    # Other classes still count.
    assert codes(OptionSet("dopt-x", ("224.0.0.1",), None), allowed) == [
        ("UNUSABLE_ADDRESS", "ERROR")
    ]


def test_allowed_networks_reject_a_bad_cidr_by_name() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not a CIDR"):
        parse_allowed_networks("127.0.0.0/8,10.0.0.0/33")


def test_a_name_that_is_not_an_address_is_an_error() -> None:
    assert codes(OptionSet("dopt-x", ("dns.corp",), None)) == [("INVALID_ADDRESS", "ERROR")]


def test_four_servers_warn_that_glibc_reads_three() -> None:
    option_set = OptionSet("dopt-4", ("10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4"), None)
    [finding] = lint_option_set(option_set)
    assert (finding.code, finding.severity) == (LintCode.TOO_MANY_SERVERS, LintSeverity.WARNING)
    assert "10.9.0.4 is never asked" in finding.message


def test_more_than_ec2_allows_is_an_error() -> None:
    option_set = OptionSet("dopt-5", tuple(f"10.9.0.{i}" for i in range(1, 6)), None)
    assert codes(option_set) == [("TOO_MANY_SERVERS", "ERROR")]


def test_amazon_mixed_with_custom_warns() -> None:
    [finding] = lint_option_set(OptionSet("dopt-m", ("10.9.0.1", "AmazonProvidedDNS"), None))
    assert (finding.code, finding.severity) == (
        LintCode.AMAZON_MIXED_WITH_CUSTOM,
        LintSeverity.WARNING,
    )
    assert "not defined" in finding.message


def test_several_space_separated_domain_names_warn() -> None:
    option_set = OptionSet("dopt-d", ("AmazonProvidedDNS",), "corp.example ec2.internal")
    assert codes(option_set) == [("SEVERAL_DOMAIN_NAMES", "WARNING")]


def test_a_server_inside_a_watched_vpc_that_nobody_holds_is_an_error() -> None:
    option_set = OptionSet("dopt-ghost", ("10.0.9.9", "10.0.1.10"), None)
    [finding] = lint_option_set(option_set, vpc_cidrs=CIDRS, held_addresses={VPC: {"10.0.1.10"}})
    assert (finding.code, finding.severity) == (LintCode.NOBODY_AT_ADDRESS, LintSeverity.ERROR)
    assert "10.0.9.9" in finding.message
    assert VPC in finding.message


OTHER = "vpc-0ffffffffffffffff"


def test_an_address_held_only_in_another_vpc_is_named_not_counted() -> None:
    # Given a server address inside the VPC that only an interface of another VPC (same CIDR,
    # or a peer) holds
    option_set = OptionSet("dopt-ghost", ("10.0.9.9",), None)
    [finding] = lint_option_set(
        option_set,
        vpc_cidrs=CIDRS,
        held_addresses={VPC: set()},
        held_elsewhere={"10.0.9.9": {OTHER}},
    )

    # Then nobody is there to answer, and the finding says where the address is held instead
    assert (finding.code, finding.severity) == (LintCode.NOBODY_AT_ADDRESS, LintSeverity.ERROR)
    assert finding.message == (
        f"dopt-ghost names 10.0.9.9, inside {VPC}, but no network interface there holds that "
        f"address; it is held by an interface in {OTHER} (another VPC), not reached at that "
        f"address from {VPC}: nothing is there to answer."
    )


def test_each_watched_vpc_needs_its_own_holder() -> None:
    # Given two watched VPCs with the same CIDR (a preflight of both), the server held in one
    cidrs = {VPC: "10.0.0.0/16", OTHER: "10.0.0.0/16"}
    option_set = OptionSet("dopt-dc", ("10.0.1.10",), None)
    [finding] = lint_option_set(
        option_set,
        vpc_cidrs=cidrs,
        held_addresses={VPC: {"10.0.1.10"}, OTHER: set()},
        held_elsewhere={"10.0.1.10": {VPC}},
    )

    # Then the other one is named as having nobody there, and the holder as another VPC
    assert f"inside {OTHER}, but no network interface there" in finding.message
    assert f"held by an interface in {VPC} (another VPC)" in finding.message
    # And with a holder in each, the set is clean
    assert (
        lint_option_set(
            option_set,
            vpc_cidrs=cidrs,
            held_addresses={VPC: {"10.0.1.10"}, OTHER: {"10.0.1.10"}},
        )
        == []
    )


def test_only_addresses_inside_watched_vpcs_other_than_base_plus_two_are_looked_up() -> None:
    option_set = OptionSet(
        "dopt-x", ("10.0.0.2", "10.0.5.5", "192.168.1.1", "AmazonProvidedDNS"), None
    )
    assert addresses_to_look_up(option_set, CIDRS) == {"10.0.5.5": (VPC,)}


def test_without_interface_facts_nobody_at_address_is_not_claimed() -> None:
    assert lint_option_set(OptionSet("dopt-x", ("10.0.9.9",), None), vpc_cidrs=CIDRS) == []


def test_errors_come_before_warnings() -> None:
    option_set = OptionSet("dopt-bad", ("127.0.0.1", "AmazonProvidedDNS"), "a.example b.example")
    severities = [f.severity for f in lint_option_set(option_set)]
    assert severities == [LintSeverity.ERROR, LintSeverity.WARNING, LintSeverity.WARNING]


# A globally routable address (the lint sends nothing anywhere: it only reads route tables).
PUBLIC = "52.94.0.53"


def test_a_public_server_without_a_route_out_of_the_vpc_is_an_error() -> None:
    option_set = OptionSet("dopt-public", (PUBLIC,), None)
    local_only = {VPC: {"192.168.0.0/16"}}  # a peering route, nothing towards the internet

    findings = lint_option_set(option_set, routes_out=local_only)

    assert [(f.code.value, f.severity.value) for f in findings] == [
        ("PUBLIC_SERVER_NO_ROUTE", "ERROR")
    ]
    assert f"names {PUBLIC}, a public address, but no route table of {VPC}" in findings[0].message


@pytest.mark.parametrize("route", ["0.0.0.0/0", "52.94.0.0/16"])
def test_a_public_server_with_a_route_covering_it_is_fine(route: str) -> None:
    option_set = OptionSet("dopt-public", (PUBLIC,), None)
    assert lint_option_set(option_set, routes_out={VPC: {route}}) == []


PUBLIC_V6 = "2600:1f18::53"  # a globally routable IPv6 address (only route tables are read)


def test_a_public_ipv6_server_needs_an_ipv6_route_out_and_is_told_which() -> None:
    option_set = OptionSet("dopt-public-v6", ("10.0.9.9", PUBLIC_V6), None)

    [finding] = lint_option_set(option_set, routes_out={VPC: {"0.0.0.0/0"}})

    assert finding.code == LintCode.PUBLIC_SERVER_NO_ROUTE
    assert f"names {PUBLIC_V6}, a public address, but no route table of {VPC}" in finding.message
    assert "no ::/0 through an internet or egress-only internet gateway" in finding.message
    assert lint_option_set(option_set, routes_out={VPC: {"0.0.0.0/0", "::/0"}}) == []


def test_private_servers_need_no_route_out_and_unknown_routes_claim_nothing() -> None:
    private = OptionSet("dopt-private", ("10.0.9.9",), None)
    assert lint_option_set(private, routes_out={VPC: set()}) == []
    assert lint_option_set(OptionSet("dopt-public", (PUBLIC,), None)) == []


def test_ipv6_servers_are_linted_like_ipv4_ones() -> None:
    # A dual-stack set: IPv6 next to IPv4 is fine, loopback IPv6 is not
    assert lint_option_set(OptionSet("dopt-x", ("10.1.1.10", "fd12:3456::53"), None)) == []
    assert codes(OptionSet("dopt-x", ("10.1.1.10", "::1"), None)) == [("UNUSABLE_ADDRESS", "ERROR")]


def test_only_ipv6_servers_warn_that_lambda_may_not_reach_them() -> None:
    [finding] = lint_option_set(OptionSet("dopt-v6", ("fd12:3456::53", "fd12:3456::54"), None))

    assert (finding.code, finding.severity) == (LintCode.IPV6_ONLY_SERVERS, LintSeverity.WARNING)
    assert "fd12:3456::53, fd12:3456::54" in finding.message
    assert "Ipv6AllowedForDualStack" in finding.message
