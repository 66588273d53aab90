"""A rollback somebody asked for, in words (pure): its one-line summary, the record published to
the alert topic, and its chat notification (in the thread of the VPC's incident).

Every value shown is the checker's own (ids validated by pattern, EC2's and the canaries'
answers) except `requested_by`, which the request's parser holds to characters no medium reads as
markup (domain/events.py).
"""

from __future__ import annotations

from typing import Any

from dns_watchdog.domain.models import Severity
from dns_watchdog.domain.rollback import RollbackReport
from dns_watchdog.domain.text import clip
from dns_watchdog.render.alert import Alert, AttributeValue
from dns_watchdog.render.chat import (
    EVENT_TYPE_PREFIX,
    NEXT_STEP_LIMIT,
    SOURCE,
    SUMMARY_LIMIT,
    TEXT_TYPE,
    TITLE_LIMIT,
    VERSION,
    ChatNotification,
    thread_id,
)
from dns_watchdog.render.escape import sns_subject

ROLLBACK_SCHEMA = "vpc-dns-watchdog/rollback/v1"
_ICONS = {Severity.INFO: ":information_source:", Severity.WARNING: ":warning:"}


def rollback_severity(report: RollbackReport) -> Severity:
    """INFO when the rollback was made and verified OK (or refused / held back: nothing
    changed); WARNING when it was made but DNS is not verified OK, or it failed."""
    if report.status == "failed":
        return Severity.WARNING
    if report.status == "rolled_back" and not report.verified_ok:
        return Severity.WARNING
    return Severity.INFO


def rollback_summary(report: RollbackReport) -> str:
    """What came of the request, in one sentence."""
    plan, vpc_id = report.plan, report.plan.vpc_id
    status = report.status
    if status == "refused":
        return f"Rollback of {vpc_id} refused: {plan.refusal}."
    if status == "held_back":
        return (
            f"Rollback of {vpc_id} held back: it moved to {report.moved_to} while the request was "
            f"handled (it was on {plan.judged}); that change stands, nothing was associated."
        )
    if status == "failed":
        return f"Rollback of {vpc_id} to {plan.target} failed: {report.error}."
    verdict = report.verified_verdict.value if report.verified_verdict else "not verified"
    detail = ""
    if report.error is not None:
        detail = f" ({report.error})"
    elif report.verified_diagnosis and not report.verified_ok:
        detail = f" ({report.verified_diagnosis})"
    return (
        f"Rolled back {vpc_id} from {plan.judged} to {plan.target} at {report.associated_at}; "
        f"verified {verdict}{detail}."
    )


def _asked_by(report: RollbackReport) -> str:
    request = report.request
    how = "the chat Roll back button" if request.via_chat else "a direct request to the checker"
    return f"{request.requested_by} (through {how})"


def _subject(report: RollbackReport) -> str:
    plan = report.plan
    where = plan.vpc_id
    if report.place.account:
        where = f"{report.place.account} {report.place.region} {where}"
    words = {
        "rolled_back": f"rolled back to {plan.target}",
        "refused": "rollback refused",
        "held_back": "rollback held back",
        "failed": "rollback failed",
    }[report.status]
    return sns_subject(
        f"[{rollback_severity(report).value}] {where}: {words} (asked by "
        f"{report.request.requested_by})"
    )


def _lines(report: RollbackReport, request_id: str | None) -> list[str]:
    plan = report.plan
    lines = [
        rollback_summary(report),
        "",
        f"VPC:          {plan.vpc_id}",
        f"Region:       {report.place.region}",
    ]
    if report.place.account:
        lines.append(f"Account:      {report.place.account}")
    lines += [f"Asked by:     {_asked_by(report)}", f"Option set:   {plan.judged}"]
    if plan.target is not None:
        lines.append(f"Last good:    {plan.target}, verified healthy {plan.verified_at}")
    lines.append(f"Checker log:  request id {request_id or 'unknown'}")
    if report.status == "rolled_back":
        lines += [
            "",
            "The association's own CloudTrail event is checked like any other change: a",
            "RECOVERED closes the incident once DNS works.",
        ]
    return lines


def build_rollback_record(report: RollbackReport, request_id: str | None) -> Alert:
    """The record published to the alert topic (e-mail text, JSON document, attributes)."""
    plan = report.plan
    severity = rollback_severity(report)
    document: dict[str, Any] = {
        "schema": ROLLBACK_SCHEMA,
        "status": report.status,
        "severity": severity.value,
        "summary": rollback_summary(report),
        "vpc_id": plan.vpc_id,
        "account_id": report.place.account,
        "region": report.place.region,
        "requested_by": report.request.requested_by,
        "via_chat": report.request.via_chat,
        "from_option_set_id": plan.judged,
        "option_set_id": plan.target,
        "last_good_verified_at": plan.verified_at,
        "refusal": plan.refusal,
        "moved_to": report.moved_to,
        "associated_at": report.associated_at,
        "verified_verdict": report.verified_verdict.value if report.verified_verdict else None,
        "verified_diagnosis": report.verified_diagnosis,
        "error": report.error,
        "request_id": request_id,
    }
    attributes: dict[str, AttributeValue] = {
        "severity": severity.value,
        "vpc_id": plan.vpc_id,
        "event_name": report.request.event_name,
        "region": report.place.region,
    }
    if report.verified_verdict is not None:
        attributes["verdict"] = report.verified_verdict.value
    if report.place.account:
        attributes["account_id"] = report.place.account
    return Alert(
        subject=_subject(report),
        text="\n".join(_lines(report, request_id)) + "\n",
        document=document,
        attributes=attributes,
    )


def build_rollback_chat(report: RollbackReport, request_id: str | None) -> ChatNotification:
    """The chat notification, in the thread of the VPC's incident (or of its option set)."""
    plan = report.plan
    severity = rollback_severity(report)
    subject = _subject(report)
    description = "\n".join(
        [
            f"*{rollback_summary(report)}*",
            f"*Asked by* `{report.request.requested_by}`"
            + (" (chat Roll back button)" if report.request.via_chat else ""),
            f"*VPC* `{plan.vpc_id}` ({report.place.region})",
            f"_Checker log: request id {request_id or 'unknown'}_",
        ]
    )
    steps = [
        "Check again: invoke the checker with "
        f'`{{"action": "check", "vpc_ids": ["{plan.vpc_id}"]}}`'
    ]
    return ChatNotification(
        {
            "version": VERSION,
            "source": SOURCE,
            "id": clip(f"rollback#{plan.vpc_id}#{request_id or report.status}", 128),
            "content": {
                "textType": TEXT_TYPE,
                "title": clip(f"{_ICONS[severity]} {subject}", TITLE_LIMIT),
                "description": description,
                "nextSteps": [clip(step, NEXT_STEP_LIMIT) for step in steps],
                "keywords": [severity.value, "ROLLBACK", report.status.upper(), plan.vpc_id],
            },
            "metadata": {
                "threadId": thread_id(plan.vpc_id, report.incident_started_at, plan.judged),
                "summary": clip(subject, SUMMARY_LIMIT),
                "eventType": f"{EVENT_TYPE_PREFIX}Rollback",
                "relatedResources": [r for r in (plan.vpc_id, plan.judged, plan.target) if r],
                "additionalContext": {
                    "vpc_id": plan.vpc_id,
                    "region": report.place.region,
                    "status": report.status,
                    "requested_by": report.request.requested_by,
                },
            },
        }
    )
