"""The AWS world the watchdog runs in, built in moto: shared by the tests, the demo, the
benchmarks and sam_local.

:class:`AwsWorld` seeds what the template deploys (state table, alert topic with an SQS queue
subscribed, the way an on-call tool would receive alerts; optionally the chat topic with a queue
standing in for Amazon Q Developer) and what the watchdog watches (VPCs, their DHCP option sets,
canary functions tagged with their VPC), and drains the alerts and chat notifications that
reached the queues. It works against in-process moto (``mock_aws``) or a moto server
(``endpoint_url``).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from dns_watchdog.constants import CANARY_TAG_KEY, CHAT_TOPIC_ARN_ENV
from dns_watchdog.render.chat import ChatNotification

from devtools.lambdakit import REGION, environment_variables

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import NewDhcpConfigurationTypeDef
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

# A canary function carries the id of the VPC it watches in this tag.
TAG_KEY = CANARY_TAG_KEY

# moto signs requests with these; they never leave the process (or the local moto server).
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@contextmanager
def local_aws(region: str = REGION) -> Iterator[None]:
    """moto in this process, with fake credentials and boto3's default session in ``region``."""
    from moto import mock_aws  # imported when used: pure tests load the kit without moto

    with environment_variables(MOTO_CREDENTIALS), mock_aws():
        boto3.setup_default_session(region_name=region)
        try:
            yield
        finally:
            boto3.DEFAULT_SESSION = None


