"""`make smoke-aws` against a moto server: everything the smoke test does in a real account, but
`sam deploy` and what only AWS does there.

`LocalStack` plays those: its deploy creates in moto what the template creates (topics, state
table, the canary attached to the VPC, the checker's name in the stack outputs, the retained KMS
key) and loads the real checker in this process; its `changed` hands each change the smoke test
makes to that checker as CloudTrail and EventBridge would. The real canary runs through the DNS
lab on loopback; Reachability Analyzer is the kit's stand-in; a "person" presses Roll back by
running the template's custom action command, filled in from the chat notification the checker
published. moto listens on 127.0.0.1 only and is stopped by the test.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import stat
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devtools.awsworld import MOTO_CREDENTIALS, AwsWorld, NetworkInsightsStandIn
from devtools.dnslab import DnsLab
from devtools.lambdakit import (
    CHECKER_DIR,
    REGION,
    REPO_ROOT,
    FakeLambdaContext,
    InvokeReply,
    InvokeRouter,
    LambdaHandler,
    cloudtrail_event,
    environment_variables,
    load_handler,
)
from devtools.local_lambda import LocalCanaryPlatform
from devtools.smoke_aws import SELF_HEAL_TAG_KEY as SMOKE_TAG_KEY
from devtools.smoke_aws import Options, SamPlatform, Smoke

pytestmark = pytest.mark.integration

STACK = "vpc-dns-watchdog-smoke"
AMAZON_NAMES = {
    f"sts.{REGION}.amazonaws.com": {"A": ["209.54.177.164"]},
    f"lambda.{REGION}.amazonaws.com": {"A": ["3.224.120.44"]},
}
# What the deployed stack's outputs and resources look like, in moto's CloudFormation.
STACK_TEMPLATE = """
Resources:
  WatchdogKey:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
    Properties: {KeyPolicy: {Version: "2012-10-17", Statement: []}}
  ChatRollbackCustomAction:  # (a type moto's CloudFormation describes; only its id is read)
    Type: AWS::SNS::Topic
Outputs:
"""


class CheckerRouter(InvokeRouter):
    """Lambda, for the smoke test's own Invoke of the checker: the real checker, here."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack

    def invoke(self, function: str, event: Any) -> InvokeReply:
        assert function == self.stack.checker_name, function
        return InvokeReply(self.stack.run_checker(event))


def template_action() -> dict[str, Any]:
    """The Roll back button's custom action, as template.yaml defines it."""
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((REPO_ROOT / "template.yaml").read_text())
    action: dict[str, Any] = template["Resources"]["ChatRollbackCustomAction"]["Properties"]
    return action


