"""`make demo-org`: organization mode end to end, two accounts and two regions, on this machine.

moto plays every account: the central account 123456789012 (us-east-1) runs the checker, its
state table, alert topic (an on-call queue subscribed) and the sweep fan-out queue, and watches one
VPC of its own; the member account 222222222222 holds the member role (trusting the central
account; STS refuses roles that do not exist, as AWS does) and a VPC in eu-west-1. Each VPC has a
real canary that the local Lambda platform runs through the DNS lab on loopback. The member
account's events reach the checker as the central event bus would deliver them: the envelope keeps
the source account and region; its Route 53 call is recorded in us-east-1 and names the VPC's
region in its request. The scheduled sweep fans out one SQS message per (account, region), and
the queue's messages come back to the checker as SQS batches, as the event source mapping would
hand them over.

The story: an organization sweep finds both VPCs healthy; a second member account forges a change
naming the first (rejected: nothing runs, nothing pages); the member account associates a
private hosted zone with its VPC (checked in eu-west-1, healthy); the member account points its
VPC at a dead DNS server (one CRITICAL naming the account and region, with a rollback command for
that account and region); a sweep finds the incident still open (no second page); the member
account rolls back (RECOVERED). Exit status 0 only if every step produced exactly the expected
alerts, and each change was checked where it happened.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from devtools.awsworld import AwsWorld, DeliveredAlert, local_aws
from devtools.demo import print_alert
from devtools.dnslab import DnsLab, LabServer
from devtools.lambdakit import (
    CHECKER_DIR,
    REGION,
    FakeLambdaContext,
    LambdaHandler,
    environment_variables,
    load_handler,
    quiet_empty_metrics,
)
from devtools.local_lambda import LocalCanaryPlatform
from devtools.orgworld import (
    HOME,
    MEMBER,
    ROLE_NAME,
    SWEEP_QUEUE_NAME,
    AssumeRoleGate,
    create_member_role,
    forwarded_change,
    scheduled_sweep,
    session_in,
    sqs_batch_event,
)

MEMBER_REGION = "eu-west-1"
HOME_CANARY = "vpc-dns-canary-central"
MEMBER_CANARY = "vpc-dns-canary-member"
MEMBER_ADMIN_ROLE = f"arn:aws:iam::{MEMBER}:role/NetworkAdmin"
MEMBER_ADMIN = f"arn:aws:sts::{MEMBER}:assumed-role/NetworkAdmin/raj.patel"
# A second member account with a foothold, trying to make the watchdog act in MEMBER.
INTRUDER = "333333333333"
INTRUDER_ADMIN = f"arn:aws:sts::{INTRUDER}:assumed-role/Admin/mallory"
PRIVATE_ZONE = "corp.example"
# The zone's one record; the Amazon resolver answers it (private zones are its alone).
PRIVATE_NAME = f"app.{PRIVATE_ZONE}"
PRIVATE_ADDRESS = "10.0.5.10"
# A sweep's failure is asked again this much later before it may page (template default 30 s).
CONFIRM_DELAY_S = 1
# What the Amazon resolver answers in both regions (each canary probes its own region's names).
AMAZON_NAMES = {
    f"sts.{REGION}.amazonaws.com": {"A": ["209.54.177.164"]},
    f"lambda.{REGION}.amazonaws.com": {"A": ["3.224.120.44"]},
    f"sts.{MEMBER_REGION}.amazonaws.com": {"A": ["52.94.0.3"]},
    f"lambda.{MEMBER_REGION}.amazonaws.com": {"A": ["52.94.0.4"]},
    PRIVATE_NAME: {"A": [PRIVATE_ADDRESS]},
}
# Where each canary lives (account, region).
CANARY_PLACES = {HOME_CANARY: (HOME, REGION), MEMBER_CANARY: (MEMBER, MEMBER_REGION)}


@dataclass
class Vpc:
    """A watched VPC: its account, region, option sets and canary."""

    account: str
    region: str
    world: AwsWorld
    vpc_id: str
    good: str
    bad: str
    canary: str


@dataclass
class Step:
    title: str
    expected_alerts: list[str]  # severities, in order
    # The canaries that must have run in this step (a change is checked where it happened).
    expected_canaries: set[str] = field(default_factory=set)
    # True: nothing may happen but the rejection (no canary runs, no alert).
    quiet: bool = False
    seconds: float = 0.0
    alerts: list[DeliveredAlert] = field(default_factory=list)
    canaries: set[str] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        severities = [alert.severity for alert in self.alerts]
        if self.quiet and self.canaries:
            return False
        return severities == self.expected_alerts and self.expected_canaries <= self.canaries


class Organization:
    """The two accounts, the lab, the canary platform and the central checker's settings."""

    def __init__(self, lab: DnsLab) -> None:
        self.lab = lab
        self.amazon: LabServer = lab.add_server("amazon-resolver", records=AMAZON_NAMES, host=2)
        self.dead: LabServer = lab.add_server("dead-dns", behaviour="blackhole")
        # boto3's default session: the checker's clients come from it too (central account).
        self.central = AwsWorld(boto3.DEFAULT_SESSION)
        self.member_session = session_in(MEMBER, MEMBER_REGION)
        self.home = self._watched_vpc(HOME, REGION, self.central, HOME_CANARY)
        create_member_role(MEMBER)  # what the member StackSet deploys, trusting the central account
        member_world = AwsWorld(self.member_session, region=MEMBER_REGION)
        self.member = self._watched_vpc(MEMBER, MEMBER_REGION, member_world, MEMBER_CANARY)
        self.platform = LocalCanaryPlatform(lab, self.amazon, region=REGION)
        self.platform.place(MEMBER_CANARY, self.member_session, MEMBER_REGION)
        resources = self.central.checker_resources(
            table="dns-watchdog-state", topic="dns-alerts", queue="on-call"
        )
        self.queue_url = self.central.sqs.create_queue(
            QueueName=SWEEP_QUEUE_NAME, Attributes={"VisibilityTimeout": "180"}
        )["QueueUrl"]
        self.queue_arn = f"arn:aws:sqs:{REGION}:{HOME}:{SWEEP_QUEUE_NAME}"
        self.table = resources.table_name
        self.settings = {
            **resources.settings,
            "MEMBER_ROLE_NAME": ROLE_NAME,
            "HOME_ACCOUNT_ID": HOME,
            "SWEEP_QUEUE_URL": self.queue_url,
            "SWEEP_TARGETS": f"{HOME}:{REGION} {MEMBER}:{MEMBER_REGION}",
            "SWEEP_CONFIRM_DELAY_S": str(CONFIRM_DELAY_S),
            "CANARY_DEADLINE_MS": "1500",
            "REFRESH_BUDGET_S": "20",
            "POWERTOOLS_METRICS_NAMESPACE": "VpcDnsWatchdogDemo",
            "POWERTOOLS_LOG_LEVEL": "CRITICAL",
            "POWERTOOLS_TRACE_DISABLED": "true",
            # The lab's servers listen on loopback: not an address-class problem here.
            "LINT_ALLOWED_NETWORKS": lab.cidr,
        }

    def _watched_vpc(self, account: str, region: str, world: AwsWorld, canary: str) -> Vpc:
        """A VPC on the lab's CIDR (AmazonProvidedDNS, base + 2, is a lab server), one canary."""
        vpc_id = world.create_vpc(self.lab.cidr)
        subnet = world.create_subnet(vpc_id, self.lab.cidr)
        group = world.create_security_group(vpc_id, "canary-dns-egress", "DNS egress")
        good = world.option_set("AmazonProvidedDNS")
        bad = world.option_set(self.dead.address)
        world.associate(vpc_id, good)
        world.add_canary(
            vpc_id, canary, subnet_ids=[subnet], security_group_ids=[group], timeout_s=5
        )
        return Vpc(account, region, world, vpc_id, good, bad, canary)

    # what happens in the member account, as the central bus receives it -----------------------

    def associate(self, option_set: str) -> dict[str, Any]:
        member = self.member
        member.world.associate(member.vpc_id, option_set)
        return self.associate_event(option_set)

    def associate_private_zone(self) -> dict[str, Any]:
        """The member account associates a private hosted zone with its VPC (Route 53 records
        the call in us-east-1; the request names the VPC's region)."""
        member = self.member
        route53: Any = self.member_session.client("route53", region_name="us-east-1")
        zone = route53.create_hosted_zone(
            Name=PRIVATE_ZONE,
            CallerReference=f"demo-{time.time_ns()}",
            HostedZoneConfig={"PrivateZone": True, "Comment": "corp.example private zone"},
            VPC={"VPCRegion": MEMBER_REGION, "VPCId": member.vpc_id},
        )
        zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
        route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "CREATE",
                        "ResourceRecordSet": {
                            "Name": PRIVATE_NAME,
                            "Type": "A",
                            "TTL": 300,
                            "ResourceRecords": [{"Value": PRIVATE_ADDRESS}],
                        },
                    }
                ]
            },
        )
        event = forwarded_change(
            "associate_vpc_with_hosted_zone",
            account=MEMBER,
            region="us-east-1",
            hostedZoneId=zone_id,
            vPC={"vPCRegion": MEMBER_REGION, "vPCId": member.vpc_id},
        )
        return _by_member_admin(event)

    def forged(self) -> dict[str, Any]:
        """What INTRUDER can put on the central bus (its principals may PutEvents there): its own
        envelope, a detail naming MEMBER's VPC and the dead DNS server, and a made-up "Who"."""
        event = self.associate_event(self.member.bad)
        event["account"] = INTRUDER
        identity = event["detail"]["userIdentity"]
        identity.update({"arn": INTRUDER_ADMIN, "accountId": INTRUDER})
        return event

    def associate_event(self, option_set: str) -> dict[str, Any]:
        """The member admin's AssociateDhcpOptions event, without making the call."""
        event = forwarded_change(
            "associate_dhcp_options",
            account=MEMBER,
            region=MEMBER_REGION,
            vpcId=self.member.vpc_id,
            dhcpOptionsId=option_set,
        )
        return _by_member_admin(event)

    # what the central account sees -------------------------------------------------------------

    def states(self) -> list[str]:
        """One line per VPC the checker keeps state for: its key and last verdict."""
        dynamodb = self.central.dynamodb
        items = dynamodb.scan(TableName=self.table)["Items"]
        rows = [
            (item["pk"]["S"], item.get("verdict", {}).get("S", "?"))
            for item in items
            if item["pk"]["S"].startswith("vpc#")
        ]
        return [f"{key:<52} {verdict}" for key, verdict in sorted(rows)]


