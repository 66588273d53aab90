"""The VPC's own DNS, discovered: which names to probe, where, what a DNS Firewall blocks (pure).

`aws/dns_discovery.py` reads what AWS says about one VPC (private hosted zones, Resolver rules,
Route 53 Profiles, interface endpoints with private DNS, DNS Firewall rule groups) into
`DiscoveredProbe`s, `FirewallRule`s and `Undetermined` parts; `discovered` turns them into one
`Discovery`: the probes chosen (a stable choice, at most a cap, the dropped ones counted), the
zones seen, the firewall's rules. It is stored with the VPC's state (`to_item` / `from_item`)
and reused until `is_stale`; `plan_probes` puts it into the canary's plan after the configured
probes; `blocking_firewall` says which firewall rule blocks a name; `lost_zones` names the zones
that were associated at the last discovery and are not any more.

Everything here came from AWS APIs whose text other accounts write (zone, rule and record names
of shared zones and rules): names are held to DNS name syntax and ids to a short id alphabet
before they are kept (docs/security.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

# The kinds of source a probe has (docs/canary-contract.md); `configured` is a ProbeNames name.
PRIVATE_ZONE = "private_zone"
FORWARD_RULE = "forward_rule"
SYSTEM_RULE = "system_rule"
ENDPOINT = "endpoint"
FIREWALL = "firewall"
CONFIGURED = "configured"
# The order kinds take turns in when the cap drops probes (zones first: the commonest outage).
_KIND_ORDER = (PRIVATE_ZONE, FORWARD_RULE, SYSTEM_RULE, ENDPOINT)

# The plan's source.id: at most 64 of these characters (the agreed canary contract).
_SOURCE_ID = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_MAX_NAME = 253
# Route 53 Resolver: at most 6 target addresses per rule (the canary probes each as a hop).
MAX_RULE_TARGETS = 6
# The firewall's block responses, as the canary's plan can expect them: a NODATA answer and an
# OVERRIDE (a CNAME to the override domain) both come back as NOERROR.
_BLOCK_RCODE = {"NXDOMAIN": "NXDOMAIN", "NODATA": "NOERROR", "OVERRIDE": "NOERROR"}
# Bump when the stored shape changes: an item of another version is discovered again.
ITEM_VERSION = 1


def dns_name(text: object) -> str | None:
    """`text` as a lower-case DNS host name without the final dot, or None when it is not one
    (escapes such as Route 53's `\\052` for `*`, wildcards, empty labels, over-long names)."""
    if not isinstance(text, str):
        return None
    name = text.strip().removesuffix(".").lower()
    if not name or len(name) > _MAX_NAME:
        return None
    if not all(_LABEL.fullmatch(label) for label in name.split(".")):
        return None
    return name


def source_id(text: object) -> str | None:
    """An AWS id as the plan may carry it, or None."""
    return text if isinstance(text, str) and _SOURCE_ID.fullmatch(text) else None


@dataclass(frozen=True)
class ProbeSource:
    """Where a discovered probe came from: `kind`, the AWS id, its domain, the profile it came
    through (`via`, a Route 53 Profile id) if any."""

    kind: str
    id: str
    domain: str
    via: str | None = None

    def as_plan(self) -> dict[str, str]:
        shown = {"kind": self.kind, "id": self.id, "domain": self.domain}
        if self.via:
            shown["via"] = self.via
        return shown

    def label(self) -> str:
        """Short words for people: `phz:Z123 corp.internal`, `rule:rslvr-rr-1 onprem.example`."""
        prefix = {PRIVATE_ZONE: "phz", FORWARD_RULE: "rule", SYSTEM_RULE: "rule"}.get(
            self.kind, self.kind
        )
        return f"{prefix}:{self.id} {self.domain}"


@dataclass(frozen=True)
class DiscoveredProbe:
    """A name to probe because the VPC's DNS configuration says it must resolve."""

    name: str
    type: str
    source: ProbeSource
    rcode: str = "NOERROR"
    # forward_rule only: the rule's target addresses (the canary asks them directly).
    targets: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The stable order of probes of one kind (never the order an API listed them in)."""
        return (self.source.domain, self.name, self.type, self.source.id)

    def as_plan(self) -> dict[str, Any]:
        """The probe as the canary's plan carries it (docs/canary-contract.md)."""
        probe: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "expect": {"rcode": self.rcode},
            "source": self.source.as_plan(),
        }
        if self.source.kind == FORWARD_RULE and self.targets:
            probe["targets"] = list(self.targets)
        return probe


