"""Probes with a source: what the VPC's own DNS (private zones, Resolver rules, endpoints) says.

Pure, like diagnose.py, and wrapped around it: the usual diagnosis runs first, then this module

- gives each probe with a source a status (``sources[].status`` in the findings);
- takes the names of forward rules that fail at the Amazon resolver and at the rule's targets
  out of the option set's diagnosis and reports them as ``RESOLVER_RULE_TARGETS_FAILING``
  (failing hop ``rule_target``, not the option set's fault), unless the option set's own
  failure leads;
- names the zones, rules and endpoints in a ``CUSTOM_SERVER_MISSING_NAMES`` summary ("private
  hosted zone corp.internal (Z123) is answered only by the Amazon resolver; 10.1.1.10 does not
  forward it") and lists them, structured, in ``diagnosis.sources``;
- says, without paging, when a rule's targets do not answer the canary directly while the
  Amazon resolver answers the rule's names (the canary's subnet has no path to them; the
  resolver reaches them through the rule's outbound endpoint).

Codes and fields: docs/canary-contract.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from dns_canary.constants import (
    AMAZON_ONLY_KINDS,
    MAX_LISTED,
    SOURCE_CONFIGURED,
    SOURCE_FORWARD_RULE,
)
from dns_canary.diagnose import Context, diagnose
from dns_canary.findings import (
    MISSING_OUTCOMES,
    Diagnosis,
    NameReport,
    SourceFinding,
    SourceReport,
    SourceStatus,
)
from dns_canary.plan import Source

RULE_TARGETS_FAILING = "RESOLVER_RULE_TARGETS_FAILING"
# Diagnoses about the environment or resolv.conf: nothing about sources is worth adding to them.
_KEPT = frozenset({"NO_NAMESERVER", "STALE_CONFIG", "NO_CONFIGURED_SERVERS"})
_MISSING_CODE = "CUSTOM_SERVER_MISSING_NAMES"
_KIND_WORDS = {
    "private_zone": "private hosted zone",
    "forward_rule": "Resolver forwarding rule",
    "system_rule": "Resolver system rule",
    "endpoint": "VPC endpoint private DNS name",
    "firewall": "DNS Firewall rule group",
}


def diagnose_with_sources(
    reports: Sequence[NameReport], context: Context
) -> tuple[Diagnosis, tuple[SourceReport, ...]]:
    """The run's diagnosis with what the probes' sources add, and one report per sourced probe."""
    statuses = [source_status(report) for report in reports]
    source_reports = tuple(
        SourceReport(report.name, report.type, report.source, status, report.targets)
        for report, status in zip(reports, statuses, strict=True)
        if report.source is not None and status is not None
    )
    diagnosis = diagnose(reports, context)
    if diagnosis.code in _KEPT:
        return diagnosis, source_reports
    rule_failures = [r for r, s in zip(reports, statuses, strict=True) if s == "targets_failing"]
    if rule_failures:
        diagnosis = _with_rule_failures(reports, rule_failures, context)
    if diagnosis.code == _MISSING_CODE:
        diagnosis = _name_sources(diagnosis, reports, statuses)
    unreachable = [r for r, s in zip(reports, statuses, strict=True) if s == "targets_unreachable"]
    if unreachable:
        diagnosis = _note_unreachable_targets(diagnosis, unreachable, context)
    findings = _source_findings(reports, statuses)
    return replace(diagnosis, sources=findings), source_reports


def source_status(report: NameReport) -> SourceStatus | None:
    """What one probe with a source found (None for probes without one)."""
    source = report.source
    if source is None or (source.kind == SOURCE_CONFIGURED and not report.targets):
        return None
    amazon_resolves = report.amazon is not None and report.amazon.outcome == "OK"
    dead_targets = [result for result in report.targets if not result.ok]
    if source.kind == SOURCE_FORWARD_RULE and not amazon_resolves and not report.ok:
        return "targets_failing"
    if report.ok:
        return "targets_unreachable" if dead_targets and amazon_resolves else "ok"
    missing = any(
        result.outcome in MISSING_OUTCOMES and not result.ok for result in report.configured
    )
    if source.kind in AMAZON_ONLY_KINDS and amazon_resolves and missing:
        return "not_forwarded"
    return "failing"


# --- forward rules whose targets fail ------------------------------------------------------------


def _with_rule_failures(
    reports: Sequence[NameReport], rule_failures: Sequence[NameReport], context: Context
) -> Diagnosis:
    """The option set's own failure leads when there is one; otherwise the rule's."""
    others = [report for report in reports if report not in rule_failures]
    rest = diagnose(others, context) if others else None
    rule_names = _names(rule_failures)
    if rest is not None and rest.verdict == "FAILED" and rest.option_set_at_fault:
        return replace(
            rest,
            summary=f"{rest.summary} {_rule_sentence(rule_failures, context)}",
            failed_names=tuple(_unique([*rest.failed_names, *rule_names])),
        )
    summary = (
        f"{_rule_sentence(rule_failures, context)} Changing or rolling back the option set will "
        "not fix it: fix the targets, or the path from the rule's outbound endpoint to them."
    )
    failed = list(rule_names)
    if rest is not None and rest.code != "HEALTHY":
        summary += f" Besides: {rest.summary}"
        failed = _unique([*rest.failed_names, *rule_names])
    return Diagnosis(
        code=RULE_TARGETS_FAILING,
        verdict="FAILED",
        failing_hop="rule_target",
        option_set_at_fault=False,
        summary=summary,
        likely_causes=(
            "the DNS servers the rule forwards to are down or do not serve the rule's domain",
            "the rule's outbound endpoint cannot reach its targets (its security group, "
            "subnets, routes, or the VPN / Direct Connect link to them)",
            "the rule was updated with wrong target addresses (UpdateResolverRule)",
        ),
        failed_names=tuple(failed),
    )


def _rule_sentence(rule_failures: Sequence[NameReport], context: Context) -> str:
    sentences = []
    for source, group in _by_source(rule_failures):
        targets = _unique(result.server for report in group for result in report.targets)
        dead = _unique(
            f"{result.server}: {result.outcome}"
            for report in group
            for result in report.targets
            if not result.ok
        )
        amazon = _unique(
            report.amazon.outcome for report in group if report.amazon is not None
        ) or ["not asked"]
        names = _names(group)
        if not targets:
            where = "its targets were not given to the canary"
        elif dead:
            where = f"asked directly, its targets fail it too ({'; '.join(dead[:MAX_LISTED])})"
        else:
            where = (
                f"its targets {_list(targets)} answer the canary directly, so the path from the "
                "rule's outbound endpoint to them is broken"
            )
        sentences.append(
            f"{_label(source)} forwards to {_list(targets) or 'its targets'}, and "
            f"{_list(names)} {'fails' if len(names) == 1 else 'fail'} at the Amazon resolver "
            f"{context.amazon_dns_server} ({', '.join(amazon)}): {where}."
        )
    return " ".join(sentences)


# --- zones the option set's servers do not forward -------------------------------------------


def _name_sources(
    diagnosis: Diagnosis, reports: Sequence[NameReport], statuses: Sequence[SourceStatus | None]
) -> Diagnosis:
    missing = [r for r, s in zip(reports, statuses, strict=True) if s == "not_forwarded"]
    if not missing:
        return diagnosis
    sentences = []
    for source, group in _by_source(missing):
        servers = _missing_servers(group)
        verb = "does" if len(servers) == 1 else "do"
        sentences.append(
            f"{_label(source)} is answered only by the Amazon resolver; {_list(servers)} {verb} "
            "not forward it."
        )
    text = " ".join(sentences)
    return replace(diagnosis, summary=f"{text[0].upper()}{text[1:]} {diagnosis.summary}")


def _note_unreachable_targets(
    diagnosis: Diagnosis, unreachable: Sequence[NameReport], context: Context
) -> Diagnosis:
    notes = []
    for source, group in _by_source(unreachable):
        dead = _unique(r.server for report in group for r in report.targets if not r.ok)
        notes.append(
            f"{_label(source)}: its targets {_list(dead)} did not answer the canary directly, "
            f"but the Amazon resolver {context.amazon_dns_server} resolved {_list(_names(group))}"
            " through the rule: not a failure (the canary's subnet has no path to the targets; "
            "the resolver reaches them through the rule's outbound endpoint)."
        )
    return replace(diagnosis, summary=f"{diagnosis.summary} {' '.join(notes)}")


def _source_findings(
    reports: Sequence[NameReport], statuses: Sequence[SourceStatus | None]
) -> tuple[SourceFinding, ...]:
    findings = []
    for wanted in ("not_forwarded", "targets_failing", "targets_unreachable"):
        group = [r for r, s in zip(reports, statuses, strict=True) if s == wanted]
        for source, members in _by_source(group):
            servers = (
                _missing_servers(members)
                if wanted == "not_forwarded"
                else _unique(r.server for m in members for r in m.targets if not r.ok)
            )
            findings.append(SourceFinding(source, wanted, tuple(_names(members)), tuple(servers)))
    return tuple(findings)


# --- helpers -----------------------------------------------------------------------------------


def _missing_servers(reports: Sequence[NameReport]) -> list[str]:
    return _unique(
        result.server
        for report in reports
        for result in report.configured
        if result.outcome in MISSING_OUTCOMES and not result.ok
    )


def _by_source(reports: Sequence[NameReport]) -> list[tuple[Source, list[NameReport]]]:
    groups: dict[Source, list[NameReport]] = {}
    for report in reports:
        if report.source is not None:
            groups.setdefault(report.source, []).append(report)
    return list(groups.items())


def _label(source: Source) -> str:
    words = _KIND_WORDS.get(source.kind, source.kind)
    via = f" through Route 53 Profile {source.via}" if source.via else ""
    return f"{words} {source.domain} ({source.id}){via}"


def _names(reports: Sequence[NameReport]) -> list[str]:
    return _unique(report.name for report in reports)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _list(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) > MAX_LISTED:
        items = [*items[:MAX_LISTED], f"{len(items) - MAX_LISTED} more"]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