def _by_member_admin(event: dict[str, Any]) -> dict[str, Any]:
    """The member account's network admin made the call."""
    identity = event["detail"]["userIdentity"]
    identity.update({"arn": MEMBER_ADMIN, "accountId": MEMBER})
    identity["sessionContext"]["sessionIssuer"].update(
        {"arn": MEMBER_ADMIN_ROLE, "accountId": MEMBER}
    )
    return event


def _deliver_queue(org: Organization, checker: LambdaHandler, step: Step) -> None:
    """The event source mapping: receive the sweep messages, hand them to the checker as SQS
    batches, delete the ones the checker did not report failed."""
    sqs = org.central.sqs
    while messages := sqs.receive_message(QueueUrl=org.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        targets = [
            f"{body['account_id']}:{body['region']}"
            for body in (json.loads(message["Body"]) for message in messages)
        ]
        response = _invoke(checker, sqs_batch_event(messages, org.queue_arn))
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        step.lines.append(
            f"    SQS batch of {len(messages)} ({', '.join(targets)}): "
            f"batchItemFailures {sorted(failed) or 'none'}"
        )
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=org.queue_url, ReceiptHandle=message["ReceiptHandle"])
        if failed:
            raise RuntimeError(f"the checker failed sweep messages {sorted(failed)}")