@contextlib.contextmanager
def chatbot_answering(session: boto3.session.Session) -> Iterator[None]:
    """The Chatbot API, which moto does not implement: GetCustomAction answers the action the
    template defines (what CloudFormation created from it)."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    def answer(**_: Any) -> Any:
        action = template_action()
        return AWSResponse("local://chatbot", 200, HTTPHeaders(), None), {
            "CustomAction": {
                "CustomActionArn": "arn:aws:chatbot::123456789012:custom-action/smoke",
                "Definition": {"CommandText": action["Definition"]["CommandText"]},
                "ActionName": "vpc-dns-rollback-smoke",
            },
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    session.events.register("before-call.chatbot.GetCustomAction", answer)
    try:
        yield
    finally:
        session.events.unregister("before-call.chatbot.GetCustomAction", answer)


class LocalStack:
    """The stack as moto holds it, the checker in this process, and what CloudTrail delivers."""

    def __init__(self, world: AwsWorld, lab: DnsLab, endpoint: str) -> None:
        self.world = world
        self.lab = lab
        self.endpoint = endpoint
        self.amazon = lab.add_server("amazon-resolver", records=AMAZON_NAMES, host=2)
        self.canaries = LocalCanaryPlatform(lab, self.amazon, region=REGION)
        self.insights = NetworkInsightsStandIn()
        self.checker: LambdaHandler | None = None
        self.checker_name = f"{STACK}-CheckerFunction-ABCDEF123456"
        self.chat_topic_arn = ""
        self.deleted: list[str] = []
        self.delivered: list[str] = []
        self._lock = threading.Lock()
        self._exit = contextlib.ExitStack()

    def close(self) -> None:
        self._exit.close()

    # the Platform --------------------------------------------------------------------------

    def deploy(self, stack: str, parameters: dict[str, str]) -> None:
        world = self.world
        vpc_id = parameters["VpcId"]
        group = world.create_security_group(vpc_id, "canary-dns-egress", "DNS egress")
        subnets = parameters["SubnetIds"].split(",")
        canary = f"vpc-dns-canary-{vpc_id}-0f1e2d3c"
        world.add_canary(vpc_id, canary, subnet_ids=subnets, security_group_ids=[group])
        eni = world.ec2.create_network_interface(SubnetId=subnets[0], Groups=[group])
        self.insights.add_lambda_interface(
            interface_id=eni["NetworkInterface"]["NetworkInterfaceId"],
            vpc_id=vpc_id,
            subnet_id=subnets[0],
            group_ids=[group],
        )
        resources = world.checker_resources(
            topic=f"{stack}-AlertTopic", queue=f"{stack}-on-call", chat_topic=f"{stack}-ChatTopic"
        )
        self.chat_topic_arn = resources.chat_topic_arn
        outputs = {
            "AlertTopicArn": resources.topic_arn,
            "ChatTopicArn": resources.chat_topic_arn,
            "CheckerFunctionName": self.checker_name,
            "StateTableName": resources.table_name,
            "CanarySecurityGroupsInUse": group,
            "CanaryFunctionName": canary,
        }
        body = STACK_TEMPLATE + "".join(
            f"  {name}: {{Value: {json.dumps(value)}}}\n" for name, value in outputs.items()
        )
        world.client("cloudformation").create_stack(StackName=stack, TemplateBody=body)
        self._start_checker(resources.settings)

    def _start_checker(self, settings: dict[str, str]) -> None:
        environment = {
            **MOTO_CREDENTIALS,
            **settings,
            "AWS_ENDPOINT_URL": self.endpoint,
            "CANARY_DEADLINE_MS": "800",
            "REFRESH_BUDGET_S": "20",
            "SWEEP_CONFIRM_DELAY_S": "0",
            "LINT_ALLOWED_NETWORKS": self.lab.cidr,
            "POWERTOOLS_LOG_LEVEL": "CRITICAL",
            "POWERTOOLS_TRACE_DISABLED": "true",
            # The template sets it with ChatRollbackAction=true (the smoke test's chat stack).
            "CHAT_ROLLBACK": "true",
            # Lambda sets it: the button's command names the checker by it.
            "AWS_LAMBDA_FUNCTION_NAME": self.checker_name,
        }
        self._exit.enter_context(environment_variables(environment))
        boto3.setup_default_session(region_name=REGION)
        self._exit.callback(lambda: setattr(boto3, "DEFAULT_SESSION", None))
        self._exit.enter_context(self.canaries.routing())
        self.checker = load_handler(CHECKER_DIR)

    def delete(self, stack: str) -> None:
        self.world.client("cloudformation").delete_stack(StackName=stack)
        self.deleted.append(stack)

    def changed(self, event_name: str, request: dict[str, Any]) -> None:
        if event_name == "CreateDhcpOptions":
            event = cloudtrail_event("create_dhcp_options")
            event["detail"]["responseElements"]["dhcpOptions"]["dhcpOptionsId"] = request[
                "dhcpOptionsId"
            ]
        else:
            event = cloudtrail_event("associate_dhcp_options", **request)
        self.delivered.append(event_name)
        self.run_checker(event)

    # the checker -----------------------------------------------------------------------------

    def run_checker(self, event: dict[str, Any], qualifier: str | None = None) -> dict[str, Any]:
        assert self.checker is not None, "not deployed"
        with self._lock, contextlib.redirect_stdout(io.StringIO()):
            context = FakeLambdaContext(self.checker_name, timeout_ms=120_000, qualifier=qualifier)
            result: dict[str, Any] = self.checker(event, context)
        return result


class Person(threading.Thread):
    """Someone in the chat channel: presses Roll back on the CRITICAL, that is, runs the custom
    action's command (template.yaml) filled in from the notification's additionalContext."""

    def __init__(self, stack: LocalStack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.pressed = threading.Event()
        self.stop = threading.Event()
        self.command = ""

    def run(self) -> None:
        while not self.stop.wait(0.2):
            document = self._critical()
            if document is not None:
                self._press(document)
                return

    def _critical(self) -> dict[str, Any] | None:
        from moto.sns.models import sns_backends  # the server runs in this process

        if not self.stack.chat_topic_arn:
            return None
        topic = sns_backends["123456789012"][REGION].topics.get(self.stack.chat_topic_arn)
        for _, message, *_ in list(topic.sent_notifications) if topic else []:
            document = json.loads(message)
            context = document["metadata"]["additionalContext"]
            if context.get("severity") == "CRITICAL" and context.get("rollback_request"):
                return dict(document)
        return None

    def _press(self, document: dict[str, Any]) -> None:
        action = template_action()
        [attachment] = action["Attachments"]
        context = document["metadata"]["additionalContext"]
        variables = {
            name: context[path.rsplit(".", 1)[1]] for name, path in attachment["Variables"].items()
        }
        text = action["Definition"]["CommandText"]
        self.command = re.sub(r"\$([A-Za-z0-9_-]+)", lambda m: variables[m[1]], text)
        # The command asks the checker (its chat alias, asynchronously): it never associates.
        words = self.command.split(" ")
        assert words[:2] == ["lambda", "invoke"], self.command
        options = dict(zip(words[2::2], words[3::2], strict=True))
        function, _, qualifier = options["--function-name"].partition(":")
        assert (function, qualifier) == (self.stack.checker_name, "chat"), self.command
        assert options["--invocation-type"] == "Event"
        request = json.loads(options["--payload"])
        result = self.stack.run_checker(request, qualifier=qualifier)
        assert result["status"] == "rolled_back", result
        # The checker's association, as CloudTrail delivers it
        vpc_id = request["vpc_id"]
        [vpc] = self.stack.world.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        self.stack.changed(
            "AssociateDhcpOptions", {"dhcpOptionsId": vpc["DhcpOptionsId"], "vpcId": vpc_id}
        )
        self.pressed.set()


def _as_aws_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto keeps an option set "assigned" after its VPC moved to another one, and then refuses
    to delete it; AWS does not. The server runs in this process: its model is patched here."""
    from moto.ec2.models.dhcp_options import DHCPOptionsSetBackend

    associate = DHCPOptionsSetBackend.associate_dhcp_options

    def moving(self: Any, dhcp_options: Any, vpc: Any) -> None:
        if getattr(vpc, "dhcp_options", None) is not None:
            vpc.dhcp_options.vpc = None
        associate(self, dhcp_options, vpc)

    monkeypatch.setattr(DHCPOptionsSetBackend, "associate_dhcp_options", moving)


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in MOTO_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    _as_aws_does(monkeypatch)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        assert host == "127.0.0.1"
        endpoint = f"http://{host}:{port}"
        _reset(endpoint)  # the server keeps moto's state in this process: start from nothing
        yield endpoint
        _reset(endpoint)
    finally:
        server.stop()


