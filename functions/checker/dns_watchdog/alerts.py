"""Alert text and document for on-call engineers (pure formatting)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dns_watchdog.aws_vpc import AMAZON_PROVIDED_DNS, OptionSet, VpcFacts
from dns_watchdog.events import ChangeContext
from dns_watchdog.judge import CanaryReport, Judgement
from dns_watchdog.models import ProbeResult, Severity, Verdict

SCHEMA = "vpc-dns-watchdog/alert/v1"
SUBJECT_LIMIT = 99  # SNS subjects must stay under 100 characters
MAX_CANARIES_IN_TEXT = 20


@dataclass(frozen=True)
class AlertInput:
    severity: Severity
    judgement: Judgement
    facts: VpcFacts
    region: str
    event_name: str
    trigger: str
    checked_at: str
    change: ChangeContext | None
    previous_option_set_id: str | None
    previous_option_set: OptionSet | None
    reason: str = ""
    last_good_option_set_id: str | None = None
    last_good_option_set: OptionSet | None = None
    last_good_verified_at: str | None = None


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    document: dict[str, Any]
    attributes: dict[str, str]

    def sns_message(self) -> str:
        """The MessageStructure=json body: text for people, the JSON document for machines."""
        document = json.dumps(self.document, sort_keys=True)
        return json.dumps(
            {
                "default": self.text,
                "email": self.text,
                "sqs": document,
                "lambda": document,
                "https": document,
            }
        )


def build_alert(alert: AlertInput) -> Alert:
    vpc_id = alert.facts.vpc_id
    verdict = alert.judgement.verdict
    rollback = rollback_command(alert)
    text = _text(alert, rollback)
    return Alert(
        subject=_subject(alert),
        text=text,
        document=_document(alert, rollback, text),
        attributes={
            "severity": alert.severity.value,
            "vpc_id": vpc_id,
            "event_name": alert.event_name,
            "verdict": verdict.value,
        },
    )


def rollback_target(alert: AlertInput) -> str | None:
    """The option set to put back: the last one verified healthy, else the previous one.

    None when no action is needed, when nothing is known to roll back to, or when the current
    option set is itself the last one verified healthy (rolling back would not restore DNS).
    """
    if alert.severity in (Severity.INFO, Severity.RECOVERED):
        return None
    if _last_good_is_current(alert):
        return None
    if _last_good_usable(alert):
        return alert.last_good_option_set_id
    return alert.previous_option_set_id or None


def rollback_command(alert: AlertInput) -> str | None:
    """The command that puts the rollback target back, when it is known and worth it."""
    target = rollback_target(alert)
    if target is None:
        return None
    return (
        f"aws ec2 associate-dhcp-options --dhcp-options-id {target} "
        f"--vpc-id {alert.facts.vpc_id} --region {alert.region}"
    )


def _last_good_is_current(alert: AlertInput) -> bool:
    return alert.last_good_option_set_id == alert.facts.option_set.option_set_id


def _last_good_usable(alert: AlertInput) -> bool:
    """A last known good option set other than the current one that still exists."""
    return (
        alert.last_good_option_set_id is not None
        and not _last_good_is_current(alert)
        and alert.last_good_option_set is not None
    )


def _subject(alert: AlertInput) -> str:
    verdict = alert.judgement.verdict
    state = "OK again" if alert.severity == Severity.RECOVERED else verdict.value
    subject = (
        f"[{alert.severity.value}] {alert.facts.vpc_id}: Lambda DNS {state} "
        f"{'after' if alert.trigger == 'change' else 'in'} {alert.event_name}"
    )
    return subject if len(subject) <= SUBJECT_LIMIT else subject[: SUBJECT_LIMIT - 3] + "..."


def _servers(option_set: OptionSet | None, option_set_id: str | None) -> str:
    if option_set_id is None:
        return "unknown"
    if option_set is None:
        return f"{option_set_id} (no longer exists)"
    if option_set.option_set_id == "default":
        return "default (no DNS servers handed out)"
    servers = ", ".join(option_set.domain_name_servers) or "no DNS servers"
    return f"{option_set.option_set_id} ({servers})"


def _headline(alert: AlertInput) -> str:
    vpc_id = alert.facts.vpc_id
    verdict = alert.judgement.verdict
    cause = f"after {alert.event_name}" if alert.change else f"({alert.event_name})"
    if alert.severity == Severity.RECOVERED:
        return f"RECOVERED: DNS for Lambda functions in {vpc_id} works again {cause}."
    state = "cannot be verified" if verdict == Verdict.UNVERIFIED else f"is {verdict.value}"
    return f"{alert.severity.value}: DNS for Lambda functions in {vpc_id} {state} {cause}."


def _text(alert: AlertInput, rollback: str | None) -> str:
    facts = alert.facts
    judgement = alert.judgement
    diagnosis = judgement.diagnosis
    lines = [_headline(alert), ""]
    lines.append(f"VPC:          {facts.vpc_id} ({facts.cidr_block}, {alert.region})")
    current = _servers(facts.option_set, facts.option_set.option_set_id)
    previous = _servers(alert.previous_option_set, alert.previous_option_set_id)
    lines.append(f"Option set:   {previous} -> {current}")
    if alert.last_good_option_set_id:
        last_good = _servers(alert.last_good_option_set, alert.last_good_option_set_id)
        verified = alert.last_good_verified_at or "earlier"
        lines.append(f"Last good:    {last_good}, verified healthy {verified}")
    expected = ", ".join(facts.expected_nameservers) or "none"
    lines.append(f"Lambdas should see configured nameservers: {expected}")
    lines.append(f"enableDnsSupport: {'true' if facts.dns_support else 'false'}")
    change = alert.change
    if change is not None:
        who = change.actor_arn or "unknown"
        if change.session_issuer_arn:
            who += f" (session issuer {change.session_issuer_arn})"
        lines.append(f"Who:          {who}")
        lines.append(f"When:         {change.event_time}")
        lines.append(f"From:         {change.source_ip or 'unknown'}")
        lines.append(
            f"Event:        {change.event_name} ({change.event_source}), id {change.event_id}"
        )
    elif alert.reason:
        lines.append(f"Reason:       {alert.reason}")
    lines += ["", f"Verdict: {judgement.verdict.value}"]
    lines.append(f"Diagnosis: {diagnosis.code} (failing hop: {diagnosis.failing_hop or 'none'})")
    if diagnosis.summary:
        lines.append(f"  {diagnosis.summary}")
    if diagnosis.likely_causes:
        lines.append("Likely causes:")
        lines += [f"  - {cause}" for cause in diagnosis.likely_causes]
    for note in judgement.notes:
        lines.append(f"Note: {note}")
    lines += ["", f"Canaries ({len(judgement.canaries)}):"]
    if not judgement.canaries:
        lines.append("  none")
    for report in judgement.canaries[:MAX_CANARIES_IN_TEXT]:
        lines += _canary_lines(report)
    hidden = len(judgement.canaries) - MAX_CANARIES_IN_TEXT
    if hidden > 0:
        lines.append(f"  ... and {hidden} more (see the JSON document)")
    lines += ["", *_rollback_lines(alert, rollback)]
    lines += ["", f"Checked at {alert.checked_at} by vpc-dns-watchdog."]
    return "\n".join(lines).rstrip() + "\n"


def _canary_lines(report: CanaryReport) -> list[str]:
    if report.status == "gone":
        return [f"  {report.name}: skipped, the function no longer exists"]
    refreshed = ", refreshed" if report.refreshed else ""
    head = f"  {report.name}: {report.severity.value} - {report.diagnosis.code}{refreshed}"
    lines = [head]
    if not report.from_findings and report.detail:
        lines.append(f"    {report.detail}")
    if report.probes:
        lines.append(f"    via forwarder ({_servers_of(report.probes)}):")
        lines += [f"      {_probe_line(probe)}" for probe in report.probes]
    if report.direct:
        lines.append("    direct:")
        lines += [f"      {_probe_line(probe, with_server=True)}" for probe in report.direct]
    return lines


def _servers_of(probes: tuple[ProbeResult, ...]) -> str:
    return ", ".join(dict.fromkeys(p.server for p in probes if p.server)) or "resolv.conf"


def _probe_line(probe: ProbeResult, *, with_server: bool = False) -> str:
    latency = f"{probe.elapsed_ms:.1f} ms" if probe.elapsed_ms is not None else "- ms"
    where = f" @{probe.server} ({probe.role})" if with_server else ""
    answers = f" {', '.join(probe.answers[:4])}" if probe.answers else ""
    detail = f" - {probe.detail}" if probe.detail and not probe.ok else ""
    return f"{probe.name} {probe.type}{where}: {probe.outcome} in {latency}{answers}{detail}"


def _rollback_lines(alert: AlertInput, rollback: str | None) -> list[str]:
    if alert.severity in (Severity.INFO, Severity.RECOVERED):
        return ["No action needed."]
    vpc_id = alert.facts.vpc_id
    lines = []
    if alert.change and alert.change.event_name != "AssociateDhcpOptions":
        lines.append(
            f"This check followed {alert.change.event_name}: consider reverting that call "
            f"(CloudTrail event {alert.change.event_id})."
        )
    if _last_good_usable(alert):
        lines += [
            f"Roll back to the last option set verified healthy: {alert.last_good_option_set_id} "
            f"(verified {alert.last_good_verified_at or 'earlier'})",
            f"  {rollback}",
        ]
        lines += _unverified_previous_lines(alert)
        return lines
    current_id = alert.facts.option_set.option_set_id
    if _last_good_is_current(alert):
        lines += [
            f"No option set to roll back to: the current one, {current_id}, is the last option "
            f"set verified healthy (verified {alert.last_good_verified_at or 'earlier'}).",
            "  Something else changed (the DNS server itself, security groups, network ACLs, "
            "Resolver rules, enableDnsSupport); find it in CloudTrail:",
            f"    aws cloudtrail lookup-events --lookup-attributes "
            f"AttributeKey=ResourceName,AttributeValue={vpc_id} --region {alert.region}",
        ]
        lines += _unverified_previous_lines(alert)
        return lines
    if alert.last_good_option_set_id:
        lines.append(
            f"The last option set verified healthy, {alert.last_good_option_set_id} (verified "
            f"{alert.last_good_verified_at or 'earlier'}), no longer exists."
        )
    if rollback:
        lines += ["Roll back the option set:", f"  {rollback}"]
    else:
        lines += [
            "Roll back: the previous option set is not known to the watchdog (it had not "
            "seen this VPC with another option set).",
            "  Find it in CloudTrail (the earlier AssociateDhcpOptions for this VPC):",
            f"    aws cloudtrail lookup-events --lookup-attributes "
            f"AttributeKey=ResourceName,AttributeValue={vpc_id} --region {alert.region}",
            "  or in AWS Config:",
            f"    aws configservice get-resource-config-history --resource-type AWS::EC2::VPC "
            f"--resource-id {vpc_id} --region {alert.region}",
            "  then:",
            f"    aws ec2 associate-dhcp-options --dhcp-options-id <previous dopt id> "
            f"--vpc-id {vpc_id} --region {alert.region}",
        ]
    return lines


def _unverified_previous_lines(alert: AlertInput) -> list[str]:
    """Warn off the immediately previous option set when the watchdog never found it healthy."""
    previous_id = alert.previous_option_set_id
    current_id = alert.facts.option_set.option_set_id
    if not previous_id or previous_id in (alert.last_good_option_set_id, current_id):
        return []
    previous = _servers(alert.previous_option_set, previous_id)
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
        "uses_amazon_dns": AMAZON_PROVIDED_DNS in option_set.domain_name_servers,
    }


def _last_good_document(alert: AlertInput) -> Any:
    document = _option_set_document(alert.last_good_option_set, alert.last_good_option_set_id)
    if document is not None:
        document["verified_at"] = alert.last_good_verified_at
    return document


def _document(alert: AlertInput, rollback: str | None, text: str) -> dict[str, Any]:
    facts = alert.facts
    judgement = alert.judgement
    change = alert.change
    return {
        "schema": SCHEMA,
        "subject": _subject(alert),
        "severity": alert.severity.value,
        "verdict": judgement.verdict.value,
        "vpc_id": facts.vpc_id,
        "region": alert.region,
        "cidr_block": facts.cidr_block,
        "event_name": alert.event_name,
        "trigger": alert.trigger,
        "reason": alert.reason or None,
        "checked_at": alert.checked_at,
        "dns_support": facts.dns_support,
        "option_set": _option_set_document(facts.option_set, facts.option_set.option_set_id),
        "previous_option_set": _option_set_document(
            alert.previous_option_set, alert.previous_option_set_id
        ),
        "last_good_option_set": _last_good_document(alert),
        "expected_nameservers": list(facts.expected_nameservers),
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
        "canaries": [
            {
                "name": report.name,
                "function_arn": report.function_arn,
                "status": report.status,
                "severity": report.severity.value,
                "diagnosis_code": report.diagnosis.code,
                "detail": report.detail or None,
                "refreshed": report.refreshed,
                "probes": [probe.model_dump(mode="json") for probe in report.probes],
                "direct": [probe.model_dump(mode="json") for probe in report.direct],
            }
            for report in judgement.canaries
        ],
        "rollback_command": rollback,
        "rollback_option_set_id": rollback_target(alert),
        "text": text,  # the plain-text body, for consumers that relay it to people
    }
