"""A watchdog that never goes silent and never pages twice: faults, races and hostile functions.

Each test reproduces a way the checker used to lose or repeat a page, injecting the fault
through botocore hooks on the clients the checker builds (or through moto), never by patching
the checker, and asserts what on-call receives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from checker_doubles import FakeCanary, World
from test_alert_size import DEAD, dead_servers_findings

from devtools.lambdakit import api_error, cloudtrail_event, load_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CORP_DNS = "10.1.1.10"
Hook = Callable[[dict[str, Any]], Any]


class Faults:
    """botocore hooks on the checker's clients, registered before they exist.

    A hook sees the call's API parameters (stashed from `before-parameter-build` in the request
    context) and may answer the call itself from `before-call`, with an error or after doing
    something else first.
    """

    OPERATIONS = ("dynamodb.PutItem", "dynamodb.GetItem", "sns.Publish", "ec2.DescribeVpcs")

    def __init__(self) -> None:
        self.hooks: dict[str, list[Hook]] = {}
        assert boto3.DEFAULT_SESSION is not None
        for operation in self.OPERATIONS:
            events = boto3.DEFAULT_SESSION.events
            events.register(f"before-parameter-build.{operation}", self._remember)
            events.register(f"before-call.{operation}", self._dispatch)

    def on(self, operation: str, hook: Hook) -> None:
        self.hooks.setdefault(operation, []).append(hook)

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["api_params"] = dict(params)

    def _dispatch(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        operation = f"{model.metadata['endpointPrefix']}.{model.name}"
        for hook in list(self.hooks.get(operation, [])):
            response = hook(context.get("api_params", {}))
            if response is not None:
                return response
        return None


@pytest.fixture
def faults(world: World) -> Faults:
    return Faults()


def broken_vpc(world: World, name: str, *, dead: bool = True) -> dict[str, str]:
    """A VPC verified healthy on AmazonProvidedDNS, then associated with a dead server."""
    vpc_id = world.create_vpc("10.0.0.0/16")
    good = world.option_set("AmazonProvidedDNS")
    bad = world.option_set(CORP_DNS)
    world.associate(vpc_id, good)
    world.add_canary(
        vpc_id, f"vpc-dns-canary-{name}", FakeCanary(dead={CORP_DNS} if dead else set())
    )
    return {"vpc_id": vpc_id, "good": good, "bad": bad, "canary": f"vpc-dns-canary-{name}"}


def change(vpc: dict[str, str], option_set: str) -> dict[str, Any]:
    return cloudtrail_event("associate_dhcp_options", vpcId=vpc["vpc_id"], dhcpOptionsId=option_set)


SWEEP = load_event("scheduled_sweep")


def test_one_canarys_invoke_failure_blinds_no_other_vpc(world: World, checker_app: Invoke) -> None:
    # Given three watched VPCs, two of them broken, and the third's canary cannot be placed
    first, second, third = (broken_vpc(world, n) for n in ("one", "two", "three"))
    for vpc in (first, second):
        world.associate(vpc["vpc_id"], vpc["bad"])
    # (for the sweep's run and the run that confirms its failure: flap control)
    world.router.fail_next[third["canary"]] = ["ENILimitReachedException"] * 2
    # When the sweep runs
    result = checker_app(SWEEP)
    # Then both broken VPCs page CRITICAL and the third says its canary cannot start in its VPC
    alerts = {a.attributes["vpc_id"]: a for a in world.alerts()}
    assert {alerts[first["vpc_id"]].severity, alerts[second["vpc_id"]].severity} == {"CRITICAL"}
    placement = alerts[third["vpc_id"]]
    assert placement.severity == "WARNING"
    assert "CANARY_PLACEMENT_FAILED" in placement.text
    assert "ENILimitReachedException" in placement.text
    assert "aws ec2 associate-dhcp-options" not in placement.text
    assert result["alerts_published"] == 3


def test_a_vpc_whose_alert_cannot_be_published_stops_no_other(
    world: World, checker_app: Invoke, faults: Faults
) -> None:
    first, second, third = (broken_vpc(world, n) for n in ("one", "two", "three"))
    for vpc in (first, second, third):
        world.associate(vpc["vpc_id"], vpc["bad"])
    refused = {second["vpc_id"]}

    def refuse(params: dict[str, Any]) -> Any:
        attributes = params.get("MessageAttributes", {})
        if attributes.get("vpc_id", {}).get("StringValue") in refused:
            return api_error("KMSAccessDenied", 400)
        return None

    faults.on("sns.Publish", refuse)
    # When the sweep cannot publish the second VPC's alert, it still pages for the others, then
    # fails so the scheduler's retry (or the dead-letter queue) keeps the run
    with pytest.raises(Exception, match=f"1 of 3 VPCs not concluded: {second['vpc_id']}"):
        checker_app(SWEEP)
    assert sorted(a.attributes["vpc_id"] for a in world.alerts()) == sorted(
        [first["vpc_id"], third["vpc_id"]]
    )
    # And the retry pages the second VPC once, without paging the others again
    refused.clear()
    checker_app(SWEEP)
    assert [a.attributes["vpc_id"] for a in world.alerts()] == [second["vpc_id"]]


def test_two_change_events_for_one_vpc_at_once_page_once(
    world: World, checker_app: Invoke, faults: Faults
) -> None:
    vpc = broken_vpc(world, "a")
    checker_app({"action": "check", "vpc_ids": [vpc["vpc_id"]]})
    world.associate(vpc["vpc_id"], vpc["bad"])
    first, second = change(vpc, vpc["bad"]), change(vpc, vpc["bad"])
    nested: list[dict[str, Any]] = []

    def second_delivery_meanwhile(params: dict[str, Any]) -> None:
        # The second event is checked completely between the first one's decision and its write
        if params["Item"]["pk"]["S"] == f"vpc#{vpc['vpc_id']}" and not nested:
            nested.append({})
            nested.append(checker_app(second))

    faults.on("dynamodb.PutItem", second_delivery_meanwhile)
    checker_app(first)
    assert [a.severity for a in world.alerts()] == ["CRITICAL"]
    assert nested[1]["vpcs"][0]["verdict"] == "FAILED"


def test_a_sweep_that_probed_before_a_change_never_announces_recovery(
    world: World, checker_app: Invoke, faults: Faults
) -> None:
    vpc = broken_vpc(world, "a")
    checker_app({"action": "check", "vpc_ids": [vpc["vpc_id"]]})
    happened: list[dict[str, Any]] = []

    def change_lands_meanwhile(params: dict[str, Any]) -> None:
        # The sweep's canary said healthy; before the sweep reads the stored state, someone
        # associates the dead server and that change is checked and paged
        if params["Key"]["pk"]["S"] == f"vpc#{vpc['vpc_id']}" and not happened:
            happened.append({})
            world.associate(vpc["vpc_id"], vpc["bad"])
            happened.append(checker_app(change(vpc, vpc["bad"])))

    faults.on("dynamodb.GetItem", change_lands_meanwhile)
    sweep = checker_app(SWEEP)
    assert [a.severity for a in world.alerts()] == ["CRITICAL"]
    assert sweep["vpcs"][0]["status"] == "skipped"
    assert "newer evidence" in sweep["vpcs"][0]["why"]
    # The next sweep sees the broken set: the incident is open, nobody is paged again
    checker_app(SWEEP)
    assert world.alerts() == []


def test_a_retry_after_a_failed_state_write_does_not_page_twice(
    world: World, checker_app: Invoke, faults: Faults
) -> None:
    vpc = broken_vpc(world, "a")
    checker_app({"action": "check", "vpc_ids": [vpc["vpc_id"]]})
    world.associate(vpc["vpc_id"], vpc["bad"])
    failures = ["AccessDeniedException"]

    def state_write_fails_once(params: dict[str, Any]) -> Any:
        if params["Item"]["pk"]["S"] == f"vpc#{vpc['vpc_id']}" and failures:
            return api_error(failures.pop(), 400)
        return None

    faults.on("dynamodb.PutItem", state_write_fails_once)
    event = change(vpc, vpc["bad"])
    with pytest.raises(Exception, match="AccessDeniedException"):
        checker_app(event)
    assert [a.severity for a in world.alerts()] == ["CRITICAL"]
    # EventBridge retries the event: the state is stored now, and nobody is paged twice
    retry = checker_app(event)
    assert retry["vpcs"][0]["verdict"] == "FAILED"
    assert world.alerts() == []
    # and the incident is open: the next sweep stays quiet too
    checker_app(SWEEP)
    assert world.alerts() == []


def test_a_duplicate_delivered_while_the_first_runs_is_a_quiet_no_op(
    world: World, checker_app: Invoke, faults: Faults
) -> None:
    vpc = broken_vpc(world, "a")
    world.associate(vpc["vpc_id"], vpc["bad"])
    event = change(vpc, vpc["bad"])
    duplicate: list[dict[str, Any]] = []

    def same_event_again(params: dict[str, Any]) -> None:
        if not duplicate:
            duplicate.append({})
            duplicate.append(checker_app(event))

    faults.on("ec2.DescribeVpcs", same_event_again)
    checker_app(event)
    assert duplicate[1]["status"] == "in_progress"
    assert [a.severity for a in world.alerts()] == ["CRITICAL"]


def test_a_change_in_a_vpc_without_canaries_is_counted_not_paged(
    world: World, checker_app: Invoke
) -> None:
    vpc_id = world.create_vpc("10.0.0.0/16")
    bad = world.option_set(CORP_DNS)
    world.associate(vpc_id, bad)
    result = checker_app(
        cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=bad)
    )
    assert world.alerts() == []
    assert result["vpcs"][0]["status"] == "skipped"
    assert "no canary watches this VPC" in result["vpcs"][0]["why"]


def test_a_tagged_function_that_is_not_a_canary_cannot_hide_a_broken_vpc(
    world: World, checker_app: Invoke
) -> None:
    vpc = broken_vpc(world, "a")
    checker_app({"action": "check", "vpc_ids": [vpc["vpc_id"]]})
    # A function that merely carries the tag answers "healthy" to anything
    world.add_canary(vpc["vpc_id"], "payments-fake-ok", FakeCanary())
    world.associate(vpc["vpc_id"], vpc["bad"])
    checker_app(change(vpc, vpc["bad"]))
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert "payments-fake-ok" not in alert.text
    assert world.router.invocations("payments-fake-ok") == []


def test_the_biggest_findings_still_page_through_sns(world: World, checker_app: Invoke) -> None:
    # Three canaries, each with 50 names and 4 silent servers: far over SNS's 256 KiB in full
    vpc_id = world.create_vpc("10.0.0.0/16")
    dead = world.option_set(*DEAD)
    world.associate(vpc_id, dead)
    for name in ("a", "b", "c"):
        world.add_canary(vpc_id, f"vpc-dns-canary-{name}", lambda p, e: (None, dead_servers()))
    result = checker_app({"action": "check", "vpc_ids": [vpc_id]})
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert "failing hop: configured_server" in alert.text
    assert alert.document["shortened"] is True
    assert alert.document["canaries_total"] == 3


def dead_servers() -> dict[str, Any]:
    findings = dead_servers_findings()
    findings["resolv_conf"] = {
        "found": True,
        "nameservers": ["169.254.78.1"],
        "configured_nameservers": list(DEAD),
    }
    findings["expected_nameservers"] = list(DEAD)
    return findings


def test_deciding_again_after_a_conflicting_write_does_not_page_twice(
    world: World, checker_app: Invoke, faults: Faults
) -> None:
    vpc = broken_vpc(world, "a")
    checker_app({"action": "check", "vpc_ids": [vpc["vpc_id"]]})
    world.associate(vpc["vpc_id"], vpc["bad"])
    table = world.resources.table_name
    other_writer: list[bool] = []

    def older_healthy_check_writes_first(params: dict[str, Any]) -> None:
        # Between this check's page and its write, another check (that probed earlier, while
        # DNS was still healthy) stores its OK: the conditional write conflicts, and the check
        # decides again from the new state, which again says "new incident"
        if params["Item"]["pk"]["S"] != f"vpc#{vpc['vpc_id']}" or other_writer:
            return
        other_writer.append(True)
        item = world.dynamodb.get_item(TableName=table, Key={"pk": params["Item"]["pk"]})["Item"]
        item["version"] = {"N": str(int(item["version"]["N"]) + 1)}
        item["observed_at"] = {"S": "2000-01-01T00:00:00.000Z"}
        world.dynamodb.put_item(TableName=table, Item=item)

    faults.on("dynamodb.PutItem", older_healthy_check_writes_first)
    result = checker_app(change(vpc, vpc["bad"]))
    assert other_writer == [True]
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert [a.severity for a in world.alerts()] == ["CRITICAL"]
