"""`vpc-dns-watchdog rollback`: the request it sends the checker (who asked: the caller's
identity) and what it makes of the answer, with botocore's Stubber in place of STS and Lambda."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from vpc_dns_watchdog_cli.main import main

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
CALLER = "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/alice"
CHECKER = "vpc-dns-watchdog-CheckerFunction-AbC123"


@dataclass
class StubbedAws:
    """A session whose STS and Lambda clients are pinned by Stubber."""

    clients: dict[str, Any] = field(default_factory=dict)
    stubbers: dict[str, Stubber] = field(default_factory=dict)
    asked_regions: list[str | None] = field(default_factory=list)

    def client(self, service: str, region_name: str | None = None, **_: Any) -> Any:
        self.asked_regions.append(region_name)
        return self.clients[service]


@pytest.fixture
def aws() -> Iterator[StubbedAws]:
    session = boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # never used: Stubber answers first
    )
    stubbed = StubbedAws()
    for service in ("sts", "lambda"):
        stubbed.clients[service] = session.client(service)  # type: ignore[call-overload]
        stubbed.stubbers[service] = Stubber(stubbed.clients[service])
        stubbed.stubbers[service].activate()
    yield stubbed
    for stubber in stubbed.stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def caller_is(aws: StubbedAws, arn: str | None) -> None:
    if arn is None:
        aws.stubbers["sts"].add_client_error(
            "get_caller_identity", "AccessDenied", http_status_code=403
        )
        return
    aws.stubbers["sts"].add_response(
        "get_caller_identity", {"UserId": "AROA:alice", "Account": "123456789012", "Arn": arn}
    )


def checker_answers(aws: StubbedAws, request: dict[str, Any], answer: dict[str, Any]) -> None:
    body = json.dumps(answer).encode()
    aws.stubbers["lambda"].add_response(
        "invoke",
        {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))},
        expected_params={
            "FunctionName": CHECKER,
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(request).encode(),
        },
    )


def rollback(aws: StubbedAws, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["rollback", "--vpc", VPC, "--function-name", CHECKER, *extra]
    code = main(argv, session=aws, out=out, err=err)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_a_rollback_verified_ok_exits_0_and_names_who_asked(aws: StubbedAws) -> None:
    caller_is(aws, CALLER)
    summary = (
        f"Rolled back {VPC} from dopt-0bad to dopt-0good at 2024-05-14T09:20:00Z; verified OK."
    )
    checker_answers(
        aws,
        {"action": "rollback", "vpc_id": VPC, "requested_by": CALLER},
        {"status": "rolled_back", "verified_verdict": "OK", "summary": summary},
    )

    code, out, err = rollback(aws)

    assert code == 0
    assert out == summary + "\n"
    assert err.splitlines()[0] == (
        f"Asking {CHECKER} to roll {VPC} back (requested by {CALLER})..."
    )


def test_the_vpcs_account_and_region_are_sent_and_the_stack_is_asked_in_its_region(
    aws: StubbedAws,
) -> None:
    caller_is(aws, CALLER)
    checker_answers(
        aws,
        {
            "action": "rollback",
            "vpc_id": VPC,
            "account_id": "222222222222",
            "region": "eu-west-1",
            "requested_by": CALLER,
        },
        {"status": "rolled_back", "verified_verdict": "OK", "summary": "Rolled back."},
    )

    code, _, _ = rollback(
        aws, "--account-id", "222222222222", "--region", "eu-west-1", "--stack-region", "us-east-1"
    )

    assert code == 0
    assert set(aws.asked_regions) == {"us-east-1"}


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"status": "refused", "summary": f"Rollback of {VPC} refused: it is not tagged."}, 1),
        ({"status": "held_back", "summary": f"Rollback of {VPC} held back: it moved."}, 1),
        ({"status": "rolled_back", "verified_verdict": "FAILED", "summary": "Rolled back."}, 1),
        ({"status": "failed", "summary": f"Rollback of {VPC} failed: UnauthorizedOperation."}, 3),
        ({"status": "refused", "vpc_id": VPC, "reason": "role missing"}, 1),
    ],
)
def test_what_came_of_it_decides_the_exit_code(
    aws: StubbedAws, answer: dict[str, Any], code: int
) -> None:
    caller_is(aws, CALLER)
    checker_answers(aws, {"action": "rollback", "vpc_id": VPC, "requested_by": CALLER}, answer)

    exit_code, out, _ = rollback(aws)

    assert exit_code == code
    assert out.strip() == answer.get("summary", f"Rollback of {VPC} refused: role missing.")


def test_without_a_readable_identity_the_request_says_cli(aws: StubbedAws) -> None:
    caller_is(aws, None)
    checker_answers(
        aws,
        {"action": "rollback", "vpc_id": VPC, "requested_by": "cli"},
        {"status": "refused", "summary": "Rollback refused."},
    )
    assert rollback(aws)[0] == 1


def test_a_rejected_request_is_an_error(aws: StubbedAws) -> None:
    caller_is(aws, CALLER)
    checker_answers(
        aws,
        {"action": "rollback", "vpc_id": VPC, "requested_by": CALLER},
        {"status": "rejected", "error": "invalid rollback request: vpc_id: ..."},
    )
    code, _, err = rollback(aws)
    assert code == 3
    assert "the checker said: invalid rollback request" in err


@pytest.mark.parametrize(
    "argv", [["rollback"], ["rollback", "--vpc", "vpc-NOTHEX"], ["rollback", "--vpc", f"{VPC}\n"]]
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert main(argv, out=io.StringIO(), err=io.StringIO()) == 2
