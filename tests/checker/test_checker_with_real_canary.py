"""The checker with the real canary handler answering Invoke, against real DNS servers on
loopback (the DNS lab). AWS is moto; devtools.local_lambda.LocalCanaryPlatform plays Lambda:

    canary --> forwarder (169.254.78.1) --> the option set's server(s)
    canary --direct--> those servers and the Amazon resolver (the VPC base + 2)

Each canary execution environment gets the resolv.conf of the VPC's option set at its creation;
a configuration change (the checker's WATCHDOG_OPTION_SET) starts a fresh one.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from real_canary import (
    AWS_RECORDS,
    CANARY,
    Invoke,
    LabVpc,
    change_event,
    manual_check,
)
from vpc_dns_watchdog_cli.main import main

from devtools.lambdakit import REGION, InvokeReply, InvokeRouter, LambdaApiError, cloudtrail_event

pytestmark = pytest.mark.integration


def test_dead_server_change_alerts_critical_then_rollback_recovers(
    lab_vpc: LabVpc, checker: Invoke
) -> None:
    world = lab_vpc.world
    # Given a healthy VPC on AmazonProvidedDNS
    baseline = checker(manual_check([lab_vpc.vpc_id]))
    assert baseline["vpcs"][0]["verdict"] == "OK"
    assert world.alerts() == []

    # When the option set is switched to a server that never answers, and the canary starts
    # cold (its idle environment was retired), so it sees the new option set right away
    lab_vpc.associate(lab_vpc.bad)
    lab_vpc.platform.recycle(CANARY)
    result = checker(change_event(lab_vpc, lab_vpc.bad))

    # Then the real canary's findings give a CRITICAL alert with the hop and the rollback
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert lab_vpc.canary_invocations() == 2  # believed without a refresh
    [critical] = world.alerts()
    assert critical.severity == "CRITICAL"
    assert critical.document["diagnosis"]["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert critical.document["diagnosis"]["failing_hop"] == "configured_server"
    dead = lab_vpc.dead.address
    assert f"@{dead} (configured): TIMEOUT" in critical.text
    assert f"@{lab_vpc.amazon.address} (amazon): OK" in critical.text
    assert f"{CANARY}: FAILED - CONFIGURED_SERVER_UNREACHABLE\n" in critical.text
    assert (
        f"aws ec2 associate-dhcp-options --dhcp-options-id {lab_vpc.good} "
        f"--vpc-id {lab_vpc.vpc_id} --region {REGION}"
    ) in critical.text

    # When it is rolled back
    lab_vpc.associate(lab_vpc.good)
    checker(change_event(lab_vpc, lab_vpc.good))

    # Then exactly one RECOVERED follows
    [recovered] = world.alerts()
    assert recovered.severity == "RECOVERED"
    assert recovered.document["diagnosis"]["code"] == "HEALTHY"


def test_warm_canary_is_refreshed_before_it_is_believed(lab_vpc: LabVpc, checker: Invoke) -> None:
    world = lab_vpc.world
    # Given the canary's environment is warm from a check on AmazonProvidedDNS
    checker(manual_check([lab_vpc.vpc_id]))
    warm = lab_vpc.platform.environments[CANARY]
    # and the option set changes, which that warm environment does not notice
    lab_vpc.associate(lab_vpc.bad)
    # When the change is checked
    result = checker(change_event(lab_vpc, lab_vpc.bad))
    # Then the canary first reported itself stale, was refreshed, and its fresh answer counts
    assert world.function_environment(CANARY)["WATCHDOG_OPTION_SET"] == lab_vpc.bad
    assert lab_vpc.canary_invocations() == 3  # the baseline, the stale answer, the fresh one
    fresh = lab_vpc.platform.environments[CANARY]
    assert fresh is not warm
    assert fresh.configured == [lab_vpc.dead.address]
    assert result["vpcs"][0]["verdict"] == "FAILED"
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert f"{CANARY}: FAILED - CONFIGURED_SERVER_UNREACHABLE, refreshed" in alert.text


# --- preflight: a candidate option set predicted, nothing associated, stored or sent -----------


@pytest.fixture
def preflight_lab(lab_vpc: LabVpc, monkeypatch: pytest.MonkeyPatch) -> LabVpc:
    """The lab VPC, its DNS servers' loopback block exempt from the address-class lint."""
    monkeypatch.setenv("LINT_ALLOWED_NETWORKS", lab_vpc.platform.lab.cidr)
    return lab_vpc


def _preflight(vpc: LabVpc, option_set: str) -> dict[str, Any]:
    return {"action": "preflight", "dhcp_options_id": option_set, "vpc_ids": [vpc.vpc_id]}


