"""Workload evidence, the flow step (flow/evidence.py) with its adapters: CloudWatch Logs Insights
pinned call by call by botocore's Stubber (moto runs only part of the query language), the day's
scan budget in moto's state table. What is asserted is what the page would say."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from checker_doubles import World
from dns_watchdog.aws.log_evidence import DNS_FAILURE_QUERY, RESULT_LIMIT, LogEvidence
from dns_watchdog.aws.scan_count import ScanCount, scan_key
from dns_watchdog.domain.evidence import EvidenceKind, WorkloadEvidence
from dns_watchdog.flow.budget import RESERVE_S, RunBudget
from dns_watchdog.flow.evidence import GIB, EvidenceCollector, ScanBudget
from dns_watchdog.render.evidence import (
    evidence_attribute,
    evidence_document,
    render_evidence_lines,
)

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
NOW = datetime(2024, 5, 14, 9, 16, tzinfo=UTC)
DAY = "2024-05-14"
END_S = int(NOW.timestamp())
BUDGET_S = 20.0


class Clock:
    """A monotonic clock that moves only when somebody sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logs(stub_session: boto3.session.Session) -> Iterator[tuple[Any, Stubber]]:
    client = stub_session.client("logs")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _collector(
    world: World, client: Any, clock: Clock, *, limit_gib: float = 10, max_functions: int = 10
) -> EvidenceCollector:
    # The run has 120 s left: plenty beyond what it keeps to publish and store.
    budget = RunBudget(clock() + 120 + RESERVE_S, "req-1", clock, lambda: NOW)
    return EvidenceCollector(
        LogEvidence(client, sleep=clock.sleep, clock=clock, poll_interval_s=1.0),
        lambda vpc_id: (),
        ScanBudget(int(limit_gib * GIB), ScanCount(world.table_name, world.dynamodb), ACCOUNT),
        max_functions=max_functions,
        budget_s=BUDGET_S,
        budget=budget,
    )


def _groups_exist(stubber: Stubber, asked: list[str], existing: list[str]) -> None:
    stubber.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": group} for group in existing]},
        {"logGroupIdentifiers": sorted(asked)},
    )


def _query_starts(stubber: Stubber, groups: list[str]) -> None:
    stubber.add_response(
        "start_query",
        {"queryId": "q-1"},
        {
            "logGroupNames": groups,
            "startTime": END_S - 15 * 60,
            "endTime": END_S,
            "queryString": DNS_FAILURE_QUERY,
            "limit": RESULT_LIMIT,
        },
    )


def _results(stubber: Stubber, status: str, rows: dict[str, int], scanned: float) -> None:
    stubber.add_response(
        "get_query_results",
        {
            "status": status,
            "results": [
                [
                    {"field": "@log", "value": f"{ACCOUNT}:/aws/lambda/{function}"},
                    {"field": "dnsErrors", "value": str(count)},
                ]
                for function, count in rows.items()
            ],
            "statistics": {"bytesScanned": scanned, "recordsScanned": 1000.0},
        },
        {"queryId": "q-1"},
    )


def _scanned_today(world: World) -> int:
    item = world.dynamodb.get_item(
        TableName=world.table_name, Key={"pk": {"S": scan_key(ACCOUNT, DAY)}}
    ).get("Item", {})
    return int(item.get("scanned", {}).get("N", "0"))


def _text(evidence: WorkloadEvidence) -> list[str]:
    return render_evidence_lines(evidence)


