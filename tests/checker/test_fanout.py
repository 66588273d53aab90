"""The organization sweep's fan-out: one queue message per (account, region), batches of 10,
and a target that could not be queued named in the error (botocore Stubber, no AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from dns_watchdog.aws.sweep_queue import SweepQueue
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.targets import cross

pytestmark = pytest.mark.unit

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/vpc-dns-watchdog-sweep"


@pytest.fixture
def sqs(aws_env: None, stub_session: boto3.session.Session) -> Iterator[tuple[Any, Stubber]]:
    client = stub_session.client("sqs")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_targets_go_out_in_batches_of_ten_one_message_each(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    accounts = [f"{n:012d}" for n in range(1, 13)]  # 12 accounts x 1 region: batches of 10 + 2
    targets = cross(accounts, ["eu-west-1"])
    for size in (10, 2):
        ok = [
            {"Id": str(i), "MessageId": f"m{i}", "MD5OfMessageBody": "0" * 32} for i in range(size)
        ]
        stubber.add_response("send_message_batch", {"Successful": ok, "Failed": []})

    sent = SweepQueue(client, QUEUE).send(targets, {"000000000001": "payments"})

    assert sent == 12


def test_a_message_body_is_the_sweep_event_the_checker_parses() -> None:
    from dns_watchdog.aws.sweep_queue import sweep_message

    [target] = cross(["222222222222"], ["eu-west-1"])
    assert json.loads(sweep_message(target, "payments")) == {
        "action": "sweep",
        "account_id": "222222222222",
        "region": "eu-west-1",
        "account_name": "payments",
    }


def test_targets_sqs_refused_are_named(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    targets = cross(["222222222222", "333333333333"], ["eu-west-1"])
    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [{"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "0" * 32}],
            "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}],
        },
    )
    with pytest.raises(
        AwsCallFailed, match="could not queue 1 sweep targets: 333333333333:eu-west-1"
    ):
        SweepQueue(client, QUEUE).send(targets, {})