def function_zip() -> bytes:
    """Code for a function registered in moto (Invoke never reaches it: a router answers)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@dataclass(frozen=True)
class DeliveredAlert:
    """One alert as an SQS subscriber of the topic received it (the SNS envelope)."""

    subject: str
    message: str
    attributes: dict[str, str]
    topic_arn: str = ""
    message_id: str = ""

    @property
    def document(self) -> dict[str, Any]:
        """The JSON variant of the alert (what SQS subscribers get)."""
        document: dict[str, Any] = json.loads(self.message)
        return document

    @property
    def text(self) -> str:
        """The plain-text body e-mail subscribers get (the published message's `default`).

        SQS subscribers receive the machines' document, which does not repeat the text, so it
        is read from what moto's SNS, in this process, recorded as published.
        """
        from moto.sns.models import sns_backends  # moto's record of the topic

        _, _, _, region, account, _ = self.topic_arn.split(":")
        topic = sns_backends[account][region].topics[self.topic_arn]
        for message_id, message, *_ in topic.sent_notifications:
            if message_id == self.message_id:
                text: str = json.loads(message)["default"]
                return text
        raise LookupError(f"alert {self.message_id} was not published to {self.topic_arn}")

    @property
    def severity(self) -> str:
        return self.attributes["severity"]


@dataclass(frozen=True)
class CheckerResources:
    """What the template creates for the checker, and the settings that name them."""

    table_name: str
    topic_arn: str
    queue_url: str
    chat_topic_arn: str = ""

    @property
    def settings(self) -> dict[str, str]:
        settings = {"ALERT_TOPIC_ARN": self.topic_arn, "STATE_TABLE_NAME": self.table_name}
        if self.chat_topic_arn:
            settings[CHAT_TOPIC_ARN_ENV] = self.chat_topic_arn
        return settings


class AwsWorld:
    """Builds resources in moto through its own session, so hooks that other code puts on boto3's
    default session (an Invoke router) never touch the world's own calls."""

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        *,
        endpoint_url: str | None = None,
        region: str = REGION,
    ) -> None:
        self.session = session or boto3.session.Session(region_name=region)
        self.endpoint_url = endpoint_url
        self.region = region
        self.queue_url = ""
        self.chat_queue_url = ""

    def client(self, service: str) -> Any:
        return self.session.client(
            service,  # type: ignore[call-overload]  # the stubs type each literal service name
            region_name=self.region,
            endpoint_url=self.endpoint_url,
        )

    @cached_property
    def ec2(self) -> EC2Client:
        client: EC2Client = self.client("ec2")
        return client

    @cached_property
    def lambda_(self) -> LambdaClient:
        client: LambdaClient = self.client("lambda")
        return client

    @cached_property
    def sqs(self) -> SQSClient:
        client: SQSClient = self.client("sqs")
        return client

    @cached_property
    def sns(self) -> SNSClient:
        client: SNSClient = self.client("sns")
        return client

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self.client("dynamodb")
        return client

    @cached_property
    def role_arn(self) -> str:
        """The execution role of the canaries (moto only checks that it exists)."""
        arn: str = self.client("iam").create_role(
            RoleName=f"canary-{uuid.uuid4().hex[:8]}",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        return arn

    # --- what the template deploys ----------------------------------------------------------

    def create_state_table(self, name: str) -> str:
        self.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        return name

    def create_alert_topic(self, name: str, *, subscriber_queue: str | None = None) -> str:
        """The alert topic; with ``subscriber_queue``, an SQS queue subscribed to it whose
        messages :meth:`alerts` drains."""
        topic_arn = self.sns.create_topic(Name=name)["TopicArn"]
        if subscriber_queue is not None:
            self.queue_url = self._subscribe_queue(topic_arn, subscriber_queue)
        return topic_arn

    def create_chat_topic(self, name: str, *, subscriber_queue: str) -> str:
        """The chat topic, and a queue subscribed to it in the place of Amazon Q Developer, whose
        custom notifications :meth:`chat_notifications` drains."""
        topic_arn = self.sns.create_topic(Name=name)["TopicArn"]
        self.chat_queue_url = self._subscribe_queue(topic_arn, subscriber_queue)
        return topic_arn

    def _subscribe_queue(self, topic_arn: str, queue: str) -> str:
        queue_url: str = self.sqs.create_queue(QueueName=queue)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        return queue_url

    def checker_resources(
        self,
        *,
        table: str = "vpc-dns-watchdog-state",
        topic: str = "vpc-dns-watchdog-alerts",
        queue: str = "on-call",
        chat_topic: str | None = None,
        chat_queue: str = "chat",
    ) -> CheckerResources:
        """The checker's state table and alert topic, and an on-call queue subscribed to it;
        with ``chat_topic``, the chat topic too (what the template creates with a chat channel)."""
        table_name = self.create_state_table(table)
        topic_arn = self.create_alert_topic(topic, subscriber_queue=queue)
        chat_topic_arn = (
            self.create_chat_topic(chat_topic, subscriber_queue=chat_queue) if chat_topic else ""
        )
        return CheckerResources(table_name, topic_arn, self.queue_url, chat_topic_arn)

    # --- what the watchdog watches ----------------------------------------------------------

    def create_vpc(self, cidr: str = "10.0.0.0/16") -> str:
        vpc_id: str = self.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        return vpc_id

    def create_subnet(self, vpc_id: str, cidr: str) -> str:
        subnet_id: str = self.ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]["SubnetId"]
        return subnet_id

    def create_security_group(
        self, vpc_id: str, name: str = "canary", description: str = "canary DNS egress"
    ) -> str:
        group_id: str = self.ec2.create_security_group(
            GroupName=name, Description=description, VpcId=vpc_id
        )["GroupId"]
        return group_id

    def option_set(self, *servers: str, domain_name: str | None = None) -> str:
        """A DHCP option set naming ``servers`` (addresses or ``AmazonProvidedDNS``)."""
        configurations: list[NewDhcpConfigurationTypeDef] = [
            {"Key": "domain-name-servers", "Values": list(servers)}
        ]
        if domain_name:
            configurations.append({"Key": "domain-name", "Values": [domain_name]})
        option_set_id: str = self.ec2.create_dhcp_options(DhcpConfigurations=configurations)[
            "DhcpOptions"
        ]["DhcpOptionsId"]
        return option_set_id

    def associate(self, vpc_id: str, option_set_id: str) -> None:
        self.ec2.associate_dhcp_options(DhcpOptionsId=option_set_id, VpcId=vpc_id)

    def add_canary(
        self,
        vpc_id: str,
        name: str,
        *,
        variables: Mapping[str, str] | None = None,
        subnet_ids: Sequence[str] = (),
        security_group_ids: Sequence[str] = (),
        timeout_s: int | None = None,
        memory_mb: int | None = None,
    ) -> str:
        """A canary function tagged with the VPC it watches; with ``subnet_ids`` it is attached
        to the VPC (where Lambda would place its ENIs). Returns its ARN."""
        options: dict[str, Any] = {}
        if subnet_ids:
            options["VpcConfig"] = {
                "SubnetIds": list(subnet_ids),
                "SecurityGroupIds": list(security_group_ids),
            }
        if timeout_s is not None:
            options["Timeout"] = timeout_s
        if memory_mb is not None:
            options["MemorySize"] = memory_mb
        arn: str = self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role_arn,
            Handler="app.lambda_handler",
            Code={"ZipFile": function_zip()},
            Environment={"Variables": dict(variables or {})},
            Tags={TAG_KEY: vpc_id},
            **options,
        )["FunctionArn"]
        return arn

    def function_environment(self, name: str) -> dict[str, str]:
        """A function's environment variables as Lambda (moto) holds them."""
        config = self.lambda_.get_function_configuration(FunctionName=name)
        return dict(config.get("Environment", {}).get("Variables", {}))

    # --- what reaches the on-call queue -----------------------------------------------------

    def alerts(self, *, wait_s: int = 0, empty_polls: int = 1) -> list[DeliveredAlert]:
        """Receive and delete every alert in the subscribed queue.

        Stops at the first empty receive once something arrived, or after ``empty_polls`` empty
        receives of ``wait_s`` each (a server may deliver a moment after the publish).
        """
        if not self.queue_url:
            raise ValueError("no queue is subscribed to the alert topic")
        delivered: list[DeliveredAlert] = []
        for envelope in self._drain(self.queue_url, wait_s, empty_polls):
            attributes = {
                key: value["Value"] for key, value in envelope.get("MessageAttributes", {}).items()
            }
            delivered.append(
                DeliveredAlert(
                    envelope.get("Subject", ""),
                    envelope["Message"],
                    attributes,
                    envelope.get("TopicArn", ""),
                    envelope.get("MessageId", ""),
                )
            )
        return delivered

    def chat_notifications(
        self, *, wait_s: int = 0, empty_polls: int = 1
    ) -> list[ChatNotification]:
        """Receive and delete every custom notification that reached the chat topic's queue
        (the whole SNS message is the document Amazon Q Developer would post)."""
        if not self.chat_queue_url:
            raise ValueError("no queue is subscribed to a chat topic")
        return [
            ChatNotification(json.loads(envelope["Message"]))
            for envelope in self._drain(self.chat_queue_url, wait_s, empty_polls)
        ]

    def _drain(self, queue_url: str, wait_s: int, empty_polls: int) -> list[dict[str, Any]]:
        """The SNS envelopes in ``queue_url``, received and deleted, oldest first.

        Stops at the first empty receive once something arrived, or after ``empty_polls`` empty
        receives of ``wait_s`` each (a server may deliver a moment after the publish).
        """
        envelopes: list[dict[str, Any]] = []
        empty = 0
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s
            ).get("Messages", [])
            if not messages:
                empty += 1
                if envelopes or empty >= empty_polls:
                    return envelopes
            for message in messages:
                envelopes.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
