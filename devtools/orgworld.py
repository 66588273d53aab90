"""An organization in moto: member accounts, their member roles, STS that honours them, and the
events the central checker receives from the members (shared by the tests, `make demo-org` and
the organization benchmark).

moto's AssumeRole hands out credentials for any role ARN, existing or not (the credentials then
act in the role's account). AWS refuses a role that does not exist, or whose trust policy does
not admit the caller, with one AccessDenied message for both. `AssumeRoleGate` restores that
with a botocore ``before-call`` hook, reading the roles from moto's IAM in the member account;
it also counts the AssumeRole calls that reached STS.

moto keeps one backend per account: a session built from credentials that moto's STS handed out
for a role acts in that role's account (`session_in`), so the same process can build and inspect
every account.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders

from devtools.lambdakit import ACCOUNT, REGION, cloudtrail_event, environment_variables, load_event

HOME = ACCOUNT  # moto's default account: the central account the checker runs in
MEMBER = "222222222222"
OTHER_MEMBER = "333333333333"
ROLE_NAME = "vpc-dns-watchdog-member"
SWEEP_QUEUE_NAME = "vpc-dns-watchdog-sweep"
# Organization mode: the organization bus's rule puts forwarded changes on this queue.
CHANGE_QUEUE_NAME = "vpc-dns-watchdog-changes"


@contextmanager
def in_account(account: str) -> Iterator[None]:
    """Calls made in the block act in `account` (moto's MOTO_ACCOUNT_ID switch)."""
    with environment_variables({"MOTO_ACCOUNT_ID": account}):
        yield


def trust_policy(trusted_account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{trusted_account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def create_member_role(
    account: str, *, role_name: str = ROLE_NAME, trusted_account: str = HOME
) -> None:
    """The member role in `account`, trusting `trusted_account`."""
    with in_account(account):
        boto3.client("iam").create_role(
            RoleName=role_name, AssumeRolePolicyDocument=trust_policy(trusted_account)
        )


def create_vpc(account: str, region: str, cidr: str) -> str:
    with in_account(account):
        vpc_id: str = boto3.client("ec2", region_name=region).create_vpc(CidrBlock=cidr)["Vpc"][
            "VpcId"
        ]
        return vpc_id


def session_in(account: str, region: str = REGION) -> boto3.session.Session:
    """A session acting in `account` (moto maps assumed-role keys to the role's account), for
    building and inspecting that account's resources. Its AssumeRole does not pass through
    `AssumeRoleGate` (a gate is installed on the checker's session only)."""
    sts = boto3.session.Session(region_name=REGION).client("sts")
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def forwarded_change(name: str, *, account: str, region: str, **request: Any) -> dict[str, Any]:
    """A member account's CloudTrail event (sample `name` of events/, a new event id, its request
    parameters rewritten) as the central bus receives it: the envelope keeps the source account
    and the region CloudTrail recorded the call in (us-east-1 for Route 53, a global service)."""
    event = cloudtrail_event(name, **request)
    event["account"] = account
    event["region"] = region
    event["detail"]["recipientAccountId"] = account
    event["detail"]["awsRegion"] = region
    return event


def scheduled_sweep() -> dict[str, Any]:
    """The schedule's event, as a new delivery."""
    event = load_event("scheduled_sweep")
    event["id"] = str(uuid.uuid4())
    return event


def sqs_batch_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the fan-out queue's event source mapping hands the checker: `messages` (as
    ReceiveMessage returned them) as one batch."""
    region = queue_arn.split(":")[3]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


@dataclass
class ChangeQueue:
    """The central account's change queue in moto: the organization bus's rule puts each
    forwarded change on it (the event, as the message body), and its event source mapping hands
    the checker one message at a time (`batches`)."""

    sqs: Any
    url: str = ""
    arn: str = ""

    def __post_init__(self) -> None:
        self.url = self.sqs.create_queue(QueueName=CHANGE_QUEUE_NAME)["QueueUrl"]
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def put(self, *events: Mapping[str, Any]) -> None:
        """What EventBridge does for each event the rule matches."""
        for event in events:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps(event))

    def batches(self) -> Iterator[dict[str, Any]]:
        """Every waiting message as a one-record batch (the mapping's batch size), deleted once
        handed out (the tests look at the checker's batch item failures themselves)."""
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                yield sqs_batch_event([message], self.arn)


def access_denied(role_arn: str, caller: str = HOME) -> tuple[AWSResponse, dict[str, Any]]:
    """STS's answer to an AssumeRole it refuses (the same for a missing and an untrusting role)."""
    message = (
        f"User: arn:aws:sts::{caller}:assumed-role/vpc-dns-watchdog-checker/checker "
        f"is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )
    return error_response("AccessDenied", message, 403)


def error_response(code: str, message: str, status: int) -> tuple[AWSResponse, dict[str, Any]]:
    """What a `before-call` hook returns to answer a call with an AWS error."""
    return AWSResponse("local://sts", status, HTTPHeaders(), None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


@dataclass
class AssumeRoleGate:
    """Refuses AssumeRole of a role that moto's IAM does not hold, or that does not trust the
    caller's account; records the role ARNs and session names asked for."""

    caller_account: str = HOME
    calls: list[dict[str, Any]] = field(default_factory=list)

    def install(self, client: Any) -> None:
        client.meta.events.register("before-call.sts.AssumeRole", self._check)

    def guard(self, session: boto3.session.Session) -> None:
        """Gate the AssumeRole calls of every client later built from `session`."""
        # botocore's stubs type handlers as returning None; a before-call handler may return the
        # (http, parsed) pair to answer the call, which is how the gate refuses.
        session.events.register("before-call.sts.AssumeRole", self._check)  # type: ignore[arg-type]

    def _check(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        from moto.iam.models import iam_backends

        request = params["body"]
        self.calls.append(dict(request))
        role_arn = request["RoleArn"]
        _, partition, _, _, account, resource = role_arn.split(":", 5)
        role_name = resource.removeprefix("role/")
        roles = [r for r in iam_backends[account][partition].get_roles() if r.name == role_name]
        if not roles or not self._trusts(roles[0].assume_role_policy_document):
            return access_denied(role_arn, self.caller_account)
        return None

    def _trusts(self, document: str) -> bool:
        for statement in json.loads(document).get("Statement", []):
            principals = statement.get("Principal", {}).get("AWS", [])
            principals = [principals] if isinstance(principals, str) else principals
            if statement.get("Effect") == "Allow" and any(
                p == self.caller_account or f":{self.caller_account}:" in p for p in principals
            ):
                return True
        return False
