"""The AWS world the watchdog runs in, built in moto: shared by the tests, the demo, the
benchmarks and sam_local.

:class:`AwsWorld` seeds what the template deploys (state table, alert topic with an SQS queue
subscribed, the way an on-call tool would receive alerts; optionally the chat topic with a queue
standing in for Amazon Q Developer) and what the watchdog watches (VPCs, their DHCP option sets,
canary functions tagged with their VPC), and drains the alerts and chat notifications that
reached the queues. It works against in-process moto (``mock_aws``) or a moto server
(``endpoint_url``).

Two botocore hooks complete it: :class:`CallRecorder` records every AWS call the clients of a
session make (service, operation, region, the signing access key, the parameters), for tests that
hold a template's IAM policies to what the code really calls; :class:`NetworkInsightsStandIn`
plays Reachability Analyzer, which moto does not implement.
"""

from __future__ import annotations

import io
import itertools
import json
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from dns_watchdog.constants import CANARY_TAG_KEY, CHAT_TOPIC_ARN_ENV
from dns_watchdog.render.chat import ChatNotification

from devtools.lambdakit import REGION, environment_variables, hooked

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
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
def local_aws(region: str = REGION) -> Iterator[DnsExtrasStandIn]:
    """moto in this process, with fake credentials and boto3's default session in ``region``;
    DNS Firewall and Route 53 Profiles (which moto lacks) answered by a `DnsExtrasStandIn` on
    that session, which the context yields (empty until a test adds to it)."""
    from moto import mock_aws  # imported when used: pure tests load the kit without moto

    with environment_variables(MOTO_CREDENTIALS), mock_aws(), lambda_vpc_ids_as_aws():
        boto3.setup_default_session(region_name=region)
        extras = DnsExtrasStandIn()
        try:
            with extras.answering():
                yield extras
        finally:
            boto3.DEFAULT_SESSION = None


