"""`make smoke-aws STACK=... VPC=...`: the watchdog in a real account, end to end, then gone.

With your AWS credentials and a throwaway VPC (its subnets are looked up), it:

1. deploys the stack (`sam build`, `sam deploy`; with a chat channel, the Roll back button too);
2. subscribes a queue of its own to the alert topic (and one to the chat topic) and asks the
   checker for a baseline (manual check: the VPC must be OK first);
3. creates an option set naming a dead DNS server (an unused address of the VPC) and associates
   it: the CRITICAL must reach the queue, and the preflight WARNING of the new set too;
4. checks the chat document reached the chat topic (a custom notification naming the VPC);
5. optionally waits for a person to press Roll back in the chat channel;
6. runs one Reachability Analyzer analysis from the canary's Lambda network interface to the
   dead server (about 0.10 USD), and deletes it;
7. rolls back to the original option set and waits for the RECOVERED;
8. optionally creates (and deletes) a service-managed StackSet of member-template.yaml;
9. deletes everything it made: the stack, its retained KMS key (scheduled, 7 days), the option
   set, the queues and their subscriptions, the analysis.

Each step prints its time. At the end it answers the three questions only a real account can
(docs/deploy.md, "Smoke test in a real account"): is a Lambda interface accepted as an analysis
source; do the Roll back button's variables fill in its command from a notification; do
StackSets accept the member template. Exit status 0 only if every check passed.

Everything but `sam deploy` runs in CI against a moto server (tests/devtools/test_smoke_aws.py):
there a `Platform` stands in for what only AWS does here - deploying, and CloudTrail with
EventBridge handing each change to the checker.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from devtools.lambdakit import REPO_ROOT

# The checker's constants.SELF_HEAL_TAG_KEY (tests/devtools/test_smoke_aws.py holds them equal):
# the tag a VPC needs before the checker rolls it back, by itself or when the button asks.
SELF_HEAL_TAG_KEY = "dhcp-watchdog:self-heal"

ANALYSIS_TAG = "dhcp-watchdog:reachability"
QUESTIONS = {
    "interface": "Is a Lambda network interface accepted as a Reachability Analyzer source?",
    "button": "Do the Roll back button's variables fill in its command from a notification?",
    "stackset": "Do service-managed StackSets accept member-template.yaml?",
}
# The checker runs up to 120 s; the Lambda client must wait for its answer.
LAMBDA_CONFIG = Config(read_timeout=150, retries={"mode": "standard", "max_attempts": 2})


class SmokeFailed(RuntimeError):
    """A check failed: what was expected and what happened."""


class Platform(Protocol):
    """What AWS itself does in a real account, and a stand-in does against moto."""

    def deploy(self, stack: str, parameters: Mapping[str, str]) -> None:
        """Deploy template.yaml as `stack` with these parameters (and wait for it)."""

    def delete(self, stack: str) -> None:
        """Delete `stack` (and wait for it)."""

    def changed(self, event_name: str, request: Mapping[str, Any]) -> None:
        """A call the smoke test just made (CloudTrail records it; EventBridge delivers it)."""


@dataclass
class SamPlatform:
    """The real one: the SAM CLI deploys; CloudTrail and EventBridge deliver changes."""

    session: boto3.session.Session
    sam: str = "sam"

    def deploy(self, stack: str, parameters: Mapping[str, str]) -> None:
        region = str(self.session.region_name)
        overrides = [f"{name}={value}" for name, value in parameters.items()]
        self._sam("build")
        self._sam(
            "deploy", "--stack-name", stack, "--region", region, "--resolve-s3",
            "--s3-prefix", stack, "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND",
            "--no-confirm-changeset", "--no-fail-on-empty-changeset",
            "--parameter-overrides", *overrides,
        )  # fmt: skip

    def delete(self, stack: str) -> None:
        cloudformation = self.session.client("cloudformation")
        cloudformation.delete_stack(StackName=stack)
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=stack, WaiterConfig={"Delay": 15, "MaxAttempts": 160}
        )

    def changed(self, event_name: str, request: Mapping[str, Any]) -> None:
        """Nothing to do: CloudTrail records the call, EventBridge hands it to the checker."""

    def _sam(self, *arguments: str) -> None:
        subprocess.run([self.sam, *arguments], cwd=REPO_ROOT, check=True)


@dataclass
class Options:
    stack: str
    vpc_id: str
    slack_workspace: str = ""
    slack_channel: str = ""
    press_button_wait_s: int = 0
    stack_set: bool = False
    dead_server: str = ""
    wait_s: int = 1200  # for each alert: CloudTrail takes minutes to hand a call to EventBridge

    @property
    def chat(self) -> bool:
        return bool(self.slack_workspace and self.slack_channel)


@dataclass
class Step:
    title: str
    seconds: float = 0.0
    ok: bool = True
    said: str = ""


@dataclass
class Report:
    steps: list[Step] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


@dataclass
class Made:
    """What the smoke test created, to delete in the end."""

    deployed: bool = False
    option_set_id: str = ""
    queues: list[str] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    analyses: list[tuple[str, str]] = field(default_factory=list)  # (delete call, id)
    key_id: str = ""
    # The VPC was tagged for rollbacks by this test (the Roll back button asks the checker, which
    # rolls back only VPCs tagged dhcp-watchdog:self-heal=true): the tag is removed in the end.
    tagged: bool = False


class Smoke:
    """The smoke test: each step a method, timed and reported; cleanup always runs."""

    def __init__(
        self,
        options: Options,
        session: boto3.session.Session,
        platform: Platform,
        *,
        endpoint_url: str | None = None,
        say: Callable[[str], None] = print,
        poll_s: float = 10.0,
    ) -> None:
        self.options = options
        self.session = session
        self.platform = platform
        self.endpoint_url = endpoint_url
        self.say = say
        self.poll_s = poll_s
        self.report = Report()
        self.made = Made()
        self.outputs: dict[str, str] = {}
        self.place: dict[str, Any] = {}
        self.alerts_url = ""
        self.chat_url = ""
        self.critical: dict[str, Any] = {}
        self.rolled_back_by_button = False

    def client(self, service: str, config: Config | None = None) -> Any:
        return self.session.client(
            service,  # type: ignore[call-overload]  # the stubs type each literal service name
            endpoint_url=self.endpoint_url,
            config=config,
        )

    # ------------------------------------------------------------------------- the run

    def run(self) -> Report:
        steps: list[tuple[str, Callable[[], str]]] = [
            ("the account, the VPC and its subnets", self.find_place),
            ("deploy the stack", self.deploy),
            ("subscribe queues to the topics; baseline check", self.baseline),
            ("a dead option set: preflight WARNING and CRITICAL", self.break_dns),
            ("the chat document on the chat topic", self.chat_document),
            ("the Roll back button", self.button),
            ("a Reachability analysis from the canary's interface", self.reachability),
            ("roll back: RECOVERED", self.roll_back),
            ("a service-managed StackSet of member-template.yaml", self.stack_set),
        ]
        started = time.monotonic()
        try:
            for title, action in steps:
                if not self._step(title, action):
                    break
        finally:
            self._step("delete everything it made", self.clean_up)
        self.say(f"Smoke test finished in {time.monotonic() - started:.0f} s.")
        for key, question in QUESTIONS.items():
            self.say(
                f"  {question}\n    {self.report.answers.get(key, 'not answered: not reached')}"
            )
        return self.report

    def _step(self, title: str, action: Callable[[], str]) -> bool:
        number = len(self.report.steps) + 1
        step = Step(title)
        self.report.steps.append(step)
        started = time.monotonic()
        try:
            step.said = action()
        except (SmokeFailed, ClientError, BotoCoreError, subprocess.CalledProcessError) as exc:
            step.ok = False
            step.said = f"FAILED: {exc}"
        step.seconds = time.monotonic() - started
        self.say(f"[{number}] {title} ({step.seconds:.1f} s): {step.said}")
        return step.ok

    # ------------------------------------------------------------------------- the steps

    def find_place(self) -> str:
        account = self.client("sts").get_caller_identity()["Account"]
        ec2 = self.client("ec2")
        vpcs = ec2.describe_vpcs(VpcIds=[self.options.vpc_id])["Vpcs"]
        subnets = ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [self.options.vpc_id]}]
        )["Subnets"]
        if not subnets:
            raise SmokeFailed(f"{self.options.vpc_id} has no subnets for the canary")
        vpc = vpcs[0]
        self.place = {
            "account": account,
            "region": self.session.region_name,
            "cidr": vpc["CidrBlock"],
            "original": vpc.get("DhcpOptionsId", "default"),
            "subnets": sorted(s["SubnetId"] for s in subnets),
            "dead": self.options.dead_server or self._unused_address(vpc["CidrBlock"]),
        }
        return (
            f"account {account}, {self.place['region']}, {self.options.vpc_id} "
            f"({vpc['CidrBlock']}, option set {self.place['original']}), "
            f"{len(subnets)} subnet(s); dead server {self.place['dead']}"
        )

    def _unused_address(self, cidr: str) -> str:
        """An address of the VPC nobody holds: nothing answers DNS there."""
        network = ipaddress.ip_network(cidr)
        held = {
            address["PrivateIpAddress"]
            for interface in self.client("ec2").describe_network_interfaces(
                Filters=[{"Name": "vpc-id", "Values": [self.options.vpc_id]}]
            )["NetworkInterfaces"]
            for address in interface.get("PrivateIpAddresses", [])
        }
        for offset in range(10, 200):
            candidate = str(network.broadcast_address - offset)
            if candidate not in held:
                return candidate
        raise SmokeFailed(f"no unused address in {cidr}")

    def deploy(self) -> str:
        parameters = {
            "VpcId": self.options.vpc_id,
            "SubnetIds": ",".join(self.place["subnets"]),
            # Deterministic: only the changes this test makes page (no sweep, no heartbeat).
            "SweepIntervalMinutes": "0",
        }
        if self.options.chat:
            parameters.update(
                {
                    "SlackWorkspaceId": self.options.slack_workspace,
                    "SlackChannelId": self.options.slack_channel,
                    "ChatRollbackAction": "true",
                }
            )
        if self.options.chat:
            self._tag_for_rollbacks()
        self.made.deployed = True
        self.platform.deploy(self.options.stack, parameters)
        stack = self.client("cloudformation").describe_stacks(StackName=self.options.stack)
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}
        return ", ".join(f"{k}={v}" for k, v in sorted(self.outputs.items()) if "Topic" in k)

    def _tag_for_rollbacks(self) -> None:
        """The button asks the checker, which rolls back only VPCs tagged for it."""
        ec2 = self.client("ec2")
        [vpc] = ec2.describe_vpcs(VpcIds=[self.options.vpc_id])["Vpcs"]
        tags = {tag["Key"]: tag["Value"] for tag in vpc.get("Tags", [])}
        if tags.get(SELF_HEAL_TAG_KEY) == "true":
            return
        ec2.create_tags(
            Resources=[self.options.vpc_id], Tags=[{"Key": SELF_HEAL_TAG_KEY, "Value": "true"}]
        )
        self.made.tagged = True

    def baseline(self) -> str:
        self.alerts_url = self._subscribe(self.outputs["AlertTopicArn"], "alerts")
        if self.options.chat:
            self.chat_url = self._subscribe(self.outputs["ChatTopicArn"], "chat")
        answer = self._invoke_checker(
            {"action": "check", "vpc_ids": [self.options.vpc_id], "reason": "smoke test baseline"}
        )
        verdicts = [vpc.get("verdict") for vpc in answer.get("vpcs", [])]
        if verdicts != ["OK"]:
            raise SmokeFailed(f"the VPC must be healthy first; the checker answered {answer}")
        return "queues subscribed; the checker finds the VPC OK"

    def break_dns(self) -> str:
        ec2 = self.client("ec2")
        servers = [{"Key": "domain-name-servers", "Values": [self.place["dead"]]}]
        created = ec2.create_dhcp_options(DhcpConfigurations=servers)["DhcpOptions"]
        self.made.option_set_id = created["DhcpOptionsId"]
        self.platform.changed("CreateDhcpOptions", {"dhcpOptionsId": self.made.option_set_id})
        ec2.associate_dhcp_options(DhcpOptionsId=self.made.option_set_id, VpcId=self.options.vpc_id)
        self.platform.changed(
            "AssociateDhcpOptions",
            {"dhcpOptionsId": self.made.option_set_id, "vpcId": self.options.vpc_id},
        )
        started = time.monotonic()
        wanted = {"CRITICAL": self._about_vpc, "WARNING": self._about_new_set}
        found = self._wait(self.alerts_url, wanted)
        self.critical = found.get("CRITICAL", {})
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise SmokeFailed(f"no {', '.join(missing)} within {self.options.wait_s} s")
        document = self.critical["document"]
        return (
            f"CRITICAL {document.get('diagnosis', {}).get('code', '?')} after "
            f"{time.monotonic() - started:.0f} s; the preflight WARNING too"
        )

    def _about_vpc(self, alert: dict[str, Any]) -> bool:
        return bool(alert["attributes"].get("vpc_id") == self.options.vpc_id)

    def _about_new_set(self, alert: dict[str, Any]) -> bool:
        return bool(alert["attributes"].get("dhcp_options_id") == self.made.option_set_id)

    def chat_document(self) -> str:
        if not self.options.chat:
            return "skipped: no chat channel (SLACK_WORKSPACE, SLACK_CHANNEL)"
        found = self._wait(self.chat_url, {"CRITICAL": self._chat_about_vpc}, chat=True)
        if "CRITICAL" not in found:
            raise SmokeFailed(
                f"no custom notification on the chat topic in {self.options.wait_s} s"
            )
        document = found["CRITICAL"]["document"]
        if (document.get("version"), document.get("source")) != ("1.0", "custom"):
            raise SmokeFailed(f"not a custom notification: {json.dumps(document)[:300]}")
        context = document["metadata"]["additionalContext"]
        button = "with" if context.get("rollback_request") else "without"
        return (
            f"custom notification, thread {document['metadata'].get('threadId')}, {button} the "
            f"Roll back button's request (rollback command: {context.get('rollback_command')})"
        )

    def _chat_about_vpc(self, alert: dict[str, Any]) -> bool:
        context = alert["document"].get("metadata", {}).get("additionalContext", {})
        return bool(context.get("vpc_id") == self.options.vpc_id)

    def button(self) -> str:
        if not self.options.chat:
            self.report.answers["button"] = "not answered: no chat channel was given"
            return "skipped: no chat channel"
        action = self._custom_action()
        wait_s = self.options.press_button_wait_s
        if wait_s <= 0:
            self.report.answers["button"] = (
                f"not answered: the Chatbot API accepted the action ({action}); nobody was asked "
                "to press it (PRESS_BUTTON_WAIT)"
            )
            return "the action exists; not pressed (PRESS_BUTTON_WAIT=0)"
        self.say(f"    Press 'Roll back' on the CRITICAL in the chat channel (waiting {wait_s} s)")
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self._current_option_set() == self.place["original"]:
                self.rolled_back_by_button = True
                self.report.answers["button"] = (
                    f"yes: the button associated {self.place['original']} with "
                    f"{self.options.vpc_id} ({action})"
                )
                return "pressed: the VPC is back on its original option set"
            time.sleep(min(self.poll_s, 5.0))
        self.report.answers["button"] = f"not answered: nobody pressed within {wait_s} s"
        return f"nobody pressed within {wait_s} s"

    def _custom_action(self) -> str:
        resource = self.client("cloudformation").describe_stack_resource(
            StackName=self.options.stack, LogicalResourceId="ChatRollbackCustomAction"
        )["StackResourceDetail"]
        arn = resource["PhysicalResourceId"]
        try:
            definition = self.client("chatbot").get_custom_action(CustomActionArn=arn)
        except (ClientError, BotoCoreError) as exc:
            return f"{arn}, not readable: {exc}"
        command = definition["CustomAction"]["Definition"]["CommandText"]
        return f"{arn}: {command}"

    def _current_option_set(self) -> str:
        vpc = self.client("ec2").describe_vpcs(VpcIds=[self.options.vpc_id])["Vpcs"][0]
        return str(vpc.get("DhcpOptionsId", "default"))

    def reachability(self) -> str:
        ec2 = self.client("ec2")
        interface = self._canary_interface()
        if interface is None:
            self.report.answers["interface"] = "not answered: no Lambda interface of the canary"
            raise SmokeFailed("the canary's Lambda network interface was not found")
        tags = [{"Key": ANALYSIS_TAG, "Value": self.options.vpc_id}]
        try:
            path = ec2.create_network_insights_path(
                Source=interface,
                DestinationIp=self.place["dead"],
                Protocol="udp",
                DestinationPort=53,
                TagSpecifications=[{"ResourceType": "network-insights-path", "Tags": tags}],
            )["NetworkInsightsPath"]["NetworkInsightsPathId"]
        except ClientError as exc:
            self.report.answers["interface"] = f"no: CreateNetworkInsightsPath refused it ({exc})"
            raise SmokeFailed(str(exc)) from exc
        self.made.analyses.append(("path", path))
        analysis = ec2.start_network_insights_analysis(
            NetworkInsightsPathId=path,
            TagSpecifications=[{"ResourceType": "network-insights-analysis", "Tags": tags}],
        )["NetworkInsightsAnalysis"]["NetworkInsightsAnalysisId"]
        self.made.analyses.insert(0, ("analysis", analysis))
        result = self._analysis_result(analysis)
        codes = sorted({e.get("ExplanationCode", "?") for e in result.get("Explanations", [])})
        said = (
            f"{result.get('Status')}, path found: {result.get('NetworkPathFound')}, "
            f"explanations: {', '.join(codes) or 'none'}"
        )
        self.report.answers["interface"] = (
            f"yes: {interface} was accepted; the analysis {said}"
            if result.get("Status") == "succeeded"
            else f"no: the analysis of {interface} ended {result.get('Status')}: "
            f"{result.get('StatusMessage', '')}"
        )
        return said

    def _canary_interface(self) -> str | None:
        groups = [g for g in self.outputs.get("CanarySecurityGroupsInUse", "").split(",") if g]
        filters = [
            {"Name": "interface-type", "Values": ["lambda"]},
            {"Name": "vpc-id", "Values": [self.options.vpc_id]},
        ]
        if groups:
            filters.append({"Name": "group-id", "Values": groups})
        found = self.client("ec2").describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
        return str(found[0]["NetworkInterfaceId"]) if found else None

    def _analysis_result(self, analysis: str) -> dict[str, Any]:
        deadline = time.monotonic() + 300
        while True:
            [result] = self.client("ec2").describe_network_insights_analyses(
                NetworkInsightsAnalysisIds=[analysis]
            )["NetworkInsightsAnalyses"]
            if result.get("Status") != "running" or time.monotonic() > deadline:
                return dict(result)
            time.sleep(self.poll_s)

    def roll_back(self) -> str:
        original = self.place["original"]
        if not self.rolled_back_by_button:
            self.client("ec2").associate_dhcp_options(
                DhcpOptionsId=original, VpcId=self.options.vpc_id
            )
            self.platform.changed(
                "AssociateDhcpOptions", {"dhcpOptionsId": original, "vpcId": self.options.vpc_id}
            )
        started = time.monotonic()
        found = self._wait(self.alerts_url, {"RECOVERED": self._about_vpc})
        if "RECOVERED" not in found:
            raise SmokeFailed(f"no RECOVERED within {self.options.wait_s} s")
        return f"back on {original}; RECOVERED after {time.monotonic() - started:.0f} s"

    def stack_set(self) -> str:
        if not self.options.stack_set:
            self.report.answers["stackset"] = "not answered: not asked (STACK_SET=1)"
            return "skipped (STACK_SET=1 to try)"
        try:
            organization = self.client("organizations").describe_organization()["Organization"]
        except ClientError as exc:
            self.report.answers["stackset"] = f"not answered: no organization here ({exc})"
            return "skipped: the account is not in an organization"
        call_as = (
            "SELF"
            if organization["MasterAccountId"] == self.place["account"]
            else ("DELEGATED_ADMIN")
        )
        name = f"{self.options.stack}-smoke-member"
        cloudformation = self.client("cloudformation")
        try:
            cloudformation.create_stack_set(
                StackSetName=name,
                TemplateBody=(REPO_ROOT / "member-template.yaml").read_text(),
                PermissionModel="SERVICE_MANAGED",
                AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
                Capabilities=["CAPABILITY_NAMED_IAM"],
                CallAs=call_as,
                Parameters=_member_parameters(self.place["account"], self.place["region"]),
            )
        except ClientError as exc:
            self.report.answers["stackset"] = f"no: CreateStackSet refused it ({exc})"
            raise SmokeFailed(str(exc)) from exc
        cloudformation.delete_stack_set(StackSetName=name, CallAs=call_as)
        self.report.answers["stackset"] = (
            f"yes: CreateStackSet (SERVICE_MANAGED, automatic deployment, as {call_as}) accepted "
            "member-template.yaml; the stack set was deleted again (no instances)"
        )
        return f"accepted as {call_as}, then deleted"

    def clean_up(self) -> str:
        done: list[str] = []
        problems: list[str] = []
        for what, action in self._clean_up_actions():
            try:
                if action():
                    done.append(what)
            except (ClientError, BotoCoreError, subprocess.CalledProcessError) as exc:
                problems.append(f"{what}: {exc}")
        if problems:
            raise SmokeFailed("; ".join(problems) + " (delete these by hand)")
        return "deleted " + (", ".join(done) or "nothing (nothing was made)")

    def _clean_up_actions(self) -> Iterator[tuple[str, Callable[[], bool]]]:
        yield "the analysis", self._delete_analyses
        yield "the original option set back", self._restore_option_set
        yield "the dead option set", self._delete_option_set
        yield "the subscriptions and queues", self._delete_queues
        yield "the stack", self._delete_stack
        yield "the stack's KMS key (scheduled, 7 days)", self._delete_key
        yield "the VPC's rollback tag", self._untag

    def _untag(self) -> bool:
        if not self.made.tagged:
            return False
        self.client("ec2").delete_tags(
            Resources=[self.options.vpc_id], Tags=[{"Key": SELF_HEAL_TAG_KEY}]
        )
        return True

    def _delete_analyses(self) -> bool:
        ec2 = self.client("ec2")
        for kind, resource_id in self.made.analyses:
            if kind == "analysis":
                ec2.delete_network_insights_analysis(NetworkInsightsAnalysisId=resource_id)
            else:
                ec2.delete_network_insights_path(NetworkInsightsPathId=resource_id)
        return bool(self.made.analyses)

    def _restore_option_set(self) -> bool:
        original = self.place.get("original")
        if not original or not self.made.option_set_id or self._current_option_set() == original:
            return False
        self.client("ec2").associate_dhcp_options(DhcpOptionsId=original, VpcId=self.options.vpc_id)
        return True

    def _delete_option_set(self) -> bool:
        if not self.made.option_set_id:
            return False
        self.client("ec2").delete_dhcp_options(DhcpOptionsId=self.made.option_set_id)
        return True

    def _delete_queues(self) -> bool:
        for subscription in self.made.subscriptions:
            self.client("sns").unsubscribe(SubscriptionArn=subscription)
        for queue in self.made.queues:
            self.client("sqs").delete_queue(QueueUrl=queue)
        return bool(self.made.queues)

    def _delete_stack(self) -> bool:
        if not self.made.deployed:
            return False
        try:
            resource = self.client("cloudformation").describe_stack_resource(
                StackName=self.options.stack, LogicalResourceId="WatchdogKey"
            )
            self.made.key_id = resource["StackResourceDetail"]["PhysicalResourceId"]
        except ClientError:
            self.made.key_id = ""  # the deploy failed before the key existed
        self.platform.delete(self.options.stack)
        return True

    def _delete_key(self) -> bool:
        # Retained by the stack (DeletionPolicy: Retain): nothing else deletes it.
        if not self.made.key_id:
            return False
        self.client("kms").schedule_key_deletion(KeyId=self.made.key_id, PendingWindowInDays=7)
        return True

    # ------------------------------------------------------------------------- plumbing

    def _subscribe(self, topic_arn: str, name: str) -> str:
        sqs = self.client("sqs")
        url: str = sqs.create_queue(QueueName=f"{self.options.stack}-smoke-{name}")["QueueUrl"]
        self.made.queues.append(url)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        subscription = self.client("sns").subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        self.made.subscriptions.append(subscription)
        return url

    def _invoke_checker(self, event: dict[str, Any]) -> dict[str, Any]:
        response = self.client("lambda", LAMBDA_CONFIG).invoke(
            FunctionName=self.outputs["CheckerFunctionName"], Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError") or not isinstance(payload, dict):
            raise SmokeFailed(f"the checker failed: {payload}")
        return payload

    def _wait(
        self,
        queue_url: str,
        wanted: Mapping[str, Callable[[dict[str, Any]], bool]],
        *,
        chat: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """Read the queue until an alert of each wanted severity matches, or the wait is over."""
        found: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + self.options.wait_s
        sqs = self.client("sqs")
        while set(wanted) - set(found) and time.monotonic() < deadline:
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=int(min(self.poll_s, 20)),
            ).get("Messages", [])
            for message in messages:
                alert = _alert(message, chat=chat)
                severity = alert["severity"]
                if severity in wanted and severity not in found and wanted[severity](alert):
                    found[severity] = alert
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return found


def _alert(message: Mapping[str, Any], *, chat: bool) -> dict[str, Any]:
    """An SNS notification, as an SQS subscriber receives it."""
    envelope = json.loads(message["Body"])
    attributes = {k: v.get("Value") for k, v in envelope.get("MessageAttributes", {}).items()}
    try:
        document = json.loads(envelope.get("Message", "null"))
    except json.JSONDecodeError:
        document = {}
    document = document if isinstance(document, dict) else {}
    if chat:
        context = document.get("metadata", {}).get("additionalContext", {})
        severity = context.get("severity", "")
    else:
        severity = attributes.get("severity", "")
    return {"severity": severity, "attributes": attributes, "document": document}


def _member_parameters(account: str, region: str) -> list[dict[str, str]]:
    """Placeholders: a stack set without instances deploys nothing."""
    values = {
        "CentralAccountId": account,
        "CentralRegion": region,
        "CentralEventBusName": "vpc-dns-watchdog-org",
        "CentralCheckerRoleName": "vpc-dns-watchdog-CheckerRole-SMOKE",
        "OrganizationId": "o-smoketest00",
        "RoleRegion": region,
    }
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


@contextmanager
def _exit_on_interrupt() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        print("interrupted: delete what the smoke test made by hand (see above)", file=sys.stderr)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="smoke_aws", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="a new stack name (it is deleted after)")
    parser.add_argument("--vpc", required=True, help="a throwaway VPC (its option set is changed)")
    parser.add_argument("--region", help="default: your AWS configuration")
    parser.add_argument("--slack-workspace", default="")
    parser.add_argument("--slack-channel", default="")
    parser.add_argument("--press-button-wait", type=int, default=0, metavar="SECONDS")
    parser.add_argument("--stack-set", action="store_true")
    parser.add_argument("--dead-server", default="", help="default: an unused address of the VPC")
    parser.add_argument("--sam", default="sam")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    options = Options(
        stack=args.stack,
        vpc_id=args.vpc,
        slack_workspace=args.slack_workspace,
        slack_channel=args.slack_channel,
        press_button_wait_s=args.press_button_wait,
        stack_set=args.stack_set,
        dead_server=args.dead_server,
    )
    with _exit_on_interrupt():
        report = Smoke(options, session, SamPlatform(session, args.sam)).run()
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
