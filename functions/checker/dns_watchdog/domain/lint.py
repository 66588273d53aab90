"""Lint of a DHCP option set's DNS settings: findings that need no canary (pure).

Each finding has a stable code, a severity and one sentence. The checks are small and specific to
EC2 option sets (no library lints them); address classes come from the standard `ipaddress`.
The findings that need AWS facts (a server address inside a watched VPC that no network
interface of that VPC holds) take those facts as plain data: `addresses_to_look_up` says which
addresses to ask EC2 about, and the adapter's answer comes back in as `held_addresses` (per VPC)
and `held_elsewhere` (the other VPCs holding an address, named in the finding).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from dns_watchdog.domain.discovery import FORWARD_RULE, SYSTEM_RULE, Discovery
from dns_watchdog.domain.vpc import AMAZON_PROVIDED_DNS, OptionSet, expected_nameservers

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# EC2 accepts up to 4 servers in domain-name-servers; glibc's resolver reads at most 3 (MAXNS).
EC2_MAX_SERVERS = 4
GLIBC_MAX_SERVERS = 3
# The Amazon resolver's link-local addresses: the only link-local addresses that serve DNS.
AMAZON_RESOLVER_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.253"), ipaddress.ip_address("fd00:ec2::253")}
)


class LintSeverity(enum.StrEnum):
    ERROR = "ERROR"  # Lambda DNS in a VPC using this set would (partly) not work
    WARNING = "WARNING"  # works today, but fragile or not what the author meant


class LintCode(enum.StrEnum):
    NO_SERVERS = "NO_SERVERS"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    UNUSABLE_ADDRESS = "UNUSABLE_ADDRESS"
    TOO_MANY_SERVERS = "TOO_MANY_SERVERS"
    AMAZON_MIXED_WITH_CUSTOM = "AMAZON_MIXED_WITH_CUSTOM"
    SEVERAL_DOMAIN_NAMES = "SEVERAL_DOMAIN_NAMES"
    NOBODY_AT_ADDRESS = "NOBODY_AT_ADDRESS"
    PUBLIC_SERVER_NO_ROUTE = "PUBLIC_SERVER_NO_ROUTE"
    IPV6_ONLY_SERVERS = "IPV6_ONLY_SERVERS"
    VPC_DNS_TO_FORWARD = "VPC_DNS_TO_FORWARD"


@dataclass(frozen=True)
class LintFinding:
    code: LintCode
    severity: LintSeverity
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "severity": self.severity.value, "message": self.message}


def parse_allowed_networks(value: str) -> tuple[IpNetwork, ...]:
    """`LINT_ALLOWED_NETWORKS`: comma-separated CIDRs; ValueError names a bad one."""
    networks = []
    for item in value.split(","):
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a CIDR (e.g. 127.0.0.0/8)") from exc
    return tuple(networks)


def _address(server: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(server)
    except ValueError:
        return None


def _custom_servers(option_set: OptionSet) -> list[str]:
    return [s for s in option_set.domain_name_servers if s != AMAZON_PROVIDED_DNS]


def addresses_to_look_up(
    option_set: OptionSet, vpc_cidrs: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    """Servers inside a watched VPC's CIDR (not its Amazon resolver at base + 2) -> those VPCs.

    Someone must hold such an address (an instance's or endpoint's network interface); the
    adapter asks EC2 which of them are held.
    """
    found: dict[str, tuple[str, ...]] = {}
    for server in _custom_servers(option_set):
        address = _address(server)
        if address is None:
            continue
        inside = []
        for vpc_id, cidr in vpc_cidrs.items():
            network = ipaddress.ip_network(cidr, strict=False)
            if address in network and address != network.network_address + 2:
                inside.append(vpc_id)
        if inside:
            found[server] = tuple(sorted(inside))
    return found


def _never_serves(address: IpAddress) -> str | None:
    if address in AMAZON_RESOLVER_ADDRESSES:
        return None
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address (each Lambda would ask itself)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address other than the Amazon resolver"
    return None


def public_servers(option_set: OptionSet) -> list[str]:
    """The servers at public (globally routable) addresses: reachable only with a route out."""
    return [
        server
        for server in _custom_servers(option_set)
        if (address := _address(server)) is not None and address.is_global
    ]


def _routed(server: str, routes: Collection[str]) -> bool:
    address = ipaddress.ip_address(server)
    for destination in routes:
        try:
            if address in ipaddress.ip_network(destination, strict=False):
                return True
        except ValueError:
            continue
    return False


def _no_default_route(server: str) -> str:
    """The default route a public server needs, by address family (IPv6 leaves a VPC through an
    internet gateway or an egress-only internet gateway; a NAT gateway carries IPv4)."""
    if ipaddress.ip_address(server).version == 6:
        return "no ::/0 through an internet or egress-only internet gateway, transit gateway..."
    return "no 0.0.0.0/0 through an internet or NAT gateway, transit gateway..."


def _unroutable(
    option_set: OptionSet, routes_out: Mapping[str, Collection[str]]
) -> list[LintFinding]:
    name = option_set.option_set_id
    findings: list[LintFinding] = []
    for vpc_id, routes in routes_out.items():
        for server in public_servers(option_set):
            if not _routed(server, routes):
                findings.append(
                    LintFinding(
                        LintCode.PUBLIC_SERVER_NO_ROUTE,
                        LintSeverity.ERROR,
                        f"{name} names {server}, a public address, but no route table of "
                        f"{vpc_id} has a route to it ({_no_default_route(server)}): Lambdas "
                        "there cannot reach it.",
                    )
                )
    return findings


def lint_option_set(
    option_set: OptionSet,
    *,
    allowed_networks: Sequence[IpNetwork] = (),
    vpc_cidrs: Mapping[str, str] | None = None,
    held_addresses: Mapping[str, Collection[str]] | None = None,
    held_elsewhere: Mapping[str, Collection[str]] | None = None,
    routes_out: Mapping[str, Collection[str]] | None = None,
    discoveries: Mapping[str, Discovery] | None = None,
) -> list[LintFinding]:
    """Every finding about `option_set`, most severe first.

    `vpc_cidrs` (watched VPC -> primary CIDR) and `held_addresses` (watched VPC -> the addresses
    a network interface in that VPC holds, from the adapter) enable NOBODY_AT_ADDRESS, and
    `held_elsewhere` (address -> other VPCs whose interfaces hold it) names those VPCs;
    `routes_out` (watched VPC -> the destinations of its route tables' active routes that leave
    the VPC) enables PUBLIC_SERVER_NO_ROUTE, and `discoveries` (watched VPC -> what was
    discovered of its own DNS) VPC_DNS_TO_FORWARD. Without them those are not checked.
    """
    findings = [
        *_no_servers(option_set),
        *_bad_addresses(option_set, allowed_networks),
        *_nobody_at_address(option_set, vpc_cidrs or {}, held_addresses, held_elsewhere or {}),
        *_unroutable(option_set, routes_out or {}),
        *_too_many_servers(option_set),
        *_amazon_mixed_with_custom(option_set),
        *_ipv6_only(option_set),
        *_several_domain_names(option_set),
        *(
            finding
            for vpc_id, discovery in (discoveries or {}).items()
            if vpc_id in (vpc_cidrs or {})
            for finding in vpc_dns_to_forward(option_set, (vpc_cidrs or {})[vpc_id], discovery)
        ),
    ]
    order = {LintSeverity.ERROR: 0, LintSeverity.WARNING: 1}
    return sorted(findings, key=lambda f: order[f.severity])


def _no_servers(option_set: OptionSet) -> list[LintFinding]:
    if option_set.domain_name_servers:
        return []
    return [
        LintFinding(
            LintCode.NO_SERVERS,
            LintSeverity.ERROR,
            f"{option_set.option_set_id} names no domain-name-servers: Lambdas in a VPC using it "
            "cannot resolve any name.",
        )
    ]


def _bad_addresses(
    option_set: OptionSet, allowed_networks: Sequence[IpNetwork]
) -> list[LintFinding]:
    """Custom servers that are not IP addresses, or at addresses no DNS server can answer on."""
    name = option_set.option_set_id
    findings: list[LintFinding] = []
    for server in _custom_servers(option_set):
        address = _address(server)
        if address is None:
            findings.append(
                LintFinding(
                    LintCode.INVALID_ADDRESS,
                    LintSeverity.ERROR,
                    f"{name} names {server!r}, which is neither an IP address nor "
                    f"{AMAZON_PROVIDED_DNS}.",
                )
            )
            continue
        reason = _never_serves(address)
        if reason and not any(address in network for network in allowed_networks):
            findings.append(
                LintFinding(
                    LintCode.UNUSABLE_ADDRESS,
                    LintSeverity.ERROR,
                    f"{name} names {server}, {reason}: no DNS server can answer there.",
                )
            )
    return findings


def _nobody_at_address(
    option_set: OptionSet,
    vpc_cidrs: Mapping[str, str],
    held_addresses: Mapping[str, Collection[str]] | None,
    held_elsewhere: Mapping[str, Collection[str]],
) -> list[LintFinding]:
    """Servers inside a watched VPC that no network interface of that VPC holds (when the facts
    are given); an interface of another VPC holding the same address is named, not counted."""
    if held_addresses is None or not vpc_cidrs:
        return []
    findings = []
    for server, inside in addresses_to_look_up(option_set, vpc_cidrs).items():
        nobody = [vpc_id for vpc_id in inside if server not in held_addresses.get(vpc_id, ())]
        if not nobody:
            continue
        others = sorted(
            {v for v in held_elsewhere.get(server, ()) if v not in nobody}
            | {v for v, held in held_addresses.items() if server in held and v not in nobody}
        )
        findings.append(
            LintFinding(
                LintCode.NOBODY_AT_ADDRESS,
                LintSeverity.ERROR,
                f"{option_set.option_set_id} names {server}, inside {', '.join(nobody)}, but no "
                f"network interface {_held_elsewhere(nobody, others)}: nothing is there to answer.",
            )
        )
    return findings


def _held_elsewhere(vpc_ids: Sequence[str], others: Sequence[str]) -> str:
    """Nobody holds the address where it is, and who holds it elsewhere: another VPC's interface
    with the same address is not reached at this VPC's address."""
    if not others:
        return "holds that address"
    held_by = (
        f"an interface in {others[0]} (another VPC)"
        if len(others) == 1
        else f"interfaces in {', '.join(others)} (other VPCs)"
    )
    return (
        f"there holds that address; it is held by {held_by}, not reached at that address from "
        f"{', '.join(vpc_ids)}"
    )