@contextmanager
def lambda_vpc_ids_as_aws() -> Iterator[None]:
    """moto answers ``VpcConfig.VpcId`` ``vpc-123abc`` for every function attached to a VPC; AWS
    answers the VPC of the function's subnets (Lambda API reference, VpcConfigResponse). While
    this is on, moto (in this process) answers as AWS does."""
    from moto.awslambda.models import LambdaFunction
    from moto.ec2.models import ec2_backends

    placeholder = LambdaFunction.vpc_config

    def vpc_config(function: Any) -> dict[str, Any] | None:
        config: dict[str, Any] | None = placeholder.fget(function)  # type: ignore[attr-defined]
        subnets = (config or {}).get("SubnetIds") or []
        if config is not None and subnets:
            backend = ec2_backends[function.account_id][function.region]
            known = {s.id: s.vpc_id for zone in backend.subnets.values() for s in zone.values()}
            config["VpcId"] = known.get(subnets[0], config.get("VpcId"))
        return config

    LambdaFunction.vpc_config = property(vpc_config)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        LambdaFunction.vpc_config = placeholder  # type: ignore[method-assign]


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

    def private_zone(self, vpc_id: str, name: str, records: Mapping[str, str] | None = None) -> str:
        """A private hosted zone associated with `vpc_id`, with A records (name -> address);
        its id without the /hostedzone/ prefix."""
        route53 = self.client("route53")
        zone = route53.create_hosted_zone(
            Name=name,
            CallerReference=f"{name}-{vpc_id}",
            VPC={"VPCRegion": self.region, "VPCId": vpc_id},
            HostedZoneConfig={"PrivateZone": True},
        )["HostedZone"]["Id"].rsplit("/", 1)[-1]
        changes = [
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": record,
                    "Type": "A",
                    "TTL": 60,
                    "ResourceRecords": [{"Value": address}],
                },
            }
            for record, address in (records or {}).items()
        ]
        if changes:
            route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})
        return str(zone)

    def forward_rule(self, vpc_id: str, domain: str, targets: Sequence[str]) -> str:
        """A Resolver FORWARD rule for `domain` to `targets` through an outbound endpoint in the
        VPC, associated with it; the rule's id."""
        ec2, resolver = self.ec2, self.client("route53resolver")
        subnets = [
            subnet["SubnetId"]
            for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                "Subnets"
            ]
        ]
        group = self.create_security_group(vpc_id, f"resolver-{domain}", "Resolver endpoint")
        endpoint = resolver.create_resolver_endpoint(
            CreatorRequestId=f"out-{vpc_id}-{domain}",
            SecurityGroupIds=[group],
            Direction="OUTBOUND",
            IpAddresses=[{"SubnetId": subnets[0]}, {"SubnetId": subnets[0]}],
        )["ResolverEndpoint"]["Id"]
        rule = resolver.create_resolver_rule(
            CreatorRequestId=f"rule-{vpc_id}-{domain}",
            RuleType="FORWARD",
            DomainName=domain,
            TargetIps=[{"Ip": target, "Port": 53} for target in targets],
            ResolverEndpointId=endpoint,
        )["ResolverRule"]["Id"]
        resolver.associate_resolver_rule(ResolverRuleId=rule, VPCId=vpc_id)
        return str(rule)

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

    # --- what else runs in a VPC (the blast radius) -------------------------------------------

    def add_function(
        self, name: str, *, subnet_ids: Sequence[str], security_group_ids: Sequence[str]
    ) -> str:
        """A function (not a canary) attached to a VPC, with the network interface Lambda
        creates for it. Returns its ARN."""
        arn: str = self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role_arn,
            Handler="app.lambda_handler",
            Code={"ZipFile": function_zip()},
            VpcConfig={"SubnetIds": list(subnet_ids), "SecurityGroupIds": list(security_group_ids)},
        )["FunctionArn"]
        self.add_lambda_interface(subnet_ids[0], name, security_group_ids)
        return arn

    def add_lambda_interface(
        self, subnet_id: str, function: str, security_group_ids: Sequence[str] = ()
    ) -> str:
        """The interface Lambda creates for a function's subnet and security groups: type
        ``lambda``, managed by Lambda, described "AWS Lambda VPC ENI-<function>-<id>". Only AWS
        creates such interfaces (EC2 takes no InterfaceType ``lambda`` from callers): it is made
        as a plain interface, then moto's record of it is given Lambda's fields."""
        description = f"AWS Lambda VPC ENI-{function}-{uuid.uuid4()}"
        return self._service_interface(
            subnet_id, description, "lambda", security_group_ids=security_group_ids
        )

    def add_task_interface(self, subnet_id: str, *, account: str = "123456789012") -> str:
        """The interface of an ECS task in awsvpc mode (described by its attachment's ARN)."""
        description = f"arn:aws:ecs:{self.region}:{account}:attachment/{uuid.uuid4()}"
        return self._service_interface(subnet_id, description, "interface")

    def add_nat_gateway_interface(self, subnet_id: str) -> str:
        """A NAT gateway's interface (it resolves nothing through the option set)."""
        return self._service_interface(subnet_id, "Interface for NAT Gateway", "nat_gateway")

    def add_instance(self, subnet_id: str) -> str:
        """An EC2 instance in the subnet (with its primary interface). Returns its id."""
        reservation = self.ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet_id
        )
        instance_id: str = reservation["Instances"][0]["InstanceId"]
        return instance_id

    def _service_interface(
        self,
        subnet_id: str,
        description: str,
        interface_type: str,
        *,
        security_group_ids: Sequence[str] = (),
    ) -> str:
        from moto.ec2.models import ec2_backends

        interface = self.ec2.create_network_interface(
            SubnetId=subnet_id, Description=description, Groups=list(security_group_ids)
        )["NetworkInterface"]
        interface_id: str = interface["NetworkInterfaceId"]
        account = interface["OwnerId"]
        record = ec2_backends[account][self.region].enis[interface_id]
        record.interface_type = interface_type
        record.requester_managed = True
        return interface_id

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


# --- every call a session's clients make ---------------------------------------------------------


@dataclass(frozen=True)
class RecordedCall:
    """One AWS API call: service (botocore's name), operation, the client's region, the access
    key that signed it (whose call it was: the home credentials or an assumed role's), and the
    parameters as the caller passed them."""

    service: str
    operation: str
    region: str
    access_key: str
    params: dict[str, Any]


