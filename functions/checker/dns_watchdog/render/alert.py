"""Alert text and document for on-call engineers (pure formatting).

The pieces every channel shares (headline, subject, option sets described, the rollback command
and its reason, self-healing's sentence) come from the alert's view (`view.py`); this module lays
them out as the e-mail text and the JSON document, and fits both into one SNS message.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dns_watchdog.constants import ATTRIBUTE_WORKLOADS
from dns_watchdog.domain.dns_causes import DnsCauses
from dns_watchdog.domain.judge import CanaryReport
from dns_watchdog.domain.lint import LintFinding
from dns_watchdog.domain.models import DiagnosisSource, ProbeResult, Severity, Verdict
from dns_watchdog.domain.outcome import RollbackKind, VpcOutcome
from dns_watchdog.domain.request import ChangeContext, CheckRequest
from dns_watchdog.domain.vpc import OptionSet
from dns_watchdog.render.blocking import (
    budget_spent_document,
    finding_document,
    render_blocking_lines,
)
from dns_watchdog.render.dns_causes import (
    MAX_LISTED,
    cause_lines,
    causes_document,
    endpoints_document,
    more_line,
)
from dns_watchdog.render.endpoint_health import endpoint_health_lines
from dns_watchdog.render.escape import sns_subject
from dns_watchdog.render.evidence import (
    evidence_attribute,
    evidence_document,
    render_evidence_lines,
)
from dns_watchdog.render.view import AlertContext, AlertView, build_view
from dns_watchdog.render.workloads import (
    beside_line,
    blast_document,
    hit_line,
    owners_line,
    priority_document,
    priority_line,
)

SCHEMA = "vpc-dns-watchdog/alert/v1"
MAX_CANARIES_IN_TEXT = 20
# SNS takes at most 256 KiB per message (all protocols' bodies, subject and attributes); the
# margin covers SNS's own envelope fields.
SNS_MESSAGE_LIMIT_BYTES = 262_144
ALERT_BUDGET_BYTES = SNS_MESSAGE_LIMIT_BYTES - 8_192
ROLLBACK_HEADER = "What to do (from EC2 and the watchdog's records, not from the event):"


# An SNS message attribute's value: a str goes out as DataType String, an int as Number (so
# subscription filter policies can match it with "numeric").
AttributeValue = str | int


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    document: dict[str, Any]
    attributes: dict[str, AttributeValue]

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
        attributes = sum(
            len(k.encode()) + len(str(v).encode()) + 6 for k, v in self.attributes.items()
        )
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


def render_alert(view: AlertView) -> Alert:
    """The alert of `view`: e-mail text, JSON document, subject and attributes.

    The alert always fits SNS's limit: when the full evidence does not, it shows less of it
    (failing canaries and lookups first, the rest counted) and says where the rest is.
    """
    alert = _render(view, DETAIL_LEVELS[0])
    for detail in DETAIL_LEVELS[1:]:
        if alert.size_bytes() <= ALERT_BUDGET_BYTES:
            break
        alert = _render(view, detail)
    return alert


def build_alert(
    outcome: VpcOutcome, known: Mapping[str, OptionSet | None], context: AlertContext
) -> Alert:
    """The alert for `outcome` (`known`: the option sets it names, None when gone)."""
    return render_alert(build_view(outcome, known, context))


def _render(view: AlertView, detail: Detail) -> Alert:
    return Alert(
        subject=view.subject,
        text=_text(view, detail),
        document=_document(view, detail),
        attributes=_attributes(view),
    )


def _attributes(view: AlertView) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "severity": view.severity.value,
        "vpc_id": view.facts.vpc_id,
        "event_name": view.request.event_name,
        "verdict": view.judgement.verdict.value,
    }
    if view.context.workloads is not None:
        # Absent when not known: a filter policy routes {"exists": false} to the pager too.
        attributes[ATTRIBUTE_WORKLOADS] = view.context.workloads
    if view.context.account_id:
        # Organization mode: subscription filter policies can route per account / region.
        attributes |= {"account_id": view.context.account_id, "region": view.region}
    return attributes | evidence_attribute(view.context.evidence)


# --- the e-mail text ----------------------------------------------------------------------------


def _text(view: AlertView, detail: Detail) -> str:
    judgement = view.judgement
    lines = [*_headline_lines(view), "", *_vpc_lines(view), *_trigger_lines(view)]
    lines += ["", f"Verdict: {judgement.verdict.value}", *_diagnosis_lines(view)]
    lines += render_evidence_lines(view.context.evidence)
    lines += _notes(view)
    lines += ["", f"Canaries ({len(judgement.canaries)}):"]
    if not judgement.canaries:
        lines.append("  none")
    reports = view.canaries_worst_first
    for report in reports[: detail.text_canaries]:
        lines += _canary_lines(report, detail.text_lookups)
    hidden = reports[detail.text_canaries :]
    if hidden:
        lines.append(f"  ... and {len(hidden)} more: {_counted(hidden)}")
    if detail != DETAIL_LEVELS[0]:
        lines.append(f"  (shortened to fit an alert; {view.where_in_full})")
    lines += _advice_lines(view)
    lines += ["", f"Checked at {view.context.checked_at} by vpc-dns-watchdog."]
    return "\n".join(lines).rstrip() + "\n"


def _headline_lines(view: AlertView) -> list[str]:
    healing = view.healing_sentence
    zones = cause_lines(_zone_causes(view), view.request.change)
    return [
        view.headline,
        *zones,
        *([healing] if healing is not None else []),
        *_impact_lines(view),
    ]


def _zone_causes(view: AlertView) -> DnsCauses:
    """The causes the headline names (the zones; firewall blocks go with the diagnosis)."""
    return DnsCauses(lost_zones=view.outcome.causes.lost_zones)


def _impact_lines(view: AlertView) -> list[str]:
    """What is hit, what else is in the VPC, and why the alert is not as loud as its verdict."""
    lines = [line for line in (priority_line(view.context.priority),) if line]
    blast = view.context.blast
    if blast is None:
        return lines
    lines.append(hit_line(blast, view.facts.vpc_id))
    census = blast.census
    if census is not None:
        extra = (beside_line(census), owners_line(census, view.context.place.account))
        lines += [line for line in extra if line]
    return lines


def _vpc_lines(view: AlertView) -> list[str]:
    facts = view.facts
    history = view.history
    lines = [f"VPC:          {facts.vpc_id} ({facts.cidr_block}, {view.region})"]
    if view.account_label:
        lines.append(f"Account:      {view.account_label}")
    current = view.described(history.current)
    previous = view.described(history.previous)
    lines.append(f"Option set:   {previous} -> {current}")
    if history.last_good:
        last_good = view.described(history.last_good)
        lines.append(f"Last good:    {last_good}, verified healthy {view.last_good_verified}")
    expected = ", ".join(facts.expected_nameservers) or "none"
    lines.append(f"Lambdas should see configured nameservers: {expected}")
    lines.append(f"enableDnsSupport: {'true' if facts.dns_support else 'false'}")
    return lines + _lint_lines(view.context.lint)


def _trigger_lines(view: AlertView) -> list[str]:
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


def _diagnosis_lines(view: AlertView) -> list[str]:
    """The diagnosis, its likely causes, and what blocks the path when that was analysed."""
    diagnosis = view.judgement.diagnosis
    lines = [f"Diagnosis: {diagnosis.code} (failing hop: {diagnosis.failing_hop or 'none'})"]
    if diagnosis.summary:
        lines.append(f"  {diagnosis.summary}")
    lines += _source_lines(diagnosis.sources)
    if diagnosis.likely_causes:
        lines.append("Likely causes:")
        lines += [f"  - {cause}" for cause in diagnosis.likely_causes]
    firewall = DnsCauses(firewall=view.outcome.causes.firewall)
    lines += cause_lines(firewall, view.request.change)
    lines += endpoint_health_lines(view.context.endpoints or ())
    return lines + render_blocking_lines(view.context.blocking, spent=view.context.blocking_spent)


SOURCE_KINDS = {
    "private_zone": "private hosted zone",
    "forward_rule": "Resolver forwarding rule",
    "system_rule": "Resolver system rule",
    "endpoint": "VPC endpoint",
    "firewall": "DNS Firewall rule group",
}
SOURCE_FINDINGS = {
    "not_forwarded": "not forwarded by",
    "targets_failing": "its targets fail:",
    "targets_unreachable": "targets the canary cannot reach:",
}


def _source_lines(sources: Sequence[DiagnosisSource]) -> list[str]:
    """The VPC's own zones and rules the diagnosis is about, one line each."""
    if not sources:
        return []
    lines = ["The VPC's own DNS:"]
    for source in sources[:MAX_LISTED]:
        ident = f"({source.id})" if source.id else None
        what = " ".join(p for p in (SOURCE_KINDS.get(source.kind), source.domain, ident) if p)
        via = f", through Route 53 Profile {source.via}" if source.via else ""
        finding = SOURCE_FINDINGS.get(source.finding, source.finding)
        servers = ", ".join(source.servers) or "none named"
        names = ", ".join(source.names) or "none named"
        lines.append(f"  - {what or source.kind}{via}: {finding} {servers} (names: {names})")
    return lines + [f"  {line}" for line in more_line(len(sources) - MAX_LISTED, "of them")]


