"""What the watchdog remembers about a VPC between checks (pure).

`VpcState` is the stored record (the DynamoDB adapter in `aws/state.py` reads and writes it);
`OptionSetHistory` is the one place that says which option sets a VPC had: the current one, the
one before it, and the last one a check verified healthy (the rollback target).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.workloads import Census


@dataclass(frozen=True)
class VpcState:
    vpc_id: str
    verdict: Verdict
    option_set_id: str
    previous_option_set_id: str | None
    incident_open: bool
    incident_started_at: str | None
    last_checked_at: str
    last_event_id: str | None
    unverified_alerted_for: str | None
    # The last option set a check found healthy (verdict OK), and when: the rollback target.
    last_good_option_set_id: str | None = None
    last_good_verified_at: str | None = None
    # When the canary evidence behind this state was gathered (ISO time, milliseconds): evidence
    # older than what is stored never overwrites it (no RECOVERED from a probe before a change).
    observed_at: str | None = None
    # The evidence that first showed the VPC on `option_set_id` (ISO time): an association of
    # that set made later changed nothing (coalesce.py). None in items stored before it existed.
    option_set_since: str | None = None
    # The stored item's version: every write is conditional on the version it was decided from.
    version: int = 0
    # The incident (its start time) self-healing already acted on, or reported in dry run:
    # at most once per incident (healing.py).
    healed_incident: str | None = None
    # "<incident start>#<server>" for each server whose blocking rule an alert of the open
    # incident already named (domain/blocking.py; read and written only through
    # `servers_analysed` and `with_servers_analysed`): at most one analysis per incident and server.
    blocking_analysed: tuple[str, ...] = ()
    # Reachability analyses started for this VPC on `analyses_day` (UTC, "YYYY-MM-DD"): its daily
    # budget (domain/analysis_budget.py; read and written through `analyses_on` and
    # `with_analyses`), kept across incidents.
    analyses_day: str | None = None
    analyses_started: int = 0
    # The VPC's last discovery of its own DNS (domain/discovery.py `Discovery.to_item`, as JSON
    # text; None: never discovered, or discovery is off), reused until its TTL is over.
    discovery: str | None = None
    # The workloads last found in the VPC (domain/workloads.py), read when an alert was about to
    # go out and kept until older than the cache's time to live; None: never read.
    workloads: Census | None = None

    def analyses_on(self, day: str) -> int:
        """The analyses started for this VPC on `day` (0 on any other day)."""
        return self.analyses_started if self.analyses_day == day else 0

    def with_analyses(self, day: str, started: int) -> VpcState:
        """Count `started` more analyses on `day` (a new day starts from 0)."""
        return replace(self, analyses_day=day, analyses_started=self.analyses_on(day) + started)

    def is_newer_than(self, observed_at: str) -> bool:
        """The stored evidence was gathered after `observed_at`."""
        return self.observed_at is not None and self.observed_at > observed_at

    def servers_analysed(self, incident: str | None) -> frozenset[str]:
        """The servers whose blocking rule was already named in `incident`."""
        return frozenset(
            server
            for started, server in map(_split_analysed, self.blocking_analysed)
            if started == (incident or "")
        )

    def with_servers_analysed(self, incident: str | None, servers: Iterable[str]) -> VpcState:
        """Remember `servers` as analysed in `incident`; other incidents' entries are dropped."""
        started = incident or ""
        kept = [key for key in self.blocking_analysed if _split_analysed(key)[0] == started]
        new = [f"{started}{_ANALYSED_SEPARATOR}{server}" for server in servers]
        return replace(self, blocking_analysed=tuple(dict.fromkeys([*kept, *new])))


# `blocking_analysed` entries are "<incident start>#<server>" (the stored format).
_ANALYSED_SEPARATOR = "#"


def _split_analysed(key: str) -> tuple[str, str]:
    started, _, server = key.partition(_ANALYSED_SEPARATOR)
    return started, server


@dataclass(frozen=True)
class OptionSetHistory:
    """The option sets of one VPC as far as the watchdog has seen them."""

    current: str
    previous: str | None = None
    last_good: str | None = None
    last_good_verified_at: str | None = None

    @classmethod
    def after(cls, stored: VpcState | None, current: str) -> OptionSetHistory:
        """The history once the VPC is seen with `current`, from what was stored before."""
        if stored is None:
            return cls(current)
        if stored.option_set_id != current:
            previous: str | None = stored.option_set_id
        else:
            previous = stored.previous_option_set_id
        last_good, verified_at = stored.last_good_option_set_id, stored.last_good_verified_at
        if not last_good and stored.verdict == Verdict.OK:
            # Items stored before the field existed: their OK verdict is such a verification.
            last_good, verified_at = stored.option_set_id, stored.last_checked_at or None
        return cls(current, previous, last_good or None, verified_at if last_good else None)

    def verified_healthy(self, at: str) -> OptionSetHistory:
        """The current option set was just found healthy: it becomes the last good one."""
        return replace(self, last_good=self.current, last_good_verified_at=at)

    @property
    def last_good_is_current(self) -> bool:
        return self.last_good == self.current

    @property
    def others(self) -> tuple[str, ...]:
        """The option sets besides the current one that an alert names (previous, last good)."""
        named = (self.previous, self.last_good)
        return tuple(dict.fromkeys(i for i in named if i and i != self.current))
