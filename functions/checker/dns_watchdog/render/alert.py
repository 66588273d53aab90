"""Alert text and document for on-call engineers (pure formatting)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dns_watchdog.domain.blocking import BlockingFinding
from dns_watchdog.domain.flap import confirmation_note
from dns_watchdog.domain.healing import HealReport
from dns_watchdog.domain.judge import CanaryReport, Judgement
from dns_watchdog.domain.lint import LintFinding
from dns_watchdog.domain.models import ProbeResult, Severity, Verdict
from dns_watchdog.domain.outcome import Rollback, VpcOutcome
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.text import clip
from dns_watchdog.domain.vpc import OptionSet, VpcFacts
from dns_watchdog.render.blocking import finding_document, render_blocking_lines

SCHEMA = "vpc-dns-watchdog/alert/v1"
SUBJECT_LIMIT = 99  # SNS subjects must stay under 100 characters
MAX_CANARIES_IN_TEXT = 20
# SNS takes at most 256 KiB per message (all protocols' bodies, subject and attributes); the
# margin covers SNS's own envelope fields.
SNS_MESSAGE_LIMIT_BYTES = 262_144
ALERT_BUDGET_BYTES = SNS_MESSAGE_LIMIT_BYTES - 8_192
ROLLBACK_HEADER = "What to do (from EC2 and the watchdog's records, not from the event):"


@dataclass(frozen=True)
class AlertContext:
    """What an alert says besides the VPC's outcome: the request, the region, the time, and the
    checker invocation whose log holds every canary's full findings."""

    request: CheckRequest
    region: str
    checked_at: str
    request_id: str | None = None
    # The lint of the option set a change alert announces (empty: none, or not linted).
    lint: tuple[LintFinding, ...] = ()
    # A sweep's failure confirmed by a second canary run this many seconds later (flap.py).
    confirmed_after_s: float | None = None
    # What opt-in self-healing did (or would have done) for this alert (healing.py).
    healing: HealReport | None = None
    # Organization mode: the account the VPC is in (and its name when known); None otherwise.
    account_id: str | None = None
    account_name: str | None = None
    # What Reachability Analyzer named in the way of the unreachable servers (opt-in, blocking.py).
    blocking: tuple[BlockingFinding, ...] = ()


@dataclass(frozen=True)
class _View:
    """One alert's facts, gathered once from the outcome and the described option sets."""

    severity: Severity
    outcome: VpcOutcome
    context: AlertContext
    known: Mapping[str, OptionSet | None]
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

    def option_set(self, option_set_id: str | None) -> OptionSet | None:
        if option_set_id == self.facts.option_set.option_set_id:
            return self.facts.option_set
        return self.known.get(option_set_id) if option_set_id else None


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    document: dict[str, Any]
    attributes: dict[str, str]

    def sns_message(self) -> str:
        """The MessageStructure=json body: the text for people (e-mail and every protocol
        without a body of its own), the JSON document for machines. The text is not repeated
        inside the document."""
        document = json.dumps(self.document, sort_keys=True, separators=(",", ":"))
        return json.dumps(
            {"default": self.text, "sqs": document, "lambda": document, "https": document}
        )

    def size_bytes(self) -> int:
        """What SNS counts against its limit: the message, the subject and the attributes."""
        attributes = sum(len(k.encode()) + len(v.encode()) + 6 for k, v in self.attributes.items())
        return len(self.sns_message().encode()) + len(self.subject.encode()) + attributes


@dataclass(frozen=True)
class Detail:
    """How much of the canaries' evidence an alert shows (None: all of it)."""

    text_canaries: int
    text_lookups: int | None
    document_canaries: int | None
    document_lookups: int | None


# From everything to the bare verdict: the first level whose alert fits is published.
DETAIL_LEVELS = (
    Detail(MAX_CANARIES_IN_TEXT, None, None, None),
    Detail(MAX_CANARIES_IN_TEXT, 12, 50, 25),
    Detail(10, 6, 20, 10),
    Detail(5, 3, 5, 5),
    Detail(2, 2, 0, 0),
    Detail(0, 0, 0, 0),
)


