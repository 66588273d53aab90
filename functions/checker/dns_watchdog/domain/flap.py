"""Flap control (pure): which failures a second canary run must confirm before they page.

A failure a sweep stumbles on may be one lost UDP packet; a page must be worth waking up for. So
a FAILED or DEGRADED verdict found by a sweep, in a VPC without an open incident, is confirmed by
asking the VPC's canaries again after SWEEP_CONFIRM_DELAY_S; only a failure seen twice pages, and
the alert says so. A failure right after a change event (or a manual check) pages at once: the
change is the likely cause and the rollback should not wait. A VPC whose incident is already open
needs no confirmation either (it pages no more).
"""

from __future__ import annotations

from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.request import Trigger

PROBLEMS = (Verdict.FAILED, Verdict.DEGRADED)


def needs_confirmation(trigger: Trigger, verdict: Verdict, stored: VpcState | None) -> bool:
    """A second canary run must confirm this verdict before it may page."""
    if trigger != "sweep" or verdict not in PROBLEMS:
        return False
    return stored is None or not stored.incident_open


def confirmation_note(delay_s: float) -> str:
    """What the alert says about a confirmed failure."""
    return f"Confirmed: a second canary run {delay_s:g} s after the first found the same."
