"""Workload evidence through the real checker: a breaking association pages CRITICAL, and the
page carries what the VPC's own functions logged. moto (EC2, Lambda, the state table, SNS), the
real canary against the DNS lab, Logs Insights played by botocore hooks
(devtools.awsworld.LogsInsightsStandIn)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from real_canary import CANARY, LabVpc, change_event, handler_invoker, manual_check

from devtools.awsworld import LogsInsightsStandIn, function_zip, lambda_vpc_ids

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"  # moto's


@pytest.fixture
def insights(lab_vpc: LabVpc) -> Iterator[LogsInsightsStandIn]:
    # Given two functions attached to the VPC besides its canary, one that never ran (no log
    # group), and one function elsewhere
    world = lab_vpc.world
    canary = world.lambda_.get_function_configuration(FunctionName=CANARY)["VpcConfig"]
    for name in ("orders-api", "billing", "never-ran"):
        world.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=world.role_arn,
            Handler="app.lambda_handler",
            Code={"ZipFile": function_zip()},
            VpcConfig={
                "SubnetIds": canary["SubnetIds"],
                "SecurityGroupIds": canary["SecurityGroupIds"],
            },
        )
    world.lambda_.create_function(
        FunctionName="outside",
        Runtime="python3.12",
        Role=world.role_arn,
        Handler="app.lambda_handler",
        Code={"ZipFile": function_zip()},
    )
    stand_in = LogsInsightsStandIn(
        log_groups={"/aws/lambda/orders-api", "/aws/lambda/billing", "/aws/lambda/outside"},
        dns_errors={"/aws/lambda/orders-api": 212},
        bytes_scanned=5_000_000,
        account=ACCOUNT,
    )
    subnets = dict.fromkeys(canary["SubnetIds"], lab_vpc.vpc_id)
    with stand_in.answering(), lambda_vpc_ids(subnets):
        yield stand_in


def _checker(
    load_handler: Callable[[str], ModuleType], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Any], dict[str, Any]]:
    monkeypatch.setenv("WORKLOAD_EVIDENCE", "true")
    monkeypatch.setenv("HOME_ACCOUNT_ID", ACCOUNT)
    return handler_invoker(load_handler, lambda_context)


def test_the_critical_says_which_functions_logged_dns_errors(
    lab_vpc: LabVpc,
    insights: LogsInsightsStandIn,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checker = _checker(load_handler, lambda_context, monkeypatch)
    checker(manual_check([lab_vpc.vpc_id]))
    assert insights.calls == []  # a healthy VPC costs no query

    # When the VPC is associated with the dead server's option set
    lab_vpc.associate(lab_vpc.bad)
    lab_vpc.platform.recycle(CANARY)
    checker(change_event(lab_vpc, lab_vpc.bad))

    # Then the CRITICAL names the function's errors, the quiet one and the one without logs
    [critical] = lab_vpc.world.alerts()
    assert critical.severity == "CRITICAL"
    lines = critical.text.splitlines()
    assert "Workload evidence: orders-api: 212 DNS errors in 15 min" in lines
    assert "Workload evidence: no DNS errors logged yet by billing" in lines
    assert "Workload evidence: no log group, skipped: never-ran" in lines
    assert critical.attributes["evidence"] == "dns-errors"
    assert critical.document["workload_evidence"]["functions"] == [
        {"function": "orders-api", "dns_errors": 212}
    ]
    # And one query read the two log groups that exist (never the canary's, nor outside ones)
    [(_, start)] = [(op, params) for op, params in insights.calls if op == "StartQuery"]
    assert sorted(start["logGroupNames"]) == ["/aws/lambda/billing", "/aws/lambda/orders-api"]


def test_access_denied_still_pages_and_says_the_evidence_could_not_be_read(
    lab_vpc: LabVpc,
    insights: LogsInsightsStandIn,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    insights.refuse = "AccessDeniedException"
    checker = _checker(load_handler, lambda_context, monkeypatch)
    checker(manual_check([lab_vpc.vpc_id]))

    lab_vpc.associate(lab_vpc.bad)
    lab_vpc.platform.recycle(CANARY)
    result = checker(change_event(lab_vpc, lab_vpc.bad))

    assert result["alerts_published"] == 1
    [critical] = lab_vpc.world.alerts()
    assert critical.severity == "CRITICAL"
    assert (
        "Workload evidence: could not be read: the checker may not call logs:DescribeLogGroups "
        "(AccessDeniedException)"
    ) in critical.text.splitlines()
    assert critical.attributes["evidence"] == "unavailable"


def test_off_by_default_no_logs_are_read(
    lab_vpc: LabVpc,
    insights: LogsInsightsStandIn,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
) -> None:
    checker = handler_invoker(load_handler, lambda_context)
    checker(manual_check([lab_vpc.vpc_id]))
    lab_vpc.associate(lab_vpc.bad)
    lab_vpc.platform.recycle(CANARY)
    checker(change_event(lab_vpc, lab_vpc.bad))

    [critical] = lab_vpc.world.alerts()
    assert critical.severity == "CRITICAL"
    assert critical.attributes["evidence"] == "not-collected"
    assert insights.calls == []