def build_alert(
    outcome: VpcOutcome, known: Mapping[str, OptionSet | None], context: AlertContext
) -> Alert:
    """The alert for `outcome`; `known` holds the option sets it names (None: no longer exist).

    The alert always fits SNS's limit: when the full evidence does not, it shows less of it
    (failing canaries and lookups first, the rest counted) and says where the rest is.
    """
    severity = outcome.severity
    if severity is None:
        raise ValueError(f"no alert was decided for {outcome.facts.vpc_id}")
    view = _View(severity, outcome, context, known, outcome.rollback(known))
    alert = _render(view, DETAIL_LEVELS[0])
    for detail in DETAIL_LEVELS[1:]:
        if alert.size_bytes() <= ALERT_BUDGET_BYTES:
            break
        alert = _render(view, detail)
    return alert


def _render(view: _View, detail: Detail) -> Alert:
    rollback = rollback_command(view.rollback, view.facts.vpc_id, view.context.region)
    text = _text(view, rollback, detail)
    return Alert(
        subject=_subject(view),
        text=text,
        document=_document(view, rollback, detail),
        attributes={
            "severity": view.severity.value,
            "vpc_id": view.facts.vpc_id,
            "event_name": view.request.event_name,
            "verdict": view.judgement.verdict.value,
            # Organization mode: subscription filter policies can route per account / region.
            **(
                {"account_id": view.context.account_id, "region": view.context.region}
                if view.context.account_id
                else {}
            ),
        },
    )


def rollback_command(rollback: Rollback, vpc_id: str, region: str) -> str | None:
    """The command that puts the rollback target back, when there is one."""
    if rollback.option_set_id is None:
        return None
    return (
        f"aws ec2 associate-dhcp-options --dhcp-options-id {rollback.option_set_id} "
        f"--vpc-id {vpc_id} --region {region}"
    )


def _account_label(context: AlertContext) -> str | None:
    """Organization mode: the account, with its name when known."""
    if context.account_id is None:
        return None
    if context.account_name:
        return f"{context.account_id} ({context.account_name})"
    return context.account_id


def _subject(view: _View) -> str:
    verdict = view.judgement.verdict
    state = "OK again" if view.severity == Severity.RECOVERED else verdict.value
    request = view.request
    where = view.facts.vpc_id
    account = _account_label(view.context)
    if account:
        where = f"{account} {view.context.region} {where}"
    subject = (
        f"[{view.severity.value}] {where}: Lambda DNS {state} "
        f"{'after' if request.trigger == 'change' else 'in'} {request.event_name}"
    )
    return clip(subject, SUBJECT_LIMIT)


def _servers(option_set: OptionSet | None, option_set_id: str | None) -> str:
    if option_set_id is None:
        return "unknown"
    if option_set is None:
        return f"{option_set_id} (no longer exists)"
    if option_set.option_set_id == "default":
        return "default (no DNS servers handed out)"
    servers = ", ".join(option_set.domain_name_servers) or "no DNS servers"
    return f"{option_set.option_set_id} ({servers})"


def _described(view: _View, option_set_id: str | None) -> str:
    return _servers(view.option_set(option_set_id), option_set_id)


def _headline(view: _View) -> str:
    vpc_id = view.facts.vpc_id
    verdict = view.judgement.verdict
    event_name = view.request.event_name
    cause = f"after {event_name}" if view.request.change else f"({event_name})"
    if view.severity == Severity.RECOVERED:
        return f"RECOVERED: DNS for Lambda functions in {vpc_id} works again {cause}."
    state = "cannot be verified" if verdict == Verdict.UNVERIFIED else f"is {verdict.value}"
    return f"{view.severity.value}: DNS for Lambda functions in {vpc_id} {state} {cause}."


def _headline_lines(view: _View) -> list[str]:
    healing = view.context.healing
    return [_headline(view), *([healing.sentence] if healing is not None else [])]


def _healed_lines(view: _View) -> list[str]:
    """The rollback section when self-healing already rolled back and verified it."""
    healing = view.context.healing
    if healing is None or not healing.healed:
        return []
    return [
        healing.sentence,
        "Nothing to run. The association's own CloudTrail event is checked like any other "
        "and closes the incident (RECOVERED).",
    ]


