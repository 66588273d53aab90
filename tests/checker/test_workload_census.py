"""The blast radius's pure parts: interfaces sorted into workloads, the canaries left out, the
census stored and read back, and PriorityFromImpact's rule."""

from __future__ import annotations

import pytest
from dns_watchdog.domain.models import Severity
from dns_watchdog.domain.workloads import (
    MAX_FUNCTIONS_NAMED,
    BlastRadius,
    Census,
    Interface,
    classify,
    prioritise,
    take_census,
    total_workloads,
    unreadable,
)
from dns_watchdog.render.workloads import hit_line

pytestmark = pytest.mark.unit

ACCOUNT = "123456789012"
OTHER = "210987654321"
CANARY_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:vpc-dns-canary-a"
NOW = "2026-12-08T01:00:00Z"


def interface(kind: str = "interface", description: str = "", **fields: object) -> Interface:
    return Interface(
        interface_id="eni-0a1b2c3d4e5f60718",
        interface_type=kind,
        owner_id=str(fields.pop("owner_id", ACCOUNT)),
        description=description,
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        (interface("lambda", "AWS Lambda VPC ENI-orders-api-4b1c"), "lambda"),
        (
            interface(
                description="arn:aws:ecs:us-east-1:123456789012:attachment/0f6c",
                requester_managed=True,
            ),
            "ecs_task",
        ),
        (interface("branch"), "ecs_task"),
        (interface(description="Primary network interface", instance_id="i-0abc"), "instance"),
        (interface("trunk", instance_id="i-0abc"), "instance"),
        (interface("nat_gateway", "Interface for NAT Gateway nat-0abc"), "other"),
        (interface("vpc_endpoint", requester_managed=True), "other"),
        # A service's interface attached to an instance AWS manages (a load balancer's)
        (interface(description="ELB app/web", requester_managed=True, instance_id="i-0"), "other"),
        (interface(description="RDSNetworkInterface", requester_managed=True), "other"),
    ],
)
def test_each_interface_is_sorted_by_the_fields_aws_writes(given: Interface, kind: str) -> None:
    assert classify(given) == kind


def test_a_census_counts_instances_once_and_leaves_the_canaries_out() -> None:
    census = take_census(
        read_at=NOW,
        interfaces=[
            interface("lambda", "AWS Lambda VPC ENI-vpc-dns-canary-a-1f2e"),
            interface("lambda", "AWS Lambda VPC ENI-orders-api-9a8b"),
            interface(instance_id="i-1"),
            interface("efa", instance_id="i-1"),
            interface(instance_id="i-2"),
            interface("nat_gateway"),
        ],
        functions=["orders-api", "vpc-dns-canary-a", "billing"],
        functions_complete=True,
        canaries=[CANARY_ARN],
        account=ACCOUNT,
    )
    assert census.functions == ("billing", "orders-api")
    assert (census.functions_total, census.instances, census.other_interfaces) == (2, 2, 1)
    assert census.canary_interfaces == 1
    assert census.workloads == 4
    assert census.owners == ((ACCOUNT, 5),)


def test_a_canary_is_told_apart_from_a_function_whose_name_it_begins() -> None:
    census = take_census(
        read_at=NOW,
        interfaces=[interface("lambda", "AWS Lambda VPC ENI-vpc-dns-canary-ab-1f2e")],
        functions=[],
        functions_complete=True,
        canaries=["vpc-dns-canary-a"],
        account=ACCOUNT,
    )
    assert census.canary_interfaces == 0


def test_lambda_interfaces_of_other_accounts_count_in_a_shared_vpc() -> None:
    # Their functions are not this account's to list: their interfaces stand for them
    census = take_census(
        read_at=NOW,
        interfaces=[interface("lambda", "AWS Lambda VPC ENI-payments-77aa", owner_id=OTHER)],
        functions=[],
        functions_complete=True,
        canaries=[CANARY_ARN],
        account=ACCOUNT,
    )
    assert census.foreign_lambda_interfaces == 1
    assert census.workloads == 1
    assert census.owners == ((OTHER, 1),)
    assert hit_line(BlastRadius("read", census), "vpc-1") == (
        "Hit: 1 Lambda interface of other accounts"
    )


def test_names_are_capped_and_the_rest_counted() -> None:
    names = [f"fn-{i:02d}" for i in range(25)]
    census = take_census(
        read_at=NOW,
        interfaces=[],
        functions=names,
        functions_complete=False,
        canaries=[],
        account=ACCOUNT,
    )
    assert len(census.functions) == MAX_FUNCTIONS_NAMED
    assert census.functions_total == 25
    assert hit_line(BlastRadius("read", census), "vpc-1") == (
        "Hit: at least 25 Lambda functions (fn-00, fn-01, fn-02, fn-03, fn-04, ...)"
    )


def test_a_census_is_stored_and_read_back_as_it_was() -> None:
    census = Census(
        read_at=NOW,
        functions=("a", "b"),
        functions_total=2,
        ecs_tasks=1,
        other_interfaces=3,
        other_types=(("vpc_endpoint", 2), ("nat_gateway", 1)),
        owners=((ACCOUNT, 5), (OTHER, 1)),
    )
    assert Census.from_record(census.as_record()) == census
    with pytest.raises(ValueError, match="not a stored workload census"):
        Census.from_record({"functions": ["a"]})


@pytest.mark.parametrize(
    ("read_at", "ttl_s", "fresh"),
    [
        ("2026-12-08T00:30:00Z", 3600, True),
        ("2026-12-07T23:59:59Z", 3600, False),
        ("2026-12-08T00:30:00Z", 0, False),
        ("2026-12-08T02:00:00Z", 3600, False),  # from the future: read again
        ("yesterday", 3600, False),
    ],
)
def test_a_cached_census_is_fresh_within_its_ttl(read_at: str, ttl_s: int, fresh: bool) -> None:
    assert Census(read_at=read_at).fresh(NOW, ttl_s) is fresh


EMPTY = BlastRadius("read", Census(read_at=NOW))
BUSY = BlastRadius("read", Census(read_at=NOW, instances=1))
PARTIAL = BlastRadius("read", Census(read_at=NOW, functions_complete=False))


@pytest.mark.parametrize(
    ("severity", "blast", "on", "sent"),
    [
        (Severity.CRITICAL, EMPTY, True, Severity.WARNING),
        (Severity.CRITICAL, EMPTY, False, Severity.CRITICAL),
        (Severity.CRITICAL, BUSY, True, Severity.CRITICAL),
        # Not known to be empty: the page goes out as decided
        (Severity.CRITICAL, unreadable("AccessDenied"), True, Severity.CRITICAL),
        (Severity.CRITICAL, None, True, Severity.CRITICAL),
        (Severity.CRITICAL, PARTIAL, True, Severity.CRITICAL),
        # Only a CRITICAL is lowered
        (Severity.RECOVERED, EMPTY, True, Severity.RECOVERED),
        (Severity.WARNING, EMPTY, True, Severity.WARNING),
    ],
)
def test_priority_from_impact_lowers_only_a_critical_known_to_hit_nothing(
    severity: Severity, blast: BlastRadius | None, on: bool, sent: Severity
) -> None:
    priority = prioritise(severity, blast, from_impact=on, vpc_id="vpc-1")
    assert priority.severity == sent
    assert (priority.why is not None) == (sent != severity)


def test_several_vpcs_count_together_only_when_each_is_known() -> None:
    assert total_workloads([EMPTY, BUSY]) == 1
    assert total_workloads([BUSY, unreadable("AccessDenied")]) is None
    assert total_workloads([BUSY, None]) is None
