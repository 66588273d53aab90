"""CloudWatch Logs adapter: count the DNS-failure lines functions logged (opt-in workload evidence).

1. **Which log groups exist**: one DescribeLogGroups naming the functions' default log groups
   (`logGroupIdentifiers`, at most 50): a function that never ran, or logs elsewhere, has none,
   and a query naming a missing group fails as a whole (ResourceNotFoundException). Those are
   skipped and said so.
2. **One Logs Insights query** (`DNS_FAILURE_QUERY`) over the groups that exist, for the window
   the caller gives, counting the lines per log group.
3. **Polling** GetQueryResults sleeps (injectable) at most until the caller's deadline; a query
   still running then is stopped (StopQuery: it would go on scanning, and billing, for up to an
   hour) and reported as timed out, with the bytes it had scanned so far.

Every AWS or transport error becomes `EvidenceUnavailable` with a reason the page can show: the
evidence only adds lines to a page that goes out anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.aws.calls import failure_reason
from dns_watchdog.domain.evidence import COUNT_FIELD, LOG_FIELD
from dns_watchdog.observability import logger

# The CloudWatch Logs operations this adapter calls (aws/sessions.py cuts member clients' models
# to them).
LOGS_OPERATIONS = frozenset({"DescribeLogGroups", "GetQueryResults", "StartQuery", "StopQuery"})

# What resolvers and the runtimes' name lookups write when a name does not resolve. Each is the
# literal text of a well-known message; a line with any of them counts as one DNS error.
DNS_FAILURE_MESSAGES = (
    # glibc getaddrinfo, gai_strerror(EAI_NONAME): Python's socket.gaierror, Ruby, PHP, curl
    "Name or service not known",
    # glibc gai_strerror(EAI_AGAIN): the resolver timed out or answered SERVFAIL
    "Temporary failure in name resolution",
    # glibc gai_strerror(EAI_NODATA)
    "No address associated with hostname",
    # Node.js dns / net: "getaddrinfo ENOTFOUND <name>", "getaddrinfo EAI_AGAIN <name>"
    "getaddrinfo ENOTFOUND",
    "EAI_AGAIN",
    # Java: java.net.UnknownHostException
    "UnknownHostException",
    # Go net.DNSError: "lookup <name> on <server>:53: no such host"
    "no such host",
    # .NET System.Net.Sockets.SocketException (HostNotFound)
    "No such host is known",
    # curl (CURLE_COULDNT_RESOLVE_HOST): "Could not resolve host: <name>"
    "Could not resolve host",
    # botocore EndpointConnectionError: the AWS SDK for Python could not reach a service
    # endpoint, which is how a Lambda function sees its SDK's names stop resolving
    "Could not connect to the endpoint URL",
)
# At most this many groups come back (one per log group queried).
RESULT_LIMIT = 50
# The one query: lines with any message above, counted per log group, worst first.
DNS_FAILURE_QUERY = (
    f"filter @message like /{'|'.join(DNS_FAILURE_MESSAGES)}/\n"
    f"| stats count(*) as {COUNT_FIELD} by {LOG_FIELD}\n"
    f"| sort {COUNT_FIELD} desc\n"
    f"| limit {RESULT_LIMIT}"
)

DEFAULT_POLL_INTERVAL_S = 1.0
# GetQueryResults statuses after which the query will not complete.
_ENDED = {"Failed", "Cancelled", "Timeout", "Unknown"}


class EvidenceUnavailable(RuntimeError):
    """The evidence cannot be read; the message is the reason the page shows."""


@dataclass(frozen=True)
class QueryAnswer:
    """What one query found: its rows (GetQueryResults `results`), the bytes it scanned, and
    whether it was stopped at the deadline (then `rows` is empty) after `elapsed_s`."""

    rows: list[list[Mapping[str, str]]] = field(default_factory=list)
    bytes_scanned: int = 0
    timed_out: bool = False
    elapsed_s: float = 0.0


class LogEvidence:
    """Runs the DNS-failure query for the checker (CloudWatch Logs client injectable)."""

    def __init__(
        self,
        client: Any,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> None:
        # Any: the toolchain carries no mypy-boto3-logs stubs.
        self._logs = client
        self._sleep = sleep
        self._clock = clock
        self._poll_interval_s = poll_interval_s

    def existing(self, log_groups: Sequence[str]) -> set[str]:
        """Those of `log_groups` (at most 50) that exist. Raises EvidenceUnavailable."""
        wanted = set(log_groups)
        found: set[str] = set()
        try:
            paginator = self._logs.get_paginator("describe_log_groups")
            for page in paginator.paginate(logGroupIdentifiers=sorted(wanted)):
                found.update(g.get("logGroupName", "") for g in page.get("logGroups", []))
        except (ClientError, BotoCoreError) as exc:
            raise EvidenceUnavailable(_logged(exc)) from exc
        return found & wanted

    def count_dns_failures(
        self, log_groups: Sequence[str], *, start_s: int, end_s: int, deadline: float
    ) -> QueryAnswer:
        """Run `DNS_FAILURE_QUERY` over `log_groups` from `start_s` to `end_s` (epoch seconds),
        polling until `deadline` (a value of the adapter's clock). Raises EvidenceUnavailable."""
        started = self._clock()
        try:
            query_id = self._logs.start_query(
                logGroupNames=list(log_groups),
                startTime=start_s,
                endTime=end_s,
                queryString=DNS_FAILURE_QUERY,
                limit=RESULT_LIMIT,
            )["queryId"]
        except (ClientError, BotoCoreError) as exc:
            raise EvidenceUnavailable(_logged(exc)) from exc
        return self._poll(query_id, started, deadline)

    def _poll(self, query_id: str, started: float, deadline: float) -> QueryAnswer:
        scanned = 0
        try:
            while (remaining := deadline - self._clock()) > 0:
                self._sleep(min(self._poll_interval_s, remaining))
                answer = self._logs.get_query_results(queryId=query_id)
                scanned = int(answer.get("statistics", {}).get("bytesScanned", 0))
                status = answer.get("status", "Unknown")
                if status == "Complete":
                    return QueryAnswer(answer.get("results", []), scanned)
                if status in _ENDED:
                    raise EvidenceUnavailable(f"the Logs Insights query ended {status}")
        except (ClientError, BotoCoreError) as exc:
            self._stop(query_id)
            raise EvidenceUnavailable(_logged(exc)) from exc
        self._stop(query_id)
        return QueryAnswer([], scanned, timed_out=True, elapsed_s=self._clock() - started)

    def _stop(self, query_id: str) -> None:
        """Stop a query still running; one that already ended cannot be stopped (logged)."""
        try:
            self._logs.stop_query(queryId=query_id)
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "Could not stop a Logs Insights query",
                extra={
                    "query_id": query_id,
                    "reason": _reason(exc),
                },
            )


def _logged(exc: ClientError | BotoCoreError) -> str:
    # Not raised into the check (the feature is optional), but never silent.
    reason = _reason(exc)
    logger.warning("Could not read workload evidence", extra={"reason": reason})
    return reason


def _reason(exc: ClientError | BotoCoreError) -> str:
    return failure_reason(exc, "CloudWatch Logs", iam_prefix="logs:")