def _vpc_lines(view: _View) -> list[str]:
    facts = view.facts
    history = view.outcome.history
    lines = [f"VPC:          {facts.vpc_id} ({facts.cidr_block}, {view.context.region})"]
    account = _account_label(view.context)
    if account:
        lines.append(f"Account:      {account}")
    current = _described(view, history.current)
    previous = _described(view, history.previous)
    lines.append(f"Option set:   {previous} -> {current}")
    if history.last_good:
        last_good = _described(view, history.last_good)
        verified = history.last_good_verified_at or "earlier"
        lines.append(f"Last good:    {last_good}, verified healthy {verified}")
    expected = ", ".join(facts.expected_nameservers) or "none"
    lines.append(f"Lambdas should see configured nameservers: {expected}")
    lines.append(f"enableDnsSupport: {'true' if facts.dns_support else 'false'}")
    return lines + _lint_lines(view.context.lint)


def _trigger_lines(view: _View) -> list[str]:
    change = view.request.change
    if change is not None:
        who = change.actor_arn or "unknown"
        if change.session_issuer_arn:
            who += f" (session issuer {change.session_issuer_arn})"
        return [
            f"Who:          {who}",
            f"When:         {change.event_time}",
            f"From:         {change.source_ip or 'unknown'}",
            f"Event:        {change.event_name} ({change.event_source}), id {change.event_id}",
        ]
    if view.request.trigger != "manual":
        return []
    lines = ["Trigger:      manual check (invoked directly, not a CloudTrail event)"]
    if view.request.reason:
        lines.append(f"Reason:       {view.request.reason}")
    return lines


def _advice_lines(view: _View, rollback: str | None) -> list[str]:
    # The advice stands apart, and only EC2 and the watchdog's own state fill it, never the event.
    lines = ["", ROLLBACK_HEADER]
    if view.context.account_id and rollback:
        lines.append(f"(run it with credentials for account {view.context.account_id})")
    return lines + (_healed_lines(view) or _rollback_lines(view, rollback))


def _text(view: _View, rollback: str | None, detail: Detail) -> str:
    judgement = view.judgement
    lines = [*_headline_lines(view), "", *_vpc_lines(view), *_trigger_lines(view)]
    lines += ["", f"Verdict: {judgement.verdict.value}", *_diagnosis_lines(view)]
    lines += _notes(view)
    lines += ["", f"Canaries ({len(judgement.canaries)}):"]
    if not judgement.canaries:
        lines.append("  none")
    reports = _worst_first(judgement.canaries)
    for report in reports[: detail.text_canaries]:
        lines += _canary_lines(report, detail.text_lookups)
    hidden = reports[detail.text_canaries :]
    if hidden:
        lines.append(f"  ... and {len(hidden)} more: {_counted(hidden)}")
    if detail != DETAIL_LEVELS[0]:
        lines.append(f"  (shortened to fit an alert; {_where_in_full(view)})")
    lines += _advice_lines(view, rollback)
    lines += ["", f"Checked at {view.context.checked_at} by vpc-dns-watchdog."]
    return "\n".join(lines).rstrip() + "\n"


def _diagnosis_lines(view: _View) -> list[str]:
    """The diagnosis, its likely causes, and what blocks the path when that was analysed."""
    diagnosis = view.judgement.diagnosis
    lines = [f"Diagnosis: {diagnosis.code} (failing hop: {diagnosis.failing_hop or 'none'})"]
    if diagnosis.summary:
        lines.append(f"  {diagnosis.summary}")
    if diagnosis.likely_causes:
        lines.append("Likely causes:")
        lines += [f"  - {cause}" for cause in diagnosis.likely_causes]
    return lines + render_blocking_lines(view.context.blocking)


def _lint_lines(findings: Sequence[LintFinding]) -> list[str]:
    if not findings:
        return []
    return [
        "Option-set lint:",
        *(f"  [{f.severity.value}] {f.code.value}: {f.message}" for f in findings),
    ]


