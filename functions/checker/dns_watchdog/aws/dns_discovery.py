"""Route 53, Route 53 Resolver, Route 53 Profiles and EC2: what one VPC's DNS is made of.

`DnsDiscovery.read(vpc_id)` reads, in the VPC's own account and region (the place's clients):

- private hosted zones associated with the VPC (`ListHostedZonesByVPC`, shared zones of other
  accounts included), and for each zone kept by the choice one existing record
  (`ListResourceRecordSets`, at most two pages): the first non-apex A, AAAA or CNAME record in
  Route 53's own order (names sorted), probed as its type; else the zone's SOA at its apex;
- Resolver rules associated with the VPC (`ListResolverRuleAssociations` filtered on the VPC,
  `GetResolverRule` for each): FORWARD and SYSTEM rules, each probed as the SOA of its domain
  (every resolvable domain answers an SOA question with NOERROR, at its apex with the record,
  below it with no data: no guessed host name can be missing), FORWARD ones with their targets;
- Route 53 Profiles associated with the VPC (`ListProfileAssociations` on the VPC,
  `ListProfileResourceAssociations` per profile): their zones (named from the zone's SOA record),
  rules and firewall rule groups count the same, with the profile as `via`;
- interface endpoints with private DNS (`DescribeVpcEndpoints`): the endpoint's private DNS name
  (from its DNS entries; for an AWS service without one listed, `<service>.<region>.amazonaws.com`);
- DNS Firewall rule groups associated with the VPC (`ListFirewallRuleGroupAssociations`,
  `ListFirewallRules`, `ListFirewallDomains`): ALLOW, BLOCK and ALERT rules with their domains.

A read AWS refuses or fails (a zone or rule shared from another account and not readable here,
throttling after botocore's retries, a service not offered in the region) makes that part
`Undetermined` with the reason: never healthy, never fatal to the check. Errors that say the
checker's own credentials are unusable raise, as everywhere (aws/calls.py).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.aws.calls import AWS_CALL_ERRORS, CHECKER_CREDENTIAL_ERRORS, read_error
from dns_watchdog.domain.discovery import (
    ENDPOINT,
    FORWARD_RULE,
    MAX_RULE_TARGETS,
    PRIVATE_ZONE,
    SYSTEM_RULE,
    DiscoveredProbe,
    FirewallRule,
    Found,
    ProbeSource,
    Undetermined,
    Zone,
    choose,
    dns_name,
    source_id,
)

# The operations this adapter calls, per service (member clients are cut to them: aws/sessions.py).
ROUTE53_OPERATIONS = frozenset({"ListHostedZonesByVPC", "ListResourceRecordSets"})
RESOLVER_OPERATIONS = frozenset(
    {
        "ListResolverRuleAssociations",
        "GetResolverRule",
        "ListFirewallRuleGroupAssociations",
        "ListFirewallRules",
        "ListFirewallDomains",
    }
)
PROFILES_OPERATIONS = frozenset({"ListProfileAssociations", "ListProfileResourceAssociations"})
DISCOVERY_EC2_OPERATIONS = frozenset({"DescribeVpcEndpoints"})

# Pages read of one zone's records while looking for a non-apex name (then: the apex SOA).
RECORD_PAGES = 2
RECORDS_PER_PAGE = "100"
# Firewall domains kept per VPC, all lists together (each at most 255 characters): keeps the
# stored state item far below DynamoDB's 400 KB. A list cut short is `Undetermined`.
MAX_FIREWALL_DOMAINS = 1000
# Zones that come through profiles are read one call each to learn their names: at most these.
MAX_PROFILE_ZONES = 50
_PROBED_RECORD_TYPES = ("A", "AAAA", "CNAME")
_SERVICE_NAME = re.compile(r"com\.amazonaws\.([a-z0-9-]+)\.([a-z0-9-]+)")
_RESOURCE_TYPES = {
    "AWS::Route53::HostedZone": "zone",
    "AWS::Route53Resolver::ResolverRule": "rule",
    "AWS::Route53Resolver::FirewallRuleGroup": "firewall",
}
_T = TypeVar("_T")


class _Refused(Exception):
    """One part could not be read (carried to the part's `Undetermined`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Reading:
    probes: list[DiscoveredProbe] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)
    firewall: list[FirewallRule] = field(default_factory=list)
    undetermined: list[Undetermined] = field(default_factory=list)
    # Firewall rule groups to read: (group id, association priority, profile id).
    groups: list[tuple[str, int, str | None]] = field(default_factory=list)
    domains_kept: int = 0
    # FORWARD rules' outbound endpoints (ResolverEndpointId).
    outbound_endpoints: list[str] = field(default_factory=list)

    def found(self) -> Found:
        return Found(
            tuple(self.probes),
            tuple(self.zones),
            tuple(self.firewall),
            tuple(self.undetermined),
            tuple(self.outbound_endpoints),
        )


