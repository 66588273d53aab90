"""Representative runs of the real checker, with every AWS call it makes recorded.

Each flow builds a world in moto (devtools/awsworld.py), runs the real canaries through the DNS
lab on loopback (devtools/local_lambda.py), plays Reachability Analyzer with the kit's stand-in,
and hands the checker a series of events with a :class:`devtools.awsworld.CallRecorder` on the
session its clients come from. The world, the canary platform and the test's own look-ups use
sessions of their own, so only the checker's calls are recorded.

- single account: every optional feature on (chat, self-healing, the blocking rule, workload
  evidence): a new
  option set preflighted, a sweep, a breaking association (stale canary refreshed, healed,
  analysed, paged), a security group and a network ACL change, a manual check, the recovery;
- organization: the sweep fanned out to (account, region) targets through the queue, a member
  account's change checked through the member role (healed and analysed there), and the central
  account checked in a region other than its home region, by a sweep and by a change.

What a flow returns names the stack it stands for (the template parameters it was run with, the
resources the recorded ARNs belong to) so that a test can ask the template's roles about each call.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from dns_watchdog.constants import ANALYSIS_TAG_KEY, CANARY_TAG_KEY

from devtools.awsworld import (
    AwsWorld,
    CallRecorder,
    DnsExtrasStandIn,
    LogsInsightsStandIn,
    NetworkInsightsStandIn,
    RecordedCall,
    function_zip,
    lambda_vpc_ids,
    local_aws,
)
from devtools.dnslab import DnsLab, LabServer
from devtools.lambdakit import (
    ACCOUNT,
    CHECKER_DIR,
    REGION,
    FakeLambdaContext,
    LambdaHandler,
    cloudtrail_event,
    environment_variables,
    load_event,
    load_handler,
)
from devtools.local_lambda import LocalCanaryPlatform
from devtools.orgworld import (
    AssumeRoleGate,
    create_member_role,
    forwarded_change,
    session_in,
    sqs_batch_event,
)

HOME = ACCOUNT
MEMBER = "222222222222"
OTHER_REGION = "eu-west-1"
ORGANIZATION = "o-a1b2c3d4e5"
MEMBER_ROLE = "vpc-dns-watchdog-member"
CHECKER_ROLE_ARN = f"arn:aws:iam::{HOME}:role/vpc-dns-watchdog-CheckerRole-ABCDEF123456"
CHANGED_BY = f"arn:aws:sts::{HOME}:assumed-role/NetworkAdmin/jane.doe"
SELF_HEAL_TAG = "dhcp-watchdog:self-heal"
STATE_TABLE = "vpc-dns-watchdog-state"
SWEEP_QUEUE = "vpc-dns-watchdog-sweep"
AMAZON_NAMES = {
    f"{service}.{region}.amazonaws.com": {"A": ["52.94.0.1"]}
    for service in ("sts", "lambda")
    for region in (REGION, OTHER_REGION)
}


@dataclass(frozen=True)
class Call:
    """A recorded call, with the account whose credentials signed it."""

    service: str
    operation: str
    region: str
    account: str
    params: dict[str, Any]


@dataclass
class Flow:
    """What one flow recorded, and the stack it stands for."""

    name: str
    # template.yaml's parameters, and the ARNs / names of the stack's resources the world holds
    main_values: dict[str, Any]
    # member-template.yaml's parameters (organization mode)
    member_values: dict[str, Any] | None
    calls: list[Call] = field(default_factory=list)
    # resource ARN -> its tags (what IAM's aws:ResourceTag/... keys read)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Watched:
    world: AwsWorld
    account: str
    region: str
    vpc_id: str
    subnet_id: str
    group_id: str
    good: str
    bad: str
    canary: str


def watch(
    world: AwsWorld, lab: DnsLab, dead: LabServer, account: str, platform: LocalCanaryPlatform
) -> Watched:
    """A VPC on the lab's CIDR, tagged for self-healing, its option sets and one canary."""
    vpc_id = world.create_vpc(lab.cidr)
    subnet_id = world.create_subnet(vpc_id, lab.cidr)
    group_id = world.create_security_group(vpc_id, "canary-dns-egress", "DNS egress")
    world.ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": SELF_HEAL_TAG, "Value": "true"}])
    good = world.option_set("AmazonProvidedDNS")
    bad = world.option_set(dead.address)
    world.associate(vpc_id, good)
    canary = f"vpc-dns-canary-{vpc_id}-0f1e2d3c"
    world.add_canary(
        vpc_id, canary, subnet_ids=[subnet_id], security_group_ids=[group_id], timeout_s=5
    )
    platform.place(canary, world.session, world.region)
    return Watched(world, account, world.region, vpc_id, subnet_id, group_id, good, bad, canary)


