"""The alert as an Amazon Q Developer in chat applications custom notification (pure formatting).

Amazon Q Developer (formerly AWS Chatbot) posts an SNS message to Slack or Microsoft Teams only
when it is an AWS service notification or a *custom notification* document; anything else is
dropped without a trace. This module renders that document from the same `VpcOutcome` and
`AlertContext` as the e-mail text (`alert.py`): both render one `AlertView` (`view.py`), so they
say the same thing in the same words.

Why a topic of its own (docs/checker-contract.md): Amazon Q Developer subscribes to SNS with
protocol `https`, so on the alert topic (`MessageStructure=json`) it would read the `https` body,
the alert's JSON document for machines, and drop it as no custom notification. So the checker
publishes this document, as the whole message, to a dedicated chat topic (CHAT_TOPIC_ARN) that
only the chat channels subscribe to; the alert topic refuses their subscription.

The notification is threaded per incident: its CRITICAL (or WARNING) and its RECOVERED share a
`threadId` named after the VPC and the time the incident started.

An alert that advises a rollback to the last option set verified healthy carries, when the opt-in
"Roll back" button is on, the rollback request the button sends to the checker, the checker's
chat alias and its region in `additionalContext` (constants.CHAT_CONTEXT_*): the template's custom
action builds its command from exactly these, and shows its button only where they are present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dns_watchdog.constants import (
    CHAT_CONTEXT_CHECKER_REGION,
    CHAT_CONTEXT_REGION,
    CHAT_CONTEXT_ROLLBACK_FUNCTION,
    CHAT_CONTEXT_ROLLBACK_OPTION_SET_ID,
    CHAT_CONTEXT_ROLLBACK_REQUEST,
    CHAT_CONTEXT_VPC_ID,
    EVIDENCE_ATTRIBUTE,
)
from dns_watchdog.domain.dns_causes import DnsCauses
from dns_watchdog.domain.models import Severity, Verdict
from dns_watchdog.domain.outcome import RollbackKind, VpcOutcome
from dns_watchdog.domain.text import ASCII_ELLIPSIS, clip
from dns_watchdog.domain.vpc import OptionSet
from dns_watchdog.render.alert import ALERT_BUDGET_BYTES, Alert
from dns_watchdog.render.blocking import render_blocking_lines
from dns_watchdog.render.dns_causes import cause_lines
from dns_watchdog.render.endpoint_health import endpoint_health_lines
from dns_watchdog.render.escape import SUBJECT_LIMIT, chat_markdown
from dns_watchdog.render.evidence import evidence_attribute, render_evidence_lines
from dns_watchdog.render.view import AlertContext, AlertView, build_view
from dns_watchdog.render.workloads import hit_line, priority_line

VERSION = "1.0"
SOURCE = "custom"
TEXT_TYPE = "client-markdown"
EVENT_TYPE_PREFIX = "VpcDnsWatchdog"

# The limits the documents are held to (tests/checker/test_chat.py). The published schema names
# the fields; these bounds keep every field well inside what Slack and Microsoft Teams display
# (a Slack section block takes 3,000 characters, a Teams card about 28 KB) and the whole message
# inside SNS's budget.
TITLE_LIMIT = 250
DESCRIPTION_LIMIT = 3_000
SUMMARY_LIMIT = 250
NEXT_STEPS_LIMIT = 5
NEXT_STEP_LIMIT = 1_000
KEYWORDS_LIMIT = 10
KEYWORD_LIMIT = 64
RELATED_RESOURCES_LIMIT = 10
CONTEXT_VALUE_LIMIT = 1_024
# A thread id travels in chat URLs and buttons: keep it to a safe alphabet.
THREAD_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
CANARIES_IN_DESCRIPTION = 5
# Functions with DNS errors named in the description (the rest counted).
EVIDENCE_FUNCTIONS_IN_DESCRIPTION = 5

_ICONS = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.WARNING: ":warning:",
    Severity.RECOVERED: ":white_check_mark:",
    Severity.INFO: ":information_source:",
}


@dataclass(frozen=True)
class ChatNotification:
    """One custom notification: the document and its SNS message body."""

    document: dict[str, Any]

    def sns_message(self) -> str:
        return json.dumps(self.document, separators=(",", ":"), ensure_ascii=False)

    def size_bytes(self) -> int:
        return len(self.sns_message().encode())

    @property
    def markdown(self) -> str:
        """What the channel shows: the title, the description and the next steps."""
        content = self.document["content"]
        steps = "\n".join(f"- {step}" for step in content["nextSteps"])
        return f"*{content['title']}*\n\n{content['description']}\n\n*Next steps*\n{steps}\n"


def thread_id(vpc_id: str, incident_started_at: str | None, option_set_id: str) -> str:
    """The chat thread of an alert: per incident; outside incidents, per VPC and option set."""
    anchor = incident_started_at or option_set_id
    raw = f"{vpc_id}-{anchor}"
    return re.sub(r"[^A-Za-z0-9_.:-]", "-", raw)[:128]


def render_chat(view: AlertView) -> ChatNotification:
    """The custom notification of `view`, within the field limits and SNS's budget."""
    notification = ChatNotification(_document(view, DESCRIPTION_LIMIT, CANARIES_IN_DESCRIPTION))
    if notification.size_bytes() > ALERT_BUDGET_BYTES:  # pragma: no cover - fields are bounded
        notification = ChatNotification(_document(view, 500, 0))
    return notification