class CallRecorder:
    """Records every AWS call of the clients built from a session while :meth:`recording`.

    A ``creating-client-class`` hook gives each new client class a first base whose
    ``_make_api_call`` records the call and then makes it: every call is recorded, paginated and
    waited ones included, also those another hook answers without HTTP (an Invoke router, a
    stand-in). Clients built before :meth:`recording` began are not recorded: build the code
    under test inside it. Calls from several threads are recorded in the order they were made.
    """

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self._lock = threading.Lock()

    @contextmanager
    def recording(self, session: boto3.session.Session | None = None) -> Iterator[CallRecorder]:
        """Record the calls of clients built from ``session`` (boto3's default session if None)."""
        if session is None:
            if boto3.DEFAULT_SESSION is None:
                boto3.setup_default_session()
            session = boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register_first("creating-client-class", self._add_recording_base)
        try:
            yield self
        finally:
            session.events.unregister("creating-client-class", self._add_recording_base)

    def _add_recording_base(self, base_classes: list[type], **_: Any) -> None:
        base_classes.insert(0, _recording_base(self))

    def record(self, client: Any, operation: str, params: Mapping[str, Any]) -> None:
        signer = client._request_signer
        credentials = signer._credentials
        access_key = credentials.get_frozen_credentials().access_key if credentials else ""
        call = RecordedCall(
            service=client.meta.service_model.service_name,
            operation=operation,
            region=client.meta.region_name or "",
            access_key=access_key,
            params=dict(params),
        )
        with self._lock:
            self.calls.append(call)


def _recording_base(recorder: CallRecorder) -> type:
    class Recording:
        def _make_api_call(self, operation_name: str, api_params: Mapping[str, Any]) -> Any:
            recorder.record(self, operation_name, api_params)
            return super()._make_api_call(operation_name, api_params)  # type: ignore[misc]

    return Recording


# --- Reachability Analyzer -----------------------------------------------------------------------

_ANALYSIS_OPERATIONS = (
    "CreateNetworkInsightsPath",
    "StartNetworkInsightsAnalysis",
    "DescribeNetworkInsightsAnalyses",
    "DeleteNetworkInsightsAnalysis",
    "DeleteNetworkInsightsPath",
)