@dataclass(frozen=True)
class FirewallRule:
    """One DNS Firewall rule of a rule group associated with the VPC, with its domain list.

    Rules are evaluated by the group association's priority, then the rule's priority; the first
    rule whose list matches decides (ALLOW or BLOCK; ALERT only logs and goes on)."""

    group_id: str
    group_priority: int
    priority: int
    action: str
    domains: tuple[str, ...]
    block_response: str | None = None
    # The rule applies to this query type only (None: every type).
    qtype: str | None = None
    name: str = ""
    via: str | None = None
    # The rule's domain list (FirewallDomainListId).
    domain_list: str = ""

    @property
    def order(self) -> tuple[int, int, str]:
        return (self.group_priority, self.priority, self.group_id)

    @property
    def block_rcode(self) -> str:
        return _BLOCK_RCODE.get(self.block_response or "NODATA", "NOERROR")


@dataclass(frozen=True)
class Undetermined:
    """A part discovery could not read (a denied read of a shared zone, a throttled list): the
    checker cannot say what that part needs, so it is never taken as healthy."""

    part: str
    id: str
    reason: str


@dataclass(frozen=True)
class Zone:
    """A private hosted zone associated with the VPC (directly or through a profile)."""

    id: str
    name: str
    via: str | None = None


@dataclass(frozen=True)
class LostZone:
    """A zone the previous discovery had and this one has not: disassociated from the VPC."""

    id: str
    name: str
    vpc_id: str

    def sentence(self) -> str:
        return f"private hosted zone {self.name} ({self.id}) was disassociated from {self.vpc_id}"


