"""Opt-in self-healing (pure): whether to put a VPC's last good option set back by itself.

The checker (flow/run.py) asks `plan_heal` after a change was judged; when the plan says `act`, it
associates the option set, asks the VPC's canaries again and reports with `HealReport`. Off by
default. The guard rails, each a reason in the plan when it holds the watchdog back:

- only a CRITICAL (FAILED) verdict right after an `AssociateDhcpOptions` change heals; sweeps,
  manual checks and other changes (a security group, a network ACL) never do;
- the VPC opted in: its tag `dhcp-watchdog:self-heal` is `true` (the checker's IAM permission is
  conditioned on the same tag);
- the change was not made by the watchdog itself (domain/identity.py: the account, role and
  session name of `userIdentity` together): it cannot loop;
- the change was real: the option set the stored state had differs from the VPC's current one,
  and the current one is the set the event names (`requestParameters.dhcpOptionsId`), so a
  hand-made or replayed event about a VPC whose set never changed heals nothing;
- at most once per incident (the stored state remembers the incident it healed, dry runs too);
- only to the last option set verified healthy, verified within `max_age_s`, still existing, and
  never to the set that just failed;
- the evidence blames the option set (a zone broken everywhere is not fixed by a rollback).

Right before associating, the checker (flow/healer.py) describes the VPC again and holds back
unless it is still on the option set that was judged: an operator's association made while the
canaries ran stands (`OptionSetMismatch` "moved").

In dry-run mode the plan is made and reported ("would have rolled back ..."), nothing associated.
A plan held back by the rollback advice (the evidence does not blame the option set, the last
good set is gone or current) carries that advice as `held_by`: the alert words it the way it
words the advice (render/view.py), so the page says one reason, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from dns_watchdog.domain.identity import Caller, OwnIdentity
from dns_watchdog.domain.models import Severity, Verdict
from dns_watchdog.domain.outcome import Rollback, VpcOutcome
from dns_watchdog.domain.request import OPTION_SET_CHANGE, CheckRequest

HealMode = Literal["off", "dry-run", "on"]
MismatchKind = Literal["unchanged", "not_requested", "moved"]


@dataclass(frozen=True)
class OptionSetMismatch:
    """Why the VPC's option set is not one self-healing may act on (render/view.py words it).

    - "unchanged": the VPC was already on `current` when the watchdog last stored it: the event
      changed nothing it saw;
    - "not_requested": the VPC is on `current`, not on `expected`, the set the event names;
    - "moved": right before associating, the VPC was found on `current`, not on `expected`, the
      set that was judged (someone changed it while the canaries ran).
    """

    kind: MismatchKind
    current: str
    expected: str | None = None


@dataclass(frozen=True)
class HealPlan:
    """What self-healing decided for one VPC: act, or say why not."""

    act: bool
    dry_run: bool
    option_set_id: str | None
    # Why, as a short phrase for the log and the alert; when the rollback advice itself holds
    # self-healing back, `held_by` is that advice and the renderers word it (render/view.py) the
    # way they word the advice.
    reason: str
    # The incident the plan belongs to (remembered so a VPC is healed at most once per incident).
    incident_started_at: str | None
    held_by: Rollback | None = None
    # Held back because the VPC's option set is not the one to act on (items above).
    mismatch: OptionSetMismatch | None = None


@dataclass(frozen=True)
class HealReport:
    """What self-healing did, for the alert: the plan and, when it acted, what followed."""

    plan: HealPlan
    associated_at: str | None = None
    # The verdict of the canaries asked again after the association (None: not asked / failed).
    verified_verdict: Verdict | None = None
    verified_diagnosis: str | None = None
    error: str | None = None

    @property
    def healed(self) -> bool:
        return self.associated_at is not None and self.verified_verdict == Verdict.OK


def is_own_change(request: CheckRequest, own: OwnIdentity | None) -> bool:
    """The change was made by the watchdog itself: its account, role and session name agree
    (domain/identity.py); the account is the one the change was recorded in."""
    change = request.change
    if change is None or own is None:
        return False
    caller = Caller(change.actor_arn, change.session_issuer_arn)
    return own.made(caller, change.account_id or request.account_id)


def _age_s(since: str | None, now: str) -> float | None:
    if not since:
        return None
    try:
        return (_parse(now) - _parse(since)).total_seconds()
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def plan_heal(
    outcome: VpcOutcome,
    rollback: Rollback,
    request: CheckRequest,
    *,
    mode: HealMode,
    opted_in: bool,
    own: OwnIdentity | None,
    max_age_s: float,
    healed_incident: str | None,
    now: str,
) -> HealPlan | None:
    """The self-healing plan for this outcome, or None when self-healing has nothing to say.

    `rollback` is the outcome's rollback advice (it knows whether the last good set still
    exists); `healed_incident` is the incident the stored state says was already healed. The
    first guard rail that holds the watchdog back is the plan's reason.
    """
    if mode == "off" or not _heals_after(outcome, request):
        return None
    incident = outcome.decision.incident_started_at
    dry_run = mode == "dry-run"
    held = _held_back(outcome, request, opted_in=opted_in, own=own, healed=healed_incident)
    if held is not None:
        mismatch = held if isinstance(held, OptionSetMismatch) else None
        reason = f"the event is not a change to heal ({mismatch.kind})" if mismatch else str(held)
        return HealPlan(False, dry_run, None, reason, incident, mismatch=mismatch)
    if rollback.kind != "last_good" or rollback.option_set_id is None:
        reason = f"the rollback advice is {rollback.kind}"
        return HealPlan(False, dry_run, None, reason, incident, held_by=rollback)
    target = rollback.option_set_id
    untrusted = _untrusted(target, outcome, max_age_s=max_age_s, now=now)
    if untrusted is not None:
        return HealPlan(False, dry_run, None, untrusted, incident)
    vpc_id = outcome.facts.vpc_id
    if dry_run:
        verified = outcome.history.last_good_verified_at
        reason = f"would have associated {target} (verified healthy {verified}) with {vpc_id}"
        return HealPlan(False, True, target, reason, incident)
    return HealPlan(True, False, target, f"associate {target} with {vpc_id}", incident)


def _heals_after(outcome: VpcOutcome, request: CheckRequest) -> bool:
    """Only a CRITICAL (FAILED) verdict right after an association is self-healing's business."""
    return (
        outcome.severity == Severity.CRITICAL
        and outcome.judgement.verdict == Verdict.FAILED
        and request.trigger == "change"
        and request.event_name == OPTION_SET_CHANGE
    )