def _notes(view: _View) -> list[str]:
    lines = [f"Note: {note}" for note in view.judgement.notes]
    if view.context.confirmed_after_s is not None:
        lines.append(confirmation_note(view.context.confirmed_after_s))
    return lines


def _worst_first(reports: Sequence[CanaryReport]) -> list[CanaryReport]:
    """Failing canaries first (FAILED, DEGRADED, UNVERIFIED, then OK), by name within each."""
    rank = {Verdict.FAILED: 0, Verdict.DEGRADED: 1, Verdict.UNVERIFIED: 2, Verdict.OK: 3}
    return sorted(reports, key=lambda r: (r.status == "gone", rank[r.severity], r.name))


def _counted(reports: Sequence[CanaryReport]) -> str:
    counts = Counter(f"{r.severity.value} - {r.diagnosis.code}" for r in reports)
    return ", ".join(f"{count} {what}" for what, count in counts.most_common())


def _where_in_full(view: _View) -> str:
    request_id = view.context.request_id or "unknown"
    return (
        f"every canary's full findings are in the checker's log, request id {request_id}, "
        f"lines 'Canary findings' for {view.facts.vpc_id}"
    )


def _shown(lookups: Sequence[ProbeResult], limit: int | None) -> tuple[list[ProbeResult], str]:
    """The lookups to show, failing ones first, and a line counting the rest (or "")."""
    ordered = [p for p in lookups if not p.ok] + [p for p in lookups if p.ok]
    if limit is None or len(ordered) <= limit:
        return list(lookups), ""
    rest = ordered[limit:]
    failing = sum(1 for p in rest if not p.ok)
    return ordered[:limit], f"... and {len(rest)} more lookups ({failing} failing)"


def _canary_lines(report: CanaryReport, lookups: int | None = None) -> list[str]:
    if report.status == "gone":
        return [f"  {report.name}: skipped, the function no longer exists"]
    refreshed = ", refreshed" if report.refreshed else ""
    head = f"  {report.name}: {report.severity.value} - {report.diagnosis.code}{refreshed}"
    lines = [head]
    if not report.from_findings and report.detail:
        lines.append(f"    {report.detail}")
    if report.probes:
        shown, more = _shown(report.probes, lookups)
        lines.append(f"    via forwarder ({_servers_of(report.probes)}):")
        lines += [f"      {_probe_line(probe)}" for probe in shown]
        lines += [f"      {more}"] if more else []
    if report.direct:
        shown, more = _shown(report.direct, lookups)
        lines.append("    direct:")
        lines += [f"      {_probe_line(probe, with_server=True)}" for probe in shown]
        lines += [f"      {more}"] if more else []
    return lines


def _servers_of(probes: tuple[ProbeResult, ...]) -> str:
    return ", ".join(dict.fromkeys(p.server for p in probes if p.server)) or "resolv.conf"


def _probe_line(probe: ProbeResult, *, with_server: bool = False) -> str:
    latency = f"{probe.elapsed_ms:.1f} ms" if probe.elapsed_ms is not None else "- ms"
    where = f" @{probe.server} ({probe.role})" if with_server else ""
    answers = f" {', '.join(probe.answers[:4])}" if probe.answers else ""
    detail = f" - {probe.detail}" if probe.detail and not probe.ok else ""
    return f"{probe.name} {probe.type}{where}: {probe.outcome} in {latency}{answers}{detail}"


def _find_in_cloudtrail(vpc_id: str, region: str) -> str:
    return (
        f"aws cloudtrail lookup-events --lookup-attributes "
        f"AttributeKey=ResourceName,AttributeValue={vpc_id} --region {region}"
    )