def build_chat_notification(
    outcome: VpcOutcome, known: Mapping[str, OptionSet | None], context: AlertContext
) -> ChatNotification:
    """The custom notification for `outcome`'s alert (`known`: the option sets it names)."""
    return render_chat(build_view(outcome, known, context))


def _document(view: AlertView, description_budget: int, canaries: int) -> dict[str, Any]:
    severity = view.severity
    facts = view.facts
    return {
        "version": VERSION,
        "source": SOURCE,
        "id": clip(view.outcome.alert_key, 128),
        "content": {
            "textType": TEXT_TYPE,
            "title": clip(f"{_ICONS[severity]} {_subject(view)}", TITLE_LIMIT),
            "description": _description(view, description_budget, canaries),
            "nextSteps": _next_steps(view),
            "keywords": _keywords(view),
        },
        "metadata": {
            "threadId": thread_id(
                facts.vpc_id,
                view.outcome.decision.incident_started_at,
                facts.option_set.option_set_id,
            ),
            "summary": clip(_subject(view), SUMMARY_LIMIT),
            "eventType": f"{EVENT_TYPE_PREFIX}{severity.value.title()}",
            "relatedResources": _related_resources(view),
            "additionalContext": {
                k: clip(v, CONTEXT_VALUE_LIMIT) for k, v in _additional_context(view).items()
            },
        },
    }


def _subject(view: AlertView) -> str:
    """The e-mail's subject, cut where SNS cuts it, the account's name through the chat rule
    (not made ASCII: chat shows any script)."""
    return clip(view.subject_in(chat_markdown), SUBJECT_LIMIT, marker=ASCII_ELLIPSIS)


def _description(view: AlertView, budget: int, canaries: int) -> str:
    lines = [
        *_situation_lines(view),
        *_verdict_lines(view),
        *_canary_lines(view, canaries),
        f"_Full findings: {view.where_in_full}_",
    ]
    return clip("\n".join(lines), budget)


def _situation_lines(view: AlertView) -> list[str]:
    """The headline, what self-healing did, the VPC, its option sets and the change."""
    facts = view.facts
    history = view.history
    lines = [view.headline]
    zones = DnsCauses(lost_zones=view.outcome.causes.lost_zones)
    lines += [f"*{line}*" for line in cause_lines(zones, view.request.change, chat_markdown)]
    if view.healing_sentence is not None:
        lines.append(f"*{chat_markdown(view.healing_sentence)}*")  # it may quote an AWS error
    lines += _impact_lines(view)
    previous, current = (
        chat_markdown(view.described(i)) for i in (history.previous, history.current)
    )
    lines += [
        "",
        f"*VPC* `{facts.vpc_id}` ({chat_markdown(facts.cidr_block)}, {view.region})",
        f"*Option set* {previous} → {current}",
    ]
    if history.last_good:
        last_good = chat_markdown(view.described(history.last_good))
        lines.append(f"*Last good* {last_good}, verified {view.last_good_verified}")
    change = view.request.change
    if change is not None:
        who, when = chat_markdown(change.actor_arn or "unknown"), chat_markdown(change.event_time)
        lines.append(f"*Change* {chat_markdown(change.event_name)} by {who} at {when}")
    return lines


