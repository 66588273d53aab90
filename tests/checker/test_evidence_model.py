"""Workload evidence, pure: the Logs Insights query text, its rows into DNS errors per function,
and the evidence in the e-mail text, the JSON document, the attributes and the chat notification."""

from __future__ import annotations

import re

import pytest
import test_blocking_alerts as page
from botocore.session import get_session
from dns_watchdog.aws.log_evidence import DNS_FAILURE_MESSAGES, DNS_FAILURE_QUERY, RESULT_LIMIT
from dns_watchdog.domain.evidence import (
    MAX_FUNCTIONS_NAMED,
    counts_from_rows,
    evidence_from_counts,
    function_of,
    timed_out,
    unavailable,
)
from dns_watchdog.render.alert import ALERT_BUDGET_BYTES, build_alert
from dns_watchdog.render.chat import build_chat_notification
from dns_watchdog.render.view import AlertContext

pytestmark = pytest.mark.unit

# Lines the runtimes write when a name does not resolve (one per message the query looks for).
FAILING_LINES = [
    "socket.gaierror: [Errno -2] Name or service not known",
    "[Errno -3] Temporary failure in name resolution",
    "getaddrinfo: No address associated with hostname",
    "Error: getaddrinfo ENOTFOUND orders.corp.internal",
    "Error: getaddrinfo EAI_AGAIN dynamodb.us-east-1.amazonaws.com",
    "java.net.UnknownHostException: orders.corp.internal",
    "dial tcp: lookup orders.corp.internal on 10.0.0.2:53: no such host",
    "System.Net.Sockets.SocketException (11001): No such host is known.",
    "curl: (6) Could not resolve host: orders.corp.internal",
    'Could not connect to the endpoint URL: "https://sqs.us-east-1.amazonaws.com/"',
]
HEALTHY_LINES = [
    "START RequestId: 8f5c Version: $LATEST",
    "order 42 stored in 12 ms",
    "REPORT RequestId: 8f5c Duration: 2.31 ms",
]


def _commands(query: str) -> list[str]:
    return [stage.removeprefix("| ").split(" ", 1)[0] for stage in query.split("\n")]


def test_the_query_is_a_pipeline_of_logs_insights_commands() -> None:
    # The query language: commands joined by "|" (one per line here), each starting with a verb
    stages = DNS_FAILURE_QUERY.split("\n")
    assert all(stage.startswith("| ") for stage in stages[1:])
    assert _commands(DNS_FAILURE_QUERY) == [
        "filter",
        "stats",
        "sort",
        "limit",
    ]
    assert "stats count(*) as dnsErrors by @log" in DNS_FAILURE_QUERY
    assert "sort dnsErrors desc" in DNS_FAILURE_QUERY
    assert f"limit {RESULT_LIMIT}" in DNS_FAILURE_QUERY


def test_the_query_fits_the_api_s_model() -> None:
    model = get_session().get_service_model("logs")
    start = model.operation_model("StartQuery").input_shape.members
    assert len(DNS_FAILURE_QUERY) <= start["queryString"].metadata["max"]
    assert start["limit"].metadata["max"] >= RESULT_LIMIT


def test_the_filter_regex_matches_every_failure_line_and_no_healthy_one() -> None:
    [pattern] = re.findall(r"filter @message like /(.*)/$", DNS_FAILURE_QUERY, re.MULTILINE)
    regex = re.compile(pattern)
    assert len(FAILING_LINES) == len(DNS_FAILURE_MESSAGES)
    assert all(regex.search(line) for line in FAILING_LINES)
    assert not any(regex.search(line) for line in HEALTHY_LINES)
    # The literals carry nothing the regex would read as syntax, and no "/" ending it early
    assert all(re.escape(m) == m.replace(" ", "\\ ") for m in DNS_FAILURE_MESSAGES)
    assert "/" not in pattern