def _invoke(checker: LambdaHandler, event: dict[str, Any]) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):  # its metric documents
        context = FakeLambdaContext("vpc-dns-watchdog-checker", timeout_ms=120_000)
        result: dict[str, Any] = checker(event, context)
    return result


def _sweep(org: Organization, checker: LambdaHandler, step: Step) -> None:
    fanned = _invoke(checker, scheduled_sweep())
    step.lines.append(
        f"    fan-out: {fanned.get('status')}, {fanned.get('targets')} (account, region) targets "
        f"from the {fanned.get('source')} list, one SQS message each"
    )
    _deliver_queue(org, checker, step)
    step.lines.append("    state kept per (account, region, VPC):")
    step.lines += [f"      {line}" for line in org.states()]


def _change(org: Organization, checker: LambdaHandler, step: Step, event: dict[str, Any]) -> None:
    detail = event["detail"]
    where = detail.get("requestParameters", {}).get("vPC", {}).get("vPCRegion")
    step.lines.append(
        f"    forwarded to the central bus: {detail['eventName']} from account {event['account']}, "
        f"recorded in {event['region']}" + (f" for a VPC in {where}" if where else "")
    )
    result = _invoke(checker, event)
    for vpc in result.get("vpcs", []):
        step.lines.append(
            f"    checked {vpc.get('vpc_id', vpc.get('target'))}: {vpc.get('verdict')} "
            f"({vpc.get('diagnosis', vpc.get('error'))})"
        )


def _forgery(org: Organization, checker: LambdaHandler, step: Step) -> None:
    event = org.forged()
    step.lines.append(
        f"    put on the central bus by account {event['account']}: AssociateDhcpOptions whose "
        f"detail names account {event['detail']['recipientAccountId']}, {org.member.vpc_id} and "
        f"the dead server, 'by' {INTRUDER_ADMIN}"
    )
    result = _invoke(checker, event)
    step.lines.append(f"    checker: {result.get('status')} - {result.get('error')}")
    step.lines.append(
        "    (one log line 'Rejected event', one EventsRejected metric; no role assumed)"
    )
    if result.get("status") != "rejected":
        step.quiet = True
        step.canaries = {"(the forgery was not rejected)"}