def _held_back(
    outcome: VpcOutcome,
    request: CheckRequest,
    *,
    opted_in: bool,
    own: OwnIdentity | None,
    healed: str | None,
) -> str | OptionSetMismatch | None:
    """Why the VPC and the change rule self-healing out (None: they do not)."""
    incident = outcome.decision.incident_started_at
    if is_own_change(request, own):
        return "the change was the watchdog's own association (it never reacts to itself)"
    if incident is not None and healed == incident:
        return "it already acted once in this incident"
    if not opted_in:
        return f"{outcome.facts.vpc_id} is not tagged dhcp-watchdog:self-heal=true"
    return _no_real_change(outcome, request)


def _no_real_change(outcome: VpcOutcome, request: CheckRequest) -> OptionSetMismatch | None:
    """Why the event is not a real change of the VPC's option set (None: it is one).

    Real: the option set stored before this check differs from the current one, and the current
    one is the set the event names. A VPC the watchdog never stored has no last good set either
    (the rollback advice holds self-healing back then).
    """
    current = outcome.facts.option_set.option_set_id
    if outcome.stored_option_set_id == current:
        return OptionSetMismatch("unchanged", current)
    requested = request.change.requested_option_set_id if request.change else None
    if requested != current:
        return OptionSetMismatch("not_requested", current, requested)
    return None


def _untrusted(target: str, outcome: VpcOutcome, *, max_age_s: float, now: str) -> str | None:
    """Why the last good option set is not to be trusted now (None: it is)."""
    if target == outcome.facts.option_set.option_set_id:  # pragma: no cover - never advised
        return f"{target} is the option set that just failed"
    return verified_too_long_ago(
        target, outcome.history.last_good_verified_at, max_age_s=max_age_s, now=now
    )


def verified_too_long_ago(
    target: str, verified_at: str | None, *, max_age_s: float, now: str
) -> str | None:
    """Why `target`'s verification is too old to trust it now (None: recent enough); shared
    with the rollbacks people ask for (domain/rollback.py)."""
    age = _age_s(verified_at, now)
    if age is None or age > max_age_s:
        return (
            f"{target} was last verified healthy {verified_at or 'at an unknown time'}, longer "
            f"ago than the {_duration(max_age_s)} allowed"
        )
    return None