class DnsDiscovery:
    """Reads one place's VPC DNS configuration (clients injectable; see the module docstring)."""

    def __init__(
        self, *, route53: Any, resolver: Any, profiles: Any, ec2: Any, region: str
    ) -> None:
        self._route53 = route53
        self._resolver = resolver
        self._profiles = profiles
        self._ec2 = ec2
        self._region = region

    def read(self, vpc_id: str, cap: int) -> Found:
        """Everything discovered for `vpc_id`, zones' records read for the probes `cap` keeps."""
        reading = _Reading()
        self._part(reading, "zones", vpc_id, lambda: self._zones(reading, vpc_id))
        self._part(reading, "rules", vpc_id, lambda: self._rules(reading, vpc_id))
        self._part(reading, "profiles", vpc_id, lambda: self._profiles_of(reading, vpc_id))
        self._part(reading, "endpoints", vpc_id, lambda: self._endpoints(reading, vpc_id))
        self._part(reading, "firewall", vpc_id, lambda: self._firewall_groups(reading, vpc_id))
        for group_id, group_priority, via in reading.groups:
            self._part(
                reading,
                "firewall",
                group_id,
                partial(self._firewall_rules, reading, group_id, group_priority, via),
            )
        self._records_of_chosen(reading, cap)
        return reading.found()

    # --- the parts ---------------------------------------------------------------------------

    def _part(self, reading: _Reading, part: str, part_id: str, read: Callable[[], None]) -> None:
        try:
            read()
        except _Refused as refused:
            reading.undetermined.append(Undetermined(part, part_id, refused.reason))

    def _call(self, call: Callable[..., _T], what: str, **params: Any) -> _T:
        """One AWS call; an error other than the checker's own credentials becomes _Refused."""
        try:
            return call(**params)
        except AWS_CALL_ERRORS as exc:
            error = read_error(exc)
            if error.code in CHECKER_CREDENTIAL_ERRORS:
                raise
            raise _Refused(f"{what}: {error}") from exc
        except (ClientError, BotoCoreError) as exc:  # e.g. a parameter botocore refuses
            raise _Refused(f"{what}: {read_error(exc)}") from exc

    def _pages(
        self,
        call: Callable[..., dict[str, Any]],
        what: str,
        items: str,
        limit: int | None = None,
        **params: Any,
    ) -> list[Any]:
        """Every item of a NextToken-paginated list (all pages read before any item is used:
        a list's pages are not interleaved with the calls its items lead to)."""
        found: list[Any] = []
        token: str | None = None
        while True:
            page = self._call(call, what, **params, **({"NextToken": token} if token else {}))
            found += page.get(items) or ()
            token = page.get("NextToken")
            if not token or (limit is not None and len(found) >= limit):
                return found

    def _zones(self, reading: _Reading, vpc_id: str) -> None:
        for summary in self._pages(
            self._route53.list_hosted_zones_by_vpc,
            "ListHostedZonesByVPC",
            "HostedZoneSummaries",
            VPCId=vpc_id,
            VPCRegion=self._region,
        ):
            zone_id, name = source_id(summary.get("HostedZoneId")), dns_name(summary.get("Name"))
            if zone_id is None or name is None:
                continue  # not a zone name a probe can carry (untrusted text)
            reading.zones.append(Zone(zone_id, name))
            reading.probes.append(_apex(zone_id, name, None))

    def _rules(self, reading: _Reading, vpc_id: str) -> None:
        for association in self._pages(
            self._resolver.list_resolver_rule_associations,
            "ListResolverRuleAssociations",
            "ResolverRuleAssociations",
            Filters=[{"Name": "VPCId", "Values": [vpc_id]}],
        ):
            if association.get("Status") in ("DELETING", "FAILED"):
                continue
            rule_id = source_id(association.get("ResolverRuleId"))
            if rule_id is not None:
                self._part(reading, "rule", rule_id, partial(self._rule, reading, rule_id, None))

    def _rule(self, reading: _Reading, rule_id: str, via: str | None) -> None:
        if rule_id.startswith("rslvr-autodefined-"):
            return  # AWS's own rules (reverse lookups, the internet resolver)
        rule = self._call(
            self._resolver.get_resolver_rule, f"GetResolverRule {rule_id}", ResolverRuleId=rule_id
        )["ResolverRule"]
        domain = dns_name(rule.get("DomainName"))
        kind = {"FORWARD": FORWARD_RULE, "SYSTEM": SYSTEM_RULE}.get(str(rule.get("RuleType")))
        if domain is None or kind is None:
            return  # a rule for every name ("."), a recursive or delegation rule
        targets = _targets(rule.get("TargetIps") or ()) if kind == FORWARD_RULE else ()
        endpoint = source_id(rule.get("ResolverEndpointId")) if kind == FORWARD_RULE else None
        if endpoint is not None:
            reading.outbound_endpoints.append(endpoint)
        source = ProbeSource(kind, rule_id, domain, via)
        reading.probes.append(DiscoveredProbe(domain, "SOA", source, targets=targets))

    def _profiles_of(self, reading: _Reading, vpc_id: str) -> None:
        for association in self._pages(
            self._profiles.list_profile_associations,
            "ListProfileAssociations",
            "ProfileAssociations",
            ResourceId=vpc_id,
        ):
            profile_id = source_id(association.get("ProfileId"))
            if profile_id is None or association.get("Status") in ("DELETING", "FAILED"):
                continue
            self._part(reading, "profile", profile_id, partial(self._profile, reading, profile_id))

    def _profile(self, reading: _Reading, profile_id: str) -> None:
        zones_read = 0
        for resource in self._pages(
            self._profiles.list_profile_resource_associations,
            f"ListProfileResourceAssociations {profile_id}",
            "ProfileResourceAssociations",
            ProfileId=profile_id,
        ):
            kind = _RESOURCE_TYPES.get(str(resource.get("ResourceType")))
            resource_id = source_id(str(resource.get("ResourceArn", "")).rsplit("/", 1)[-1])
            if kind is None or resource_id is None or resource.get("Status") == "DELETING":
                continue
            if kind == "rule":
                self._part(
                    reading,
                    "rule",
                    resource_id,
                    partial(self._rule, reading, resource_id, profile_id),
                )
            elif kind == "firewall":
                priority = _priority(resource.get("ResourceProperties"))
                reading.groups.append((resource_id, priority, profile_id))
            elif zones_read < MAX_PROFILE_ZONES:
                zones_read += 1
                self._part(
                    reading,
                    "zone",
                    resource_id,
                    partial(self._profile_zone, reading, resource_id, profile_id),
                )
            else:
                reading.undetermined.append(
                    Undetermined("zone", resource_id, f"more than {MAX_PROFILE_ZONES} zones")
                )

    def _profile_zone(self, reading: _Reading, zone_id: str, via: str) -> None:
        records = self._record_page(zone_id, None)
        apex = next((dns_name(r.get("Name")) for r in records if r.get("Type") == "SOA"), None)
        if apex is None:
            raise _Refused(f"zone {zone_id} listed no SOA record")
        reading.zones.append(Zone(zone_id, apex, via))
        picked = _pick_record(zone_id, apex, via, records)
        reading.probes.append(picked or _apex(zone_id, apex, via))

    def _endpoints(self, reading: _Reading, vpc_id: str) -> None:
        for endpoint in self._pages(
            self._ec2.describe_vpc_endpoints,
            "DescribeVpcEndpoints",
            "VpcEndpoints",
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "vpc-endpoint-type", "Values": ["Interface"]},
            ],
        ):
            if not endpoint.get("PrivateDnsEnabled") or endpoint.get("State") != "available":
                continue
            endpoint_id = source_id(endpoint.get("VpcEndpointId"))
            name = _private_name(endpoint, self._region)
            if endpoint_id is not None and name is not None:
                source = ProbeSource(ENDPOINT, endpoint_id, name)
                reading.probes.append(DiscoveredProbe(name, "A", source))

    def _firewall_groups(self, reading: _Reading, vpc_id: str) -> None:
        for association in self._pages(
            self._resolver.list_firewall_rule_group_associations,
            "ListFirewallRuleGroupAssociations",
            "FirewallRuleGroupAssociations",
            VpcId=vpc_id,
        ):
            group_id = source_id(association.get("FirewallRuleGroupId"))
            if group_id is not None and association.get("Status") != "DELETING":
                reading.groups.append((group_id, int(association.get("Priority") or 0), None))

    def _firewall_rules(
        self, reading: _Reading, group_id: str, group_priority: int, via: str | None
    ) -> None:
        for rule in self._pages(
            self._resolver.list_firewall_rules,
            f"ListFirewallRules {group_id}",
            "FirewallRules",
            FirewallRuleGroupId=group_id,
        ):
            list_id = source_id(rule.get("FirewallDomainListId"))
            if list_id is None or rule.get("Action") not in ("ALLOW", "BLOCK", "ALERT"):
                continue  # DNS Firewall Advanced rules have no domain list
            domains = self._domains(reading, list_id)
            reading.firewall.append(
                FirewallRule(
                    group_id=group_id,
                    group_priority=group_priority,
                    priority=int(rule.get("Priority") or 0),
                    action=str(rule["Action"]),
                    domains=domains,
                    block_response=rule.get("BlockResponse"),
                    qtype=rule.get("Qtype") or None,
                    name=str(rule.get("Name") or "")[:64],
                    via=via,
                    domain_list=list_id,
                )
            )

    def _domains(self, reading: _Reading, list_id: str) -> tuple[str, ...]:
        room = MAX_FIREWALL_DOMAINS - reading.domains_kept
        try:
            listed = self._pages(
                self._resolver.list_firewall_domains,
                f"ListFirewallDomains {list_id}",
                "Domains",
                limit=room + 1,
                FirewallDomainListId=list_id,
            )
        except _Refused as refused:  # e.g. an AWS managed list, which cannot be listed
            reading.undetermined.append(Undetermined("firewall", list_id, refused.reason))
            return ()
        if len(listed) > room:
            reason = f"more than {MAX_FIREWALL_DOMAINS} firewall domains in all: list cut short"
            reading.undetermined.append(Undetermined("firewall", list_id, reason))
        domains = [d.lower() for d in listed[:room] if isinstance(d, str) and len(d) <= 255]
        reading.domains_kept += len(domains)
        return tuple(domains)

    # --- the zones' records -----------------------------------------------------------------

    def _records_of_chosen(self, reading: _Reading, cap: int) -> None:
        """Read records for the directly associated zones the choice keeps (the choice orders
        zones by name and id, so a record never changes which zones are kept)."""
        chosen, _ = choose(reading.probes, cap)
        for probe in chosen:
            source = probe.source
            if source.kind != PRIVATE_ZONE or source.via is not None or probe.type != "SOA":
                continue
            index = reading.probes.index(probe)
            try:
                picked = self._record(source.id, source.domain)
            except _Refused as refused:
                reading.undetermined.append(Undetermined("zone", source.id, refused.reason))
                continue
            if picked is not None:
                reading.probes[index] = picked

    def _record(self, zone_id: str, apex: str) -> DiscoveredProbe | None:
        start: tuple[str, str] | None = None
        for _ in range(RECORD_PAGES):
            page = self._call(
                self._route53.list_resource_record_sets,
                f"ListResourceRecordSets {zone_id}",
                HostedZoneId=zone_id,
                MaxItems=RECORDS_PER_PAGE,
                **({"StartRecordName": start[0], "StartRecordType": start[1]} if start else {}),
            )
            picked = _pick_record(zone_id, apex, None, page.get("ResourceRecordSets") or ())
            if picked is not None or not page.get("IsTruncated"):
                return picked
            start = (page["NextRecordName"], page["NextRecordType"])
        return None

    def _record_page(self, zone_id: str, start: str | None) -> list[dict[str, Any]]:
        page = self._call(
            self._route53.list_resource_record_sets,
            f"ListResourceRecordSets {zone_id}",
            HostedZoneId=zone_id,
            MaxItems=RECORDS_PER_PAGE,
            **({"StartRecordName": start} if start else {}),
        )
        return list(page.get("ResourceRecordSets") or ())


