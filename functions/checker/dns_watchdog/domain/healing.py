"""Opt-in self-healing (pure): whether to put a VPC's last good option set back by itself.

The checker (check.py) asks `plan_heal` after a change was judged; when the plan says `act`, it
associates the option set, asks the VPC's canaries again and reports with `HealReport`. Off by
default. The guard rails, each a reason in the plan when it holds the watchdog back:

- only a CRITICAL (FAILED) verdict right after an `AssociateDhcpOptions` change heals; sweeps,
  manual checks and other changes (a security group, a network ACL) never do;
- the VPC opted in: its tag `dhcp-watchdog:self-heal` is `true` (the checker's IAM permission is
  conditioned on the same tag);
- the change was not made by the watchdog itself (its role in `userIdentity`): it cannot loop;
- at most once per incident (the stored state remembers the incident it healed, dry runs too);
- only to the last option set verified healthy, verified within `max_age_s`, still existing, and
  never to the set that just failed;
- the evidence blames the option set (a zone broken everywhere is not fixed by a rollback).

In dry-run mode the plan is made and reported ("would have rolled back ..."), nothing associated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from dns_watchdog.domain.models import Severity, Verdict
from dns_watchdog.domain.outcome import Rollback, VpcOutcome
from dns_watchdog.domain.request import OPTION_SET_CHANGE, CheckRequest

HealMode = Literal["off", "dry-run", "on"]


@dataclass(frozen=True)
class HealPlan:
    """What self-healing decided for one VPC: act, or say why not."""

    act: bool
    dry_run: bool
    option_set_id: str | None
    reason: str
    # The incident the plan belongs to (remembered so a VPC is healed at most once per incident).
    incident_started_at: str | None


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

    @property
    def sentence(self) -> str:
        """One line for the alert (the headline's neighbour)."""
        plan = self.plan
        if plan.dry_run:
            return f"Self-healing (dry run): {plan.reason}; nothing was changed."
        if not plan.act:
            return f"Self-healing did not act: {plan.reason}."
        if self.error is not None:
            return f"Self-healing could not roll back to {plan.option_set_id}: {self.error}."
        verdict = self.verified_verdict.value if self.verified_verdict else "not verified"
        detail = (
            f" ({self.verified_diagnosis})"
            if self.verified_diagnosis and self.verified_verdict != Verdict.OK
            else ""
        )
        return (
            f"Rolled back automatically to {plan.option_set_id} at {self.associated_at}; "
            f"verified {verdict}{detail}."
        )

    def as_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "mode": "dry-run" if plan.dry_run else "on",
            "acted": plan.act,
            "option_set_id": plan.option_set_id,
            "reason": plan.reason,
            "associated_at": self.associated_at,
            "verified_verdict": self.verified_verdict.value if self.verified_verdict else None,
            "verified_diagnosis": self.verified_diagnosis,
            "error": self.error,
            "healed": self.healed,
            "summary": self.sentence,
        }


def is_own_change(request: CheckRequest, own_role_arn: str | None) -> bool:
    """The change was made by the watchdog's role (directly or as an assumed-role session)."""
    change = request.change
    if change is None or not own_role_arn:
        return False
    role_name = own_role_arn.rsplit("/", 1)[-1]
    if change.session_issuer_arn and change.session_issuer_arn == own_role_arn:
        return True
    actor = change.actor_arn or ""
    return actor == own_role_arn or f":assumed-role/{role_name}/" in actor


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


# One return per guard rail reads as the list in the module docstring.
def plan_heal(  # noqa: PLR0911
    outcome: VpcOutcome,
    rollback: Rollback,
    request: CheckRequest,
    *,
    mode: HealMode,
    opted_in: bool,
    own_role_arn: str | None,
    max_age_s: float,
    healed_incident: str | None,
    now: str,
) -> HealPlan | None:
    """The self-healing plan for this outcome, or None when self-healing has nothing to say.

    `rollback` is the outcome's rollback advice (it knows whether the last good set still
    exists); `healed_incident` is the incident the stored state says was already healed.
    """
    if mode == "off" or outcome.severity != Severity.CRITICAL:
        return None
    if outcome.judgement.verdict != Verdict.FAILED:
        return None
    if request.trigger != "change" or request.event_name != OPTION_SET_CHANGE:
        return None
    incident = outcome.decision.incident_started_at
    dry_run = mode == "dry-run"

    def hold(reason: str) -> HealPlan:
        return HealPlan(False, dry_run, None, reason, incident)

    vpc_id = outcome.facts.vpc_id
    current = outcome.facts.option_set.option_set_id
    history = outcome.history
    if is_own_change(request, own_role_arn):
        return hold("the change was the watchdog's own association (it never reacts to itself)")
    if incident is not None and healed_incident == incident:
        return hold("it already acted once in this incident")
    if not opted_in:
        return hold(f"{vpc_id} is not tagged dhcp-watchdog:self-heal=true")
    if rollback.kind != "last_good" or rollback.option_set_id is None:
        why = {
            "not_option_set": "the evidence does not blame the option set",
            "current_is_last_good": f"the current set {current} is the last one verified healthy",
            "previous": "the last option set verified healthy no longer exists",
        }.get(rollback.kind, "no option set was ever verified healthy in this VPC")
        return hold(why)
    target = rollback.option_set_id
    if target == current:  # pragma: no cover - rollback advice never names the current set
        return hold(f"{target} is the option set that just failed")
    age = _age_s(history.last_good_verified_at, now)
    if age is None or age > max_age_s:
        verified = history.last_good_verified_at or "at an unknown time"
        return hold(
            f"{target} was last verified healthy {verified}, longer ago than the "
            f"{_duration(max_age_s)} allowed"
        )
    if dry_run:
        return HealPlan(
            False,
            True,
            target,
            f"would have associated {target} (verified healthy {history.last_good_verified_at}) "
            f"with {vpc_id}",
            incident,
        )
    return HealPlan(True, False, target, f"associate {target} with {vpc_id}", incident)