def test_a_query_that_finds_errors_names_the_worst_function_first(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    # Given two of the VPC's functions whose logs hold DNS failures
    client, stubber = logs
    groups = ["/aws/lambda/orders-api", "/aws/lambda/billing"]
    _groups_exist(stubber, groups, groups)
    _query_starts(stubber, groups)
    _results(stubber, "Running", {}, 1_000.0)
    _results(stubber, "Complete", {"billing": 3, "orders-api": 212}, 5_000_000.0)

    # When the evidence is collected for them
    evidence = _collector(moto_world, client, clock).evidence_for(["orders-api", "billing"])

    # Then the page names the worst first, and the day counts the bytes the query scanned
    assert evidence.kind is EvidenceKind.DNS_ERRORS
    assert _text(evidence) == [
        "Workload evidence: orders-api: 212 DNS errors in 15 min",
        "Workload evidence: billing: 3 DNS errors in 15 min",
    ]
    assert evidence_attribute(evidence) == {"evidence": "dns-errors"}
    assert _scanned_today(moto_world) == 5_000_000
    assert clock.slept == [1.0, 1.0]


def test_a_query_without_errors_says_none_were_logged_yet(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    client, stubber = logs
    groups = ["/aws/lambda/orders-api"]
    _groups_exist(stubber, groups, groups)
    _query_starts(stubber, groups)
    _results(stubber, "Complete", {}, 2_048.0)

    evidence = _collector(moto_world, client, clock).evidence_for(["orders-api"])

    assert evidence.kind is EvidenceKind.NONE_LOGGED
    assert _text(evidence) == [
        "Workload evidence: no DNS errors logged yet by 1 function in 15 min (orders-api)"
    ]
    assert evidence_attribute(evidence) == {"evidence": "none-logged"}


def test_a_function_without_a_log_group_is_skipped_and_said_so(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    # Given one function that never logged (no log group) next to one that did
    client, stubber = logs
    _groups_exist(
        stubber, ["/aws/lambda/orders-api", "/aws/lambda/never-ran"], ["/aws/lambda/orders-api"]
    )
    # Then the query names only the group that exists (a missing one would fail it whole)
    _query_starts(stubber, ["/aws/lambda/orders-api"])
    _results(stubber, "Complete", {"orders-api": 7}, 4_096.0)

    evidence = _collector(moto_world, client, clock).evidence_for(["orders-api", "never-ran"])

    assert _text(evidence) == [
        "Workload evidence: orders-api: 7 DNS errors in 15 min",
        "Workload evidence: no log group, skipped: never-ran",
    ]
    document = evidence_document(evidence)
    assert document is not None
    assert document["no_log_group"] == ["never-ran"]
    assert document["functions"] == [{"function": "orders-api", "dns_errors": 7}]


def test_no_log_group_at_all_runs_no_query(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    client, stubber = logs
    _groups_exist(stubber, ["/aws/lambda/never-ran"], [])

    evidence = _collector(moto_world, client, clock).evidence_for(["never-ran"])

    assert evidence.kind is EvidenceKind.NOT_COLLECTED
    assert _text(evidence) == [
        "Workload evidence: not collected: no log group for any of the functions",
        "Workload evidence: no log group, skipped: never-ran",
    ]


def test_a_query_still_running_at_the_deadline_is_stopped_and_the_page_says_timed_out(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    # Given a query that keeps running past the run's evidence budget (20 s)
    client, stubber = logs
    groups = ["/aws/lambda/orders-api"]
    _groups_exist(stubber, groups, groups)
    _query_starts(stubber, groups)
    for _ in range(int(BUDGET_S)):
        _results(stubber, "Running", {}, 9_000.0)
    stubber.add_response("stop_query", {"success": True}, {"queryId": "q-1"})

    evidence = _collector(moto_world, client, clock).evidence_for(["orders-api"])

    # Then it was stopped (StopQuery), the page says so, and what it scanned still counts
    assert evidence.kind is EvidenceKind.UNAVAILABLE
    assert _text(evidence) == ["Workload evidence: could not be read: timed out after 20 s"]
    assert evidence_attribute(evidence) == {"evidence": "unavailable"}
    assert sum(clock.slept) == BUDGET_S
    assert _scanned_today(moto_world) == 9_000


def test_a_spent_daily_scan_budget_runs_no_query(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    # Given today's queries already scanned the account's 1 GiB
    client, _ = logs  # nothing queued: any Logs call would fail the test
    ScanCount(moto_world.table_name, moto_world.dynamodb).add(ACCOUNT, DAY, GIB)

    evidence = _collector(moto_world, client, clock, limit_gib=1).evidence_for(["orders-api"])

    assert evidence.kind is EvidenceKind.NOT_COLLECTED
    assert _text(evidence) == [
        "Workload evidence: not collected: daily scan budget spent (1 GiB for account 123456789012)"
    ]
    assert evidence_attribute(evidence) == {"evidence": "not-collected"}


def test_the_budget_counts_across_queries_until_it_is_spent(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    # Given a 1 GiB budget and a first query that scans all of it
    client, stubber = logs
    groups = ["/aws/lambda/orders-api"]
    _groups_exist(stubber, groups, groups)
    _query_starts(stubber, groups)
    _results(stubber, "Complete", {"orders-api": 1}, float(GIB))
    collector = _collector(moto_world, client, clock, limit_gib=1)
    assert collector.evidence_for(["orders-api"]).kind is EvidenceKind.DNS_ERRORS

    # When another VPC fails the same day, then no second query starts
    second = collector.evidence_for(["orders-api"])
    assert second.kind is EvidenceKind.NOT_COLLECTED
    assert "daily scan budget spent" in (second.reason or "")


def test_access_denied_says_the_evidence_could_not_be_read(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    client, stubber = logs
    groups = ["/aws/lambda/orders-api"]
    _groups_exist(stubber, groups, groups)
    stubber.add_client_error(
        "start_query",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: logs:StartQuery",
        http_status_code=400,
        expected_params={
            "logGroupNames": groups,
            "startTime": ANY,
            "endTime": ANY,
            "queryString": DNS_FAILURE_QUERY,
            "limit": RESULT_LIMIT,
        },
    )

    evidence = _collector(moto_world, client, clock).evidence_for(["orders-api"])

    assert _text(evidence) == [
        "Workload evidence: could not be read: the checker may not call logs:StartQuery "
        "(AccessDeniedException)"
    ]
    assert _scanned_today(moto_world) == 0


def test_a_failed_query_says_how_it_ended(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    client, stubber = logs
    groups = ["/aws/lambda/orders-api"]
    _groups_exist(stubber, groups, groups)
    _query_starts(stubber, groups)
    _results(stubber, "Failed", {}, 0.0)

    evidence = _collector(moto_world, client, clock).evidence_for(["orders-api"])

    assert _text(evidence) == [
        "Workload evidence: could not be read: the Logs Insights query ended Failed"
    ]


def test_only_the_first_functions_are_read_and_the_rest_counted(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    # Given EvidenceMaxFunctions=2 and three functions in the VPC
    client, stubber = logs
    groups = ["/aws/lambda/a", "/aws/lambda/b"]
    _groups_exist(stubber, groups, groups)
    _query_starts(stubber, groups)
    _results(stubber, "Complete", {"b": 4}, 100.0)

    evidence = _collector(moto_world, client, clock, max_functions=2).evidence_for(["a", "b", "c"])

    assert _text(evidence) == [
        "Workload evidence: b: 4 DNS errors in 15 min",
        "Workload evidence: no DNS errors logged yet by a",
        "Workload evidence: 1 more functions in the VPC not read",
    ]


def test_a_vpc_without_functions_besides_the_canaries_runs_no_query(
    moto_world: World, logs: tuple[Any, Stubber], clock: Clock
) -> None:
    client, _ = logs
    evidence = _collector(moto_world, client, clock).evidence_for([])
    assert _text(evidence) == [
        "Workload evidence: not collected: no Lambda function in the VPC besides the canaries"
    ]