def _diagnosis_document(view: AlertView) -> dict[str, Any]:
    """The diagnosis as the canaries gave it, its sources capped like the text's."""
    diagnosis = view.judgement.diagnosis
    document = diagnosis.model_dump(mode="json")
    document["sources"] = document["sources"][:MAX_LISTED]
    document["sources_omitted"] = max(0, len(diagnosis.sources) - MAX_LISTED)
    return document


def _notes(view: AlertView) -> list[str]:
    lines = [f"Note: {note}" for note in view.judgement.notes]
    return lines + ([view.confirmation] if view.confirmation is not None else [])


# --- what to do: the rollback section -----------------------------------------------------------


def _advice_lines(view: AlertView) -> list[str]:
    # The advice stands apart, and only EC2 and the watchdog's own state fill it, never the event.
    lines = ["", ROLLBACK_HEADER]
    if view.context.account_id and view.rollback_command:
        lines.append(f"(run it with credentials for account {view.context.account_id})")
    return lines + (_healed_lines(view) or _rollback_lines(view))


def _healed_lines(view: AlertView) -> list[str]:
    """The rollback section when self-healing already rolled back and verified it."""
    healing = view.context.healing
    if healing is None or not healing.healed or view.healing_sentence is None:
        return []
    return [
        view.healing_sentence,
        "Nothing to run. The association's own CloudTrail event is checked like any other "
        "and closes the incident (RECOVERED).",
    ]


