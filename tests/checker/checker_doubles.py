"""Test helpers for the checker: a canary double, sample events rewritten to moto's ids, and the
moto world the checker runs in (canary findings are built by checker_findings.py)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.response import StreamingBody
from checker_findings import NAMES, REGION, findings, healthy, probe, stale, unreachable

ACCOUNT = "123456789012"
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
TAG_KEY = "dhcp-watchdog:vpc-id"

# --- canary doubles and the Invoke router -------------------------------------------------------

# A canary double gets the invocation payload and the function's environment variables and
# returns (FunctionError or None, the response payload: a document or raw bytes).
Reply = tuple[str | None, object]
CanaryBehaviour = Callable[[dict[str, Any], dict[str, str]], Reply]


@dataclass
class FakeCanary:
    """A canary in a VPC whose DNS servers listed in `dead` do not answer.

    Its execution environment sees the servers the checker expects, unless `stale_servers` is
    set: then it keeps seeing those until a configuration change (WATCHDOG_OPTION_SET) gives it
    fresh environments, or for ever when `stuck` is true.
    """

    dead: set[str] = field(default_factory=set)
    stale_servers: list[str] | None = None
    stuck: bool = False

    def __call__(self, payload: dict[str, Any], env: dict[str, str]) -> Reply:
        expected = list(payload.get("expected_nameservers") or [])
        configured = expected
        if self.stale_servers is not None and (self.stuck or "WATCHDOG_OPTION_SET" not in env):
            configured = self.stale_servers
        if configured != expected:
            return None, stale(configured, expected)
        if not configured:
            return None, findings(
                configured=[],
                expected=expected,
                code="NO_CONFIGURED_SERVERS",
                severity="FAILED",
                failing_hop="option_set",
                summary="resolv.conf has no configured nameserver: the option set hands out none",
                likely_causes=["the VPC uses the 'default' option set (no DNS servers)"],
                probes=[probe(n, outcome="TIMEOUT", elapsed_ms=1500.0) for n in NAMES],
            )
        if self.dead & set(configured):
            return None, unreachable(configured, expected)
        return None, healthy(configured, expected)


class _HttpResponse:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.raw = None
        self.content = b""


@dataclass
class CanaryRouter:
    """Routes the lambda client's Invoke to in-process canaries (a `before-call` hook).

    Functions without a registered behaviour answer ResourceNotFoundException; `fail_next`
    queues error codes (e.g. TooManyRequestsException) returned before the canary runs.
    """

    canaries: dict[str, CanaryBehaviour] = field(default_factory=dict)
    fail_next: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[_HttpResponse, dict[str, Any]]:
        target = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        name = target.split(":function:", 1)[1].split(":")[0] if ":function:" in target else target
        payload = json.loads(params["body"] or b"{}")
        self.calls.append((name, payload))
        queued = self.fail_next.get(name)
        if queued:
            return error_response(queued.pop(0), 429)
        behaviour = self.canaries.get(name)
        if behaviour is None:
            return error_response("ResourceNotFoundException", 404)
        function_error, document = behaviour(payload, _environment(name))
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        parsed: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(body), len(body)),
        }
        if function_error:
            parsed["FunctionError"] = function_error
        return _HttpResponse(200), parsed

    def invocations(self, name: str) -> list[dict[str, Any]]:
        return [payload for called, payload in self.calls if called == name]


def error_response(code: str, status: int) -> tuple[_HttpResponse, dict[str, Any]]:
    return _HttpResponse(status), {
        "Error": {"Code": code, "Message": f"{code} (test)"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


def _environment(name: str) -> dict[str, str]:
    """The function's variables as moto holds them (read without the routed client)."""
    client = boto3.session.Session(region_name=REGION).client("lambda")
    config = client.get_function_configuration(FunctionName=name)
    return dict(config.get("Environment", {}).get("Variables", {}))


# --- sample events ------------------------------------------------------------------------------


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


