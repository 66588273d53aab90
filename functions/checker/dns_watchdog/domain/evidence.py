"""Workload evidence (pure): what the VPC's own functions logged about DNS while it was FAILED.

A page says the canaries cannot resolve; the functions that share the VPC log their own resolver
failures ("Name or service not known", "EAI_AGAIN", "UnknownHostException", ...). One Logs
Insights query counts those lines per log group (aws/log_evidence.py); this module turns its rows
into a per-function model, worst first and capped, and says what it means when there is no count
to show: none logged yet, not collected (and why), or unavailable (and why).

The words are render/evidence.py's; the SNS attribute values are constants.EVIDENCE_*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from dns_watchdog.constants import (
    EVIDENCE_DNS_ERRORS,
    EVIDENCE_NONE_LOGGED,
    EVIDENCE_NOT_COLLECTED,
    EVIDENCE_UNAVAILABLE,
    EVIDENCE_WINDOW_MINUTES,
    LAMBDA_LOG_GROUP_PREFIX,
)

# The query's own field names (aws/log_evidence.py's query groups by @log into this count).
LOG_FIELD = "@log"
COUNT_FIELD = "dnsErrors"
# At most this many functions with errors are named in an alert; the rest are counted.
MAX_FUNCTIONS_NAMED = 10


class EvidenceKind(StrEnum):
    """What the evidence says; the values are the alert's `evidence` attribute."""

    DNS_ERRORS = EVIDENCE_DNS_ERRORS
    NONE_LOGGED = EVIDENCE_NONE_LOGGED
    NOT_COLLECTED = EVIDENCE_NOT_COLLECTED
    UNAVAILABLE = EVIDENCE_UNAVAILABLE


@dataclass(frozen=True)
class FunctionEvidence:
    """One function's DNS-failure lines in the window."""

    function: str
    dns_errors: int


@dataclass(frozen=True)
class WorkloadEvidence:
    """The evidence of one page.

    `functions`: those that logged DNS errors, worst first, at most MAX_FUNCTIONS_NAMED
    (`omitted` more not named); `quiet`: functions read that logged none; `no_log_group`:
    functions skipped because their log group does not exist; `not_read`: functions of the VPC
    beyond the most one query reads; `reason`: why nothing was collected or read;
    `timed_out_after_s`: the query was stopped after that long.
    """

    kind: EvidenceKind
    window_minutes: int = EVIDENCE_WINDOW_MINUTES
    functions: tuple[FunctionEvidence, ...] = ()
    omitted: int = 0
    quiet: tuple[str, ...] = ()
    no_log_group: tuple[str, ...] = ()
    not_read: int = 0
    reason: str | None = None
    timed_out_after_s: float | None = None
    bytes_scanned: int = 0

    @property
    def total_errors(self) -> int:
        return sum(f.dns_errors for f in self.functions)


def log_group_of(function: str) -> str:
    """The log group Lambda writes `function`'s logs to by default."""
    return f"{LAMBDA_LOG_GROUP_PREFIX}{function}"


def function_of(log: str) -> str | None:
    """The function whose log group `log` names: Logs Insights' @log is "<account>:<group>"
    (the group alone in some answers); None when it is not a Lambda function's default group."""
    group = log.split(":", 1)[1] if ":" in log else log
    if not group.startswith(LAMBDA_LOG_GROUP_PREFIX):
        return None
    return group[len(LAMBDA_LOG_GROUP_PREFIX) :] or None


def counts_from_rows(rows: Iterable[Sequence[Mapping[str, str]]]) -> dict[str, int]:
    """GetQueryResults' rows (each a list of {"field", "value"}) into DNS errors per function.

    Rows that name no Lambda log group or carry no whole count are not evidence: skipped.
    """
    counts: dict[str, int] = {}
    for row in rows:
        fields = {cell.get("field"): cell.get("value", "") for cell in row}
        function = function_of(fields.get(LOG_FIELD) or "")
        count = fields.get(COUNT_FIELD) or ""
        if function is None or not count.isdigit():
            continue
        counts[function] = counts.get(function, 0) + int(count)
    return counts


def evidence_from_counts(
    queried: Sequence[str],
    counts: Mapping[str, int],
    *,
    no_log_group: Sequence[str] = (),
    bytes_scanned: int = 0,
    window_minutes: int = EVIDENCE_WINDOW_MINUTES,
    cap: int = MAX_FUNCTIONS_NAMED,
) -> WorkloadEvidence:
    """The evidence of a query that completed over the log groups of `queried`."""
    hit = sorted(
        (FunctionEvidence(f, n) for f, n in counts.items() if n > 0),
        key=lambda e: (-e.dns_errors, e.function),
    )
    quiet = tuple(sorted(f for f in queried if counts.get(f, 0) == 0))
    kind = EvidenceKind.DNS_ERRORS if hit else EvidenceKind.NONE_LOGGED
    return WorkloadEvidence(
        kind,
        window_minutes,
        functions=tuple(hit[:cap]),
        omitted=max(0, len(hit) - cap),
        quiet=quiet,
        no_log_group=tuple(sorted(no_log_group)),
        bytes_scanned=bytes_scanned,
    )


def not_collected(reason: str, *, no_log_group: Sequence[str] = ()) -> WorkloadEvidence:
    """Nothing was queried, on purpose: the budget is spent, or there is nothing to read."""
    return WorkloadEvidence(
        EvidenceKind.NOT_COLLECTED, reason=reason, no_log_group=tuple(sorted(no_log_group))
    )


def unavailable(reason: str, *, bytes_scanned: int = 0) -> WorkloadEvidence:
    """The evidence could not be read (access denied, an AWS error, a failed query)."""
    return WorkloadEvidence(EvidenceKind.UNAVAILABLE, reason=reason, bytes_scanned=bytes_scanned)


def timed_out(after_s: float, *, bytes_scanned: int = 0) -> WorkloadEvidence:
    """The query was stopped when the run's evidence budget ran out."""
    return WorkloadEvidence(
        EvidenceKind.UNAVAILABLE,
        reason=f"timed out after {after_s:.0f} s",
        timed_out_after_s=after_s,
        bytes_scanned=bytes_scanned,
    )


def functions_to_query(functions: Iterable[str], limit: int) -> tuple[tuple[str, ...], int]:
    """The first `limit` distinct functions (in the order given), and how many were left out."""
    distinct = tuple(dict.fromkeys(functions))
    return distinct[:limit], max(0, len(distinct) - limit)