def _rollback_lines(view: AlertView) -> list[str]:
    """The rollback advice: its reason (view.py) and what to run or where to look."""
    kind = view.rollback.kind
    if kind == "none_needed":
        return [f"{view.rollback_reason}."]
    return _revert_the_change_lines(view) + _ADVICE_LINES[kind](view)


def _revert_the_change_lines(view: AlertView) -> list[str]:
    change = view.request.change
    if change is None or change.event_name == "AssociateDhcpOptions":
        return []
    return [
        f"This check followed {change.event_name}: consider reverting that call "
        f"(CloudTrail event {change.event_id})."
    ]


def _not_option_set_lines(view: AlertView) -> list[str]:
    return [
        f"{view.rollback_reason} (see the diagnosis); rolling it back would not fix these names."
    ]


def _last_good_lines(view: AlertView) -> list[str]:
    return [
        f"{view.rollback_reason}: {view.rollback.option_set_id} "
        f"(verified {view.last_good_verified})",
        f"  {view.rollback_command}",
        *_unverified_previous_lines(view),
    ]


def _current_is_last_good_lines(view: AlertView) -> list[str]:
    return [
        f"{view.rollback_reason}.",
        "  Something else changed (the DNS server itself, security groups, network ACLs, "
        "Resolver rules, enableDnsSupport); find it in CloudTrail:",
        f"    {_find_in_cloudtrail(view.facts.vpc_id, view.region)}",
        *_unverified_previous_lines(view),
    ]


def _previous_lines(view: AlertView) -> list[str]:
    return [*_gone_lines(view), f"{view.rollback_reason}:", f"  {view.rollback_command}"]


def _unknown_lines(view: AlertView) -> list[str]:
    vpc_id, region = view.facts.vpc_id, view.region
    return [
        *_gone_lines(view),
        f"{view.rollback_reason}.",
        "  Find it in CloudTrail (the earlier AssociateDhcpOptions for this VPC):",
        f"    {_find_in_cloudtrail(vpc_id, region)}",
        "  or in AWS Config:",
        f"    aws configservice get-resource-config-history --resource-type AWS::EC2::VPC "
        f"--resource-id {vpc_id} --region {region}",
        "  then:",
        f"    aws ec2 associate-dhcp-options --dhcp-options-id <previous dopt id> "
        f"--vpc-id {vpc_id} --region {region}",
    ]


_ADVICE_LINES: dict[RollbackKind, Callable[[AlertView], list[str]]] = {
    "not_option_set": _not_option_set_lines,
    "last_good": _last_good_lines,
    "current_is_last_good": _current_is_last_good_lines,
    "previous": _previous_lines,
    "unknown": _unknown_lines,
}


def _gone_lines(view: AlertView) -> list[str]:
    note = view.last_good_gone_note
    return [note] if note is not None else []


def _unverified_previous_lines(view: AlertView) -> list[str]:
    """Warn off the immediately previous option set when the watchdog never found it healthy."""
    history = view.history
    if not history.previous or history.previous in (history.last_good, history.current):
        return []
    previous = view.described(history.previous)
    return [
        f"Not the option set just before this one, {previous}: the watchdog did not verify it "
        "healthy."
    ]


