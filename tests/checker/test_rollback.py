"""A rollback somebody asks for, end to end through the real handler: moto for EC2, the real
canary against the DNS lab. The VPC is verified healthy on AmazonProvidedDNS, then associated
with a set whose only server never answers; the CRITICAL goes out (self-healing is off), and then
a person (`vpc-dns-watchdog rollback`) or the chat "Roll back" button asks the checker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from real_canary import LabVpc, change_event, manual_check

from devtools.lambdakit import FakeLambdaContext

pytestmark = pytest.mark.integration

ALICE = "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/alice"
CHAT_ALIAS = "chat"
Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def chat_queue(lab_vpc: LabVpc, monkeypatch: pytest.MonkeyPatch) -> str:
    """The chat topic (what Amazon Q Developer subscribes to), read through an SQS queue."""
    world = lab_vpc.world
    topic = world.sns.create_topic(Name="vpc-dns-watchdog-chat")["TopicArn"]
    url = world.sqs.create_queue(QueueName="chat")["QueueUrl"]
    arn = world.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    world.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv("CHAT_TOPIC_ARN", topic)
    return url


def chat_documents(vpc: LabVpc, url: str) -> list[dict[str, Any]]:
    messages = vpc.world.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
        "Messages", []
    )
    for message in messages:
        vpc.world.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]


@pytest.fixture
def checker(
    lab_vpc: LabVpc,
    load_handler: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
) -> Invoke:
    """The checker with the chat button on (so it may associate on a rollback request) and
    self-healing off; `checker(event, via="chat")` invokes it through its chat alias."""
    monkeypatch.setenv("CHAT_ROLLBACK", "true")
    monkeypatch.setenv("SELF_HEALING", "off")
    app = load_handler("checker")
    contexts = {
        None: FakeLambdaContext("vpc-dns-watchdog-checker", timeout_ms=3_600_000),
        CHAT_ALIAS: FakeLambdaContext(
            "vpc-dns-watchdog-checker", timeout_ms=3_600_000, qualifier=CHAT_ALIAS
        ),
    }

    def invoke(event: Any, via: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = app.lambda_handler(event, contexts[via])
        return result

    return invoke


def opt_in(vpc: LabVpc) -> None:
    vpc.world.ec2.create_tags(
        Resources=[vpc.vpc_id], Tags=[{"Key": "dhcp-watchdog:self-heal", "Value": "true"}]
    )


def association(vpc: LabVpc) -> str:
    [described] = vpc.world.ec2.describe_vpcs(VpcIds=[vpc.vpc_id])["Vpcs"]
    return str(described["DhcpOptionsId"])


def broken(vpc: LabVpc, checker: Invoke) -> None:
    """Verified healthy, then the dead-server set associated and paged (one CRITICAL)."""
    assert checker(manual_check([vpc.vpc_id]))["vpcs"][0]["verdict"] == "OK"
    vpc.associate(vpc.bad)
    vpc.platform.recycle("vpc-dns-canary-real")
    assert checker(change_event(vpc, vpc.bad))["vpcs"][0]["verdict"] == "FAILED"
    assert [alert.severity for alert in vpc.world.alerts()] == ["CRITICAL"]


def rollback(vpc: LabVpc, requested_by: str = ALICE) -> dict[str, Any]:
    return {"action": "rollback", "vpc_id": vpc.vpc_id, "requested_by": requested_by}


def test_a_rollback_puts_the_last_good_set_back_verifies_it_and_records_who_asked(
    lab_vpc: LabVpc, checker: Invoke
) -> None:
    vpc = lab_vpc
    opt_in(vpc)
    broken(vpc, checker)

    # When a person asks for the rollback
    result = checker(rollback(vpc))

    # Then the last good set is back, verified by the canary, and the answer says so
    assert association(vpc) == vpc.good
    assert result["status"] == "rolled_back"
    assert (result["from_option_set_id"], result["option_set_id"]) == (vpc.bad, vpc.good)
    assert result["verified_verdict"] == "OK"
    assert result["requested_by"] == ALICE
    assert result["summary"].startswith(
        f"Rolled back {vpc.vpc_id} from {vpc.bad} to {vpc.good} at "
    )
    assert result["summary"].endswith("; verified OK.")
    # and one record says who asked and what was done
    [record] = vpc.world.alerts()
    assert record.severity == "INFO"
    assert record.subject == (
        f"[INFO] {vpc.vpc_id}: rolled back to {vpc.good} (asked by {ALICE})"[:96] + "..."
    )
    assert record.attributes["event_name"] == "Rollback"
    assert f"Asked by:     {ALICE} (through a direct request to the checker)" in record.text
    assert record.document["requested_by"] == ALICE
    assert record.document["status"] == "rolled_back"
    assert record.document["verified_verdict"] == "OK"


@pytest.mark.parametrize(
    ("setting", "refusal"),
    [
        ("untagged", "{vpc} is not tagged dhcp-watchdog:self-heal=true"),
        (
            "off",
            "rollbacks are off in this deployment: the checker may associate option sets only "
            "with SelfHealing=on or ChatRollbackAction=true",
        ),
    ],
)
def test_a_refused_rollback_changes_nothing_and_says_why(
    lab_vpc: LabVpc,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    refusal: str,
) -> None:
    vpc = lab_vpc
    monkeypatch.setenv("CHAT_ROLLBACK", "false" if setting == "off" else "true")
    if setting != "untagged":
        opt_in(vpc)
    app = load_handler("checker")

    def checker(event: Any) -> dict[str, Any]:
        result: dict[str, Any] = app.lambda_handler(event, lambda_context)
        return result

    broken(vpc, checker)

    result = checker(rollback(vpc))

    assert result["status"] == "refused"
    assert result["reason"] == refusal.format(vpc=vpc.vpc_id)
    assert result["summary"] == f"Rollback of {vpc.vpc_id} refused: {result['reason']}."
    assert association(vpc) == vpc.bad
    assert vpc.world.alerts() == []  # a refusal changed nothing: no record on the alert topic


def test_a_healthy_vpc_is_not_rolled_back(lab_vpc: LabVpc, checker: Invoke) -> None:
    vpc = lab_vpc
    opt_in(vpc)
    # Given the VPC moved to another healthy set, and was judged OK there
    other = vpc.world.option_set("AmazonProvidedDNS", domain_name="other.internal")
    assert checker(manual_check([vpc.vpc_id]))["vpcs"][0]["verdict"] == "OK"
    vpc.associate(other)
    assert checker(change_event(vpc, other))["vpcs"][0]["verdict"] == "OK"

    result = checker(rollback(vpc))

    assert result["status"] == "refused"
    assert result["reason"].startswith(f"DNS worked on {other} at the last check (")
    assert association(vpc) == other


def test_the_chat_button_asks_the_checker_with_the_request_the_alert_carries(
    lab_vpc: LabVpc, chat_queue: str, checker: Invoke
) -> None:
    vpc = lab_vpc
    opt_in(vpc)
    broken(vpc, checker)
    # Given the CRITICAL's chat notification, with the button's variables
    [critical] = chat_documents(vpc, chat_queue)
    context = critical["metadata"]["additionalContext"]
    assert context["rollback_function"] == "vpc-dns-watchdog-checker:chat"
    assert context["checker_region"] == "us-east-1"
    request = json.loads(context["rollback_request"])
    assert request == {
        "action": "rollback",
        "vpc_id": vpc.vpc_id,
        "region": "us-east-1",
        "requested_by": "chat",
    }

    # When the button invokes the checker's chat alias with that request
    result = checker(request, via=CHAT_ALIAS)

    # Then the VPC is rolled back, and the record says it came from the chat button, in the
    # incident's thread
    assert result["status"] == "rolled_back"
    assert association(vpc) == vpc.good
    [record] = vpc.world.alerts()
    assert "Asked by:     chat (through the chat Roll back button)" in record.text
    [posted] = chat_documents(vpc, chat_queue)
    assert posted["metadata"]["threadId"] == critical["metadata"]["threadId"]
    assert posted["content"]["description"].startswith(f"*Rolled back {vpc.vpc_id} from ")


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"action": "check", "vpc_ids": ["vpc-0a1b2c3d4e5f60718"]}, id="check"),
        pytest.param({"action": "preflight", "dhcp_options_id": "dopt-0a1b2c3d"}, id="preflight"),
        pytest.param({"action": "sweep"}, id="sweep"),
        pytest.param(None, id="cloudtrail"),
        pytest.param({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, id="sqs-batch"),
    ],
)
def test_through_the_chat_alias_only_rollbacks_are_taken(
    lab_vpc: LabVpc, checker: Invoke, event: dict[str, Any] | None
) -> None:
    vpc = lab_vpc
    # A chat channel member may type any command the channel role allows: invoking the chat
    # alias with a made-up change, a check or a sweep is rejected, nothing is checked
    result = checker(event or change_event(vpc, vpc.bad), via=CHAT_ALIAS)

    assert result["status"] == "rejected"
    assert "takes rollback requests only" in result["error"]
    assert vpc.canary_invocations() == 0
    assert vpc.world.alerts() == []
