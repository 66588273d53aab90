"""Discovery's decisions (pure): which discovered names a VPC's canaries probe, in what plan,
which DNS Firewall rule blocks a name, which zones were lost, and what the state keeps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from dns_canary.constants import MAX_PROBES
from dns_watchdog.constants import CANARY_MAX_PROBES
from dns_watchdog.domain.discovery import (
    ENDPOINT,
    FORWARD_RULE,
    PRIVATE_ZONE,
    SYSTEM_RULE,
    DiscoveredProbe,
    Discovery,
    FirewallRule,
    Found,
    ProbeSource,
    Undetermined,
    Zone,
    blocking_firewall,
    choose,
    configured_probes,
    discovered,
    dns_name,
    is_stale,
    plan_probes,
    refreshes_discovery,
)
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
AT = "2024-05-14T10:00:00Z"


def zone(name: str, zone_id: str, record: str | None = None) -> DiscoveredProbe:
    return DiscoveredProbe(
        record or name, "A" if record else "SOA", ProbeSource(PRIVATE_ZONE, zone_id, name)
    )


def rule(domain: str, rule_id: str, targets: tuple[str, ...] = ("10.9.0.10",)) -> DiscoveredProbe:
    return DiscoveredProbe(
        domain, "SOA", ProbeSource(FORWARD_RULE, rule_id, domain), targets=targets
    )


ZONES = [zone(f"z{i:02d}.corp.internal", f"Z{i:020d}") for i in range(12)]
RULES = [rule(f"r{i}.onprem.example", f"rslvr-rr-{i:017x}") for i in range(3)]
ENDPOINTS = [
    DiscoveredProbe(
        "sts.us-east-1.amazonaws.com",
        "A",
        ProbeSource(ENDPOINT, "vpce-0123456789abcdef0", "sts.us-east-1.amazonaws.com"),
    )
]


def test_the_cap_keeps_every_kind_and_counts_the_dropped() -> None:
    # Given 12 zones, 3 forward rules and an endpoint: 16 names
    chosen, dropped = choose([*ZONES, *RULES, *ENDPOINTS], 10)
    # Then 10 are kept, 6 dropped, and the many zones do not crowd out the rules or the endpoint
    assert len(chosen) == 10
    assert dropped == 6
    kinds = [probe.source.kind for probe in chosen]
    assert kinds.count(FORWARD_RULE) == 3
    assert kinds.count(ENDPOINT) == 1
    assert [p.source.domain for p in chosen if p.source.kind == PRIVATE_ZONE] == [
        f"z{i:02d}.corp.internal" for i in range(6)
    ]


@given(st.permutations([*ZONES, *RULES, *ENDPOINTS]), st.integers(min_value=0, max_value=20))
def test_the_choice_does_not_depend_on_the_order_the_apis_listed_things(
    listed: list[DiscoveredProbe], cap: int
) -> None:
    expected = choose([*ZONES, *RULES, *ENDPOINTS], cap)
    assert choose(listed, cap) == expected
    assert len(expected[0]) == min(cap, 16)
    assert expected[1] == 16 - len(expected[0])


def test_a_name_two_sources_lead_to_is_probed_once() -> None:
    system = DiscoveredProbe(
        "corp.internal",
        "SOA",
        ProbeSource(SYSTEM_RULE, "rslvr-rr-0000000000000000a", "corp.internal"),
    )
    chosen, dropped = choose([system, zone("corp.internal", "Z1")], 10)
    assert [p.source.kind for p in chosen] == [PRIVATE_ZONE]
    assert dropped == 0


def test_configured_names_come_first_and_the_plan_stays_within_the_canarys_limit() -> None:
    assert CANARY_MAX_PROBES == MAX_PROBES
    configured = configured_probes(
        ",".join(f"name{i}.example.com" for i in range(45)) + ",_ldap._tcp.corp.example/srv"
    )
    discovery = discovered(VPC, Found(probes=tuple(ZONES)), cap=10, at=AT)
    planned = plan_probes(configured, discovery, max_probes=CANARY_MAX_PROBES, region="us-east-1")
    assert len(planned.probes) == CANARY_MAX_PROBES
    assert list(planned.probes[:46]) == list(configured)
    assert planned.probes[45] == {"name": "_ldap._tcp.corp.example", "type": "SRV"}
    assert planned.left_out == 6
    assert planned.probes[46] == {
        "name": "z00.corp.internal",
        "type": "SOA",
        "expect": {"rcode": "NOERROR"},
        "source": {
            "kind": "private_zone",
            "id": "Z00000000000000000000",
            "domain": "z00.corp.internal",
        },
    }


def test_a_forward_rule_probe_carries_its_targets_and_a_profile_as_via() -> None:
    probe = DiscoveredProbe(
        "onprem.example",
        "SOA",
        ProbeSource(
            FORWARD_RULE, "rslvr-rr-0123456789abcdef0", "onprem.example", "rp-0123456789abcdef"
        ),
        targets=("10.9.0.10", "fd00:9::10"),
    )
    assert probe.as_plan() == {
        "name": "onprem.example",
        "type": "SOA",
        "expect": {"rcode": "NOERROR"},
        "source": {
            "kind": "forward_rule",
            "id": "rslvr-rr-0123456789abcdef0",
            "domain": "onprem.example",
            "via": "rp-0123456789abcdef",
        },
        "targets": ["10.9.0.10", "fd00:9::10"],
    }


def firewall(*rules: FirewallRule) -> Discovery:
    return Discovery(VPC, AT, firewall=rules)


def fw(
    action: str, domains: tuple[str, ...], *, group: int = 100, priority: int = 1, **kw: str
) -> FirewallRule:
    return FirewallRule(f"rslvr-frg-{group:016x}", group, priority, action, domains, **kw)  # type: ignore[arg-type]


def test_dns_firewall_wildcards_match_below_the_domain_only() -> None:
    blocked = firewall(fw("BLOCK", ("*.bad.example", "exact.example."), block_response="NXDOMAIN"))
    assert blocking_firewall("www.bad.example", blocked) is not None
    assert blocking_firewall("WWW.Bad.Example.", blocked) is not None
    assert blocking_firewall("bad.example", blocked) is None
    assert blocking_firewall("exact.example", blocked) is not None
    assert blocking_firewall("sub.exact.example", blocked) is None
    assert blocking_firewall("anything", firewall(fw("BLOCK", ("*",)))) is not None


def test_the_first_matching_rule_decides_in_the_firewalls_order() -> None:
    # An ALLOW of a higher-priority group wins over a BLOCK; ALERT only goes on.
    allow_first = firewall(
        fw("BLOCK", ("*.corp.example",), group=200),
        fw("ALLOW", ("app.corp.example",), group=100),
        fw("ALERT", ("*.corp.example",), group=50),
    )
    assert blocking_firewall("app.corp.example", allow_first) is None
    blocked = blocking_firewall("db.corp.example", allow_first)
    assert blocked is not None
    assert blocked.group_priority == 200
    # A rule for AAAA questions does not block an A question.
    aaaa_only = firewall(fw("BLOCK", ("*.corp.example",), qtype="AAAA"))
    assert blocking_firewall("db.corp.example", aaaa_only, "A") is None
    assert blocking_firewall("db.corp.example", aaaa_only, "AAAA") is not None


def test_a_probe_the_firewall_blocks_expects_the_block_and_names_the_rule_group() -> None:
    discovery = firewall(fw("BLOCK", ("*.amazonaws.com",), block_response="NODATA"))
    planned = plan_probes(
        configured_probes("sts.{region}.amazonaws.com,db.corp.example"),
        discovery,
        max_probes=50,
        region="eu-west-1",
    )
    assert planned.probes == (
        {
            "name": "sts.{region}.amazonaws.com",
            "type": "A",
            "expect": {"rcode": "NOERROR"},
            "source": {
                "kind": "firewall",
                "id": "rslvr-frg-0000000000000064",
                "domain": "sts.eu-west-1.amazonaws.com",
            },
        },
        {"name": "db.corp.example", "type": "A"},
    )
    nxdomain = firewall(fw("BLOCK", ("db.corp.example",), block_response="NXDOMAIN"))
    [_, db] = plan_probes(
        configured_probes("sts.{region}.amazonaws.com,db.corp.example"),
        nxdomain,
        max_probes=50,
        region="x",
    ).probes
    assert db["expect"] == {"rcode": "NXDOMAIN"}


def test_a_zone_gone_since_the_last_discovery_is_named_as_disassociated() -> None:
    before = discovered(
        VPC,
        Found(zones=(Zone("Z123", "corp.internal"), Zone("Z456", "lab.internal"))),
        cap=10,
        at=AT,
    )
    after = discovered(
        VPC, Found(zones=(Zone("Z456", "lab.internal"),)), cap=10, at=AT, before=before
    )
    [lost] = after.lost_zones
    assert (
        lost.sentence() == f"private hosted zone corp.internal (Z123) was disassociated from {VPC}"
    )
    # A reading whose zone list was denied says nothing about zones being gone.
    denied = Found(undetermined=(Undetermined("zones", VPC, "AccessDenied: not authorized"),))
    assert discovered(VPC, denied, cap=10, at=AT, before=before).lost_zones == ()
    assert not discovered(VPC, denied, cap=10, at=AT).determined


def test_a_discovery_is_reused_until_its_ttl_is_over() -> None:
    discovery = Discovery(VPC, AT)
    taken = datetime(2024, 5, 14, 10, tzinfo=UTC)
    assert not is_stale(discovery, taken + timedelta(seconds=3599), 3600)
    assert is_stale(discovery, taken + timedelta(seconds=3600), 3600)
    assert is_stale(None, taken, 3600)
    assert is_stale(Discovery(VPC, "yesterday"), taken, 3600)


def test_the_changes_that_refresh_discovery_are_change_events_only() -> None:
    assert refreshes_discovery("DisassociateVPCFromHostedZone", changed=True)
    assert refreshes_discovery("UpdateResolverRule", changed=True)
    assert not refreshes_discovery("AssociateDhcpOptions", changed=True)
    assert not refreshes_discovery("DisassociateVPCFromHostedZone", changed=False)


def test_names_from_other_accounts_are_held_to_dns_syntax() -> None:
    assert dns_name("App.Corp.Internal.") == "app.corp.internal"
    assert dns_name("\\052.corp.internal.") is None
    assert dns_name("*.corp.internal") is None
    assert dns_name("corp internal") is None
    assert dns_name("a" * 64 + ".example") is None
    assert dns_name(".") is None


def test_the_stored_discovery_round_trips_and_its_worst_case_fits_a_dynamodb_item() -> None:
    # Given the largest discovery the adapter keeps: 49 probes, 6 targets each, 1,000 firewall
    # domains of 255 characters, many zones and reasons
    long_name = ".".join(["a" * 63] * 3) + ".example"
    probes = tuple(
        DiscoveredProbe(
            f"n{i}.{long_name}"[:253],
            "A",
            ProbeSource(FORWARD_RULE, f"rslvr-rr-{i:017x}", long_name, "rp-0123456789abcdef"),
            targets=tuple(f"fd00::{j}" for j in range(6)),
        )
        for i in range(49)
    )
    rules = tuple(
        fw("BLOCK", tuple(f"{i}.{long_name}"[:255] for i in range(100)), priority=p)
        for p in range(10)
    )
    zones = tuple(Zone(f"Z{i:020d}", long_name) for i in range(300))
    undetermined = tuple(Undetermined("zone", f"Z{i:020d}", "x" * 300) for i in range(100))
    discovery = Discovery(VPC, AT, probes, 7, zones, rules, undetermined)
    text = json.dumps(discovery.to_item(), separators=(",", ":"))
    # Then it comes back equal, and stays under DynamoDB's 400 KB item (with room for the rest)
    assert Discovery.from_item(json.loads(text)) == discovery
    assert len(text.encode()) < 350_000
    # and an item of another version, or damaged, is discovered again rather than trusted
    assert Discovery.from_item({**discovery.to_item(), "version": 99}) is None
    assert Discovery.from_item({"version": 1, "vpc_id": VPC}) is None