def _too_many_servers(option_set: OptionSet) -> list[LintFinding]:
    name = option_set.option_set_id
    servers = option_set.domain_name_servers
    if len(servers) > EC2_MAX_SERVERS:
        return [
            LintFinding(
                LintCode.TOO_MANY_SERVERS,
                LintSeverity.ERROR,
                f"{name} names {len(servers)} servers; EC2 accepts at most {EC2_MAX_SERVERS} "
                f"and glibc's resolver reads only the first {GLIBC_MAX_SERVERS}.",
            )
        ]
    if len(servers) > GLIBC_MAX_SERVERS:
        return [
            LintFinding(
                LintCode.TOO_MANY_SERVERS,
                LintSeverity.WARNING,
                f"{name} names {len(servers)} servers; glibc's resolver reads only the first "
                f"{GLIBC_MAX_SERVERS}, so {servers[-1]} is never asked by most clients.",
            )
        ]
    return []


def _amazon_mixed_with_custom(option_set: OptionSet) -> list[LintFinding]:
    if AMAZON_PROVIDED_DNS not in option_set.domain_name_servers or not _custom_servers(option_set):
        return []
    return [
        LintFinding(
            LintCode.AMAZON_MIXED_WITH_CUSTOM,
            LintSeverity.WARNING,
            f"{option_set.option_set_id} mixes {AMAZON_PROVIDED_DNS} with custom servers: the "
            "order in which they are asked is not defined, so names may resolve differently "
            "from call to call.",
        )
    ]