def cloudtrail_event(
    name: str, *, event_id: str | None = None, **request_parameters: Any
) -> dict[str, Any]:
    """A sample CloudTrail event with request parameters rewritten (e.g. to moto's ids)."""
    event = load_event(name)
    event["detail"]["eventID"] = event_id or str(uuid.uuid4())
    event["detail"]["requestParameters"].update(request_parameters)
    return event


# --- the moto world -----------------------------------------------------------------------------


@dataclass
class Delivered:
    """One alert: the JSON document the SQS subscriber received, and the e-mail text."""

    subject: str
    document: dict[str, Any]
    attributes: dict[str, str]
    text: str

    @property
    def severity(self) -> str:
        return self.attributes["severity"]


def email_text(topic_arn: str, message_id: str) -> str:
    """The body an e-mail subscriber gets: the published message's `default` text.

    An SQS subscriber receives the machines' document, so the text is read from what moto's SNS
    recorded as published.
    """
    from moto.sns.models import sns_backends

    topic = sns_backends[ACCOUNT][REGION].topics[topic_arn]
    for published_id, message, *_ in topic.sent_notifications:
        if published_id == message_id:
            text: str = json.loads(message)["default"]
            return text
    raise LookupError(f"message {message_id} was not published to {topic_arn}")


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@dataclass
class World:
    """moto's EC2/Lambda/SNS/SQS/DynamoDB as the checker sees them, plus the canary router."""

    router: CanaryRouter
    topic_arn: str
    queue_url: str
    table_name: str
    session: boto3.session.Session = field(
        default_factory=lambda: boto3.session.Session(region_name=REGION)
    )

    def __post_init__(self) -> None:
        self.ec2 = self.session.client("ec2")
        self.lambda_ = self.session.client("lambda")
        self.sqs = self.session.client("sqs")
        self.role_arn = self.session.client("iam").create_role(
            RoleName=f"canary-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]

    def create_vpc(self, cidr: str = "10.0.0.0/16") -> str:
        vpc_id: str = self.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        return vpc_id

    def option_set(self, *servers: str, domain_name: str | None = None) -> str:
        configurations = [{"Key": "domain-name-servers", "Values": list(servers)}]
        if domain_name:
            configurations.append({"Key": "domain-name", "Values": [domain_name]})
        dopt_id: str = self.ec2.create_dhcp_options(DhcpConfigurations=configurations)[
            "DhcpOptions"
        ]["DhcpOptionsId"]
        return dopt_id

    def associate(self, vpc_id: str, option_set_id: str) -> None:
        self.ec2.associate_dhcp_options(DhcpOptionsId=option_set_id, VpcId=vpc_id)

    def add_canary(
        self,
        vpc_id: str,
        name: str,
        behaviour: CanaryBehaviour | None,
        variables: dict[str, str] | None = None,
    ) -> str:
        arn: str = self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role_arn,
            Handler="app.lambda_handler",
            Code={"ZipFile": function_zip()},
            Environment={"Variables": variables or {}},
            Tags={TAG_KEY: vpc_id},
        )["FunctionArn"]
        if behaviour is not None:
            self.router.canaries[name] = behaviour
        return arn

    def canary_dead(self, name: str, server: str) -> None:
        """Make `server` unreachable for the FakeCanary registered as `name`."""
        canary = self.router.canaries[name]
        assert isinstance(canary, FakeCanary), f"{name} is not a FakeCanary"
        canary.dead.add(server)

    def environment(self, name: str) -> dict[str, str]:
        return _environment(name)

    def alerts(self) -> list[Delivered]:
        delivered = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return delivered
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {
                    key: value["Value"]
                    for key, value in envelope.get("MessageAttributes", {}).items()
                }
                delivered.append(
                    Delivered(
                        envelope["Subject"],
                        json.loads(envelope["Message"]),
                        attributes,
                        email_text(self.topic_arn, envelope["MessageId"]),
                    )
                )
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