@dataclass
class NetworkInsightsStandIn:
    """Reachability Analyzer as botocore ``before-call`` hooks (moto has no Network Insights API):
    paths and analyses are kept with the tags their requests carried, every analysis succeeds
    and finds the path open (``NetworkPathFound``). It also stands in for the network interfaces
    Lambda creates for a VPC function (``InterfaceType`` ``lambda``), which moto does not create:
    :meth:`add_lambda_interface` names them; other interface lookups go to moto as usual.
    """

    lambda_interfaces: list[dict[str, Any]] = field(default_factory=list)
    paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    analyses: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add_lambda_interface(
        self, *, interface_id: str, vpc_id: str, subnet_id: str, group_ids: Sequence[str]
    ) -> None:
        self.lambda_interfaces.append(
            {
                "NetworkInterfaceId": interface_id,
                "InterfaceType": "lambda",
                "VpcId": vpc_id,
                "SubnetId": subnet_id,
                "Groups": [{"GroupId": group} for group in group_ids],
                "Status": "in-use",
            }
        )

    def tags_of(self, resource_id: str) -> dict[str, str]:
        """The tags a path or analysis was created with."""
        kept = self.paths.get(resource_id) or self.analyses.get(resource_id) or {}
        tags: dict[str, str] = kept.get("Tags", {})
        return tags

    def answering(
        self, session: boto3.session.Session | None = None
    ) -> AbstractContextManager[None]:
        """Answer the calls of clients built from ``session`` (default session if None)."""
        return hooked(
            session,
            [("provide-client-params.ec2", self._remember), ("before-call.ec2", self._answer)],
        )

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["stand_in_params"] = dict(params)

    def _answer(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        params = context.get("stand_in_params", {})
        if model.name == "DescribeNetworkInterfaces":
            filters = {f["Name"]: f["Values"] for f in params.get("Filters", [])}
            if filters.get("interface-type") != ["lambda"]:
                return None  # moto answers every other interface lookup
            return _ok({"NetworkInterfaces": self._matching(filters)})
        if model.name not in _ANALYSIS_OPERATIONS:
            return None
        answer: dict[str, Any] = getattr(self, f"_{model.name}")(params)
        return _ok(answer)

    def _matching(self, filters: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        wanted = {"vpc-id": "VpcId", "subnet-id": "SubnetId"}
        found = []
        for interface in self.lambda_interfaces:
            if any(
                interface[key] not in filters[name]
                for name, key in wanted.items()
                if name in filters
            ):
                continue
            groups = {group["GroupId"] for group in interface["Groups"]}
            if "group-id" in filters and not groups & set(filters["group-id"]):
                continue
            found.append(interface)
        return found

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):017x}"

    @staticmethod
    def _tags(params: Mapping[str, Any]) -> dict[str, str]:
        return {
            tag["Key"]: tag["Value"]
            for spec in params.get("TagSpecifications", [])
            for tag in spec.get("Tags", [])
        }

    def _CreateNetworkInsightsPath(self, params: dict[str, Any]) -> dict[str, Any]:
        path_id = self._new_id("nip")
        self.paths[path_id] = {"Request": params, "Tags": self._tags(params)}
        return {"NetworkInsightsPath": {"NetworkInsightsPathId": path_id}}

    def _StartNetworkInsightsAnalysis(self, params: dict[str, Any]) -> dict[str, Any]:
        analysis_id = self._new_id("nia")
        self.analyses[analysis_id] = {
            "Path": params["NetworkInsightsPathId"],
            "Tags": self._tags(params),
        }
        return {
            "NetworkInsightsAnalysis": {
                "NetworkInsightsAnalysisId": analysis_id,
                "NetworkInsightsPathId": params["NetworkInsightsPathId"],
                "Status": "running",
            }
        }

    def _DescribeNetworkInsightsAnalyses(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "NetworkInsightsAnalyses": [
                {
                    "NetworkInsightsAnalysisId": analysis_id,
                    "NetworkInsightsPathId": self.analyses[analysis_id]["Path"],
                    "Status": "succeeded",
                    "NetworkPathFound": True,
                }
                for analysis_id in params.get("NetworkInsightsAnalysisIds", [])
                if analysis_id in self.analyses
            ]
        }

    def _DeleteNetworkInsightsAnalysis(self, params: dict[str, Any]) -> dict[str, Any]:
        self.deleted.append(params["NetworkInsightsAnalysisId"])
        return {"NetworkInsightsAnalysisId": params["NetworkInsightsAnalysisId"]}

    def _DeleteNetworkInsightsPath(self, params: dict[str, Any]) -> dict[str, Any]:
        self.deleted.append(params["NetworkInsightsPathId"])
        return {"NetworkInsightsPathId": params["NetworkInsightsPathId"]}


@contextmanager
def lambda_vpc_ids(
    vpc_of_subnet: Mapping[str, str], session: boto3.session.Session | None = None
) -> Iterator[None]:
    """Lambda's ListFunctions as AWS answers it: moto gives every attached function the VpcId
    "vpc-123abc"; Lambda gives the VPC of its subnets (botocore's VpcConfigResponse.VpcId). An
    ``after-call`` hook on ``session`` (default session if None) puts the VPC of the function's
    first subnet there (``vpc_of_subnet``: the worlds' subnets and their VPCs)."""
    if session is None:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
    assert session is not None

    def fix(parsed: dict[str, Any], **_: Any) -> None:
        for function in parsed.get("Functions", []):
            config = function.get("VpcConfig") or {}
            subnets = config.get("SubnetIds") or []
            if subnets and subnets[0] in vpc_of_subnet:
                config["VpcId"] = vpc_of_subnet[subnets[0]]

    session.events.register("after-call.lambda.ListFunctions", fix)
    try:
        yield
    finally:
        session.events.unregister("after-call.lambda.ListFunctions", fix)