Action = Callable[[Step], None]


def timeline(org: Organization, checker: LambdaHandler) -> list[tuple[Step, Action]]:
    both = {HOME_CANARY, MEMBER_CANARY}
    return [
        (
            Step("Scheduled organization sweep: both accounts healthy", [], both),
            lambda step: _sweep(org, checker, step),
        ),
        (
            Step(
                f"Account {INTRUDER} forges a change in account {MEMBER}: rejected, nothing else",
                [],
                quiet=True,
            ),
            lambda step: _forgery(org, checker, step),
        ),
        (
            Step(
                f"raj.patel associates the private hosted zone {PRIVATE_ZONE} with the member VPC "
                f"(Route 53 records it in us-east-1; checked in {MEMBER_REGION})",
                [],
                {MEMBER_CANARY},
            ),
            lambda step: _change(org, checker, step, org.associate_private_zone()),
        ),
        (
            Step(
                f"raj.patel points the member VPC ({MEMBER}, {MEMBER_REGION}) at a dead DNS server",
                ["CRITICAL"],
                {MEMBER_CANARY},
            ),
            lambda step: _change(org, checker, step, org.associate(org.member.bad)),
        ),
        (
            Step(
                "Scheduled organization sweep: the incident is still open, no second page", [], both
            ),
            lambda step: _sweep(org, checker, step),
        ),
        (
            Step(
                "raj.patel runs the rollback command from the page", ["RECOVERED"], {MEMBER_CANARY}
            ),
            lambda step: _change(org, checker, step, org.associate(org.member.good)),
        ),
    ]


def play(
    number: int, step: Step, action: Action, org: Organization, say: Callable[[str], None]
) -> bool:
    ran_before = len(org.platform.invocations)
    started = time.monotonic()
    action(step)
    step.seconds = time.monotonic() - started
    step.canaries = {name for name, _ in org.platform.invocations[ran_before:]}
    step.alerts = org.central.alerts()
    say(f"[{number}] {step.title}  ({step.seconds:.2f} s, {'ok' if step.ok else 'UNEXPECTED'})")
    for line in step.lines:
        say(line)
    ran = [f"{name} ({' '.join(CANARY_PLACES[name])})" for name in sorted(step.canaries)]
    say(f"    real canaries run: {', '.join(ran) or 'none'}")
    if not step.alerts:
        say("    no alert")
    for alert in step.alerts:
        print_alert(say, alert)
    if not step.ok:
        say(
            f"    expected alerts {step.expected_alerts} and canaries "
            f"{sorted(step.expected_canaries)}; got {[a.severity for a in step.alerts]} and "
            f"{sorted(step.canaries)}"
        )
    say("")
    return step.ok


def run(say: Callable[[str], None] = print) -> bool:
    """Play the story; True when every step produced exactly the expected alerts."""
    started = time.monotonic()
    all_ok = True
    with DnsLab() as lab, local_aws(), quiet_empty_metrics():
        org = Organization(lab)
        gate = AssumeRoleGate(caller_account=HOME)
        assert boto3.DEFAULT_SESSION is not None
        gate.guard(boto3.DEFAULT_SESSION)
        with org.platform.routing(), environment_variables(org.settings):
            checker = load_handler(CHECKER_DIR)
            say(f"Central account {HOME} ({REGION}): the checker, its state table, alert topic")
            say(f"  (on-call queue subscribed) and sweep queue; watches {org.home.vpc_id}.")
            say(f"Member account {MEMBER} ({MEMBER_REGION}): the member role {ROLE_NAME},")
            say(f"  trusting the central account; watched VPC {org.member.vpc_id}.")
            say(f"DNS lab on loopback ({lab.cidr}): Amazon resolver {org.amazon.address} (VPC")
            say(f"  base+2 in both VPCs), dead DNS server {org.dead.address}. Real canaries.")
            say("")
            for number, (step, action) in enumerate(timeline(org, checker)):
                all_ok = play(number, step, action, org, say) and all_ok
            roles = sorted({call["RoleArn"] for call in gate.calls})
            say(f"The checker assumed {', '.join(roles)} {len(gate.calls)} time(s) in all ")
            say("  (credentials cached per account until shortly before they expire).")
    verdict = "the story played out as expected" if all_ok else "the story did NOT play out"
    say(f"Demo finished in {time.monotonic() - started:.1f} s: {verdict}.")
    return all_ok


def main() -> int:
    return 0 if run() else 1


if __name__ == "__main__":
    sys.exit(main())