def own_dns(watched: Watched, extras: DnsExtrasStandIn) -> None:
    """What discovery reads in the VPC: a private zone, a forward rule, a DNS Firewall rule
    group with a BLOCK list, a Route 53 Profile bringing a rule."""
    world, vpc_id = watched.world, watched.vpc_id
    zone = world.private_zone(vpc_id, "corp.internal", {"app.corp.internal": "10.9.0.5"})
    rule = world.forward_rule(vpc_id, "onprem.example", ["10.9.0.10"])
    group, domains, profile = (
        "rslvr-frg-0123456789abcdef",
        "rslvr-fdl-0123456789abcdef",
        ("rp-0123456789abcdef"),
    )
    extras.firewall_associations[vpc_id] = [
        {"FirewallRuleGroupId": group, "VpcId": vpc_id, "Priority": 101, "Status": "COMPLETE"}
    ]
    extras.firewall_rules[group] = [
        {
            "FirewallDomainListId": domains,
            "Priority": 1,
            "Action": "BLOCK",
            "BlockResponse": "NXDOMAIN",
        }
    ]
    extras.firewall_domains[domains] = ["*.blocked.example"]
    extras.profile_associations[vpc_id] = [
        {"ProfileId": profile, "ResourceId": vpc_id, "Status": "COMPLETE"}
    ]
    extras.profile_resources[profile] = [
        {
            "ResourceArn": f"arn:aws:route53resolver:{watched.region}:{watched.account}:"
            f"resolver-rule/{rule}",
            "ResourceType": "AWS::Route53Resolver::ResolverRule",
            "Status": "COMPLETE",
        },
        {
            "ResourceArn": f"arn:aws:route53:::hostedzone/{zone}",
            "ResourceType": "AWS::Route53::HostedZone",
            "Status": "COMPLETE",
        },
    ]


def lambda_interface(watched: Watched, insights: NetworkInsightsStandIn) -> None:
    """The interface Lambda created for the canary (the analyses' source)."""
    eni = watched.world.ec2.create_network_interface(
        SubnetId=watched.subnet_id, Groups=[watched.group_id]
    )["NetworkInterface"]["NetworkInterfaceId"]
    insights.add_lambda_interface(
        interface_id=eni,
        vpc_id=watched.vpc_id,
        subnet_id=watched.subnet_id,
        group_ids=[watched.group_id],
    )


WORKLOAD = "orders-api"


def workload(watched: Watched, insights: LogsInsightsStandIn) -> None:
    """A function attached to the VPC besides its canary, whose log group holds DNS errors."""
    watched.world.lambda_.create_function(
        FunctionName=WORKLOAD,
        Runtime="python3.12",
        Role=watched.world.role_arn,
        Handler="app.lambda_handler",
        Code={"ZipFile": function_zip()},
        VpcConfig={"SubnetIds": [watched.subnet_id], "SecurityGroupIds": [watched.group_id]},
    )
    insights.log_groups.add(f"/aws/lambda/{WORKLOAD}")
    insights.dns_errors[f"/aws/lambda/{WORKLOAD}"] = 12


def invoke(checker: LambdaHandler, event: dict[str, Any]) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):  # its metric documents
        context = FakeLambdaContext("vpc-dns-watchdog-checker", timeout_ms=190_000)
        result: dict[str, Any] = checker(event, context)
    return result


def by_admin(event: dict[str, Any], account: str = HOME) -> dict[str, Any]:
    event["detail"]["userIdentity"]["arn"] = (
        f"arn:aws:sts::{account}:assumed-role/NetworkAdmin/jane.doe"
    )
    event["id"] = str(uuid.uuid4())
    return event


def association(watched: Watched, option_set: str) -> dict[str, Any]:
    """Associate in (moto) EC2; the CloudTrail event as the bus delivers it."""
    watched.world.associate(watched.vpc_id, option_set)
    event = forwarded_change(
        "associate_dhcp_options",
        account=watched.account,
        region=watched.region,
        vpcId=watched.vpc_id,
        dhcpOptionsId=option_set,
    )
    return by_admin(event, watched.account)


