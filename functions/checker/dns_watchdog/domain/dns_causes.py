"""Causes of a VPC's DNS change that are not its option set (pure): a private hosted zone
disassociated from the VPC, a DNS Firewall rule that blocks a probe's name.

`dns_causes` reads them from the VPC's discovery (domain/discovery.py) and the canaries' evidence:

- lost zones: the zones the discovery read in this check found gone (`Discovery.lost_zones`).
  Their probes left the plan with them, so no canary is asked for their names; the check
  announces the disassociation (INFO while every name the VPC still needs resolves).
- firewall blocks: names the canaries' direct queries to the Amazon resolver got NXDOMAIN or no
  data for, which a BLOCK rule of the VPC's DNS Firewall matches (`blocking_firewall`). When
  every failing name is such a name, the option set is not at fault: no rollback is advised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dns_watchdog.domain.discovery import Discovery, FirewallRule, LostZone, blocking_firewall
from dns_watchdog.domain.judge import CanaryReport, Judgement

# The canary's role for its direct queries to the Amazon resolver, and the outcomes a DNS
# Firewall block gives (NXDOMAIN; NODATA and OVERRIDE come back as NOERROR without the record).
AMAZON_ROLE = "amazon"
BLOCKED_OUTCOMES = frozenset({"NXDOMAIN", "NOANSWER"})


@dataclass(frozen=True)
class FirewallBlock:
    """A probe's name that a BLOCK rule of the VPC's DNS Firewall matches."""

    name: str
    qtype: str
    rule: FirewallRule

    def sentence(self) -> str:
        rule = self.rule
        named = f"rule {rule.name}, " if rule.name else ""
        listed = f"domain list {rule.domain_list}" if rule.domain_list else "its domain list"
        return (
            f"DNS Firewall rule group {rule.group_id} ({named}{listed}) blocks {self.name}"
            f" ({self.qtype})"
        )


@dataclass(frozen=True)
class DnsCauses:
    """What the VPC's own DNS configuration says about this check's evidence."""

    lost_zones: tuple[LostZone, ...] = ()
    firewall: tuple[FirewallBlock, ...] = ()
    # Some failing name is not one the firewall blocks (then the option set may be at fault).
    unexplained: bool = False

    @property
    def firewall_explains(self) -> bool:
        """Every name the canaries failed is one the VPC's DNS Firewall blocks."""
        return bool(self.firewall) and not self.unexplained

    def __bool__(self) -> bool:
        return bool(self.lost_zones or self.firewall)


def blocked_at_amazon(judgement: Judgement) -> tuple[tuple[str, str], ...]:
    """The (name, type) pairs the Amazon resolver answered NXDOMAIN or no data for, where the
    canary expected otherwise (in the order the canaries reported them)."""
    seen: dict[tuple[str, str], None] = {}
    for report in judgement.canaries:
        for result in report.direct:
            if result.role == AMAZON_ROLE and not result.ok and result.outcome in BLOCKED_OUTCOMES:
                seen[(result.name.lower().removesuffix("."), result.type.upper())] = None
    return tuple(seen)


def failing_names(reports: Iterable[CanaryReport]) -> frozenset[tuple[str, str]]:
    """The (name, type) pairs that failed through the canaries' forwarder."""
    return frozenset(
        (probe.name.lower().removesuffix("."), probe.type.upper())
        for report in reports
        for probe in report.probes
        if not probe.ok
    )


def firewall_blocks(judgement: Judgement, discovery: Discovery | None) -> tuple[FirewallBlock, ...]:
    """The names failing at the Amazon resolver that the VPC's DNS Firewall blocks."""
    blocks = []
    for name, qtype in blocked_at_amazon(judgement):
        rule = blocking_firewall(name, discovery, qtype)
        if rule is not None:
            blocks.append(FirewallBlock(name, qtype, rule))
    return tuple(blocks)


def needs_firewall_reading(judgement: Judgement, discovery: Discovery | None) -> bool:
    """Names fail at the Amazon resolver as a firewall block would, and `discovery` names no
    rule for some of them: a newer reading of the firewall may (a rule that started blocking)."""
    blocked = blocked_at_amazon(judgement)
    return bool(blocked) and any(
        blocking_firewall(name, discovery, qtype) is None for name, qtype in blocked
    )


def dns_causes(judgement: Judgement, discovery: Discovery | None, *, read_now: bool) -> DnsCauses:
    """The causes for this check (`read_now`: the discovery was read in this check, so its lost
    zones are news; a stored one's were announced when they were found)."""
    lost = discovery.lost_zones if discovery is not None and read_now else ()
    blocks = firewall_blocks(judgement, discovery)
    blocked = {(block.name, block.qtype) for block in blocks}
    unexplained = bool(failing_names(judgement.canaries) - blocked)
    return DnsCauses(lost_zones=lost, firewall=blocks, unexplained=unexplained)