def _ipv6_only(option_set: OptionSet) -> list[LintFinding]:
    """Only IPv6 custom servers (the Amazon resolver's fd00:ec2::253 aside): a Lambda sends IPv6
    only from dual-stack subnets with Ipv6AllowedForDualStack (Lambda API, VpcConfig), and
    CloudFormation documents domain-name-servers as IPv4 addresses (AWS::EC2::DHCPOptions)."""
    parsed = [_address(server) for server in _custom_servers(option_set)]
    addresses = [a for a in parsed if a is not None]
    if not parsed or len(addresses) < len(parsed) or any(a.version == 4 for a in addresses):
        return []
    if any(a in AMAZON_RESOLVER_ADDRESSES or _never_serves(a) for a in addresses):
        return []  # the Amazon resolver, or already an UNUSABLE_ADDRESS error
    servers = ", ".join(str(a) for a in addresses)
    return [
        LintFinding(
            LintCode.IPV6_ONLY_SERVERS,
            LintSeverity.WARNING,
            f"{option_set.option_set_id} names only IPv6 DNS servers ({servers}): Lambda "
            "functions send IPv6 only from dual-stack subnets with Ipv6AllowedForDualStack, and "
            "AWS documents domain-name-servers as IPv4 addresses; add an IPv4 server, or verify "
            "with a canary in a dual-stack subnet.",
        )
    ]


