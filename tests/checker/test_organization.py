"""Organization mode end to end: one checker in the central account, a member account's change
forwarded to it, the real canary in the member's VPC answering through the DNS lab.

moto plays every account: the central account is moto's default, 222222222222 holds the member
role (the checker's AssumeRole lands there), 333333333333 has none. `AssumeRoleGate` makes STS
refuse a role that does not exist, as AWS does. The checker sweeps (and so accepts changes from)
the central account's region and eu-west-1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from checker_doubles import World
from real_canary import AWS_RECORDS, CANARY_VARIABLES, handler_invoker, watched_vpc

from devtools.awsworld import AwsWorld
from devtools.dnslab import DnsLab, LabServer
from devtools.lambdakit import REGION, load_event
from devtools.local_lambda import LocalCanaryPlatform
from devtools.orgworld import (
    HOME,
    MEMBER,
    OTHER_MEMBER,
    ROLE_NAME,
    SWEEP_QUEUE_NAME,
    AssumeRoleGate,
    ChangeQueue,
    create_member_role,
    forwarded_change,
    session_in,
    sqs_batch_event,
)

pytestmark = pytest.mark.integration

MEMBER_REGION = "eu-west-1"
MEMBER_CANARY = "vpc-dns-canary-member"
OTHER_CANARY = "vpc-dns-canary-other"
HOME_CANARY = "vpc-dns-canary-home"
# The member canary probes its own region's endpoints.
MEMBER_RECORDS = {
    f"sts.{MEMBER_REGION}.amazonaws.com": {"A": ["52.94.0.3"]},
    f"lambda.{MEMBER_REGION}.amazonaws.com": {"A": ["52.94.0.4"]},
}
Invoke = Callable[[Any], dict[str, Any]]


@dataclass
class MemberVpc:
    world: AwsWorld
    vpc_id: str
    good: str
    bad: str


@dataclass
class Organization:
    central: World
    platform: LocalCanaryPlatform
    dead: LabServer
    home_vpc: str
    member: MemberVpc
    other: MemberVpc
    gate: AssumeRoleGate


def _watched_vpc(world: AwsWorld, lab: DnsLab, dead: LabServer, canary: str) -> MemberVpc:
    vpc = watched_vpc(world, lab, dead, canary)
    return MemberVpc(world, vpc.vpc_id, vpc.good, vpc.bad)


@pytest.fixture
def organization(moto_world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Organization]:
    for variable in CANARY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MEMBER_ROLE_NAME", ROLE_NAME)
    monkeypatch.setenv("HOME_ACCOUNT_ID", HOME)
    monkeypatch.setenv("SWEEP_TARGETS", f"{HOME}:{REGION} {MEMBER}|{OTHER_MEMBER}:{MEMBER_REGION}")
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records={**AWS_RECORDS, **MEMBER_RECORDS}, host=2)
        dead = lab.add_server("corp-dead", behaviour="blackhole")
        home = _watched_vpc(moto_world, lab, dead, HOME_CANARY)
        create_member_role(MEMBER)  # 333333333333 has no member role
        member_session = session_in(MEMBER, MEMBER_REGION)
        other_session = session_in(OTHER_MEMBER, MEMBER_REGION)
        member = _watched_vpc(
            AwsWorld(member_session, region=MEMBER_REGION), lab, dead, MEMBER_CANARY
        )
        other = _watched_vpc(AwsWorld(other_session, region=MEMBER_REGION), lab, dead, OTHER_CANARY)
        platform = LocalCanaryPlatform(lab, amazon, region=REGION)
        platform.place(MEMBER_CANARY, member_session, MEMBER_REGION)
        platform.place(OTHER_CANARY, other_session, MEMBER_REGION)
        gate = AssumeRoleGate()
        with platform.routing():
            assert boto3.DEFAULT_SESSION is not None
            gate.guard(boto3.DEFAULT_SESSION)
            yield Organization(moto_world, platform, dead, home.vpc_id, member, other, gate)


@pytest.fixture
def central_checker(
    organization: Organization, load_handler: Callable[[str], ModuleType], lambda_context: Any
) -> Invoke:
    return handler_invoker(load_handler, lambda_context)


def _forwarded(vpc: MemberVpc, account: str, option_set: str) -> dict[str, Any]:
    """The member account's CloudTrail event as the central bus receives it."""
    return forwarded_change(
        "associate_dhcp_options",
        account=account,
        region=MEMBER_REGION,
        vpcId=vpc.vpc_id,
        dhcpOptionsId=option_set,
    )