def _rollback_lines(view: _View, rollback: str | None) -> list[str]:
    advice = view.rollback
    if advice.kind == "none_needed":
        return ["No action needed."]
    vpc_id = view.facts.vpc_id
    region = view.context.region
    history = view.outcome.history
    verified = history.last_good_verified_at or "earlier"
    lines = []
    change = view.request.change
    if change and change.event_name != "AssociateDhcpOptions":
        lines.append(
            f"This check followed {change.event_name}: consider reverting that call "
            f"(CloudTrail event {change.event_id})."
        )
    if advice.kind == "not_option_set":
        lines += [
            "No rollback advised: the evidence does not point at the option set (see the "
            "diagnosis); rolling it back would not fix these names.",
        ]
        return lines
    if advice.kind == "last_good":
        lines += [
            f"Roll back to the last option set verified healthy: {advice.option_set_id} "
            f"(verified {verified})",
            f"  {rollback}",
        ]
        return lines + _unverified_previous_lines(view)
    if advice.kind == "current_is_last_good":
        lines += [
            f"No option set to roll back to: the current one, {history.current}, is the last "
            f"option set verified healthy (verified {verified}).",
            "  Something else changed (the DNS server itself, security groups, network ACLs, "
            "Resolver rules, enableDnsSupport); find it in CloudTrail:",
            f"    {_find_in_cloudtrail(vpc_id, region)}",
        ]
        return lines + _unverified_previous_lines(view)
    if advice.last_good_gone:
        lines.append(
            f"The last option set verified healthy, {history.last_good} (verified "
            f"{verified}), no longer exists."
        )
    if rollback:
        return [*lines, "Roll back the option set:", f"  {rollback}"]
    return [
        *lines,
        "Roll back: the previous option set is not known to the watchdog (it had not "
        "seen this VPC with another option set).",
        "  Find it in CloudTrail (the earlier AssociateDhcpOptions for this VPC):",
        f"    {_find_in_cloudtrail(vpc_id, region)}",
        "  or in AWS Config:",
        f"    aws configservice get-resource-config-history --resource-type AWS::EC2::VPC "
        f"--resource-id {vpc_id} --region {region}",
        "  then:",
        f"    aws ec2 associate-dhcp-options --dhcp-options-id <previous dopt id> "
        f"--vpc-id {vpc_id} --region {region}",
    ]


def _unverified_previous_lines(view: _View) -> list[str]:
    """Warn off the immediately previous option set when the watchdog never found it healthy."""
    history = view.outcome.history
    if not history.previous or history.previous in (history.last_good, history.current):
        return []
    previous = _described(view, history.previous)
    return [
        f"Not the option set just before this one, {previous}: the watchdog did not verify it "
        "healthy."
    ]


def _option_set_document(option_set: OptionSet | None, option_set_id: str | None) -> Any:
    if option_set_id is None:
        return None
    if option_set is None:
        return {"id": option_set_id, "exists": False, "domain_name_servers": None}
    return {
        "id": option_set.option_set_id,
        "exists": True,
        "domain_name_servers": list(option_set.domain_name_servers),
        "domain_name": option_set.domain_name,
        "uses_amazon_dns": option_set.uses_amazon_dns,
    }


def _canary_document(report: CanaryReport, lookups: int | None) -> dict[str, Any]:
    probes, _ = _shown(report.probes, lookups)
    direct, _ = _shown(report.direct, lookups)
    return {
        "name": report.name,
        "function_arn": report.function_arn,
        "status": report.status,
        "severity": report.severity.value,
        "diagnosis_code": report.diagnosis.code,
        "detail": report.detail or None,
        "refreshed": report.refreshed,
        "probes": [probe.model_dump(mode="json") for probe in probes],
        "direct": [probe.model_dump(mode="json") for probe in direct],
        "lookups_omitted": len(report.probes) + len(report.direct) - len(probes) - len(direct),
    }


