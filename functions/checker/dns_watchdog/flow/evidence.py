"""Opt-in (WORKLOAD_EVIDENCE): before a FAILED page goes out, what the VPC's own functions logged.

Imported only when the option is on. One Logs Insights query (aws/log_evidence.py) over the log
groups of at most `max_functions` of the VPC's functions, for the last EVIDENCE_WINDOW_MINUTES,
within one time budget per run (all VPCs share it) and the account's daily budget of bytes
scanned (aws/scan_count.py; when spent, no query starts and the page says so). Never raises: the
evidence only adds lines to a page that goes out anyway.

`evidence_for(functions)` is the one call: it takes the function names from whoever knows them
(today `aws/vpc_functions.py`, through `collect`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from dns_watchdog.aws.log_evidence import EvidenceUnavailable, LogEvidence
from dns_watchdog.aws.scan_count import ScanCount
from dns_watchdog.constants import EVIDENCE_WINDOW_MINUTES
from dns_watchdog.domain.analysis_budget import day_of
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.evidence import (
    WorkloadEvidence,
    counts_from_rows,
    evidence_from_counts,
    functions_to_query,
    log_group_of,
    not_collected,
    timed_out,
    unavailable,
)
from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.observability import logger

GIB = 1024**3


@dataclass(frozen=True)
class ScanBudget:
    """The bytes Logs Insights may scan per UTC day for one account, and where they are counted."""

    limit_bytes: int
    count: ScanCount
    # The account whose bytes are counted (None: the checker's own, its id not configured).
    account: str | None

    @property
    def owner(self) -> str:
        return f"account {self.account}" if self.account else "this account"

    @property
    def described(self) -> str:
        return f"{self.limit_bytes / GIB:g} GiB for {self.owner}"


class EvidenceCollector:
    """One per run: its query deadline is set by the run's first query."""

    def __init__(
        self,
        logs: LogEvidence,
        functions_of: Callable[[str], Sequence[str]],
        scan: ScanBudget,
        *,
        max_functions: int,
        budget_s: float,
        budget: RunBudget,
    ) -> None:
        self._logs = logs
        self._functions_of = functions_of
        self._scan = scan
        self._max_functions = max_functions
        self._budget_s = budget_s
        self._budget = budget
        self._deadline: float | None = None

    def collect(
        self, outcome: VpcOutcome, named: Sequence[str] | None = None
    ) -> WorkloadEvidence | None:
        """The evidence for this page: None unless the verdict is FAILED. `named`: the VPC's
        functions when the page's blast radius already named them all (else they are listed)."""
        if outcome.judgement.verdict != Verdict.FAILED:
            return None
        vpc_id = outcome.facts.vpc_id
        try:
            functions = self._functions_of(vpc_id) if named is None else list(named)
        except AwsCallFailed as exc:
            logger.warning("Could not list the VPC's functions", extra={"vpc_id": vpc_id})
            return unavailable(f"could not list the VPC's functions ({exc})")
        evidence = self.evidence_for(functions)
        logger.info(
            "Workload evidence",
            extra={
                "vpc_id": vpc_id,
                "evidence": evidence.kind.value,
                "dns_errors": evidence.total_errors,
                "bytes_scanned": evidence.bytes_scanned,
                "reason": evidence.reason,
            },
        )
        return evidence

    def evidence_for(self, functions: Sequence[str]) -> WorkloadEvidence:
        """The DNS errors `functions` logged in the window (at most `max_functions` of them, in
        the order given: put the most important first). Never raises."""
        chosen, not_read = functions_to_query(functions, self._max_functions)
        if not chosen:
            return not_collected("no Lambda function in the VPC besides the canaries")
        try:
            evidence = self._query(chosen)
        except Exception as exc:
            logger.exception("Could not collect workload evidence")
            evidence = unavailable(f"unexpected error ({type(exc).__name__})")
        return replace(evidence, not_read=not_read)

    def _query(self, functions: Sequence[str]) -> WorkloadEvidence:
        day = day_of(self._budget.timestamp())
        account = self._scan.account or "home"
        refused = self._budget_refuses(account, day)
        if refused is not None:
            return refused
        groups = {f: log_group_of(f) for f in functions}
        try:
            existing = self._logs.existing(list(groups.values()))
            missing = [f for f, group in groups.items() if group not in existing]
            present = [f for f in functions if f not in missing]
            if not present:
                return not_collected("no log group for any of the functions", no_log_group=missing)
            if self._deadline is None:
                self._deadline = self._budget.expiry(self._budget_s)
            end_s = int(self._budget.wall().timestamp())
            answer = self._logs.count_dns_failures(
                [groups[f] for f in present],
                start_s=end_s - EVIDENCE_WINDOW_MINUTES * 60,
                end_s=end_s,
                deadline=self._deadline,
            )
        except EvidenceUnavailable as exc:
            return unavailable(str(exc))
        self._count(account, day, answer.bytes_scanned)
        if answer.timed_out:
            return timed_out(answer.elapsed_s, bytes_scanned=answer.bytes_scanned)
        return evidence_from_counts(
            present,
            counts_from_rows(answer.rows),
            no_log_group=missing,
            bytes_scanned=answer.bytes_scanned,
        )

    def _budget_refuses(self, account: str, day: str) -> WorkloadEvidence | None:
        """Why no query may start today (None: the day's scan budget is not spent)."""
        scan = self._scan
        try:
            spent = scan.count.scanned(account, day) >= scan.limit_bytes
        except AwsCallFailed as exc:
            return unavailable(f"could not read today's bytes scanned ({exc})")
        return not_collected(f"daily scan budget spent ({scan.described})") if spent else None

    def _count(self, account: str, day: str, scanned: int) -> None:
        try:
            self._scan.count.add(account, day, scanned)
        except AwsCallFailed:
            # The page still goes out; the day's count misses this query's bytes.
            logger.exception("Could not count the bytes scanned", extra={"bytes": scanned})