def _state_keys(central: World) -> set[str]:
    items = central.dynamodb.scan(TableName=central.table_name)["Items"]
    return {item["pk"]["S"] for item in items if item["pk"]["S"].startswith("vpc#")}


def test_a_member_accounts_bad_association_pages_once_naming_account_and_region(
    organization: Organization, central_checker: Invoke
) -> None:
    member = organization.member
    # Given the member VPC was verified healthy by the central checker
    baseline = central_checker(
        {
            "action": "check",
            "vpc_ids": [member.vpc_id],
            "account_id": MEMBER,
            "region": MEMBER_REGION,
        }
    )
    assert baseline["vpcs"][0]["verdict"] == "OK"

    # When someone in the member account associates the dead-server set, and the event reaches
    # the central bus
    member.world.associate(member.vpc_id, member.bad)
    organization.platform.recycle(MEMBER_CANARY)
    result = central_checker(_forwarded(member, MEMBER, member.bad))

    # Then exactly one CRITICAL names the account and region, with the real canary's diagnosis
    assert result["vpcs"][0]["verdict"] == "FAILED"
    [critical] = organization.central.alerts()
    assert critical.severity == "CRITICAL"
    assert critical.subject.startswith(f"[CRITICAL] {MEMBER} {MEMBER_REGION} {member.vpc_id}:")
    assert critical.attributes["account_id"] == MEMBER
    assert critical.attributes["region"] == MEMBER_REGION
    assert critical.document["diagnosis"]["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert f"Account:      {MEMBER}" in critical.text
    assert f"(run it with credentials for account {MEMBER})" in critical.text
    assert (
        f"aws ec2 associate-dhcp-options --dhcp-options-id {member.good} "
        f"--vpc-id {member.vpc_id} --region {MEMBER_REGION}"
    ) in critical.text
    # and the state is kept per (account, region, VPC); the role was assumed once, named
    assert f"vpc#{MEMBER}#{MEMBER_REGION}#{member.vpc_id}" in _state_keys(organization.central)
    assert [call["RoleSessionName"] for call in organization.gate.calls] == [
        f"vpc-dns-watchdog-{HOME}"
    ]


def test_a_missing_member_role_leaves_that_target_unverified_and_the_others_checked(
    organization: Organization, central_checker: Invoke
) -> None:
    # When the organization sweep reaches each (account, region)
    sweep = {"action": "sweep", "region": MEMBER_REGION}
    other = central_checker({**sweep, "account_id": OTHER_MEMBER})
    member = central_checker({**sweep, "account_id": MEMBER})
    home = central_checker({"action": "sweep"})

    # Then the account without a role is UNVERIFIED with the likely cause, and the others are
    # checked as usual
    [refused] = other["vpcs"]
    assert refused["verdict"] == "UNVERIFIED"
    assert refused["account_id"] == OTHER_MEMBER
    assert "role missing" in refused["error"]
    assert [v["verdict"] for v in member["vpcs"]] == ["OK"]
    assert [v["verdict"] for v in home["vpcs"]] == ["OK"]
    # a sweep does not page for it (its result and log do); the home VPC keeps its old key
    assert organization.central.alerts() == []
    assert f"vpc#{organization.home_vpc}" in _state_keys(organization.central)


def test_a_change_in_an_account_the_checker_cannot_enter_is_not_silent(
    organization: Organization, central_checker: Invoke
) -> None:
    other = organization.other
    other.world.associate(other.vpc_id, other.bad)

    event = _forwarded(other, OTHER_MEMBER, other.bad)
    result = central_checker(event)

    assert result["vpcs"][0]["verdict"] == "UNVERIFIED"
    [warning] = organization.central.alerts()
    assert warning.severity == "WARNING"
    assert warning.subject == (
        f"[WARNING] {OTHER_MEMBER} {MEMBER_REGION}: cannot check {other.vpc_id} after "
        "AssociateDhcpOptions"
    )
    assert "role missing" in warning.text
    assert warning.attributes["account_id"] == OTHER_MEMBER
    # a second delivery of the same event pages no more
    central_checker(event)
    assert organization.central.alerts() == []


def test_the_organization_sweep_fans_out_one_message_per_target_and_fails_only_the_bad_one(
    organization: Organization,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqs = organization.central.sqs
    queue_url = sqs.create_queue(QueueName=SWEEP_QUEUE_NAME)["QueueUrl"]
    monkeypatch.setenv("SWEEP_QUEUE_URL", queue_url)
    monkeypatch.setenv("SWEEP_TARGETS", f"{MEMBER}|{OTHER_MEMBER}:{MEMBER_REGION} {HOME}:{REGION}")
    app = load_handler("checker")

    # When the schedule fires in organization mode
    fanned = app.lambda_handler(load_event("scheduled_sweep"), lambda_context)

    # Then each (account, region) becomes one queue message
    assert fanned["status"] == "fanned_out"
    assert fanned["targets"] == 3
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    bodies = sorted(json.loads(m["Body"])["account_id"] for m in messages)
    assert bodies == sorted([HOME, MEMBER, OTHER_MEMBER])

    # When the queue delivers them, with a garbled message among them
    garbled = {**messages[0], "MessageId": "garbled", "Body": '{"action": "sweep", "vpc": 1}'}
    queue_arn = f"arn:aws:sqs:{REGION}:{HOME}:{SWEEP_QUEUE_NAME}"
    batch = sqs_batch_event([*messages, garbled], queue_arn)
    response = app.lambda_handler(batch, lambda_context)

    # Then only the garbled one is reported failed (SQS retries it, then dead-letters it); the
    # account without a role was checked as UNVERIFIED evidence, not a failure
    assert response == {"batchItemFailures": [{"itemIdentifier": "garbled"}]}
    keys = _state_keys(organization.central)
    assert f"vpc#{MEMBER}#{MEMBER_REGION}#{organization.member.vpc_id}" in keys
    assert f"vpc#{organization.home_vpc}" in keys
    assert not any(OTHER_MEMBER in key for key in keys)
    assert organization.central.alerts() == []


def test_a_member_account_is_named_when_organizations_can_tell(
    organization: Organization, central_checker: Invoke
) -> None:
    # Given Organizations names the member account (DescribeAccount, answered by a botocore hook
    # registered before the checker builds its clients: moto's organization has other ids)
    def describe_account(params: dict[str, Any], **_: Any) -> Any:
        account = json.loads(params["body"])["AccountId"]
        if account != MEMBER:
            return None
        return error_free({"Account": {"Id": MEMBER, "Name": "payments-prod", "Status": "ACTIVE"}})

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "before-call.organizations.DescribeAccount", describe_account
    )
    member = organization.member
    member.world.associate(member.vpc_id, member.bad)
    organization.platform.recycle(MEMBER_CANARY)

    central_checker(_forwarded(member, MEMBER, member.bad))

    [alert] = organization.central.alerts()
    assert alert.subject.startswith(f"[CRITICAL] {MEMBER} (payments-prod) {MEMBER_REGION} ")
    assert f"Account:      {MEMBER} (payments-prod)" in alert.text
    assert alert.document["account_name"] == "payments-prod"


def error_free(parsed: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """What a before-call hook returns to answer a call successfully."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    return AWSResponse("local://organizations", 200, HTTPHeaders(), None), {
        **parsed,
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


# ---------------------------------------------------------------- trust the envelope


def _rejections(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.error for r in caplog.records if r.getMessage() == "Rejected event"]  # type: ignore[attr-defined]


def _counted_rejections(out: str) -> int:
    """EventsRejected, summed over the EMF documents on stdout."""
    total = 0
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            value = json.loads(line).get("EventsRejected", 0)
            total += int(sum(value) if isinstance(value, list) else value)
    return total


def test_a_change_put_by_one_member_account_naming_another_is_rejected_and_nothing_happens(
    organization: Organization,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DETAILED_METRICS", "true")
    app = load_handler("checker")
    victim = organization.member
    victim.world.associate(victim.vpc_id, victim.bad)
    # Given an event that 333333333333 put on the central bus (the envelope says so: EventBridge
    # vouches for it) whose CloudTrail record names 222222222222 and its VPC
    forged = _forwarded(victim, MEMBER, victim.bad)
    forged["account"] = OTHER_MEMBER
    capsys.readouterr()

    # When it reaches the checker through the change queue
    queue = ChangeQueue(organization.central.sqs)
    queue.put(forged)
    [batch] = queue.batches()
    response = app.lambda_handler(batch, lambda_context)

    # Then the message is done with (not retried, not dead-lettered) and nothing else happens:
    # no role assumed, no canary invoked, no alert, no state
    assert response == {"batchItemFailures": []}
    assert organization.gate.calls == []
    assert organization.platform.invocations == []
    assert organization.central.alerts() == []
    assert not any(MEMBER in key for key in _state_keys(organization.central))
    # but one logged rejection naming both accounts, counted
    [reason] = _rejections(caplog)
    assert f"detail.recipientAccountId '{MEMBER}'" in reason
    assert f"envelope account '{OTHER_MEMBER}'" in reason
    assert _counted_rejections(capsys.readouterr().out) == 1

    # And invoked directly, the same event is rejected with the same reason
    direct = app.lambda_handler(forged, lambda_context)
    assert direct == {"status": "rejected", "error": reason}
    assert organization.gate.calls == []
    assert organization.platform.invocations == []


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (
            {"source": "forger.ec2"},
            "source 'forger.ec2' is not an AWS service's source (aws.<service>)",
        ),
        (
            {"source": "aws.partner/forger.example/1/changes"},
            "is not an AWS service's source",
        ),
        (
            {"region": REGION},
            f"detail.awsRegion '{MEMBER_REGION}' differs from the envelope region '{REGION}'",
        ),
    ],
)
def test_a_change_whose_envelope_is_not_an_aws_services_in_its_place_is_rejected(
    organization: Organization,
    central_checker: Invoke,
    caplog: pytest.LogCaptureFixture,
    forge: dict[str, str],
    reason: str,
) -> None:
    member = organization.member
    member.world.associate(member.vpc_id, member.bad)
    event = {**_forwarded(member, MEMBER, member.bad), **forge}

    result = central_checker(event)

    assert result["status"] == "rejected"
    assert reason in result["error"]
    assert _rejections(caplog) == [result["error"]]
    assert organization.gate.calls == []
    assert organization.platform.invocations == []
    assert organization.central.alerts() == []


def test_a_change_from_a_region_the_watchdog_does_not_sweep_is_rejected(
    organization: Organization, central_checker: Invoke
) -> None:
    # Given a genuine change (record and envelope agree) in a region SWEEP_TARGETS leaves out
    member = organization.member
    event = forwarded_change(
        "associate_dhcp_options",
        account=MEMBER,
        region="ap-southeast-2",
        vpcId=member.vpc_id,
        dhcpOptionsId=member.bad,
    )

    result = central_checker(event)

    assert result["status"] == "rejected"
    assert "region 'ap-southeast-2' of account 222222222222 is not watched" in result["error"]
    assert f"{MEMBER_REGION}, {REGION} (SWEEP_TARGETS)" in result["error"]
    assert organization.gate.calls == []
    assert organization.central.alerts() == []


def test_a_change_in_another_partitions_region_is_rejected(
    organization: Organization, central_checker: Invoke
) -> None:
    member = organization.member
    event = forwarded_change(
        "associate_dhcp_options",
        account=MEMBER,
        region="cn-north-1",
        vpcId=member.vpc_id,
        dhcpOptionsId=member.bad,
    )

    result = central_checker(event)

    assert result["status"] == "rejected"
    assert "region 'cn-north-1' is in partition aws-cn" in result["error"]
    assert organization.gate.calls == []


def test_a_hosted_zone_association_is_checked_in_the_envelopes_account_and_the_vpcs_region(
    organization: Organization, central_checker: Invoke
) -> None:
    # Given a member VPC now on the dead-server set
    member = organization.member
    member.world.associate(member.vpc_id, member.bad)
    organization.platform.recycle(MEMBER_CANARY)
    # When Route 53 (global: a us-east-1 envelope) reports a hosted zone associated with it
    event = forwarded_change(
        "associate_vpc_with_hosted_zone",
        account=MEMBER,
        region="us-east-1",
        vPC={"vPCId": member.vpc_id, "vPCRegion": MEMBER_REGION},
    )
    result = central_checker(event)

    # Then the VPC is checked in the envelope's account and the region the request names
    assert result["status"] == "checked"
    assert result["vpcs"][0]["verdict"] == "FAILED"
    [alert] = organization.central.alerts()
    assert alert.attributes["account_id"] == MEMBER
    assert alert.attributes["region"] == MEMBER_REGION


# ---------------------------------------------------------------- the change queue


def test_a_forwarded_change_is_checked_from_the_change_queue(
    organization: Organization, load_handler: Callable[[str], ModuleType], lambda_context: Any
) -> None:
    app = load_handler("checker")
    member = organization.member
    member.world.associate(member.vpc_id, member.bad)
    organization.platform.recycle(MEMBER_CANARY)
    queue = ChangeQueue(organization.central.sqs)
    # When the organization bus's rule queues the change and a duplicate delivery of it
    event = _forwarded(member, MEMBER, member.bad)
    queue.put(event, event)
    responses = [app.lambda_handler(batch, lambda_context) for batch in queue.batches()]

    # Then both messages succeed, and one CRITICAL names the member account
    assert responses == [{"batchItemFailures": []}] * 2
    [critical] = organization.central.alerts()
    assert critical.severity == "CRITICAL"
    assert critical.attributes["account_id"] == MEMBER
    assert f"vpc#{MEMBER}#{MEMBER_REGION}#{member.vpc_id}" in _state_keys(organization.central)


def test_a_sweep_target_is_named_by_its_message_not_asked_of_organizations(
    organization: Organization,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
) -> None:
    # Given Organizations would name any account (a hook counts the questions)
    asked: list[str] = []

    def describe_account(params: dict[str, Any], **_: Any) -> Any:
        asked.append(json.loads(params["body"])["AccountId"])
        return error_free({"Account": {"Id": MEMBER, "Name": "asked-per-target"}})

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "before-call.organizations.DescribeAccount", describe_account
    )
    app = load_handler("checker")
    queue_arn = f"arn:aws:sqs:{REGION}:{HOME}:{SWEEP_QUEUE_NAME}"
    named = {"action": "sweep", "account_id": MEMBER, "region": MEMBER_REGION}

    # When the queue delivers the member's target, once named by the fan-out and once not
    for body in ({**named, "account_name": "payments-prod"}, named):
        message = {"MessageId": "m", "ReceiptHandle": "r", "MD5OfBody": ""}
        message["Body"] = json.dumps(body)
        response = app.lambda_handler(sqs_batch_event([message], queue_arn), lambda_context)
        assert response == {"batchItemFailures": []}

    # Then the checker never asked Organizations: the fan-out names accounts once per sweep
    assert asked == []