def _impact_lines(view: AlertView) -> list[str]:
    """Why the alert is quieter than its verdict, and what is hit (function names and AWS's
    error messages were written by others: through the chat rule)."""
    lines = []
    lowered = priority_line(view.context.priority)
    if lowered is not None:
        lines.append(f"_{chat_markdown(lowered)}_")
    blast = view.context.blast
    if blast is not None:
        lines.append(f"*{hit_line(blast, view.facts.vpc_id, chat_markdown)}*")
    return lines


def _verdict_lines(view: AlertView) -> list[str]:
    """The verdict, the diagnosis, the blocking rule, and whether a second run confirmed it."""
    diagnosis = view.judgement.diagnosis
    lines = [f"*Verdict* {view.judgement.verdict.value} - `{chat_markdown(diagnosis.code)}`"]
    if diagnosis.summary:
        lines.append(f"> {chat_markdown(diagnosis.summary)}")
    if diagnosis.likely_causes:
        causes = (chat_markdown(cause) for cause in diagnosis.likely_causes)
        lines.append("*Likely causes:* " + "; ".join(causes))
    firewall = DnsCauses(firewall=view.outcome.causes.firewall)
    lines += [f"*{line}*" for line in cause_lines(firewall, view.request.change, chat_markdown)]
    lines += [chat_markdown(line) for line in endpoint_health_lines(view.context.endpoints or ())]
    lines += render_blocking_lines(
        view.context.blocking, markdown=True, spent=view.context.blocking_spent
    )
    lines += render_evidence_lines(
        view.context.evidence, markdown=True, limit=EVIDENCE_FUNCTIONS_IN_DESCRIPTION
    )
    if view.confirmation is not None:
        lines.append(f"_{view.confirmation}_")
    return lines


def _canary_lines(view: AlertView, canaries: int) -> list[str]:
    reports = view.canaries_worst_first
    if not reports:
        return []
    lines = [f"*Canaries ({len(reports)})*"]
    for report in reports[:canaries]:
        name, code = chat_markdown(report.name), chat_markdown(report.diagnosis.code)
        lines.append(f"• `{name}`: {report.severity.value} - {code}")
    if len(reports) > canaries:
        lines.append(f"• … and {len(reports) - canaries} more")
    return lines


# What chat adds to a reason that advises no command: where to look instead (the e-mail text
# gives the commands).
_LOOK_INSTEAD: dict[RollbackKind, str] = {
    "current_is_last_good": (
        " Look for what else changed (the DNS server, security groups, network ACLs, Resolver "
        "rules)."
    ),
    "unknown": " Find the earlier AssociateDhcpOptions in CloudTrail, then associate it again.",
}


def _next_steps(view: AlertView) -> list[str]:
    steps = _rollback_steps(view)
    if view.judgement.verdict != Verdict.OK:
        steps.append(
            "Check again after a fix: invoke the checker with "
            f'`{{"action": "check", "vpc_ids": ["{view.facts.vpc_id}"]}}`'
        )
    return [clip(step, NEXT_STEP_LIMIT) for step in steps[:NEXT_STEPS_LIMIT]]


def _rollback_steps(view: AlertView) -> list[str]:
    """The rollback advice: the view's reason, with the command when there is one."""
    healing = view.context.healing
    if healing is not None and healing.healed:
        return [f"Nothing to roll back: {chat_markdown(view.healing_sentence or '')}"]
    gone = [view.last_good_gone_note] if view.last_good_gone_note is not None else []
    if view.rollback_command is not None:
        return [*gone, f"{view.rollback_reason}: `{view.rollback_command}`"]
    look_instead = _LOOK_INSTEAD.get(view.rollback.kind, "")
    return [*gone, f"{view.rollback_reason}.{look_instead}"]


def _keywords(view: AlertView) -> list[str]:
    keywords = [
        view.severity.value,
        view.judgement.verdict.value,
        chat_markdown(view.judgement.diagnosis.code),
        view.facts.vpc_id,
        view.region,
    ]
    return [clip(k, KEYWORD_LIMIT) for k in dict.fromkeys(keywords)][:KEYWORDS_LIMIT]