def test_rows_become_errors_per_function() -> None:
    rows = [
        [
            {"field": "@log", "value": "123456789012:/aws/lambda/orders-api"},
            {"field": "dnsErrors", "value": "212"},
        ],
        [{"field": "@log", "value": "/aws/lambda/billing"}, {"field": "dnsErrors", "value": "3"}],
        # not a Lambda function's default log group, or no count: not evidence
        [{"field": "@log", "value": "123456789012:/ecs/web"}, {"field": "dnsErrors", "value": "9"}],
        [{"field": "@log", "value": "123456789012:/aws/lambda/x"}],
    ]
    assert counts_from_rows(rows) == {"orders-api": 212, "billing": 3}
    assert function_of("123456789012:/aws/lambda/") is None


def test_the_worst_come_first_and_the_list_is_capped() -> None:
    counts = {f"fn-{i:02d}": i + 1 for i in range(MAX_FUNCTIONS_NAMED + 3)}
    evidence = evidence_from_counts(list(counts), counts)
    assert evidence.functions[0].function == f"fn-{MAX_FUNCTIONS_NAMED + 2:02d}"
    assert len(evidence.functions) == MAX_FUNCTIONS_NAMED
    assert evidence.omitted == 3
    assert [f.dns_errors for f in evidence.functions] == sorted(
        (f.dns_errors for f in evidence.functions), reverse=True
    )


def _context(evidence: object) -> AlertContext:
    base = page._context()
    return AlertContext(
        base.request,
        base.place,
        base.checked_at,
        evidence=evidence,  # type: ignore[arg-type]
    )


def test_the_critical_carries_the_evidence_in_text_document_attributes_and_chat() -> None:
    evidence = evidence_from_counts(
        ["orders-api", "billing", "quiet-fn"], {"orders-api": 212, "billing": 3}
    )
    alert = build_alert(page._outcome(), {"dopt-old": None}, _context(evidence))

    lines = alert.text.splitlines()
    first = "Workload evidence: orders-api: 212 DNS errors in 15 min"
    assert first in lines
    assert lines.index("Likely causes:") < lines.index(first) < lines.index("Canaries (1):")
    assert "Workload evidence: no DNS errors logged yet by quiet-fn" in lines
    assert alert.attributes["evidence"] == "dns-errors"
    document = alert.document["workload_evidence"]
    assert document["evidence"] == "dns-errors"
    assert document["functions"][0] == {"function": "orders-api", "dns_errors": 212}
    assert alert.size_bytes() <= ALERT_BUDGET_BYTES

    chat = build_chat_notification(page._outcome(), {"dopt-old": None}, _context(evidence))
    description = chat.document["content"]["description"].splitlines()
    assert "*Workload evidence:* orders-api: 212 DNS errors in 15 min" in description


def test_without_evidence_the_alert_says_it_was_not_collected() -> None:
    # (a filter policy routing on `evidence` sees a value on every alert)
    alert = build_alert(page._outcome(), {"dopt-old": None}, page._context())
    assert alert.attributes["evidence"] == "not-collected"
    assert alert.document["workload_evidence"] is None
    assert not any(line.startswith("Workload evidence") for line in alert.text.splitlines())


def test_chat_escapes_what_it_quotes_and_names_at_most_five() -> None:
    counts = {f"fn_{i}": 10 - i for i in range(8)}
    evidence = evidence_from_counts(list(counts), counts)
    chat = build_chat_notification(page._outcome(), {"dopt-old": None}, _context(evidence))
    description = chat.document["content"]["description"].splitlines()
    named = [line for line in description if "DNS errors in 15 min" in line]
    assert len(named) == 5
    assert named[0] == "*Workload evidence:* fn_0: 10 DNS errors in 15 min"
    assert "*Workload evidence:* 3 more functions logged DNS errors" in description

    # An AWS error quoted in the reason goes through the chat rule (no live link)
    said = unavailable("Could not connect to the endpoint URL: https://logs.example/")
    chat = build_chat_notification(page._outcome(), {"dopt-old": None}, _context(said))
    description = chat.document["content"]["description"]
    assert "https://" not in description
    assert "https[:]//logs.example/" in description


def test_a_timed_out_query_reads_as_such() -> None:
    alert = build_alert(page._outcome(), {"dopt-old": None}, _context(timed_out(20.4)))
    assert "Workload evidence: could not be read: timed out after 20 s" in alert.text.splitlines()
    assert alert.attributes["evidence"] == "unavailable"
    assert alert.document["workload_evidence"]["timed_out_after_s"] == 20.4