# --- the JSON document --------------------------------------------------------------------------


def _document(view: AlertView, detail: Detail) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "subject": view.subject,
        "headline": view.headline,
        **_where_fields(view),
        **_option_set_fields(view),
        "change": _change_document(view.request.change),
        **_evidence_fields(view),
        **_canary_fields(view, detail),
        **_rollback_fields(view),
    }


def _where_fields(view: AlertView) -> dict[str, Any]:
    """Which VPC, where, and what asked for the check."""
    request = view.request
    return {
        "severity": view.severity.value,
        "verdict": view.judgement.verdict.value,
        "vpc_id": view.facts.vpc_id,
        "region": view.region,
        "account_id": view.context.account_id,
        "account_name": view.context.account_name,
        "cidr_block": view.facts.cidr_block,
        "event_name": request.event_name,
        "trigger": request.trigger,
        "reason": request.reason or None,
        "checked_at": view.context.checked_at,
        "dns_support": view.facts.dns_support,
    }


def _option_set_fields(view: AlertView) -> dict[str, Any]:
    history = view.history
    current = view.facts.option_set
    last_good = _option_set_document(view.option_set(history.last_good), history.last_good)
    if last_good is not None:
        last_good["verified_at"] = history.last_good_verified_at
    return {
        "option_set": _option_set_document(current, current.option_set_id),
        "previous_option_set": _option_set_document(
            view.option_set(history.previous), history.previous
        ),
        "last_good_option_set": last_good,
        "expected_nameservers": list(view.facts.expected_nameservers),
        "lint": [finding.as_dict() for finding in view.context.lint],
    }


def _change_document(change: ChangeContext | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
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
    }


def _evidence_fields(view: AlertView) -> dict[str, Any]:
    """The diagnosis and what the checker found beside the canaries."""
    return {
        "self_healing": view.healing_document(),
        "blocking_rules": [finding_document(f) for f in view.context.blocking],
        "blocking_budget_spent": [budget_spent_document(s) for s in view.context.blocking_spent],
        "workload_evidence": evidence_document(view.context.evidence),
        "diagnosis": _diagnosis_document(view),
        "notes": list(view.judgement.notes),
        "confirmed_after_s": view.context.confirmed_after_s,
        "blast_radius": blast_document(view.context.blast),
        "priority": priority_document(view.context.priority),
        **causes_document(view.outcome.causes, view.request.change),
        "resolver_endpoints": endpoints_document(view.context.endpoints),
    }


def _canary_fields(view: AlertView, detail: Detail) -> dict[str, Any]:
    """The canaries shown at this level of detail, and what the rest were."""
    reports = view.canaries_worst_first
    listed = reports if detail.document_canaries is None else reports[: detail.document_canaries]
    omitted = reports[len(listed) :]
    shortened = detail != DETAIL_LEVELS[0]
    return {
        "canaries": [_canary_document(r, detail.document_lookups) for r in listed],
        "canaries_total": len(reports),
        "canaries_omitted": len(omitted),
        "canaries_omitted_by_diagnosis": dict(
            Counter(f"{r.severity.value} {r.diagnosis.code}" for r in omitted)
        ),
        "shortened": shortened,
        "full_findings": view.where_in_full if shortened else None,
    }


def _rollback_fields(view: AlertView) -> dict[str, Any]:
    return {
        "rollback_command": view.rollback_command,
        "rollback_option_set_id": view.rollback.option_set_id,
        "rollback": view.rollback.kind,
    }


# --- the evidence, line by line -----------------------------------------------------------------


def _lint_lines(findings: Sequence[LintFinding]) -> list[str]:
    if not findings:
        return []
    return [
        "Option-set lint:",
        *(f"  [{f.severity.value}] {f.code.value}: {f.message}" for f in findings),
    ]


def _counted(reports: Sequence[CanaryReport]) -> str:
    counts = Counter(f"{r.severity.value} - {r.diagnosis.code}" for r in reports)
    return ", ".join(f"{count} {what}" for what, count in counts.most_common())


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


def build_access_warning(
    request: CheckRequest, account_id: str, region: str, reason: str, problem: str
) -> Alert:
    """A change in a member account the checker cannot enter: one WARNING, so it is not silent."""
    targets = ", ".join(t.resource_id for t in request.resources) or "its VPCs"
    label = f"{account_id} ({request.account_name})" if request.account_name else account_id
    subject = f"[WARNING] {label} {region}: cannot check {targets} after {request.event_name}"
    subject = sns_subject(subject)
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