def _related_resources(view: AlertView) -> list[str]:
    history = view.history
    related = [view.facts.vpc_id, history.current, history.previous, history.last_good]
    related += [r.function_arn for r in view.canaries_worst_first]
    return [r for r in dict.fromkeys(related) if r][:RELATED_RESOURCES_LIMIT]


def _additional_context(view: AlertView) -> dict[str, str]:
    """What chat's custom actions may read (event.metadata.additionalContext.<key>)."""
    context = {
        CHAT_CONTEXT_VPC_ID: view.facts.vpc_id,
        CHAT_CONTEXT_REGION: view.region,
        "severity": view.severity.value,
        "verdict": view.judgement.verdict.value,
        "diagnosis": view.judgement.diagnosis.code,
        "option_set_id": view.facts.option_set.option_set_id,
        "event_name": view.request.event_name,
        "trigger": view.request.trigger,
        "checked_at": view.context.checked_at,
        "confirmed": "yes" if view.context.confirmed_after_s is not None else "no",
        "rollback_command": view.rollback_command or "",
        "request_id": view.context.request_id or "",
        "evidence": evidence_attribute(view.context.evidence)[EVIDENCE_ATTRIBUTE],
    }
    if view.context.workloads is not None:
        context["workloads"] = str(view.context.workloads)
    if view.context.account_id is not None:
        # Organization mode: the account the VPC is in.
        context["account_id"] = view.context.account_id
    elif view.rollback_command is not None and view.rollback.option_set_id is not None:
        # Only when a rollback is advised (in the checker's own account).
        context[CHAT_CONTEXT_ROLLBACK_OPTION_SET_ID] = view.rollback.option_set_id
    request, button = view.rollback_request, view.context.rollback_button
    if request is not None and button is not None:
        # The "Roll back" button's variables (its criteria: HAS_VALUE on each). The button asks
        # the checker, which rolls back in the VPC's account through its member role.
        context[CHAT_CONTEXT_ROLLBACK_FUNCTION] = button.function
        context[CHAT_CONTEXT_CHECKER_REGION] = button.region
        context[CHAT_CONTEXT_ROLLBACK_REQUEST] = json.dumps(request, separators=(",", ":"))
    return context


def build_preflight_chat_notification(
    alert: Alert, option_set_id: str, vpc_ids: Sequence[str], region: str
) -> ChatNotification:
    """The chat form of a preflight WARNING (`preflight.py`): its own thread per option set."""
    # The e-mail text quotes canaries and the creator: each of its lines through the chat rule.
    text = "\n".join(chat_markdown(line) for line in alert.text.splitlines())
    description = clip(text, DESCRIPTION_LIMIT)
    steps = [
        f"Do not associate {option_set_id} with {', '.join(vpc_ids[:5])}"
        + (f" and {len(vpc_ids) - 5} more VPCs" if len(vpc_ids) > 5 else "")
        + " until its servers answer for them.",
        f"Predict again: `vpc-dns-watchdog preflight {option_set_id} --region {region}`",
    ]
    related = [option_set_id, *vpc_ids][:RELATED_RESOURCES_LIMIT]
    context = {
        "dhcp_options_id": option_set_id,
        "region": region,
        "severity": Severity.WARNING.value,
        "verdict": Verdict.FAILED.value,
        "would_break": ", ".join(vpc_ids),
        "event_name": str(alert.attributes.get("event_name", "")),
    }
    return ChatNotification(
        {
            "version": VERSION,
            "source": SOURCE,
            "id": clip(f"preflight#{option_set_id}", 128),
            "content": {
                "textType": TEXT_TYPE,
                "title": clip(f"{_ICONS[Severity.WARNING]} {alert.subject}", TITLE_LIMIT),
                "description": description,
                "nextSteps": [clip(step, NEXT_STEP_LIMIT) for step in steps],
                "keywords": [Severity.WARNING.value, "PREFLIGHT", option_set_id, region],
            },
            "metadata": {
                "threadId": thread_id("preflight", None, option_set_id),
                "summary": clip(alert.subject, SUMMARY_LIMIT),
                "eventType": f"{EVENT_TYPE_PREFIX}PreflightWarning",
                "relatedResources": related,
                "additionalContext": {k: clip(v, CONTEXT_VALUE_LIMIT) for k, v in context.items()},
            },
        }
    )