@dataclass(frozen=True)
class Found:
    """What the adapter read for one VPC, before the choice."""

    probes: tuple[DiscoveredProbe, ...] = ()
    zones: tuple[Zone, ...] = ()
    firewall: tuple[FirewallRule, ...] = ()
    undetermined: tuple[Undetermined, ...] = ()
    # The Resolver outbound endpoints the VPC's FORWARD rules send their queries through.
    outbound_endpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Discovery:
    """One VPC's discovery as stored with its state and put into its canaries' plans."""

    vpc_id: str
    discovered_at: str
    probes: tuple[DiscoveredProbe, ...] = ()
    # Probes found beyond the cap (not probed), and how many were found in all.
    dropped: int = 0
    zones: tuple[Zone, ...] = ()
    firewall: tuple[FirewallRule, ...] = ()
    undetermined: tuple[Undetermined, ...] = ()
    # Zones the discovery before this one had and this one has not.
    lost_zones: tuple[LostZone, ...] = field(default=())
    # The outbound endpoints of the VPC's FORWARD rules (every rule's, not only the probed ones).
    outbound_endpoints: tuple[str, ...] = ()

    @property
    def determined(self) -> bool:
        """Every part was read: what it says is complete."""
        return not self.undetermined

    def undetermined_parts(self) -> frozenset[str]:
        return frozenset(item.part for item in self.undetermined)

    def to_item(self) -> dict[str, Any]:
        """A JSON-able mapping to store (aws/state.py keeps it as one string attribute)."""
        return {
            "version": ITEM_VERSION,
            "vpc_id": self.vpc_id,
            "discovered_at": self.discovered_at,
            "dropped": self.dropped,
            "probes": [
                {
                    "name": p.name,
                    "type": p.type,
                    "rcode": p.rcode,
                    "source": p.source.as_plan(),
                    "targets": list(p.targets),
                }
                for p in self.probes
            ],
            "zones": [[z.id, z.name, z.via] for z in self.zones],
            "firewall": [
                {
                    "group_id": r.group_id,
                    "group_priority": r.group_priority,
                    "priority": r.priority,
                    "action": r.action,
                    "domains": list(r.domains),
                    "block_response": r.block_response,
                    "qtype": r.qtype,
                    "name": r.name,
                    "via": r.via,
                    "domain_list": r.domain_list,
                }
                for r in self.firewall
            ],
            "undetermined": [[u.part, u.id, u.reason] for u in self.undetermined],
            "lost_zones": [[z.id, z.name, z.vpc_id] for z in self.lost_zones],
            "outbound_endpoints": list(self.outbound_endpoints),
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Discovery | None:
        """A stored discovery, or None when it is of another version or damaged (then the VPC
        is discovered again: a stored item never stops a check)."""
        try:
            if item.get("version") != ITEM_VERSION:
                return None
            return cls(
                vpc_id=str(item["vpc_id"]),
                discovered_at=str(item["discovered_at"]),
                dropped=int(item.get("dropped", 0)),
                probes=tuple(_probe_from(p) for p in item.get("probes", ())),
                zones=tuple(Zone(str(i), str(n), v) for i, n, v in item.get("zones", ())),
                firewall=tuple(_rule_from(r) for r in item.get("firewall", ())),
                undetermined=tuple(
                    Undetermined(str(p), str(i), str(r)) for p, i, r in item.get("undetermined", ())
                ),
                lost_zones=tuple(
                    LostZone(str(i), str(n), str(v)) for i, n, v in item.get("lost_zones", ())
                ),
                outbound_endpoints=tuple(str(e) for e in item.get("outbound_endpoints", ())),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def _probe_from(item: Mapping[str, Any]) -> DiscoveredProbe:
    source = item["source"]
    return DiscoveredProbe(
        name=str(item["name"]),
        type=str(item["type"]),
        rcode=str(item.get("rcode", "NOERROR")),
        source=ProbeSource(
            str(source["kind"]), str(source["id"]), str(source["domain"]), source.get("via")
        ),
        targets=tuple(str(t) for t in item.get("targets", ())),
    )


def _rule_from(item: Mapping[str, Any]) -> FirewallRule:
    return FirewallRule(
        group_id=str(item["group_id"]),
        group_priority=int(item["group_priority"]),
        priority=int(item["priority"]),
        action=str(item["action"]),
        domains=tuple(str(d) for d in item["domains"]),
        block_response=item.get("block_response"),
        qtype=item.get("qtype"),
        name=str(item.get("name", "")),
        via=item.get("via"),
        domain_list=str(item.get("domain_list", "")),
    )


def choose(probes: Iterable[DiscoveredProbe], cap: int) -> tuple[tuple[DiscoveredProbe, ...], int]:
    """At most `cap` probes, the same ones from run to run whatever order the APIs listed them
    in, and how many were dropped.

    One probe per (name, type): a name both a zone and a rule lead to is probed once, as its
    first source in kind order. The kinds then take turns (a zone, a forward rule, a system
    rule, an endpoint, the next zone...), each kind's probes in their stable `key` order, so
    many zones never crowd out every forward rule."""
    by_kind: dict[str, list[DiscoveredProbe]] = {kind: [] for kind in _KIND_ORDER}
    seen: set[tuple[str, str]] = set()
    ordered = sorted(probes, key=lambda p: (_kind_rank(p.source.kind), p.key))
    for probe in ordered:
        if (probe.name, probe.type) in seen:
            continue
        seen.add((probe.name, probe.type))
        by_kind.setdefault(probe.source.kind, []).append(probe)
    chosen: list[DiscoveredProbe] = []
    queues = [list(by_kind[kind]) for kind in by_kind]
    while len(chosen) < cap and any(queues):
        for queue in queues:
            if queue and len(chosen) < cap:
                chosen.append(queue.pop(0))
    return tuple(chosen), len(seen) - len(chosen)


def _kind_rank(kind: str) -> int:
    return _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)


def discovered(
    vpc_id: str,
    found: Found,
    *,
    cap: int,
    at: str,
    before: Discovery | None = None,
) -> Discovery:
    """One VPC's discovery from what was read: the stable choice under `cap`, and the zones
    `before` had that are gone (only when this reading of the zones is complete)."""
    chosen, dropped = choose(found.probes, cap)
    zones = tuple(sorted(set(found.zones), key=lambda z: (z.name, z.id, z.via or "")))
    firewall = tuple(sorted(found.firewall, key=lambda r: r.order))
    result = Discovery(
        vpc_id=vpc_id,
        discovered_at=at,
        probes=chosen,
        dropped=dropped,
        zones=zones,
        firewall=firewall,
        undetermined=tuple(found.undetermined),
        outbound_endpoints=tuple(sorted(set(found.outbound_endpoints))),
    )
    return replace(result, lost_zones=lost_zones(before, result))


# Parts whose reading says which zones the VPC has (a zone missing from an incomplete reading
# may only be unread, not gone).
ZONE_PARTS = frozenset({"zones", "profiles"})


def lost_zones(before: Discovery | None, after: Discovery) -> tuple[LostZone, ...]:
    """The zones `before` had that `after` has not, when `after` read every zone; when nothing
    was lost since, the zones lost at the refresh before are forgotten."""
    if before is None or after.undetermined_parts() & ZONE_PARTS:
        return ()
    now = {zone.id for zone in after.zones}
    gone = {zone.id: zone for zone in before.zones if zone.id not in now}
    return tuple(
        LostZone(zone.id, zone.name, after.vpc_id)
        for zone in sorted(gone.values(), key=lambda z: (z.name, z.id))
    )


def is_stale(discovery: Discovery | None, now: datetime, ttl_s: float) -> bool:
    """Whether a stored discovery must be read again: none, undated, or older than `ttl_s`.

    A discovery with undetermined parts is read again as soon as its TTL is over, like any
    other (denied reads stay denied; asking every sweep would only cost)."""
    if discovery is None:
        return True
    try:
        taken = datetime.fromisoformat(discovery.discovered_at)
    except ValueError:
        return True
    if taken.tzinfo is None or now.tzinfo is None:
        return True
    return (now - taken).total_seconds() >= ttl_s


# --- DNS Firewall ---------------------------------------------------------------------------------


def domain_matches(entry: str, name: str) -> bool:
    """DNS Firewall's match of a domain list entry: `*` matches every name, `*.example.com` the
    names below example.com (not example.com itself), anything else that name alone; letter case
    and a final dot do not matter."""
    entry = entry.strip().lower().removesuffix(".")
    name = name.strip().lower().removesuffix(".")
    if entry == "*":
        return True
    if entry.startswith("*."):
        return name.endswith(entry[1:])
    return name == entry


def blocking_firewall(
    name: str, discovery: Discovery | None, qtype: str = "A"
) -> FirewallRule | None:
    """The DNS Firewall rule that blocks `name` (asked as `qtype`) in this VPC, or None.

    The rules are taken in the firewall's order (association priority, then rule priority); the
    first whose domain list matches decides: BLOCK blocks, ALLOW lets through, ALERT goes on."""
    if discovery is None:
        return None
    for rule in sorted(discovery.firewall, key=lambda r: r.order):
        if rule.qtype and rule.qtype.upper() != qtype.upper():
            continue
        if not any(domain_matches(entry, name) for entry in rule.domains):
            continue
        if rule.action == "BLOCK":
            return rule
        if rule.action == "ALLOW":
            return None
    return None


# --- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedProbes:
    """The plan's probes: the configured ones first, then the discovered ones that fit."""

    probes: tuple[dict[str, Any], ...]
    # Discovered probes left out because the plan was full.
    left_out: int = 0


def plan_probes(
    configured: Sequence[Mapping[str, Any]],
    discovery: Discovery | None,
    *,
    max_probes: int,
    region: str,
) -> PlannedProbes:
    """The configured probes, then the discovered ones, within `max_probes`; every probe the
    VPC's DNS Firewall blocks expects the block response and names the rule group as its source.

    `region` expands `{region}` in configured names for the firewall's match (the canary expands
    it again in the plan)."""
    discovered_probes = discovery.probes if discovery is not None else ()
    room = max(0, max_probes - len(configured))
    kept = discovered_probes[:room]
    probes = [_blocked(dict(probe), discovery, region) for probe in configured]
    probes += [_blocked(probe.as_plan(), discovery, region) for probe in kept]
    return PlannedProbes(tuple(probes), len(discovered_probes) - len(kept))


def _blocked(probe: dict[str, Any], discovery: Discovery | None, region: str) -> dict[str, Any]:
    name = str(probe.get("name", "")).replace("{region}", region)
    rule = blocking_firewall(name, discovery, str(probe.get("type", "A")))
    if rule is None:
        return probe
    domain = dns_name(name) or name
    blocked = {key: value for key, value in probe.items() if key != "targets"}
    blocked["expect"] = {"rcode": rule.block_rcode}
    blocked["source"] = ProbeSource(FIREWALL, rule.group_id, domain, rule.via).as_plan()
    return blocked


def configured_probes(probe_names: str) -> tuple[dict[str, Any], ...]:
    """ProbeNames (`name[/TYPE],...`, the canary's PROBE_NAMES grammar) as plan probes; the
    canary validates each name and expands `{region}`."""
    probes = []
    for entry in probe_names.split(","):
        name, _, rdtype = entry.strip().partition("/")
        if name.strip():
            probes.append({"name": name.strip(), "type": (rdtype.strip() or "A").upper()})
    return tuple(probes)


# --- when to read again ---------------------------------------------------------------------------

# CloudTrail calls (domain/events.py CLOUDTRAIL_CALLS) that change what discovery reads: a check
# they trigger reads the VPC's DNS again at once, whatever the TTL says (the VPC the call names;
# for a change to something VPCs share, every VPC the check covers).
DISCOVERY_EVENTS = frozenset(
    {
        "AssociateVPCWithHostedZone",
        "DisassociateVPCFromHostedZone",
        "AssociateResolverRule",
        "DisassociateResolverRule",
        "UpdateResolverRule",
        "AssociateProfile",
        "DisassociateProfile",
        "AssociateResourceToProfile",
        "DisassociateResourceFromProfile",
        "UpdateProfileResourceAssociation",
        "AssociateFirewallRuleGroup",
        "DisassociateFirewallRuleGroup",
        "UpdateFirewallRuleGroupAssociation",
        "UpdateFirewallDomains",
        "CreateFirewallRule",
        "UpdateFirewallRule",
        "DeleteFirewallRule",
        "CreateVpcEndpoint",
        "ModifyVpcEndpoint",
    }
)


def refreshes_discovery(event_name: str | None, *, changed: bool) -> bool:
    """Whether a check of this event reads the VPC's DNS again at once (`changed`: the check
    comes from a CloudTrail change, not a sweep or manual check of the same name)."""
    return changed and event_name in DISCOVERY_EVENTS