def checker_settings(resources_settings: dict[str, str], lab: DnsLab) -> dict[str, str]:
    return {
        **resources_settings,
        "CANARY_DEADLINE_MS": "800",
        "REFRESH_BUDGET_S": "20",
        "SWEEP_CONFIRM_DELAY_S": "0",
        "SELF_HEALING": "on",
        "CHECKER_ROLE_ARN": CHECKER_ROLE_ARN,
        "NAME_BLOCKING_RULE": "true",
        "BLOCKING_ANALYSIS_BUDGET_S": "20",
        "WORKLOAD_EVIDENCE": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LINT_ALLOWED_NETWORKS": lab.cidr,
        # Discovery reads every part (the calls to grant) but adds no probe to the plans: the
        # lab serves none of the names the flows' zones and rules would make the canaries ask.
        "MAX_DISCOVERED_PROBES": "0",
    }


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        yield


def single_account() -> Flow:
    with DnsLab() as lab, local_aws() as extras, quiet():
        amazon = lab.add_server("amazon-resolver", records=AMAZON_NAMES, host=2)
        dead = lab.add_server("dead-dns", behaviour="blackhole")
        platform = LocalCanaryPlatform(lab, amazon, region=REGION)
        world = AwsWorld(region=REGION)  # a session of its own: never recorded
        home = watch(world, lab, dead, HOME, platform)
        own_dns(home, extras)
        insights = NetworkInsightsStandIn()
        lambda_interface(home, insights)
        logs = LogsInsightsStandIn()
        workload(home, logs)
        resources = world.checker_resources(table=STATE_TABLE, chat_topic="chat")
        acl_id = world.ec2.describe_network_acls(
            Filters=[{"Name": "vpc-id", "Values": [home.vpc_id]}]
        )["NetworkAcls"][0]["NetworkAclId"]
        recorder = CallRecorder()
        settings = checker_settings(resources.settings, lab)
        with (
            recorder.recording(),
            insights.answering(),
            logs.answering(),
            lambda_vpc_ids({home.subnet_id: home.vpc_id}),
            platform.routing(),
            environment_variables(settings),
        ):
            checker = load_handler(CHECKER_DIR)
            created = cloudtrail_event("create_dhcp_options")
            created["detail"]["responseElements"]["dhcpOptions"]["dhcpOptionsId"] = home.bad
            invoke(checker, by_admin(created))
            invoke(checker, load_event("scheduled_sweep"))
            invoke(checker, association(home, home.bad))
            for sample, parameters in (
                ("revoke_security_group_egress", {"groupId": home.group_id}),
                ("replace_network_acl_entry", {"networkAclId": acl_id}),
            ):
                invoke(checker, by_admin(cloudtrail_event(sample, **parameters)))
            invoke(checker, {"action": "check", "vpc_ids": [home.vpc_id], "reason": "flow"})
            invoke(checker, association(home, home.good))
        main_values = {
            "NameBlockingRule": "true",
            "SelfHealing": "on",
            "WorkloadEvidence": "true",
            "SlackWorkspaceId": "T0123ABCDEF",
            "SlackChannelId": "C0123ABCDEF",
            "AlertTopic": resources.topic_arn,
            "ChatTopic": resources.chat_topic_arn,
            "StateTable.Arn": f"arn:aws:dynamodb:{REGION}:{HOME}:table/{STATE_TABLE}",
        }
        return finish("single account", recorder, main_values, None, [home], insights)