def _several_domain_names(option_set: OptionSet) -> list[LintFinding]:
    domain = option_set.domain_name or ""
    if len(domain.split()) <= 1:
        return []
    return [
        LintFinding(
            LintCode.SEVERAL_DOMAIN_NAMES,
            LintSeverity.WARNING,
            f"{option_set.option_set_id} has several space-separated domain names ({domain!r}): "
            "some operating systems take the whole string as one malformed name.",
        )
    ]


# The domains a VPC_DNS_TO_FORWARD finding names; the rest are counted.
DOMAINS_NAMED = 5


def _counted(count: int, what: str) -> str:
    return f"{count} {what}" if count == 1 else f"{count} {what}s"


def vpc_dns_to_forward(
    option_set: OptionSet, cidr_block: str, discovery: Discovery
) -> list[LintFinding]:
    """Custom servers in a VPC with private hosted zones or Resolver rules: only the Amazon
    resolver (the VPC's CIDR base + 2) answers those zones and applies those rules, so the
    custom servers must forward their domains there (issue-free when they do; the canaries
    verify it). Rules are counted from the discovered probes: when the discovery cap dropped
    some, the count is a lower bound and says so."""
    amazon = expected_nameservers([AMAZON_PROVIDED_DNS], cidr_block)[0]
    custom = [
        server
        for server in _custom_servers(option_set)
        if server != amazon
        and ((address := _address(server)) is None or address not in AMAZON_RESOLVER_ADDRESSES)
    ]
    rules = {
        p.source.id: p.source.domain
        for p in discovery.probes
        if p.source.kind in (FORWARD_RULE, SYSTEM_RULE)
    }
    zones = {zone.id: zone.name for zone in discovery.zones}
    if not custom or not (zones or rules):
        return []
    parts = [_counted(len(zones), "private hosted zone")] if zones else []
    if rules:
        bound = "at least " if discovery.dropped else ""
        parts.append(bound + _counted(len(rules), "resolver rule"))
    domains = sorted(set(zones.values()) | set(rules.values()))
    named = ", ".join(domains[:DOMAINS_NAMED])
    if len(domains) > DOMAINS_NAMED:
        named += f" and {len(domains) - DOMAINS_NAMED} more"
    return [
        LintFinding(
            LintCode.VPC_DNS_TO_FORWARD,
            LintSeverity.WARNING,
            f"{discovery.vpc_id} has {' and '.join(parts)} that custom DNS servers must forward "
            f"to {amazon} (its Amazon resolver): {named}. {option_set.option_set_id} names "
            f"{', '.join(custom)}: unless they forward these domains there, Lambdas in "
            f"{discovery.vpc_id} cannot resolve them.",
        )
    ]