def _document(view: _View, rollback: str | None, detail: Detail) -> dict[str, Any]:
    facts = view.facts
    judgement = view.judgement
    request = view.request
    change = request.change
    history = view.outcome.history
    reports = _worst_first(judgement.canaries)
    listed = reports if detail.document_canaries is None else reports[: detail.document_canaries]
    omitted = reports[len(listed) :]
    last_good = _option_set_document(view.option_set(history.last_good), history.last_good)
    if last_good is not None:
        last_good["verified_at"] = history.last_good_verified_at
    return {
        "schema": SCHEMA,
        "subject": _subject(view),
        "severity": view.severity.value,
        "verdict": judgement.verdict.value,
        "vpc_id": facts.vpc_id,
        "region": view.context.region,
        "account_id": view.context.account_id,
        "account_name": view.context.account_name,
        "cidr_block": facts.cidr_block,
        "event_name": request.event_name,
        "trigger": request.trigger,
        "reason": request.reason or None,
        "checked_at": view.context.checked_at,
        "dns_support": facts.dns_support,
        "option_set": _option_set_document(facts.option_set, facts.option_set.option_set_id),
        "previous_option_set": _option_set_document(
            view.option_set(history.previous), history.previous
        ),
        "last_good_option_set": last_good,
        "expected_nameservers": list(facts.expected_nameservers),
        "lint": [finding.as_dict() for finding in view.context.lint],
        "self_healing": view.context.healing.as_dict() if view.context.healing else None,
        "blocking_rules": [finding_document(f) for f in view.context.blocking],
        "change": None
        if change is None
        else {
            "event_id": change.event_id,
            "event_name": change.event_name,
            "event_source": change.event_source,
            "event_time": change.event_time,
            "actor_arn": change.actor_arn,
            "actor_type": change.actor_type,
            "session_issuer_arn": change.session_issuer_arn,
            "source_ip": change.source_ip,
            "account_id": change.account_id,
            "requested_option_set_id": change.requested_option_set_id,
        },
        "diagnosis": judgement.diagnosis.model_dump(mode="json"),
        "notes": list(judgement.notes),
        "confirmed_after_s": view.context.confirmed_after_s,
        "canaries": [_canary_document(r, detail.document_lookups) for r in listed],
        "canaries_total": len(reports),
        "canaries_omitted": len(omitted),
        "canaries_omitted_by_diagnosis": dict(
            Counter(f"{r.severity.value} {r.diagnosis.code}" for r in omitted)
        ),
        "shortened": detail != DETAIL_LEVELS[0],
        "full_findings": _where_in_full(view) if detail != DETAIL_LEVELS[0] else None,
        "rollback_command": rollback,
        "rollback_option_set_id": view.rollback.option_set_id,
        "rollback": view.rollback.kind,
        "headline": _headline(view),
    }


def build_access_warning(
    request: CheckRequest, account_id: str, region: str, reason: str, problem: str
) -> Alert:
    """A change in a member account the checker cannot enter: one WARNING, so it is not silent."""
    targets = ", ".join(t.resource_id for t in request.resources) or "its VPCs"
    label = f"{account_id} ({request.account_name})" if request.account_name else account_id
    subject = f"[WARNING] {label} {region}: cannot check {targets} after {request.event_name}"
    subject = clip(subject, SUBJECT_LIMIT)
    change = request.change
    lines = [
        f"WARNING: DNS for Lambda functions in {targets} cannot be verified after "
        f"{request.event_name}: the watchdog cannot act in account {account_id}.",
        "",
        f"Account:      {label}",
        f"Region:       {region}",
        f"Why:          {reason}",
    ]
    if change is not None:
        lines += [
            f"Who:          {change.actor_arn or 'unknown'}",
            f"When:         {change.event_time}",
            f"Event:        {change.event_name} ({change.event_source}), id {change.event_id}",
        ]
    lines += [
        "",
        "Deploy or repair the member role in that account (member-template.yaml; docs/deploy.md),",
        "then check again: vpc-dns-watchdog check --vpc <vpc-id> (with account_id and region).",
    ]
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "subject": subject,
        "severity": Severity.WARNING.value,
        "verdict": Verdict.UNVERIFIED.value,
        "account_id": account_id,
        "account_name": request.account_name,
        "region": region,
        "targets": [t.resource_id for t in request.resources],
        "event_name": request.event_name,
        "event_id": request.event_id,
        "access_problem": problem,
        "reason": reason,
    }
    return Alert(
        subject=subject,
        text="\n".join(lines) + "\n",
        document=document,
        attributes={
            "severity": Severity.WARNING.value,
            "event_name": request.event_name,
            "verdict": Verdict.UNVERIFIED.value,
            "account_id": account_id,
            "region": region,
        },
    )
