"""Discovery of a VPC's own DNS within a run: reuse what the state keeps, read again when stale.

`DiscoveryKeeper.current` gives each VPC's `Discovery` (domain/discovery.py): the one stored with
the VPC's state while it is younger than the TTL and no change event says otherwise, else a fresh
reading (aws/dns_discovery.py) compared with the stored one (a zone gone is a `LostZone`). Built
by flow/places.py only when PrivateDnsDiscovery is on.
"""

from __future__ import annotations

import json
from datetime import datetime

from dns_watchdog.aws.dns_discovery import DnsDiscovery
from dns_watchdog.domain.discovery import Discovery, discovered, is_stale, refreshes_discovery
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.observability import logger


def stored_discovery(state: VpcState | None) -> Discovery | None:
    """The discovery kept with a VPC's state (None: none, or unreadable: read again)."""
    if state is None or not state.discovery:
        return None
    try:
        item = json.loads(state.discovery)
    except ValueError:
        return None
    return Discovery.from_item(item) if isinstance(item, dict) else None


def discovery_text(discovery: Discovery) -> str:
    """How a discovery is kept in the state item (compact JSON)."""
    return json.dumps(discovery.to_item(), separators=(",", ":"), sort_keys=True)


class DiscoveryKeeper:
    """Each VPC's discovery for a run (one reading per VPC at most)."""

    def __init__(self, reader: DnsDiscovery, *, cap: int, ttl_s: float) -> None:
        self._reader = reader
        self._cap = cap
        self._ttl_s = ttl_s

    def current(
        self, vpc_id: str, stored: VpcState | None, request: CheckRequest, now: datetime
    ) -> tuple[Discovery, bool]:
        """The VPC's discovery, and whether it was read now (then the state must keep it)."""
        forced = refreshes_discovery(request.event_name, changed=request.change is not None)
        return self._kept_or_read(vpc_id, stored, now, request.event_name if forced else None)

    def for_preflight(self, vpc_id: str, stored: VpcState | None, now: datetime) -> Discovery:
        """The VPC's discovery for a preflight: the stored one while fresh, else read now (and
        not kept: a preflight stores nothing)."""
        discovery, _ = self._kept_or_read(vpc_id, stored, now, None)
        return discovery

    def _kept_or_read(
        self, vpc_id: str, stored: VpcState | None, now: datetime, forced_by: str | None
    ) -> tuple[Discovery, bool]:
        previous = stored_discovery(stored)
        if previous is not None and forced_by is None and not is_stale(previous, now, self._ttl_s):
            return previous, False
        return self.read_again(vpc_id, previous, now, forced_by), True

    def read_again(
        self, vpc_id: str, previous: Discovery | None, now: datetime, forced_by: str | None
    ) -> Discovery:
        """A fresh reading, compared with `previous` (`forced_by`: what asked for it)."""
        found = self._reader.read(vpc_id, self._cap)
        at = now.isoformat(timespec="seconds").replace("+00:00", "Z")
        fresh = discovered(vpc_id, found, cap=self._cap, at=at, before=previous)
        logger.info(
            "DNS discovered",
            extra={
                "vpc_id": vpc_id,
                "probes": len(fresh.probes),
                "dropped": fresh.dropped,
                "zones": len(fresh.zones),
                "firewall_rules": len(fresh.firewall),
                "undetermined": [f"{u.part} {u.id}: {u.reason}" for u in fresh.undetermined],
                "lost_zones": [zone.sentence() for zone in fresh.lost_zones],
                "forced_by": forced_by,
            },
        )
        return fresh