def _association(vpc: LabVpc) -> str:
    [described] = vpc.world.ec2.describe_vpcs(VpcIds=[vpc.vpc_id])["Vpcs"]
    return str(described["DhcpOptionsId"])


def _state_items(vpc: LabVpc) -> list[Any]:
    table = vpc.world.resources.table_name
    items = vpc.world.dynamodb.scan(TableName=table)["Items"]
    return [item for item in items if vpc.vpc_id in item["pk"]["S"]]


def test_dead_server_candidate_is_predicted_to_break_the_vpc(
    preflight_lab: LabVpc, checker: Invoke
) -> None:
    # Given a VPC whose current option set (AmazonProvidedDNS) is healthy
    # When a set whose only server never answers is preflighted
    result = checker(_preflight(preflight_lab, preflight_lab.bad))

    # Then the prediction names the server and the diagnosis, before anyone associates it
    assert result["status"] == "preflight"
    assert result["dhcp_options_id"] == preflight_lab.bad
    [vpc] = result["vpcs"]
    assert vpc["vpc_id"] == preflight_lab.vpc_id
    assert vpc["verdict"] == "FAILED"
    assert vpc["would_break"] is True
    assert vpc["diagnosis"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert preflight_lab.dead.address in vpc["summary"]
    assert vpc["candidate_nameservers"] == [preflight_lab.dead.address]
    assert result["would_break"] == [preflight_lab.vpc_id]
    assert result["safe"] is False
    # the lint sees that no network interface holds the server's address in that VPC
    assert [f["code"] for f in result["lint"]] == ["NOBODY_AT_ADDRESS"]
    # and nothing changed: association, state, alerts
    assert _association(preflight_lab) == preflight_lab.good
    assert _state_items(preflight_lab) == []
    assert preflight_lab.world.alerts() == []
    [(name, payload)] = preflight_lab.platform.invocations
    assert name == CANARY
    assert payload["candidate_nameservers"] == [preflight_lab.dead.address]


def test_domain_controller_that_does_not_forward_aws_names_is_predicted(
    preflight_lab: LabVpc, checker: Invoke
) -> None:
    dc = preflight_lab.platform.lab.add_server(
        "dc", records={"db.corp.example": {"A": ["10.1.2.3"]}}
    )
    candidate = preflight_lab.world.option_set(dc.address)

    result = checker(_preflight(preflight_lab, candidate))

    [vpc] = result["vpcs"]
    assert vpc["verdict"] == "FAILED"
    assert vpc["diagnosis"] == "CUSTOM_SERVER_MISSING_NAMES"
    assert _association(preflight_lab) == preflight_lab.good
    assert preflight_lab.world.alerts() == []


def test_healthy_candidate_is_predicted_ok(preflight_lab: LabVpc, checker: Invoke) -> None:
    good_dns = preflight_lab.platform.lab.add_server("corp-good", records=AWS_RECORDS)
    candidate = preflight_lab.world.option_set(good_dns.address)
    # someone holds the server's address in the VPC (its ENI)
    subnet = preflight_lab.world.ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [preflight_lab.vpc_id]}]
    )["Subnets"][0]["SubnetId"]
    preflight_lab.world.ec2.create_network_interface(
        SubnetId=subnet, PrivateIpAddress=good_dns.address
    )

    result = checker(_preflight(preflight_lab, candidate))

    [vpc] = result["vpcs"]
    assert vpc["verdict"] == "OK"
    assert vpc["diagnosis"] == "HEALTHY"
    assert vpc["would_break"] is False
    assert result["lint"] == []
    assert result["safe"] is True
    assert _association(preflight_lab) == preflight_lab.good
    assert _state_items(preflight_lab) == []


def test_amazon_provided_dns_candidate_means_the_vpc_base_plus_two(
    preflight_lab: LabVpc, checker: Invoke
) -> None:
    result = checker(_preflight(preflight_lab, preflight_lab.good))

    [vpc] = result["vpcs"]
    assert vpc["candidate_nameservers"] == [preflight_lab.amazon.address]
    assert vpc["verdict"] == "OK"


def test_preflight_of_an_unknown_option_set_says_so(preflight_lab: LabVpc, checker: Invoke) -> None:
    result = checker(_preflight(preflight_lab, "dopt-0123456789abcdef0"))

    assert result["status"] == "error"
    assert "dopt-0123456789abcdef0 does not exist" in result["error"]


def _created(option_set: str) -> dict[str, Any]:
    event = cloudtrail_event("create_dhcp_options")
    event["detail"]["responseElements"]["dhcpOptions"]["dhcpOptionsId"] = option_set
    return event


