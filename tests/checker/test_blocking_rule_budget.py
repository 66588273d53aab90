"""Reachability analyses per day, end to end: a VPC flipping between a dead and a good option set
pages every time, but analyses start only within the day's budget per VPC and per account; the
page says when it is spent. moto, the real canary against the DNS lab, Reachability Analyzer
played by botocore hooks (test_blocking_rule_named.NetworkInsights)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from real_canary import CANARY, Invoke, LabVpc, change_event, handler_invoker, manual_check
from test_blocking_rule_named import NetworkInsights, insights  # noqa: F401  # the fixture by name

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"  # moto's


def _checker(
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    **settings: str,
) -> Invoke:
    monkeypatch.setenv("NAME_BLOCKING_RULE", "true")
    monkeypatch.setenv("HOME_ACCOUNT_ID", ACCOUNT)
    for variable, value in settings.items():
        monkeypatch.setenv(variable, value)
    return handler_invoker(load_handler, lambda_context)


def _flip(vpc: LabVpc, checker: Invoke, option_set: str) -> str:
    """Associate `option_set`, check the change; the severity of the one page it sent."""
    vpc.associate(option_set)
    vpc.platform.recycle(CANARY)
    checker(change_event(vpc, option_set))
    [alert] = vpc.world.alerts()
    return alert.severity


def test_flips_beyond_the_vpc_s_budget_start_no_more_analyses(
    lab_vpc: LabVpc,
    insights: NetworkInsights,  # noqa: F811
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given NameBlockingRule with the default budgets (4 analyses per VPC and day, 20 per account)
    checker = _checker(load_handler, lambda_context, monkeypatch)
    checker(manual_check([lab_vpc.vpc_id]))
    first_day = datetime.now(UTC).date().isoformat()

    # When the VPC flips to the dead server's option set and back, six times
    started = []
    for _ in range(6):
        assert _flip(lab_vpc, checker, lab_vpc.bad) == "CRITICAL"
        started.append(insights.analyses_started)
        assert _flip(lab_vpc, checker, lab_vpc.good) == "RECOVERED"

    # Then only the first two incidents were analysed (UDP and TCP each): four, not twelve
    assert started == [2, 4, 4, 4, 4, 4]
    item = lab_vpc.world.dynamodb.get_item(
        TableName=lab_vpc.world.table_name, Key={"pk": {"S": f"vpc#{lab_vpc.vpc_id}"}}
    )["Item"]
    assert item["analyses_started"] == {"N": "4"}
    assert item["analyses_day"]["S"] in {first_day, datetime.now(UTC).date().isoformat()}


def test_the_page_says_the_vpc_s_budget_is_spent(
    lab_vpc: LabVpc,
    insights: NetworkInsights,  # noqa: F811
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checker = _checker(
        load_handler, lambda_context, monkeypatch, BLOCKING_ANALYSES_PER_VPC_PER_DAY="2"
    )
    checker(manual_check([lab_vpc.vpc_id]))
    _flip(lab_vpc, checker, lab_vpc.bad)
    _flip(lab_vpc, checker, lab_vpc.good)

    # When it breaks again the same day
    lab_vpc.associate(lab_vpc.bad)
    lab_vpc.platform.recycle(CANARY)
    checker(change_event(lab_vpc, lab_vpc.bad))

    # Then the CRITICAL goes out, without an analysis, saying why
    [critical] = lab_vpc.world.alerts()
    assert critical.severity == "CRITICAL"
    assert insights.analyses_started == 2
    dead = lab_vpc.dead.address
    line = (
        f"Blocking rule: not analysed for {dead}: today's budget of 2 analyses for "
        f"{lab_vpc.vpc_id} is spent."
    )
    assert line in critical.text.splitlines()
    assert critical.document["blocking_rules"] == []
    [spent] = critical.document["blocking_budget_spent"]
    assert (spent["scope"], spent["limit"], spent["servers"]) == ("vpc", 2, [dead])


def test_the_account_s_budget_holds_across_its_vpcs(
    lab_vpc: LabVpc,
    insights: NetworkInsights,  # noqa: F811
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a generous budget per VPC but two analyses per account and day, one already started
    # today by another VPC of the account
    today = datetime.now(UTC).date().isoformat()
    lab_vpc.world.dynamodb.put_item(
        TableName=lab_vpc.world.table_name,
        Item={"pk": {"S": f"analyses#{ACCOUNT}#{today}"}, "analyses": {"N": "2"}},
    )
    checker = _checker(
        load_handler,
        lambda_context,
        monkeypatch,
        BLOCKING_ANALYSES_PER_VPC_PER_DAY="100",
        BLOCKING_ANALYSES_PER_ACCOUNT_PER_DAY="4",
    )
    checker(manual_check([lab_vpc.vpc_id]))

    # When this VPC breaks twice
    assert _flip(lab_vpc, checker, lab_vpc.bad) == "CRITICAL"
    assert insights.analyses_started == 2
    _flip(lab_vpc, checker, lab_vpc.good)
    lab_vpc.associate(lab_vpc.bad)
    lab_vpc.platform.recycle(CANARY)
    checker(change_event(lab_vpc, lab_vpc.bad))

    # Then the second CRITICAL says the account's budget is spent, and nothing more started
    [critical] = lab_vpc.world.alerts()
    assert insights.analyses_started == 2
    assert (
        f"Blocking rule: not analysed for {lab_vpc.dead.address}: today's budget of 4 analyses "
        f"for account {ACCOUNT} is spent."
    ) in critical.text.splitlines()
    item = lab_vpc.world.dynamodb.get_item(
        TableName=lab_vpc.world.table_name, Key={"pk": {"S": f"analyses#{ACCOUNT}#{today}"}}
    )["Item"]
    assert item["analyses"] == {"N": "4"}
    assert int(item["expiration"]["N"]) > datetime.now(UTC).timestamp()