def _reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture
def local(moto_server: str) -> Iterator[tuple[LocalStack, str, str]]:
    """A throwaway VPC on the lab's addresses, healthy, in the moto server; the stack stand-in;
    and the address of a DNS server that never answers."""
    with DnsLab() as lab:
        world = AwsWorld(endpoint_url=moto_server, region=REGION)
        stack = LocalStack(world, lab, moto_server)
        dead = lab.add_server("dead-dns", behaviour="blackhole")
        vpc_id = world.create_vpc(lab.cidr)
        world.create_subnet(vpc_id, lab.cidr)
        world.associate(vpc_id, world.option_set("AmazonProvidedDNS"))
        world.client("organizations").create_organization(FeatureSet="ALL")
        try:
            yield stack, vpc_id, dead.address
        finally:
            stack.close()


def smoke(stack: LocalStack, endpoint: str, options: Options) -> tuple[Smoke, list[str]]:
    said: list[str] = []
    session = boto3.session.Session(region_name=REGION)
    smoke = Smoke(options, session, stack, endpoint_url=endpoint, say=said.append, poll_s=0.2)
    return smoke, said


def test_the_smoke_test_passes_end_to_end_and_answers_its_questions(
    local: tuple[LocalStack, str, str], moto_server: str
) -> None:
    stack, vpc_id, dead = local
    options = Options(
        stack=STACK,
        vpc_id=vpc_id,
        slack_workspace="T0123ABCDEF",
        slack_channel="C0123ABCDEF",
        press_button_wait_s=30,
        stack_set=True,
        dead_server=dead,
        wait_s=20,
    )
    runner, said = smoke(stack, moto_server, options)
    person = Person(stack)
    person.start()
    router = CheckerRouter(stack)
    with (
        router.routing(runner.session),
        stack.insights.answering(runner.session),
        chatbot_answering(runner.session),
    ):
        report = runner.run()
    person.stop.set()
    person.join(timeout=30)

    # Every step passed, each said how long it took
    assert [step.ok for step in report.steps] == [True] * len(report.steps), "\n".join(said)
    assert len(report.steps) == 10
    step_lines = [line for line in said if line.startswith("[")]
    assert len(step_lines) == 10
    assert all(re.match(r"\[\d+\] .+ \(\d+\.\d s\): ", line) for line in step_lines), said
    # The changes reached the checker as CloudTrail would hand them over; the button was pressed
    assert stack.delivered == ["CreateDhcpOptions", "AssociateDhcpOptions", "AssociateDhcpOptions"]
    assert person.pressed.is_set()
    assert person.command.startswith(f"lambda invoke --function-name {stack.checker_name}:chat ")
    assert f'"vpc_id":"{vpc_id}"' in person.command
    # Each question has an answer
    for key in ("interface", "button", "stackset"):
        assert report.answers[key].startswith("yes"), (key, report.answers[key])
    # And everything it made is gone: the stack, its key (scheduled), the queues, the option set
    assert stack.deleted == [STACK]
    world = stack.world
    assert world.sqs.list_queues(QueueNamePrefix=f"{STACK}-smoke").get("QueueUrls", []) == []
    from moto.kms.models import kms_backends  # (moto's DescribeKey fails on this key)

    key = kms_backends["123456789012"][REGION].keys[runner.made.key_id]
    assert key.key_state == "PendingDeletion"
    current = world.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["DhcpOptionsId"]
    assert current == runner.place["original"]
    sets = world.ec2.describe_dhcp_options()["DhcpOptions"]
    assert runner.made.option_set_id not in {s["DhcpOptionsId"] for s in sets}


