"""The organization sweep's fan-out: one queue message per (account, region), batches of 10,
released a hundred a second, each naming its account (asked of Organizations once per sweep),
and a target that could not be queued named in the error (botocore Stubber, no AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from dns_watchdog.aws.organization import listed_account_names, resolve_sweep_targets
from dns_watchdog.aws.sweep_queue import SweepQueue, release_delay_s
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.targets import cross, parse_sweep_targets

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


def test_targets_are_released_into_the_queue_a_hundred_a_second(
    sqs: tuple[Any, Stubber],
) -> None:
    # Given a sweep of 250 targets
    client, stubber = sqs
    targets = cross([f"{n:012d}" for n in range(1, 126)], ["eu-west-1", "us-east-1"])
    delays: list[int] = []
    client.meta.events.register(
        "provide-client-params.sqs.SendMessageBatch",
        lambda params, **_: delays.extend(entry["DelaySeconds"] for entry in params["Entries"]),
    )
    for _ in range(25):
        stubber.add_response("send_message_batch", {"Successful": [], "Failed": []})

    SweepQueue(client, QUEUE).send(targets, {})

    # Then the first hundred are visible at once, the next hundred a second later, and so on
    assert delays == [0] * 100 + [1] * 100 + [2] * 50
    assert release_delay_s(10**6) == 900  # SQS delays a message at most 15 minutes


@pytest.fixture
def organizations(
    aws_env: None, stub_session: boto3.session.Session
) -> Iterator[tuple[Any, Stubber]]:
    client = stub_session.client("organizations")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_a_settings_own_accounts_are_named_once_per_sweep(
    organizations: tuple[Any, Stubber],
) -> None:
    # Given a setting naming two accounts in two regions, one of them unknown to Organizations
    client, stubber = organizations
    stubber.add_response(
        "describe_account",
        {"Account": {"Id": "222222222222", "Name": "payments-prod"}},
        {"AccountId": "222222222222"},
    )
    stubber.add_client_error(
        "describe_account",
        service_error_code="AccountNotFoundException",
        expected_params={"AccountId": "333333333333"},
    )
    plan = parse_sweep_targets("222222222222|333333333333:eu-west-1|us-east-1")

    resolved = resolve_sweep_targets(plan, home_account="123456789012", client=client)

    # Then each account was asked once, and the four messages carry what was found
    assert resolved.targets == plan.targets
    assert resolved.account_names == {"222222222222": "payments-prod"}


def test_more_accounts_than_a_page_are_named_from_the_organizations_listing(
    organizations: tuple[Any, Stubber],
) -> None:
    client, stubber = organizations
    accounts = [f"{200_000_000_000 + n:012d}" for n in range(25)]
    listed = [{"Id": a, "Name": f"team-{a[-2:]}", "State": "ACTIVE"} for a in accounts]
    stubber.add_response("list_accounts", {"Accounts": listed[:20], "NextToken": "more"})
    stubber.add_response("list_accounts", {"Accounts": listed[20:]})

    names = listed_account_names(client, accounts)

    assert names == {a: f"team-{a[-2:]}" for a in accounts}


def test_a_listing_refused_leaves_the_accounts_unnamed(organizations: tuple[Any, Stubber]) -> None:
    client, stubber = organizations
    stubber.add_client_error("list_accounts", service_error_code="AccessDeniedException")

    assert listed_account_names(client, [f"{n:012d}" for n in range(1, 30)]) == {}
