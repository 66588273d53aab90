"""The VPC's own DNS in a page's words (pure): a zone disassociated from the VPC, the DNS
Firewall rule that blocks a probe's name, and the outbound endpoints' health document.

Zone names and ids, firewall rule group ids, rule names and domain list ids come from the VPC's
DNS configuration (shared zones and rule groups are others' text), the actor from CloudTrail:
the chat renders these lines through `escape` (`escape.chat_markdown`); e-mail and the JSON
document show them as read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dns_watchdog.domain.discovery import DISCOVERY_EVENTS, LostZone
from dns_watchdog.domain.dns_causes import DnsCauses, FirewallBlock
from dns_watchdog.domain.endpoint_health import EndpointHealth
from dns_watchdog.domain.request import ChangeContext

# A page names at most this many of each list (zones gone, firewall blocks, the diagnosis's
# sources); the rest are counted: the lists come from the VPC's configuration, which has no
# useful upper bound, and a page must stay within SNS's 256 KiB.
MAX_LISTED = 10


def _as_written(text: str) -> str:
    return text


def more_line(omitted: int, what: str) -> list[str]:
    """The line that counts what a capped list left out (none when nothing was)."""
    return [f"... and {omitted} more {what}"] if omitted > 0 else []


def lost_zone_line(
    zone: LostZone, change: ChangeContext | None, escape: Callable[[str], str] = _as_written
) -> str:
    """One zone gone from the VPC, who did it when the check's change says so, and what that
    means for the probes."""
    sentence = escape(zone.sentence())
    if change is not None and change.event_name in DISCOVERY_EVENTS:
        who = escape(change.actor_arn or "an unknown caller")
        what = f"{escape(change.event_name)} at {escape(change.event_time)}"
        sentence += f" by {who} ({what})"
    else:
        sentence += " (found when the VPC's DNS was read again; CloudTrail names who)"
    return f"Zone change: {sentence}. Its names are no longer probed: not a DNS failure."


def firewall_line(block: FirewallBlock, escape: Callable[[str], str] = _as_written) -> str:
    return (
        f"Cause: {escape(block.sentence())}: the Amazon resolver answers it with the block "
        "response, whatever the option set."
    )


def cause_lines(
    causes: DnsCauses, change: ChangeContext | None, escape: Callable[[str], str] = _as_written
) -> list[str]:
    """Every line the causes add to a page (zones first, then firewall blocks; at most
    MAX_LISTED of each, the rest counted)."""
    zones, blocks = causes.lost_zones, causes.firewall
    lines = [lost_zone_line(zone, change, escape) for zone in zones[:MAX_LISTED]]
    lines += more_line(len(zones) - MAX_LISTED, "zones disassociated from the VPC")
    lines += [firewall_line(block, escape) for block in blocks[:MAX_LISTED]]
    return lines + more_line(len(blocks) - MAX_LISTED, "names the DNS Firewall blocks")


def causes_document(causes: DnsCauses, change: ChangeContext | None) -> dict[str, Any]:
    """The causes in the alert's JSON document (`lost_zones`, `firewall_blocks`)."""
    by = None
    if change is not None and change.event_name in DISCOVERY_EVENTS:
        by = change.actor_arn
    return {
        "lost_zones": [
            {
                "zone_id": zone.id,
                "zone_name": zone.name,
                "vpc_id": zone.vpc_id,
                "disassociated_by": by,
                "sentence": zone.sentence(),
            }
            for zone in causes.lost_zones[:MAX_LISTED]
        ],
        "lost_zones_omitted": max(0, len(causes.lost_zones) - MAX_LISTED),
        "firewall_blocks": [
            {
                "name": block.name,
                "type": block.qtype,
                "rule_group_id": block.rule.group_id,
                "rule_name": block.rule.name or None,
                "domain_list_id": block.rule.domain_list or None,
                "block_response": block.rule.block_response,
                "via": block.rule.via,
                "sentence": block.sentence(),
            }
            for block in causes.firewall[:MAX_LISTED]
        ],
        "firewall_blocks_omitted": max(0, len(causes.firewall) - MAX_LISTED),
    }


def endpoints_document(healths: tuple[EndpointHealth, ...] | None) -> list[dict[str, Any]] | None:
    """The outbound endpoints' health in the JSON document (None: not read for this alert)."""
    if healths is None:
        return None
    return [
        {
            "endpoint_id": health.endpoint_id,
            "signal": health.signal,
            "status": health.status or None,
            "status_message": health.status_message or None,
            "interfaces": health.interfaces,
            "healthy_interfaces": health.healthy_interfaces,
            "capacity_status": health.capacity_status,
            "unread": health.unread or None,
        }
        for health in healths
    ]
