"""Workload evidence in words (pure): what the VPC's functions logged (domain/evidence.py), as
alert lines for e-mail text or chat markdown, the alert document's `workload_evidence` entry and
the `evidence` message attribute.

    Workload evidence: orders-api: 212 DNS errors in 15 min
    Workload evidence: no DNS errors logged yet by 3 functions in 15 min (billing, ...)
    Workload evidence: not collected: daily scan budget spent (10 GiB for account ...)
    Workload evidence: could not be read: timed out after 20 s
"""

from __future__ import annotations

from typing import Any

from dns_watchdog.constants import EVIDENCE_ATTRIBUTE, EVIDENCE_NOT_COLLECTED
from dns_watchdog.domain.evidence import EvidenceKind, WorkloadEvidence
from dns_watchdog.render.escape import chat_markdown

TEXT_LABEL = "Workload evidence:"
MARKDOWN_LABEL = "*Workload evidence:*"
# Functions named in a line that lists them (the quiet ones, those without a log group).
NAMES_IN_A_LINE = 5


def render_evidence_lines(
    evidence: WorkloadEvidence | None, *, markdown: bool = False, limit: int | None = None
) -> list[str]:
    """The alert lines (none without evidence), labelled for plain text or (`markdown`) chat,
    escaped there by its rule; `limit`: at most that many functions with errors named."""
    if evidence is None:
        return []
    lines = _lines(evidence, limit)
    if markdown:  # function names and AWS errors, through the chat rule
        return [f"{MARKDOWN_LABEL} {chat_markdown(line)}" for line in lines]
    return [f"{TEXT_LABEL} {line}" for line in lines]


def _lines(evidence: WorkloadEvidence, limit: int | None) -> list[str]:
    window = f"{evidence.window_minutes} min"
    if evidence.kind is EvidenceKind.NOT_COLLECTED:
        lines = [f"not collected: {evidence.reason}"]
    elif evidence.kind is EvidenceKind.UNAVAILABLE:
        lines = [f"could not be read: {evidence.reason}"]
    elif evidence.kind is EvidenceKind.NONE_LOGGED:
        count = len(evidence.quiet)
        lines = [
            f"no DNS errors logged yet by {count} function{'s' if count != 1 else ''} in "
            f"{window} ({_names(evidence.quiet)})"
        ]
    else:
        lines = _error_lines(evidence, window, limit)
    if evidence.no_log_group:
        lines.append(f"no log group, skipped: {_names(evidence.no_log_group)}")
    if evidence.not_read:
        lines.append(f"{evidence.not_read} more functions in the VPC not read")
    return lines


def _error_lines(evidence: WorkloadEvidence, window: str, limit: int | None) -> list[str]:
    named = evidence.functions if limit is None else evidence.functions[:limit]
    lines = [f"{f.function}: {_errors(f.dns_errors)} in {window}" for f in named]
    more = evidence.omitted + len(evidence.functions) - len(named)
    if more:
        lines.append(f"{more} more functions logged DNS errors")
    if evidence.quiet:
        lines.append(f"no DNS errors logged yet by {_names(evidence.quiet)}")
    return lines


def _errors(count: int) -> str:
    return f"{count} DNS error{'s' if count != 1 else ''}"


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:NAMES_IN_A_LINE])
    rest = len(names) - NAMES_IN_A_LINE
    return shown + (f" and {rest} more" if rest > 0 else "")


def evidence_document(evidence: WorkloadEvidence | None) -> dict[str, Any] | None:
    """The alert document's `workload_evidence` entry (None: not collected for this alert)."""
    if evidence is None:
        return None
    return {
        "evidence": evidence.kind.value,
        "window_minutes": evidence.window_minutes,
        "functions": [
            {"function": f.function, "dns_errors": f.dns_errors} for f in evidence.functions
        ],
        "functions_omitted": evidence.omitted,
        "no_dns_errors": list(evidence.quiet),
        "no_log_group": list(evidence.no_log_group),
        "not_read": evidence.not_read,
        "reason": evidence.reason,
        "timed_out_after_s": evidence.timed_out_after_s,
        "bytes_scanned": evidence.bytes_scanned,
        "text": render_evidence_lines(evidence),
    }


def evidence_attribute(evidence: WorkloadEvidence | None) -> dict[str, str]:
    """The `evidence` message attribute subscription filter policies route on (none without)."""
    if evidence is None:
        return {EVIDENCE_ATTRIBUTE: EVIDENCE_NOT_COLLECTED}
    return {EVIDENCE_ATTRIBUTE: evidence.kind.value}
