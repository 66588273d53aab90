"""A rollback somebody asked for (pure): the chat "Roll back" button or `vpc-dns-watchdog
rollback`.

The checker only ever puts back its own verified last good option set, with self-healing's guard
rails (healing.py); the first rail that holds it back is the refusal's reason, returned to the
caller:

- rollbacks are on in this deployment: the checker may associate option sets only when
  self-healing is `on` or the chat button is (its IAM permission exists then, and only for
  VPCs carrying the opt-in tag);
- the VPC opted in: its tag `dhcp-watchdog:self-heal` is `true`;
- the watchdog has judged the VPC on the option set it is on now (a VPC never checked, or moved
  since its last check, is checked first);
- that judgement was FAILED or DEGRADED (OK: nothing to roll back; UNVERIFIED: check it first);
- the last option set verified healthy is known, is not the current one, still exists, and was
  verified within `max_age_s` (SELF_HEALING_MAX_AGE_HOURS).

Right before associating, the checker describes the VPC again and holds back unless it is still
on the judged set (flow/rollback.py), like self-healing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from dns_watchdog.domain.healing import verified_too_long_ago
from dns_watchdog.domain.history import OptionSetHistory, VpcState
from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import RollbackRequest
from dns_watchdog.domain.vpc import OptionSet, VpcFacts

RollbackStatus = Literal["rolled_back", "refused", "held_back", "failed"]

# The verdicts a rollback may answer.
ROLLBACK_VERDICTS = (Verdict.FAILED, Verdict.DEGRADED)


@dataclass(frozen=True)
class RollbackPlan:
    """Where to roll the VPC back to, or why not (`refusal`)."""

    vpc_id: str
    # The option set the VPC is on, and was last judged on.
    judged: str
    target: str | None
    refusal: str | None = None
    verified_at: str | None = None

    @property
    def act(self) -> bool:
        return self.refusal is None and self.target is not None


@dataclass(frozen=True)
class RollbackReport:
    """What a rollback request came to, for its result, its record and its alert
    (render/rollback.py words it)."""

    request: RollbackRequest
    place: Place
    plan: RollbackPlan
    # The incident the VPC's stored state had open (its chat thread), if any.
    incident_started_at: str | None = None
    associated_at: str | None = None
    # Right before associating, the VPC was found on this set instead of the judged one.
    moved_to: str | None = None
    verified_verdict: Verdict | None = None
    verified_diagnosis: str | None = None
    error: str | None = None

    @property
    def status(self) -> RollbackStatus:
        if self.associated_at is not None:
            return "rolled_back"
        if self.error is not None:
            return "failed"
        if self.moved_to is not None:
            return "held_back"
        return "refused"

    @property
    def verified_ok(self) -> bool:
        return self.verified_verdict == Verdict.OK


def last_good_of(stored: VpcState | None, current: str) -> str | None:
    """The last option set verified healthy, as the stored state tells it (the one to describe)."""
    return OptionSetHistory.after(stored, current).last_good


def plan_rollback(
    facts: VpcFacts,
    stored: VpcState | None,
    known: Mapping[str, OptionSet | None],
    *,
    enabled: bool,
    max_age_s: float,
    now: str,
) -> RollbackPlan:
    """The rollback of `facts.vpc_id` to its last good option set, or the refusal's reason;
    `known` holds the last good set described (None: it no longer exists)."""
    vpc_id, current = facts.vpc_id, facts.option_set.option_set_id
    history = OptionSetHistory.after(stored, current)
    refusal = _refusal(facts, stored, enabled=enabled) or _untrusted(
        history, known, max_age_s=max_age_s, now=now
    )
    if refusal is not None:
        return RollbackPlan(vpc_id, current, None, refusal)
    return RollbackPlan(vpc_id, current, history.last_good, None, history.last_good_verified_at)


def _refusal(facts: VpcFacts, stored: VpcState | None, *, enabled: bool) -> str | None:
    """Why the deployment, the VPC or its last judgement rule a rollback out (None: they do
    not)."""
    vpc_id, current = facts.vpc_id, facts.option_set.option_set_id
    if not enabled:
        return (
            "rollbacks are off in this deployment: the checker may associate option sets only "
            "with SelfHealing=on or ChatRollbackAction=true"
        )
    if not facts.self_heal_opt_in:
        return f"{vpc_id} is not tagged dhcp-watchdog:self-heal=true"
    if stored is None:
        return f"the watchdog has not checked {vpc_id} yet: check it first"
    if stored.option_set_id != current:
        return (
            f"{vpc_id} is on {current}, but the watchdog last judged it on "
            f"{stored.option_set_id}: check it first"
        )
    return _verdict_refusal(stored)


def _untrusted(
    history: OptionSetHistory,
    known: Mapping[str, OptionSet | None],
    *,
    max_age_s: float,
    now: str,
) -> str | None:
    """Why the last good option set is no rollback target (None: it is one)."""
    target, current = history.last_good, history.current
    verified = history.last_good_verified_at or "earlier"
    if target is None:
        return f"no option set was ever verified healthy in this VPC (it is on {current})"
    if target == current:
        return (
            f"the VPC is already on {current}, the last option set verified healthy (verified "
            f"{verified}): look for what else changed"
        )
    if known.get(target) is None:
        return (
            f"the last option set verified healthy, {target} (verified {verified}), no longer "
            "exists"
        )
    return verified_too_long_ago(
        target, history.last_good_verified_at, max_age_s=max_age_s, now=now
    )


def _verdict_refusal(stored: VpcState) -> str | None:
    """Why the VPC's last judgement asks for no rollback (None: it was FAILED or DEGRADED)."""
    if stored.verdict in ROLLBACK_VERDICTS:
        return None
    if stored.verdict == Verdict.OK:
        return (
            f"DNS worked on {stored.option_set_id} at the last check ({stored.last_checked_at}): "
            "nothing to roll back"
        )
    return (
        f"DNS could not be verified on {stored.option_set_id} at the last check "
        f"({stored.last_checked_at}): check it first"
    )
