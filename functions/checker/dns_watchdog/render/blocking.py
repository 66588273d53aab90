"""The blocking rule in words (pure): what Reachability Analyzer named in the way of the DNS
servers (domain/blocking.py's findings), as alert lines for e-mail text or chat markdown and as
the alert document's `blocking_rules` entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dns_watchdog.constants import DNS_PORT
from dns_watchdog.domain.analysis_budget import BudgetSpent
from dns_watchdog.domain.blocking import BlockingFinding, BlockingKind, Protocol
from dns_watchdog.render.escape import chat_markdown

TEXT_LABEL = "Blocking rule:"
MARKDOWN_LABEL = "*Blocking rule:*"


def render_blocking_lines(
    findings: Sequence[BlockingFinding],
    *,
    markdown: bool = False,
    spent: Sequence[BudgetSpent] = (),
) -> list[str]:
    """The alert lines: one per protocol and server, in the order given, labelled for plain
    text or (`markdown`) for chat, escaped there by its rule (`escape.chat_markdown`).

    UDP and TCP answers that say the same thing about the same server share one line (the same
    words: two entries of one network ACL are two lines). Servers left unanalysed because a
    daily budget was spent (`spent`) get a line saying whose.
    """
    lines = [path + statement for path, statement in _merged(findings)]
    lines += [budget_spent_text(fact) for fact in spent]
    if markdown:  # what Reachability Analyzer and AWS errors said, through the chat rule
        return [f"{MARKDOWN_LABEL} {chat_markdown(line)}" for line in lines]
    return [f"{TEXT_LABEL} {line}" for line in lines]


def budget_spent_text(spent: BudgetSpent) -> str:
    """Why servers were not analysed: "not analysed for 10.1.1.10: today's budget of 4 analyses
    for vpc-... is spent." (after the "Blocking rule:" label)."""
    servers = ", ".join(spent.servers)
    return (
        f"not analysed for {servers}: today's budget of {spent.limit} analyses for "
        f"{spent.owner} is spent."
    )


def budget_spent_document(spent: BudgetSpent) -> dict[str, Any]:
    """One spent budget as the alert document's `blocking_budget_spent` entry."""
    return {
        "scope": spent.scope,
        "owner": spent.owner,
        "limit": spent.limit,
        "servers": list(spent.servers),
        "text": f"{TEXT_LABEL} {budget_spent_text(spent)}",
    }


def _merged(findings: Sequence[BlockingFinding]) -> list[tuple[str, str]]:
    """(path, statement) per line, the paths of UDP and TCP answers that agree merged."""
    lines: list[tuple[str, str]] = []
    seen: dict[tuple[str, BlockingKind, str], tuple[int, Protocol]] = {}
    for finding in findings:
        key = (finding.server, finding.kind, finding.statement)
        earlier = seen.get(key)
        if (
            earlier is not None
            and earlier[1] != finding.protocol
            and finding.kind is not BlockingKind.NOT_ANALYSED
        ):
            index = earlier[0]
            lines[index] = (f"UDP and TCP {DNS_PORT} to {finding.server}", lines[index][1])
            continue
        seen[key] = (len(lines), finding.protocol)
        lines.append((finding.path, finding.statement))
    return lines


def finding_document(finding: BlockingFinding) -> dict[str, Any]:
    """One finding as the alert document's `blocking_rules` entry."""
    return {
        "server": finding.server,
        "protocol": finding.protocol,
        "port": DNS_PORT,
        "kind": finding.kind.value,
        "blocked": finding.blocked,
        "component_id": finding.component_id,
        "explanation_code": finding.explanation_code,
        "other_codes": list(finding.other_codes),
        "text": finding.text,
    }
