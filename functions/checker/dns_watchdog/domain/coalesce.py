"""Change events that change nothing (pure): not announced, and soon after a check, not probed.

Every `AssociateDhcpOptions` used to be announced and probed: re-associating the set a VPC
already had twenty times made twenty INFO alerts and twenty-one canary runs. Such a call changes
nothing, which the state can show: the set it names is the VPC's current one, the one the last
check stored, and the watchdog saw the VPC on it before the call was made (`option_set_since`,
the evidence that first showed the set, is older than the event). Then

- `announces`: the association is announced only when it changed the option set or the verdict
  (a re-association whose check finds another verdict than the stored one still pages);
- `coalesced`: within `window_s` of the VPC's last check (CHANGE_COALESCE_WINDOW_S), with a
  verdict that check could give (not UNVERIFIED), the event is acknowledged without invoking the
  canaries: nothing changed since they answered, so their verdict stands.

Anything else is never coalesced: another option set, another change (a security group, a
network ACL, a Resolver rule may change the verdict), an event the state cannot place before
or after (no time, or a set first seen after the call: a sweep may have seen a real change
before its event arrived). So the first page of a real change is never delayed.
"""

from __future__ import annotations

from datetime import datetime

from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.request import OPTION_SET_CHANGE, CheckRequest


def _at(timestamp: str | None) -> datetime | None:
    if not timestamp:
        return None
    try:
        return datetime.fromisoformat(timestamp)
    except ValueError:
        return None


def reassociates_unchanged(stored: VpcState | None, request: CheckRequest, current: str) -> bool:
    """`request` is an AssociateDhcpOptions of the set the VPC already had: the set it names is
    `current` (EC2's) and the stored one, and the watchdog saw the VPC on it before the call."""
    change = request.change
    if stored is None or change is None or change.event_name != OPTION_SET_CHANGE:
        return False
    if not change.requested_option_set_id == current == stored.option_set_id:
        return False
    # Items stored before `option_set_since` existed: their evidence is the latest sight of it.
    seen = _at(stored.option_set_since or stored.observed_at or stored.last_checked_at)
    called = _at(change.event_time)
    return seen is not None and called is not None and seen < called


def announces(
    stored: VpcState | None, request: CheckRequest, current: str, verdict: Verdict
) -> bool:
    """An option-set association is announced when it changed the option set or the verdict."""
    if not request.announces_option_set:
        return False
    unchanged = reassociates_unchanged(stored, request, current)
    return not (unchanged and stored is not None and stored.verdict == verdict)


def coalesced(
    stored: VpcState | None, request: CheckRequest, current: str, *, now: str, window_s: float
) -> str | None:
    """Why this change event needs no canary run (None: check it): a re-association of the
    unchanged set within `window_s` of the VPC's last check, whose verdict stands."""
    if window_s <= 0 or stored is None or stored.verdict == Verdict.UNVERIFIED:
        return None
    if not reassociates_unchanged(stored, request, current):
        return None
    checked, at = _at(stored.last_checked_at), _at(now)
    if checked is None or at is None or not 0 <= (at - checked).total_seconds() <= window_s:
        return None
    age_s = (at - checked).total_seconds()
    return (
        f"{OPTION_SET_CHANGE} re-associated {current}, the option set {stored.vpc_id} already "
        f"had, {age_s:.0f} s after its last check: that check's verdict "
        f"({stored.verdict.value}) stands"
    )
