"""A VPC's outcome from one check (pure): the verdict, whether and how loudly to alert, where to
roll back, and what to remember.

`conclude` is the one decision the checker makes per VPC; the run (flow/run.py) only does the I/O
around it: it reads the stored state, asks the canaries, describes the option sets an alert names,
publishes, and writes the new state. Tested without AWS or sockets (tests/checker/test_outcome.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from dns_watchdog.domain.coalesce import announces
from dns_watchdog.domain.discovery import Discovery
from dns_watchdog.domain.dns_causes import DnsCauses, dns_causes
from dns_watchdog.domain.history import OptionSetHistory, VpcState
from dns_watchdog.domain.incidents import Decision, decide
from dns_watchdog.domain.judge import Judgement, judge
from dns_watchdog.domain.models import CanaryRun, Severity
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import OptionSet, VpcFacts

RollbackKind = Literal[
    "none_needed",  # INFO / RECOVERED: nothing to undo
    "not_option_set",  # the evidence does not blame the option set (e.g. a zone broken everywhere)
    "current_is_last_good",  # the current set is the last one verified healthy: look elsewhere
    "last_good",  # put back the last option set verified healthy
    "previous",  # no usable last good set: put back the one before (not verified healthy)
    "unknown",  # nothing known to roll back to
]


@dataclass(frozen=True)
class Rollback:
    """Where to roll the VPC's option set back to, and why (or why not)."""

    kind: RollbackKind
    option_set_id: str | None = None
    # The last option set verified healthy is known but no longer exists.
    last_good_gone: bool = False
    # not_option_set: what the evidence points at instead, as a clause (None: the diagnosis).
    cause: str | None = None


@dataclass(frozen=True)
class VpcOutcome:
    """Everything one check concluded about one VPC.

    `skipped` says why nothing is to be alerted nor stored (otherwise None);
    `stored_option_set_id` is the option set the stored state had before this check (None: the
    VPC was never stored), so a change can be told from an event that changed nothing.
    """

    facts: VpcFacts
    judgement: Judgement
    decision: Decision
    skipped: str | None = None
    stored_option_set_id: str | None = None
    # What the VPC's own DNS configuration says (a zone disassociated, a firewall block).
    causes: DnsCauses = field(default_factory=DnsCauses)

    @property
    def severity(self) -> Severity | None:
        """The alert to publish, if any."""
        return None if self.skipped else self.decision.severity

    @property
    def alert_key(self) -> str:
        """Identifies this alert decision: retries and concurrent deliveries that decide the same
        alert from the same stored state share it, so it is published once."""
        severity = self.severity.value if self.severity else "none"
        return "#".join(
            (
                self.facts.vpc_id,
                f"v{self.decision.state.version}",
                severity,
                self.facts.option_set.option_set_id,
                self.judgement.verdict.value,
            )
        )

    @property
    def state(self) -> VpcState:
        """What to store for the VPC after this check."""
        return self.decision.state

    @property
    def history(self) -> OptionSetHistory:
        return self.decision.history

    @property
    def option_sets_to_describe(self) -> tuple[str, ...]:
        """The option sets (besides the current one) an alert names: previous and last good."""
        return self.history.others if self.severity is not None else ()

    def rollback(self, known: Mapping[str, OptionSet | None]) -> Rollback:
        """The rollback advice, given which of `option_sets_to_describe` still exist."""
        return advise_rollback(self, known)


def conclude(
    *,
    facts: VpcFacts,
    runs: Sequence[CanaryRun],
    stored: VpcState | None,
    request: CheckRequest,
    now: str,
    observed_at: str | None = None,
    discovery: Discovery | None = None,
    discovered_now: bool = False,
) -> VpcOutcome:
    """Judge the canaries' evidence and decide the alert and the state to store.

    `observed_at` is when the canaries were asked (defaults to `now`). Nothing is alerted nor
    stored when the stored state comes from newer evidence (a check that probed before a change
    but concluded after it), nor for a change in a VPC no canary watches (logged and counted;
    the sweep's coverage report is where unwatched VPCs show).

    `discovery` is the VPC's discovery of its own DNS (`discovered_now`: read in this check): a
    zone it found disassociated is announced like an option-set change (INFO while DNS is OK),
    and names the VPC's DNS Firewall blocks are not blamed on the option set.
    """
    observed_at = observed_at or now
    judgement = judge(facts.vpc_id, runs, dns_support=facts.dns_support)
    causes = dns_causes(judgement, discovery, read_now=discovered_now)
    announce = announces(stored, request, facts.option_set.option_set_id, judgement.verdict)
    decision = decide(
        previous=stored,
        vpc_id=facts.vpc_id,
        verdict=judgement.verdict,
        option_set_id=facts.option_set.option_set_id,
        announce=announce or bool(causes.lost_zones),
        event_id=request.event_id,
        now=now,
        observed_at=observed_at,
        verified_healthy=judgement.verified_healthy,
    )
    skipped = None
    if stored is not None and stored.is_newer_than(observed_at):
        skipped = f"the stored state comes from newer evidence ({stored.observed_at})"
    elif request.trigger == "change" and not runs:
        skipped = "no canary watches this VPC: the change is logged and counted, not paged"
    return VpcOutcome(
        facts,
        judgement,
        decision,
        skipped,
        stored.option_set_id if stored is not None else None,
        causes,
    )


def advise_rollback(outcome: VpcOutcome, known: Mapping[str, OptionSet | None]) -> Rollback:
    """The last option set verified healthy if it still exists, else the previous one.

    No rollback when no action is needed, when the evidence does not blame the option set, or
    when the current option set is itself the last one verified healthy (rolling back would not
    restore DNS).
    """
    if outcome.severity in (None, Severity.INFO, Severity.RECOVERED):
        return Rollback("none_needed")
    firewall = outcome.causes.firewall_explains
    if firewall or outcome.judgement.diagnosis.option_set_at_fault is False:
        cause = "the VPC's DNS Firewall blocks the failing names" if firewall else None
        return Rollback("not_option_set", cause=cause)
    history = outcome.history
    if history.last_good_is_current:
        return Rollback("current_is_last_good")
    if history.last_good and known.get(history.last_good) is not None:
        return Rollback("last_good", history.last_good)
    gone = history.last_good is not None
    if history.previous:
        return Rollback("previous", history.previous, last_good_gone=gone)
    return Rollback("unknown", last_good_gone=gone)