def test_creating_a_dead_server_option_set_warns_once_before_it_is_associated(
    preflight_lab: LabVpc, checker: Invoke
) -> None:
    # Given a healthy watched VPC
    # When someone creates an option set whose server never answers (not associated yet)
    created = _created(preflight_lab.bad)
    result = checker(created)

    # Then exactly one WARNING names the option set, the server and the VPC
    assert result["status"] == "preflight"
    assert result["would_break"] == [preflight_lab.vpc_id]
    assert result["alert_published"] is True
    [warning] = preflight_lab.world.alerts()
    assert warning.severity == "WARNING"
    assert warning.text.startswith(
        f"WARNING: {preflight_lab.bad} would break Lambda DNS in {preflight_lab.vpc_id}: "
        "CONFIGURED_SERVER_UNREACHABLE"
    )
    assert f"{preflight_lab.bad} ({preflight_lab.dead.address})" in warning.text
    assert warning.document["would_break"][0]["vpc_id"] == preflight_lab.vpc_id
    assert _association(preflight_lab) == preflight_lab.good
    assert _state_items(preflight_lab) == []
    # and a second delivery of the same event publishes nothing more
    again = checker(created)
    assert again["alert_published"] is False
    assert preflight_lab.world.alerts() == []


def test_creating_a_healthy_option_set_publishes_nothing(
    preflight_lab: LabVpc, checker: Invoke
) -> None:
    result = checker(_created(preflight_lab.good))

    assert result["safe"] is True
    assert result["alert_published"] is False
    assert preflight_lab.world.alerts() == []


# --- the vpc-dns-watchdog command against the local checker ---------------------------------------


class CheckerOnLambda(InvokeRouter):
    """Plays Lambda for the command: Invoke of the checker runs the real checker handler."""

    def __init__(self, invoke: Invoke, name: str) -> None:
        self.checker = invoke
        self.name = name

    def invoke(self, function: str, event: Any) -> InvokeReply:
        if function != self.name:
            raise LambdaApiError("ResourceNotFoundException", 404)
        return InvokeReply(self.checker(event))


def _command(vpc: LabVpc, checker: Invoke, *argv: str) -> tuple[int, str]:
    session = boto3.session.Session(region_name=REGION)
    out, err = io.StringIO(), io.StringIO()
    with CheckerOnLambda(checker, "watchdog-checker").routing(session):
        code = main(
            [*argv, "--function-name", "watchdog-checker"], session=session, out=out, err=err
        )
    return code, out.getvalue() + err.getvalue()


def test_command_preflight_exits_1_for_a_dead_server_and_0_for_a_healthy_set(
    preflight_lab: LabVpc, checker: Invoke
) -> None:
    vpc = preflight_lab.vpc_id
    code, printed = _command(preflight_lab, checker, "preflight", preflight_lab.bad, "--vpc", vpc)
    assert code == 1
    assert f"{vpc}: FAILED (CONFIGURED_SERVER_UNREACHABLE)" in printed
    assert f"Would break: {vpc}" in printed

    code, printed = _command(preflight_lab, checker, "preflight", preflight_lab.good, "--vpc", vpc)
    assert code == 0
    assert f"{vpc}: OK (HEALTHY)" in printed
    assert _association(preflight_lab) == preflight_lab.good


def test_command_check_exits_0_when_healthy(preflight_lab: LabVpc, checker: Invoke) -> None:
    code, printed = _command(preflight_lab, checker, "check", "--vpc", preflight_lab.vpc_id)
    assert code == 0
    assert f"{preflight_lab.vpc_id}: OK" in printed


def test_command_exits_3_when_the_checker_cannot_be_found(
    preflight_lab: LabVpc, checker: Invoke
) -> None:
    session = boto3.session.Session(region_name=REGION)
    err = io.StringIO()
    with CheckerOnLambda(checker, "watchdog-checker").routing(session):
        code = main(
            ["check", "--vpc", preflight_lab.vpc_id, "--function-name", "no-such-function"],
            session=session,
            out=io.StringIO(),
            err=err,
        )
    assert code == 3
    assert "cannot invoke no-such-function" in err.getvalue()


def test_command_finds_the_checker_through_the_stack_output(
    preflight_lab: LabVpc, checker: Invoke
) -> None:
    session = boto3.session.Session(region_name=REGION)
    cloudformation = session.client("cloudformation")
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"CheckerFunctionName": {"Value": "watchdog-checker"}},
    }
    cloudformation.create_stack(StackName="dns-watchdog", TemplateBody=json.dumps(template))
    out = io.StringIO()
    with CheckerOnLambda(checker, "watchdog-checker").routing(session):
        code = main(
            ["check", "--vpc", preflight_lab.vpc_id, "--stack-name", "dns-watchdog"],
            session=session,
            out=out,
            err=io.StringIO(),
        )
    assert code == 0
    assert f"{preflight_lab.vpc_id}: OK" in out.getvalue()