def test_a_missing_alert_fails_the_smoke_test_and_everything_is_still_deleted(
    local: tuple[LocalStack, str, str], moto_server: str
) -> None:
    # Given a platform that deploys but whose changes never reach the checker
    stack, vpc_id, dead = local
    stack.changed = lambda event_name, request: None  # type: ignore[method-assign]
    options = Options(stack=STACK, vpc_id=vpc_id, dead_server=dead, wait_s=2)
    runner, said = smoke(stack, moto_server, options)
    with CheckerRouter(stack).routing(runner.session):
        report = runner.run()
    # Then the step waiting for the CRITICAL fails, the run stops there and cleans up
    assert not report.ok
    failed = [step for step in report.steps if not step.ok]
    assert [step.title for step in failed] == ["a dead option set: preflight WARNING and CRITICAL"]
    assert "no CRITICAL, WARNING within 2 s" in failed[0].said
    assert report.steps[-1].title == "delete everything it made"
    assert report.steps[-1].ok, report.steps[-1].said
    current = stack.world.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["DhcpOptionsId"]
    assert current == runner.place["original"]
    assert stack.deleted == [STACK]
    assert "not answered" in "\n".join(said)


def test_the_real_platform_deploys_with_the_sam_cli(tmp_path: Path) -> None:
    # Given a stand-in `sam` that records its command lines
    log = tmp_path / "sam.log"
    fake = tmp_path / "sam"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    platform = SamPlatform(boto3.session.Session(region_name="eu-west-1"), str(fake))
    # When the smoke test deploys
    platform.deploy(STACK, {"VpcId": "vpc-0a1b2c3d4e5f60718", "SweepIntervalMinutes": "0"})
    # Then it builds, and deploys the stack it names, unattended, with the capabilities it needs
    build, deploy = log.read_text().splitlines()
    assert build == "build"
    assert deploy.startswith(f"deploy --stack-name {STACK} --region eu-west-1 --resolve-s3")
    assert "--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-confirm-changeset" in deploy
    assert deploy.endswith(
        "--parameter-overrides VpcId=vpc-0a1b2c3d4e5f60718 SweepIntervalMinutes=0"
    )


def test_make_smoke_aws_needs_a_stack_and_a_vpc() -> None:
    result = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "smoke-aws"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "usage: make smoke-aws STACK=" in result.stdout


def test_the_smoke_test_tags_the_vpc_with_the_checkers_own_tag_key() -> None:
    from dns_watchdog.constants import SELF_HEAL_TAG_KEY

    assert SMOKE_TAG_KEY == SELF_HEAL_TAG_KEY
