"""The WARNING published when a newly created option set would break Lambda DNS (pure).

Same envelope and size rule as `alert.py` (`Alert`, SNS's 256 KiB less a margin): when every VPC
does not fit, fewer are listed and the rest counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dns_watchdog.constants import ATTRIBUTE_WORKLOADS, EVIDENCE_ATTRIBUTE, EVIDENCE_NOT_COLLECTED
from dns_watchdog.domain.lint import LintFinding
from dns_watchdog.domain.models import Severity
from dns_watchdog.domain.preflight import VpcPrediction
from dns_watchdog.domain.request import ChangeContext
from dns_watchdog.domain.workloads import BlastRadius, total_workloads
from dns_watchdog.render.alert import ALERT_BUDGET_BYTES, Alert, AttributeValue
from dns_watchdog.render.escape import sns_subject
from dns_watchdog.render.workloads import blast_document, hit_line

PREFLIGHT_SCHEMA = "vpc-dns-watchdog/preflight-alert/v1"
# VPCs listed in full, from most to none, until the alert fits.
_VPC_LIMITS = (None, 200, 50, 10, 0)


def build_preflight_warning(
    option_set_id: str,
    servers: Sequence[str],
    lint: Sequence[LintFinding],
    breaking: Sequence[VpcPrediction],
    change: ChangeContext | None,
    region: str,
    *,
    blasts: Mapping[str, BlastRadius] | None = None,
) -> Alert:
    """One WARNING: `option_set_id` would break Lambda DNS in `breaking` (at least one VPC);
    `blasts`: what is hit in those VPCs whose workloads were read."""
    if not breaking:
        raise ValueError("a preflight warning needs at least one VPC that would break")
    hit = dict(blasts or {})
    alert = _render(option_set_id, servers, lint, breaking, change, region, None, hit)
    for limit in _VPC_LIMITS[1:]:
        if alert.size_bytes() <= ALERT_BUDGET_BYTES:
            break
        alert = _render(option_set_id, servers, lint, breaking, change, region, limit, hit)
    return alert


def headline(option_set_id: str, breaking: Sequence[VpcPrediction]) -> str:
    vpcs = ", ".join(p.facts.vpc_id for p in breaking)
    failing = sorted({p.judgement.diagnosis.code for p in breaking})
    return f"{option_set_id} would break Lambda DNS in {vpcs}: {', '.join(failing)}"


def _render(
    option_set_id: str,
    servers: Sequence[str],
    lint: Sequence[LintFinding],
    breaking: Sequence[VpcPrediction],
    change: ChangeContext | None,
    region: str,
    limit: int | None,
    blasts: Mapping[str, BlastRadius],
) -> Alert:
    listed = list(breaking) if limit is None else list(breaking)[:limit]
    omitted = len(breaking) - len(listed)
    subject = f"[WARNING] {option_set_id} would break Lambda DNS in {len(breaking)} VPC(s)"
    subject = sns_subject(subject)
    first = (
        f"WARNING: {headline(option_set_id, listed)}"
        if not omitted
        else f"WARNING: {option_set_id} would break Lambda DNS in {len(breaking)} VPCs"
    )
    lines = [
        first,
        "",
        *_option_set_lines(option_set_id, servers, lint, change, region),
        "",
        "Would break:",
        *_prediction_lines(listed, blasts),
    ]
    if omitted:
        lines.append(f"  ... and {omitted} more VPCs (the checker's log lists them all)")
    lines += ["", "Do not associate it with these VPCs until the servers answer for them."]
    document: dict[str, Any] = {
        "schema": PREFLIGHT_SCHEMA,
        "severity": Severity.WARNING.value,
        "subject": subject,
        "headline": first,
        "dhcp_options_id": option_set_id,
        "domain_name_servers": list(servers),
        "region": region,
        "lint": [finding.as_dict() for finding in lint],
        "would_break": [
            {**p.as_dict(), "blast_radius": blast_document(blasts.get(p.facts.vpc_id))}
            for p in listed
        ],
        "would_break_total": len(breaking),
        "would_break_omitted": omitted,
        "event_id": change.event_id if change else None,
    }
    return Alert(
        subject=subject,
        text="\n".join(lines) + "\n",
        document=document,
        attributes=_attributes(option_set_id, change, breaking, blasts),
    )


def _attributes(
    option_set_id: str,
    change: ChangeContext | None,
    breaking: Sequence[VpcPrediction],
    blasts: Mapping[str, BlastRadius],
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "severity": Severity.WARNING.value,
        "event_name": change.event_name if change else "Preflight",
        "dhcp_options_id": option_set_id,
        "verdict": "FAILED",
        EVIDENCE_ATTRIBUTE: EVIDENCE_NOT_COLLECTED,
    }
    # Every VPC that would break, together; absent when any of them was not read.
    workloads = total_workloads([blasts.get(p.facts.vpc_id) for p in breaking])
    if workloads is not None:
        attributes[ATTRIBUTE_WORKLOADS] = workloads
    return attributes


def _option_set_lines(
    option_set_id: str,
    servers: Sequence[str],
    lint: Sequence[LintFinding],
    change: ChangeContext | None,
    region: str,
) -> list[str]:
    """The new option set: its servers, where, who created it, and its lint."""
    lines = [
        f"Option set:   {option_set_id} ({', '.join(servers) or 'no DNS servers'})",
        f"Region:       {region}",
        "Not associated anywhere yet: this is a prediction by the VPCs' canaries.",
    ]
    if change is not None:
        lines.append(f"Created by:   {change.actor_arn or 'unknown'} at {change.event_time}")
    if lint:
        lines.append("Option-set lint:")
        lines += [f"  [{f.severity.value}] {f.code.value}: {f.message}" for f in lint]
    return lines


def _prediction_lines(
    listed: Sequence[VpcPrediction], blasts: Mapping[str, BlastRadius]
) -> list[str]:
    """One VPC that would break per line, with the diagnosis its canaries predict and what
    would be hit."""
    lines = []
    for prediction in listed:
        diagnosis = prediction.judgement.diagnosis
        servers_seen = ", ".join(prediction.candidate_servers)
        lines.append(
            f"  {prediction.facts.vpc_id} ({prediction.facts.cidr_block}): {diagnosis.code} "
            f"(failing hop: {diagnosis.failing_hop or 'none'}) via {servers_seen}"
        )
        if diagnosis.summary:
            lines.append(f"    {diagnosis.summary}")
        blast = blasts.get(prediction.facts.vpc_id)
        if blast is not None:
            lines.append(f"    {hit_line(blast, prediction.facts.vpc_id)}")
    return lines