def organization() -> Flow:
    with DnsLab() as lab, local_aws() as extras, quiet():
        amazon = lab.add_server("amazon-resolver", records=AMAZON_NAMES, host=2)
        dead = lab.add_server("dead-dns", behaviour="blackhole")
        platform = LocalCanaryPlatform(lab, amazon, region=REGION)
        create_member_role(MEMBER, role_name=MEMBER_ROLE)
        insights = NetworkInsightsStandIn()
        central = AwsWorld(region=REGION)
        places = [
            watch(central, lab, dead, HOME, platform),
            watch(AwsWorld(region=OTHER_REGION), lab, dead, HOME, platform),
            watch(
                AwsWorld(session_in(MEMBER, OTHER_REGION), region=OTHER_REGION),
                lab,
                dead,
                MEMBER,
                platform,
            ),
        ]
        logs = LogsInsightsStandIn()
        for watched in places:
            lambda_interface(watched, insights)
            workload(watched, logs)
            own_dns(watched, extras)
        resources = central.checker_resources(table=STATE_TABLE)
        queue_url = central.sqs.create_queue(QueueName=SWEEP_QUEUE)["QueueUrl"]
        queue_arn = f"arn:aws:sqs:{REGION}:{HOME}:{SWEEP_QUEUE}"
        settings = {
            **checker_settings(resources.settings, lab),
            "MEMBER_ROLE_NAME": MEMBER_ROLE,
            "HOME_ACCOUNT_ID": HOME,
            "SWEEP_QUEUE_URL": queue_url,
            "SWEEP_TARGETS": f"{HOME}|{MEMBER}:{REGION}|{OTHER_REGION}",
        }
        gate = AssumeRoleGate(caller_account=HOME)
        recorder = CallRecorder()
        with (
            recorder.recording(),
            insights.answering(),
            logs.answering(),
            lambda_vpc_ids({w.subnet_id: w.vpc_id for w in places}),
            platform.routing(),
            environment_variables(settings),
        ):
            assert boto3.DEFAULT_SESSION is not None
            gate.guard(boto3.DEFAULT_SESSION)
            checker = load_handler(CHECKER_DIR)
            invoke(checker, load_event("scheduled_sweep"))  # the fan-out
            deliver_sweep(central, checker, queue_url, queue_arn)
            home_elsewhere, member = places[1], places[2]
            invoke(checker, association(member, member.bad))
            invoke(checker, association(home_elsewhere, home_elsewhere.bad))
        main_values = {
            "NameBlockingRule": "true",
            "SelfHealing": "on",
            "WorkloadEvidence": "true",
            "MemberRoleName": MEMBER_ROLE,
            "OrganizationId": ORGANIZATION,
            "SweepTargets": settings["SWEEP_TARGETS"],
            "AlertTopic": resources.topic_arn,
            "StateTable.Arn": f"arn:aws:dynamodb:{REGION}:{HOME}:table/{STATE_TABLE}",
            "SweepQueue.Arn": queue_arn,
        }
        member_values = {
            "CentralAccountId": HOME,
            "CentralRegion": REGION,
            "CentralEventBusName": "vpc-dns-watchdog-org",
            "CentralCheckerRoleName": CHECKER_ROLE_ARN.rsplit("/", 1)[1],
            "OrganizationId": ORGANIZATION,
            "MemberRoleName": MEMBER_ROLE,
            "RoleRegion": OTHER_REGION,
            "NameBlockingRule": "true",
            "SelfHealing": "on",
            "WorkloadEvidence": "true",
        }
        return finish("organization", recorder, main_values, member_values, places, insights)


def deliver_sweep(world: AwsWorld, checker: LambdaHandler, queue_url: str, queue_arn: str) -> None:
    """The fan-out queue's event source mapping, as demo_org plays it."""
    while messages := world.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        response = invoke(checker, sqs_batch_event(messages, queue_arn))
        assert not response.get("batchItemFailures"), response
        for message in messages:
            world.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def finish(
    name: str,
    recorder: CallRecorder,
    main_values: dict[str, Any],
    member_values: dict[str, Any] | None,
    places: list[Watched],
    insights: NetworkInsightsStandIn,
) -> Flow:
    """The recorded calls with their accounts, and the tags of what they touched (still in moto)."""
    from moto.iam.models import get_account_id_from

    flow = Flow(name, main_values, member_values)
    flow.calls = [
        Call(c.service, c.operation, c.region, get_account_id_from(c.access_key), c.params)
        for c in recorder.calls
    ]
    for watched in places:
        ec2 = watched.world.ec2
        prefix = f"arn:aws:ec2:{watched.region}:{watched.account}"
        vpc_tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [watched.vpc_id]}])
        flow.tags[f"{prefix}:vpc/{watched.vpc_id}"] = {
            tag["Key"]: tag["Value"] for tag in vpc_tags["Tags"]
        }
        function = watched.world.lambda_.get_function(FunctionName=watched.canary)
        flow.tags[function["Configuration"]["FunctionArn"]] = function.get("Tags", {})
        assert function["Tags"][CANARY_TAG_KEY] == watched.vpc_id
    for resource_id in (*insights.paths, *insights.analyses):
        flow.tags[resource_id] = insights.tags_of(resource_id)
        assert ANALYSIS_TAG_KEY in flow.tags[resource_id]
    return flow


def calls_json(flow: Flow) -> str:
    """The recorded calls, one line each (for a failing test's message)."""
    return "\n".join(
        json.dumps([c.account, c.region, c.service, c.operation], separators=(",", ":"))
        for c in flow.calls
    )


__all__ = ["Call", "Flow", "RecordedCall", "organization", "single_account"]