@dataclass
class LogsInsightsStandIn:
    """CloudWatch Logs Insights as botocore ``before-call`` hooks (moto runs only part of the
    query language): the log groups that exist (``log_groups``), the DNS-failure lines each
    logged (``dns_errors``, by log group), and the bytes every query scans. Every query
    completes at its first poll; with ``refuse`` set, every call is answered with that error
    code (403). ``calls`` records (operation, parameters)."""

    log_groups: set[str] = field(default_factory=set)
    dns_errors: dict[str, int] = field(default_factory=dict)
    bytes_scanned: int = 1_048_576
    account: str = "123456789012"
    refuse: str | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _queries: dict[str, list[str]] = field(default_factory=dict)

    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]

    def answering(
        self, session: boto3.session.Session | None = None
    ) -> AbstractContextManager[None]:
        """Answer the calls of clients built from ``session`` (default session if None)."""
        return hooked(
            session,
            [
                ("provide-client-params.logs", NetworkInsightsStandIn._remember),
                ("before-call.logs", self._answer),
            ],
        )

    def _answer(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        params = context.get("stand_in_params", {})
        self.calls.append((model.name, params))
        if self.refuse is not None:
            from devtools.lambdakit import api_error

            return api_error(self.refuse, 403, "the logs stand-in")
        if model.name == "DescribeLogGroups":
            wanted = set(params.get("logGroupIdentifiers", []))
            found = sorted(self.log_groups & wanted)
            return _ok({"logGroups": [{"logGroupName": group} for group in found]})
        if model.name == "StartQuery":
            query_id = str(uuid.uuid4())
            self._queries[query_id] = list(params.get("logGroupNames", []))
            return _ok({"queryId": query_id})
        if model.name == "GetQueryResults":
            groups = self._queries.get(params["queryId"], [])
            rows = [
                [
                    {"field": "@log", "value": f"{self.account}:{group}"},
                    {"field": "dnsErrors", "value": str(self.dns_errors[group])},
                ]
                for group in groups
                if self.dns_errors.get(group)
            ]
            statistics = {"bytesScanned": float(self.bytes_scanned), "recordsMatched": 1.0}
            return _ok({"status": "Complete", "results": rows, "statistics": statistics})
        if model.name == "StopQuery":
            return _ok({"success": True})
        return None


def _ok(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    response = AWSResponse("local://aws", 200, HTTPHeaders(), None)
    return response, {**parsed, "ResponseMetadata": {"HTTPStatusCode": 200}}


@dataclass
class DnsExtrasStandIn:
    """DNS Firewall and Route 53 Profiles as botocore ``before-call`` hooks (moto has neither):
    what a test adds is listed, in one page, for every account and region alike (tests that need
    paging, denials or several accounts pin calls with botocore's Stubber instead)."""

    # VPC id -> its firewall rule group associations (ListFirewallRuleGroupAssociations items)
    firewall_associations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # rule group id -> its rules (ListFirewallRules items)
    firewall_rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # domain list id -> its domains
    firewall_domains: dict[str, list[str]] = field(default_factory=dict)
    # VPC id -> its profile associations (ListProfileAssociations items)
    profile_associations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # profile id -> its resource associations (ListProfileResourceAssociations items)
    profile_resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def answering(
        self, session: boto3.session.Session | None = None
    ) -> AbstractContextManager[None]:
        """Answer the calls of clients built from ``session`` (default session if None)."""
        return hooked(
            session,
            [
                ("provide-client-params.route53resolver", NetworkInsightsStandIn._remember),
                ("provide-client-params.route53profiles", NetworkInsightsStandIn._remember),
                ("before-call.route53resolver", self._answer),
                ("before-call.route53profiles", self._answer),
            ],
        )

    def _answer(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        params = context.get("stand_in_params", {})
        answers: dict[str, Callable[[], dict[str, Any]]] = {
            "ListFirewallRuleGroupAssociations": lambda: {
                "FirewallRuleGroupAssociations": self.firewall_associations.get(
                    params.get("VpcId", ""), []
                )
            },
            "ListFirewallRules": lambda: {
                "FirewallRules": self.firewall_rules.get(params["FirewallRuleGroupId"], [])
            },
            "ListFirewallDomains": lambda: {
                "Domains": self.firewall_domains.get(params["FirewallDomainListId"], [])
            },
            "ListProfileAssociations": lambda: {
                "ProfileAssociations": self.profile_associations.get(
                    params.get("ResourceId", ""), []
                )
            },
            "ListProfileResourceAssociations": lambda: {
                "ProfileResourceAssociations": self.profile_resources.get(params["ProfileId"], [])
            },
        }
        answer = answers.get(model.name)
        return None if answer is None else _ok(answer())