def _apex(zone_id: str, name: str, via: str | None) -> DiscoveredProbe:
    return DiscoveredProbe(name, "SOA", ProbeSource(PRIVATE_ZONE, zone_id, name, via))


def _pick_record(zone_id: str, apex: str, via: str | None, records: Any) -> DiscoveredProbe | None:
    """The first record (Route 53's order) of a probed type below the apex, or None."""
    for record in records:
        name = dns_name(record.get("Name"))
        rdtype = record.get("Type")
        if name is None or rdtype not in _PROBED_RECORD_TYPES or name == apex:
            continue
        if name.endswith("." + apex):
            return DiscoveredProbe(name, rdtype, ProbeSource(PRIVATE_ZONE, zone_id, apex, via))
    return None


def _targets(targets: Any) -> tuple[str, ...]:
    """A forward rule's target addresses the canary can ask over plain DNS on port 53."""
    kept: list[str] = []
    for target in targets:
        if target.get("Protocol") not in (None, "Do53") or target.get("Port") not in (None, 53):
            continue
        for key in ("Ip", "Ipv6"):
            try:
                kept.append(str(ipaddress.ip_address(target.get(key) or "")))
            except ValueError:
                continue
    return tuple(dict.fromkeys(kept))[:MAX_RULE_TARGETS]


def _private_name(endpoint: dict[str, Any], region: str) -> str | None:
    """An endpoint's private DNS name: the first (sorted) of its DNS entries that is not the
    endpoint's own `vpce-` name; else an AWS service's usual name."""
    names = sorted(
        name
        for entry in endpoint.get("DnsEntries") or ()
        if (name := dns_name(entry.get("DnsName"))) is not None and not name.startswith("vpce-")
    )
    if names:
        return names[0]
    match = _SERVICE_NAME.fullmatch(str(endpoint.get("ServiceName", "")))
    if match is None or match.group(1) != region:
        return None
    return dns_name(f"{match.group(2)}.{region}.amazonaws.com")


def _priority(properties: Any) -> int:
    """A firewall rule group's priority in a profile (its association's ResourceProperties)."""
    try:
        value = json.loads(properties or "{}").get("priority", 0)
        return int(value)
    except (ValueError, TypeError, AttributeError):
        return 0
