"""The watchdog's own failures page someone, through a channel that does not share their cause.

template.yaml as written, with intrinsic functions resolved against sample parameter values: the
heartbeat alarm follows the sweep interval, every own-failure alarm goes to the operations topic,
that topic does not depend on the watchdog's key, and every service principal allowed to use a
key is held to this account (and, where the service sends it, to its own resources).
"""

from __future__ import annotations

from typing import Any

import pytest
from iac_template import MAIN_TEMPLATE, SAMPLE_ACCOUNT, Resolver, load_template

pytestmark = pytest.mark.iac

TEMPLATE = load_template(MAIN_TEMPLATE)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
OWN_FAILURE_ALARMS = {
    "CheckerErrorsAlarm",
    "EventsDeadLetterQueueAlarm",
    "CheckerFailureQueueAlarm",
    "HeartbeatAlarm",
    "SweepDeadLetterQueueAlarm",
    "ChangeDeadLetterQueueAlarm",
    "ChangeQueueAgeAlarm",
}
YOUR_TOPIC = "arn:aws:sns:us-east-1:123456789012:platform-oncall"


def resolver(**values: Any) -> Resolver:
    defaults = {
        "OperationsTopic": "created-operations-topic",
        "AlertTopic": "alert-topic",
        "CheckerFunction": "checker",
        "EventsDeadLetterQueue.QueueName": "events-dlq",
        "CheckerFailureQueue.QueueName": "checker-failures",
        "SweepDeadLetterQueue.QueueName": "sweep-dlq",
        "ChangeQueue.QueueName": "changes",
        "ChangeDeadLetterQueue.QueueName": "changes-dlq",
    }
    return Resolver(TEMPLATE, {**defaults, **values})


def heartbeat(interval: int) -> dict[str, Any]:
    alarm: dict[str, Any] = resolver(SweepIntervalMinutes=interval).resolve(
        RESOURCES["HeartbeatAlarm"]["Properties"]
    )
    return alarm


def test_every_alarm_is_an_own_failure_alarm_and_goes_to_the_operations_topic() -> None:
    alarms = {name for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms == OWN_FAILURE_ALARMS
    for name in alarms:
        for values, topic in (
            ({}, "created-operations-topic"),
            ({"OperationsTopicArn": YOUR_TOPIC}, YOUR_TOPIC),
        ):
            properties = resolver(**values).resolve(RESOURCES[name]["Properties"])
            assert properties["AlarmActions"] == [topic], name
            assert properties["OKActions"] == [topic], name


def test_the_operations_topic_exists_only_when_no_topic_is_given() -> None:
    created = [
        name for name, r in RESOURCES.items() if r.get("Condition") == "CreateOperationsTopic"
    ]
    assert set(created) >= {"OperationsTopic", "OperationsTopicPolicy"}
    assert RESOURCES["OperationsKey"]["Condition"] == "CreateOperationsKey"
    assert not resolver().condition("CreateOperationsKey")
    assert resolver(EncryptOperationsTopic="true").condition("CreateOperationsKey")
    assert not resolver(EncryptOperationsTopic="true", OperationsTopicArn=YOUR_TOPIC).condition(
        "CreateOperationsKey"
    )
    assert resolver().condition("CreateOperationsTopic")
    assert not resolver(OperationsTopicArn=YOUR_TOPIC).condition("CreateOperationsTopic")
    assert not resolver(OperationsEmail="ops@example.com", OperationsTopicArn=YOUR_TOPIC).condition(
        "HasOperationsEmail"
    )
    assert resolver(OperationsEmail="ops@example.com").condition("HasOperationsEmail")
    assert not resolver().condition("HasOperationsEmail")


def test_the_operations_topic_does_not_depend_on_the_watchdog_key_or_the_alert_topic() -> None:
    text = repr({name: RESOURCES[name] for name in RESOURCES if name.startswith("Operations")})
    assert "WatchdogKey" not in text
    assert "AlertTopic" not in text
    key = RESOURCES["OperationsTopic"]["Properties"]["KmsMasterKeyId"]
    encrypted = resolver(EncryptOperationsTopic="true", OperationsKey="operations-key-id")
    assert encrypted.resolve(key) == "operations-key-id"


@pytest.mark.parametrize("interval", [5, 15, 60, 720])
def test_heartbeat_fires_after_two_sweep_periods_without_a_completed_check(interval: int) -> None:
    alarm = heartbeat(interval)
    assert alarm["Period"] == interval * 60
    assert alarm["EvaluationPeriods"] == 2
    assert alarm["DatapointsToAlarm"] == 2
    assert alarm["Statistic"] == "Sum"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "breaching"
    # CloudWatch evaluates at most one day of periods
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= 86_400


def test_every_sweep_interval_has_a_heartbeat_period() -> None:
    allowed = TEMPLATE["Parameters"]["SweepIntervalMinutes"]["AllowedValues"]
    mapping = TEMPLATE["Mappings"]["SweepIntervalSeconds"]
    assert {str(minutes) for minutes in allowed if minutes} == set(mapping)
    assert all(mapping[str(m)]["Seconds"] == m * 60 for m in allowed if m)


def test_the_heartbeat_and_the_sweep_exist_only_while_the_sweep_is_enabled() -> None:
    assert RESOURCES["HeartbeatAlarm"]["Condition"] == "SweepEnabled"
    assert RESOURCES["SweepRule"]["Condition"] == "SweepEnabled"
    assert resolver().condition("SweepEnabled")
    assert not resolver(SweepIntervalMinutes=0).condition("SweepEnabled")
    schedule = resolver(SweepIntervalMinutes=15).resolve(
        RESOURCES["SweepRule"]["Properties"]["ScheduleExpression"]
    )
    assert schedule == "rate(15 minutes)"


def key_statements(logical_id: str) -> list[dict[str, Any]]:
    policy = RESOURCES[logical_id]["Properties"]["KeyPolicy"]
    return [resolver().resolve(statement) for statement in policy["Statement"]]


@pytest.mark.parametrize("key", ["WatchdogKey", "OperationsKey"])
def test_service_principals_may_use_a_key_only_for_this_account(key: str) -> None:
    for statement in key_statements(key):
        principal = statement["Principal"]
        if "Service" not in principal:
            assert principal == {"AWS": f"arn:aws:iam::{SAMPLE_ACCOUNT}:root"}
            continue
        condition = statement["Condition"]
        if principal["Service"].startswith("logs."):
            # CloudWatch Logs' documented scope: the encryption context names the log group
            arn = condition["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
            assert arn.startswith(f"arn:aws:logs:us-east-1:{SAMPLE_ACCOUNT}:log-group:")
            continue
        assert condition["StringEquals"] == {"aws:SourceAccount": SAMPLE_ACCOUNT}, statement
        assert f":{SAMPLE_ACCOUNT}:" in condition["ArnLike"]["aws:SourceArn"], statement


def test_cloudwatch_may_use_only_the_operations_key() -> None:
    def services(key: str) -> set[str]:
        found = set()
        for statement in key_statements(key):
            service = statement["Principal"].get("Service", [])
            found.update([service] if isinstance(service, str) else service)
        return found

    assert "cloudwatch.amazonaws.com" not in services("WatchdogKey")
    assert services("OperationsKey") == {"cloudwatch.amazonaws.com"}
