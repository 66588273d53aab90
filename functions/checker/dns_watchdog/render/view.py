"""One alert's shared pieces (pure): an outcome's facts gathered once, in the words every
renderer shows the same way.

Features return facts: the verdict, the option-set history, the rollback advice (its kind and
target), what self-healing planned and did. This module is the one place that puts those into
words: the headline, the subject, the option sets described, the rollback command and the reason
to roll back (or not), and self-healing's sentence. The e-mail text and JSON document
(`alert.py`) and the chat notification (`chat.py`) render from an `AlertView`; neither words these
pieces itself, nor reaches into the other's helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dns_watchdog.constants import CHAT_REQUESTED_BY
from dns_watchdog.domain.analysis_budget import BudgetSpent
from dns_watchdog.domain.blocking import BlockingFinding
from dns_watchdog.domain.endpoint_health import EndpointHealth
from dns_watchdog.domain.evidence import WorkloadEvidence
from dns_watchdog.domain.flap import confirmation_note
from dns_watchdog.domain.healing import HealPlan, HealReport, OptionSetMismatch
from dns_watchdog.domain.history import OptionSetHistory
from dns_watchdog.domain.judge import CanaryReport, Judgement
from dns_watchdog.domain.lint import LintFinding
from dns_watchdog.domain.models import Severity, Verdict
from dns_watchdog.domain.outcome import Rollback, RollbackKind, VpcOutcome
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import OptionSet, VpcFacts
from dns_watchdog.domain.workloads import BlastRadius, Priority
from dns_watchdog.render.escape import sns_subject


def _as_written(text: str) -> str:
    return text


# Worst first: failing canaries lead every list of them.
_RANK = {Verdict.FAILED: 0, Verdict.DEGRADED: 1, Verdict.UNVERIFIED: 2, Verdict.OK: 3}


@dataclass(frozen=True)
class RollbackButton:
    """The chat "Roll back" button is on: its command invokes `function` (the checker's chat
    alias, "<name>:chat") in `region` (the checker's) with the view's `rollback_request`."""

    function: str
    region: str


@dataclass(frozen=True)
class AlertContext:
    """What an alert says besides the VPC's outcome: the request, where the VPC is, the time,
    and the checker invocation whose log holds every canary's full findings."""

    request: CheckRequest
    place: Place
    checked_at: str
    request_id: str | None = None
    # The lint of the option set a change alert announces (empty: none, or not linted).
    lint: tuple[LintFinding, ...] = ()
    # A sweep's failure confirmed by a second canary run this many seconds later (flap.py).
    confirmed_after_s: float | None = None
    # What opt-in self-healing did (or would have done) for this alert (healing.py).
    healing: HealReport | None = None
    # Organization mode: alerts name the place's account (and its name when known).
    names_account: bool = False
    account_name: str | None = None
    # What Reachability Analyzer named in the way of the unreachable servers (opt-in, blocking.py).
    blocking: tuple[BlockingFinding, ...] = ()
    # The chat "Roll back" button, when it is on.
    rollback_button: RollbackButton | None = None
    # Servers left unanalysed because today's budget of analyses was spent (analysis_budget.py).
    blocking_spent: tuple[BudgetSpent, ...] = ()
    # What the VPC's own functions logged about DNS (opt-in, domain/evidence.py; None: not
    # collected for this alert).
    evidence: WorkloadEvidence | None = None
    # What is hit: the workloads in the VPC (domain/workloads.py); None: not read for this alert.
    blast: BlastRadius | None = None
    # The severity the alert goes out with when it is lower than the verdict's (PriorityFromImpact).
    priority: Priority | None = None
    # The health of the outbound endpoints behind the VPC's forward rules (None: not read).
    endpoints: tuple[EndpointHealth, ...] | None = None

    @property
    def region(self) -> str:
        return self.place.region

    @property
    def workloads(self) -> int | None:
        """The workloads besides the canaries (None: not read, or could not be)."""
        return self.blast.workloads if self.blast is not None else None

    @property
    def account_id(self) -> str | None:
        """The account an alert names: organization mode only (None otherwise)."""
        return self.place.account if self.names_account else None


def build_view(
    outcome: VpcOutcome, known: Mapping[str, OptionSet | None], context: AlertContext
) -> AlertView:
    """The view of `outcome`'s alert; `known` holds the option sets it names (None: no longer
    exist). Raises ValueError when no alert was decided for the outcome."""
    severity = outcome.severity
    if severity is None:
        raise ValueError(f"no alert was decided for {outcome.facts.vpc_id}")
    return AlertView(severity, outcome, context, known, outcome.rollback(known))


@dataclass(frozen=True)
class AlertView:
    """One alert's facts, gathered once, and the pieces every renderer shows the same way."""

    severity: Severity
    outcome: VpcOutcome
    context: AlertContext
    known: Mapping[str, OptionSet | None]
    # Where to roll the option set back to, decided once for e-mail, document and chat.
    rollback: Rollback

    @property
    def facts(self) -> VpcFacts:
        return self.outcome.facts

    @property
    def judgement(self) -> Judgement:
        return self.outcome.judgement

    @property
    def request(self) -> CheckRequest:
        return self.context.request

    @property
    def history(self) -> OptionSetHistory:
        return self.outcome.history

    @property
    def region(self) -> str:
        return self.context.region

    def option_set(self, option_set_id: str | None) -> OptionSet | None:
        """The described option set (None: unknown, or no longer exists)."""
        if option_set_id == self.facts.option_set.option_set_id:
            return self.facts.option_set
        return self.known.get(option_set_id) if option_set_id else None

    def described(self, option_set_id: str | None) -> str:
        """An option set and its servers: "dopt-1 (10.0.0.2)", "dopt-1 (no longer exists)"."""
        return _described(self.option_set(option_set_id), option_set_id)

    @property
    def headline(self) -> str:
        vpc_id = self.facts.vpc_id
        event_name = self.request.event_name
        cause = f"after {event_name}" if self.request.change else f"({event_name})"
        if self.severity == Severity.RECOVERED:
            return f"RECOVERED: DNS for Lambda functions in {vpc_id} works again {cause}."
        verdict = self.judgement.verdict
        state = "cannot be verified" if verdict == Verdict.UNVERIFIED else f"is {verdict.value}"
        return f"{self.severity.value}: DNS for Lambda functions in {vpc_id} {state} {cause}."

    @property
    def subject(self) -> str:
        """The e-mail subject (and chat title), clipped to SNS's limit by the one clip rule."""
        return sns_subject(self.subject_in(_as_written))

    def subject_in(self, escape: Callable[[str], str]) -> str:
        """The subject's words, not yet clipped, the text others wrote in them (the account's
        name) put through `escape`, a medium's rule (chat: `escape.chat_markdown`)."""
        state = "OK again" if self.severity == Severity.RECOVERED else self.judgement.verdict.value
        where = self.facts.vpc_id
        if self.account_label:
            where = f"{self.account_label_in(escape)} {self.region} {where}"
        preposition = "after" if self.request.trigger == "change" else "in"
        return (
            f"[{self.severity.value}] {where}: Lambda DNS {state} "
            f"{preposition} {self.request.event_name}"
        )

    @property
    def account_label(self) -> str | None:
        """Organization mode: the account, with its name when known."""
        return self.account_label_in(_as_written)

    def account_label_in(self, escape: Callable[[str], str]) -> str | None:
        """The account label, its name (Organizations: whoever named the account wrote it) put
        through `escape`, a medium's rule."""
        account_id, name = self.context.account_id, self.context.account_name
        if account_id is None:
            return None
        return f"{account_id} ({escape(name)})" if name else account_id

    @property
    def canaries_worst_first(self) -> tuple[CanaryReport, ...]:
        """Failing canaries first (FAILED, DEGRADED, UNVERIFIED, then OK; gone ones last), by
        name within each."""
        return tuple(
            sorted(
                self.judgement.canaries,
                key=lambda r: (r.status == "gone", _RANK[r.severity], r.name),
            )
        )

    @property
    def where_in_full(self) -> str:
        """Where every canary's full findings are when an alert shows fewer of them."""
        request_id = self.context.request_id or "unknown"
        return (
            f"every canary's full findings are in the checker's log, request id {request_id}, "
            f"lines 'Canary findings' for {self.facts.vpc_id}"
        )

    @property
    def confirmation(self) -> str | None:
        """What a sweep's confirmed failure says (None: not a confirmed sweep failure)."""
        delay_s = self.context.confirmed_after_s
        return None if delay_s is None else confirmation_note(delay_s)

    @property
    def last_good_verified(self) -> str:
        """When the last good option set was verified healthy ("earlier" when not recorded)."""
        return self.history.last_good_verified_at or "earlier"

    # --- the rollback -----------------------------------------------------------------------

    @property
    def rollback_command(self) -> str | None:
        """The command that puts the rollback target back, when there is one."""
        if self.rollback.option_set_id is None:
            return None
        return (
            f"aws ec2 associate-dhcp-options --dhcp-options-id {self.rollback.option_set_id} "
            f"--vpc-id {self.facts.vpc_id} --region {self.region}"
        )

    @property
    def rollback_request(self) -> dict[str, str] | None:
        """What the chat "Roll back" button asks the checker (None: no button on this alert).

        Only when the button is on and the alert advises the last option set verified healthy,
        the only set the checker puts back itself, which self-healing did not already put back.
        """
        healing = self.context.healing
        if (
            self.context.rollback_button is None
            or self.rollback.kind != "last_good"
            or (healing is not None and healing.healed)
        ):
            return None
        request = {"action": "rollback", "vpc_id": self.facts.vpc_id}
        if self.context.account_id is not None:
            request["account_id"] = self.context.account_id
        request["region"] = self.region
        request["requested_by"] = CHAT_REQUESTED_BY
        return request

    @property
    def rollback_reason(self) -> str:
        """Why (or why not) to roll back: the one sentence e-mail and chat both show, without
        its closing punctuation (each medium ends it: the target and command, or a full stop)."""
        kind = self.rollback.kind
        if kind == "not_option_set":
            return f"No rollback advised: {_rollback_why(self.rollback, self.history)}"
        if kind == "current_is_last_good":
            return f"No option set to roll back to: {_rollback_why(self.rollback, self.history)}"
        return _ROLLBACK_SENTENCES[kind]

    @property
    def last_good_gone_note(self) -> str | None:
        """Said next to a rollback elsewhere: the last option set verified healthy is gone."""
        if self.rollback.kind not in ("previous", "unknown") or not self.rollback.last_good_gone:
            return None
        why = _rollback_why(self.rollback, self.history)
        return f"{why[0].upper()}{why[1:]}."

    # --- self-healing -----------------------------------------------------------------------

    @property
    def healing_sentence(self) -> str | None:
        """What self-healing did (or would have done), in one line; None when it said nothing."""
        report = self.context.healing
        return None if report is None else _heal_sentence(report, self._heal_reason(report.plan))

    def healing_document(self) -> dict[str, Any] | None:
        """Self-healing's part of the alert document (None when it said nothing)."""
        report = self.context.healing
        if report is None:
            return None
        plan = report.plan
        return {
            "mode": "dry-run" if plan.dry_run else "on",
            "acted": plan.act,
            "option_set_id": plan.option_set_id,
            "reason": self._heal_reason(plan),
            "associated_at": report.associated_at,
            "verified_verdict": report.verified_verdict.value if report.verified_verdict else None,
            "verified_diagnosis": report.verified_diagnosis,
            "error": report.error,
            "healed": report.healed,
            "summary": self.healing_sentence,
        }

    def _heal_reason(self, plan: HealPlan) -> str:
        if plan.mismatch is not None:
            return _mismatch_why(plan.mismatch, self.facts.vpc_id)
        # Held back by the rollback advice: the same words as the advice itself.
        return plan.reason if plan.held_by is None else _rollback_why(plan.held_by, self.history)


# The reasons that need no fact besides the kind (the others: AlertView.rollback_reason).
_ROLLBACK_SENTENCES: dict[RollbackKind, str] = {
    "none_needed": "No action needed",
    "last_good": "Roll back to the last option set verified healthy",
    "previous": "Roll back the option set",
    "unknown": (
        "Roll back: the previous option set is not known to the watchdog (it had not seen this "
        "VPC with another option set)"
    ),
}


def _rollback_why(rollback: Rollback, history: OptionSetHistory) -> str:
    """Why the rollback advice is what it is, as a clause: the words the reason to roll back
    (or not) and self-healing's hold share ("the evidence does not point at the option set")."""
    verified = history.last_good_verified_at or "earlier"
    kind = rollback.kind
    if kind == "none_needed":
        return "no action needed"
    if kind == "not_option_set":
        return rollback.cause or "the evidence does not point at the option set"
    if kind == "current_is_last_good":
        return (
            f"the current one, {history.current}, is the last option set verified healthy "
            f"(verified {verified})"
        )
    if kind == "last_good":
        target = rollback.option_set_id
        return f"{target} is the last option set verified healthy (verified {verified})"
    if rollback.last_good_gone:
        return (
            f"the last option set verified healthy, {history.last_good} (verified {verified}), "
            "no longer exists"
        )
    return "no option set was ever verified healthy in this VPC"


def _mismatch_why(mismatch: OptionSetMismatch, vpc_id: str) -> str:
    """Why the VPC's option set is not one to act on, as a clause."""
    if mismatch.kind == "unchanged":
        return (
            f"{vpc_id} was already on {mismatch.current} when last checked: the event changed "
            "nothing the watchdog saw"
        )
    if mismatch.kind == "not_requested":
        named = mismatch.expected or "no option set"
        return f"{vpc_id} is on {mismatch.current}, not on {named}, the option set the event names"
    return (
        f"{vpc_id} moved to {mismatch.current} while it was checked (it was judged on "
        f"{mismatch.expected}): that change stands, nothing was associated"
    )


def _described(option_set: OptionSet | None, option_set_id: str | None) -> str:
    if option_set_id is None:
        return "unknown"
    if option_set is None:
        return f"{option_set_id} (no longer exists)"
    if option_set.option_set_id == "default":
        return "default (no DNS servers handed out)"
    servers = ", ".join(option_set.domain_name_servers) or "no DNS servers"
    return f"{option_set.option_set_id} ({servers})"


def _heal_sentence(report: HealReport, reason: str) -> str:
    plan = report.plan
    if plan.dry_run:
        return f"Self-healing (dry run): {reason}; nothing was changed."
    if not plan.act:
        return f"Self-healing did not act: {reason}."
    if report.error is not None:
        return f"Self-healing could not roll back to {plan.option_set_id}: {report.error}."
    verdict = report.verified_verdict.value if report.verified_verdict else "not verified"
    detail = (
        f" ({report.verified_diagnosis})"
        if report.verified_diagnosis and report.verified_verdict != Verdict.OK
        else ""
    )
    return (
        f"Rolled back automatically to {plan.option_set_id} at {report.associated_at}; "
        f"verified {verdict}{detail}."
    )
