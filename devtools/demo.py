"""`make demo`: the watchdog doing its job, end to end, on this machine alone.

A DNS lab on loopback plays the VPC's DNS servers, the Amazon resolver and the Lambda link-local
forwarder; moto plays AWS (a VPC, its option sets, the canary function with its tag, the alert
topic with a queue subscribed, the chat topic with a queue in the place of Amazon Q Developer, the
state table). The real checker handler handles each event and the real canary code probes DNS
through the lab, in an execution environment whose resolv.conf is generated from the VPC's option
set as the Lambda platform would.

The timeline: someone creates an option set naming a dead DNS server and the watchdog warns before
it is associated (a preflight); a sweep finds everything healthy; someone points the VPC at the
dead DNS server anyway (its page is shown as e-mail text and as the chat markdown); the same
CloudTrail event is delivered twice; someone points it at a server that does not forward AWS
names; the change is rolled back; later the corp DNS server stops answering without any change
event, and a sweep finds it, confirms it with a second canary run and pages; it answers again.
Every page says what is hit: the VPC holds three functions and an instance besides the canary.
Then a sandbox VPC holding nothing but its canary breaks too; with PriorityFromImpact turned on
for that step, it gets a WARNING that says why, not a page.
Last, a VPC with a Route 53 private hosted zone and no probe names configured (the checker
discovers the zone and probes one of its names): the preflight of a corporate option set that
does not forward the zone warns, naming the zone, before it is associated; associated anyway, it
pages once, naming the zone, with the rollback.
Exit status 0 only if every step produced exactly the expected alerts, on the alert topic and on
the chat topic alike.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from dns_watchdog.render.chat import ChatNotification

from devtools.awsworld import AwsWorld, DeliveredAlert, local_aws
from devtools.dnslab import DnsLab, LabServer
from devtools.lambdakit import (
    CHECKER_DIR,
    REGION,
    FakeLambdaContext,
    cloudtrail_event,
    environment_variables,
    load_event,
    load_handler,
    quiet_empty_metrics,
)
from devtools.local_lambda import LocalCanaryPlatform

CANARY = "vpc-dns-canary-demo"
SANDBOX_CANARY = "vpc-dns-canary-sandbox"
# What runs in the demo's VPC besides the canary (its page names them).
FUNCTIONS = ("orders-api", "payments-worker", "shipping-quotes")
# A sweep's failure is asked again this much later before it pages (the template's default is
# 30 s; the demo keeps it short).
CONFIRM_DELAY_S = 1
CHANGED_BY = "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/jane.doe"

# What the Amazon resolver knows: AWS endpoints and a private hosted zone of the VPC.
AMAZON_NAMES = {
    "sts.us-east-1.amazonaws.com": {"A": ["209.54.177.164"]},
    "lambda.us-east-1.amazonaws.com": {"A": ["3.224.120.44"]},
    "orders.internal.example": {"A": ["10.0.12.34"]},
}
CORP_NAMES = {"dc1.corp.example": {"A": ["10.1.1.10"]}}
# The private hosted zone of the last steps' VPC: only the Amazon resolver answers it.
ZONE = "corp.internal"
ZONE_RECORDS = {"inventory.corp.internal": "10.0.40.12"}
ZONE_CANARY = "vpc-dns-canary-inventory"
PROBES = [
    {"name": "sts.{region}.amazonaws.com"},
    {"name": "lambda.{region}.amazonaws.com"},
    {"name": "orders.internal.example", "expect": {"answers_in": ["10.0.0.0/8"]}},
]


@dataclass
class Step:
    title: str
    expected_alerts: list[str]  # severities, in order
    # Print the chat rendering of this step's alerts next to their e-mail text.
    show_chat: bool = False
    # The checker runs this step with PriorityFromImpact on (a fresh execution environment).
    priority_from_impact: bool = False
    # The checker runs this step without PROBE_PLAN: only the default ProbeNames are configured
    # (a fresh execution environment), so what the VPC's canary probes beyond them is discovered.
    default_probes: bool = False
    seconds: float = 0.0
    alerts: list[DeliveredAlert] = field(default_factory=list)
    chat: list[ChatNotification] = field(default_factory=list)
    result: Any = None

    @property
    def ok(self) -> bool:
        """Exactly the expected alerts, each also posted to chat."""
        severities = [alert.attributes.get("severity", "?") for alert in self.alerts]
        chat_severities = [
            notification.document["metadata"]["additionalContext"].get("severity", "?")
            for notification in self.chat
        ]
        return severities == chat_severities == self.expected_alerts


class Demo:
    """The local world: lab, moto resources, the canary platform and the checker handler."""

    def __init__(self, lab: DnsLab, say: Callable[[str], None]) -> None:
        self.lab = lab
        self.say = say
        self.amazon: LabServer = lab.add_server("amazon-resolver", records=AMAZON_NAMES, host=2)
        self.corp = lab.add_server("corp-dns", records={**CORP_NAMES, **AMAZON_NAMES})
        self.dead = lab.add_server("dead-dns", behaviour="blackhole")
        self.no_forward = lab.add_server("dc-without-forwarders", records=CORP_NAMES)
        # Corporate servers that forward AWS names, but not the private hosted zone.
        aws_names = {k: v for k, v in AMAZON_NAMES.items() if k.endswith(".amazonaws.com")}
        self.corp_no_zone = lab.add_server("corp-dns-b", records={**CORP_NAMES, **aws_names})
        # boto3's default session, which the checker's clients come from too (models load once).
        self.world = AwsWorld(boto3.DEFAULT_SESSION)
        self.option_sets: dict[str, str] = {}
        self.vpc_id = ""
        self.sandbox_vpc_id = ""
        self.zone_vpc_id = ""
        self.zone_id = ""

    def build_aws(self) -> dict[str, str]:
        world = self.world
        self.vpc_id = world.create_vpc(self.lab.cidr)
        subnet = world.create_subnet(self.vpc_id, self.lab.cidr)
        group = world.create_security_group(self.vpc_id, "canary-dns-egress", "DNS egress")
        for name, servers in {
            "amazon": ["AmazonProvidedDNS"],
            "corp": [self.corp.address],
            "dead": [self.dead.address],
            "no-forward": [self.no_forward.address],
        }.items():
            self.option_sets[name] = world.option_set(*servers, domain_name="ec2.internal")
        world.associate(self.vpc_id, self.option_sets["amazon"])
        # The DNS servers that exist hold their address in the VPC (the dead one is a stale IP).
        for server in (self.corp, self.no_forward):
            world.ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=server.address)
        world.add_canary(
            self.vpc_id,
            CANARY,
            subnet_ids=[subnet],
            security_group_ids=[group],
            timeout_s=5,
            memory_mb=256,
        )
        # Lambda's interface for the canary, and what else runs in the VPC: the page's blast radius.
        world.add_lambda_interface(subnet, CANARY, [group])
        app = world.create_security_group(self.vpc_id, "orders", "the orders service")
        for name in FUNCTIONS:
            world.add_function(name, subnet_ids=[subnet], security_group_ids=[app])
        world.add_instance(subnet)
        resources = world.checker_resources(
            table="dns-watchdog-state",
            topic="dns-alerts",
            queue="on-call",
            chat_topic="dns-alerts-chat",
            chat_queue="amazon-q-developer",
        )
        return {
            **resources.settings,
            "PROBE_PLAN": json.dumps({"probes": PROBES}),
            "CANARY_DEADLINE_MS": "1500",
            "REFRESH_BUDGET_S": "20",
            "SWEEP_CONFIRM_DELAY_S": str(CONFIRM_DELAY_S),
            "POWERTOOLS_METRICS_NAMESPACE": "VpcDnsWatchdogDemo",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            # The lab's servers listen on loopback: not an address-class problem here.
            "LINT_ALLOWED_NETWORKS": self.lab.cidr,
        }

    def build_sandbox(self) -> str:
        """A second VPC (the lab's addresses again) holding nothing but its canary."""
        world = self.world
        self.sandbox_vpc_id = world.create_vpc(self.lab.cidr)
        subnet = world.create_subnet(self.sandbox_vpc_id, self.lab.cidr)
        group = world.create_security_group(self.sandbox_vpc_id, "canary-dns-egress", "DNS egress")
        world.associate(self.sandbox_vpc_id, self.option_sets["amazon"])
        world.add_canary(
            self.sandbox_vpc_id,
            SANDBOX_CANARY,
            subnet_ids=[subnet],
            security_group_ids=[group],
            timeout_s=5,
            memory_mb=256,
        )
        world.add_lambda_interface(subnet, SANDBOX_CANARY, [group])
        return self.sandbox_vpc_id

    def build_zone_vpc(self) -> str:
        """A third VPC (the lab's addresses again) with a private hosted zone, one function and
        its canary; the corporate option set without the zone's forwarder."""
        world = self.world
        self.zone_vpc_id = world.create_vpc(self.lab.cidr)
        subnet = world.create_subnet(self.zone_vpc_id, self.lab.cidr)
        group = world.create_security_group(self.zone_vpc_id, "canary-dns-egress", "DNS egress")
        world.associate(self.zone_vpc_id, self.option_sets["amazon"])
        self.zone_id = world.private_zone(self.zone_vpc_id, ZONE, ZONE_RECORDS)
        self.amazon.set_records(
            {**AMAZON_NAMES, **{name: {"A": [a]} for name, a in ZONE_RECORDS.items()}}
        )
        world.ec2.create_network_interface(
            SubnetId=subnet, PrivateIpAddress=self.corp_no_zone.address
        )
        self.option_sets["corp-no-zone"] = world.option_set(
            self.corp_no_zone.address, domain_name="ec2.internal"
        )
        world.add_canary(
            self.zone_vpc_id,
            ZONE_CANARY,
            subnet_ids=[subnet],
            security_group_ids=[group],
            timeout_s=5,
            memory_mb=256,
        )
        world.add_lambda_interface(subnet, ZONE_CANARY, [group])
        world.add_function("inventory-api", subnet_ids=[subnet], security_group_ids=[group])
        return self.zone_vpc_id

    # events -------------------------------------------------------------------------------
    def check_event(self, vpc_id: str) -> dict[str, Any]:
        """A manual check of one VPC (what `vpc-dns-watchdog check --vpc` sends)."""
        return {"action": "check", "vpc_ids": [vpc_id], "reason": "new VPC"}

    def associate_event(self, option_set: str, vpc_id: str | None = None) -> dict[str, Any]:
        """Make the change in (moto) EC2; build the CloudTrail event EventBridge would deliver."""
        vpc_id = vpc_id or self.vpc_id
        self.world.associate(vpc_id, option_set)
        event = cloudtrail_event("associate_dhcp_options", dhcpOptionsId=option_set, vpcId=vpc_id)
        event["detail"]["userIdentity"]["arn"] = CHANGED_BY
        event["id"] = str(uuid.uuid4())
        return event

    def create_event(self, option_set: str) -> dict[str, Any]:
        """The CloudTrail event of creating `option_set` (it exists in moto already)."""
        event = cloudtrail_event("create_dhcp_options")
        event["detail"]["responseElements"]["dhcpOptions"]["dhcpOptionsId"] = option_set
        event["detail"]["userIdentity"]["arn"] = CHANGED_BY
        event["id"] = str(uuid.uuid4())
        return event

    def sweep_event(self) -> dict[str, Any]:
        event = load_event("scheduled_sweep")
        event["id"] = str(uuid.uuid4())
        return event


def print_alert(say: Callable[[str], None], alert: DeliveredAlert) -> None:
    say(f"    SNS Subject: {alert.subject}")
    say(f"    attributes : {json.dumps(alert.attributes, sort_keys=True)}")
    say("    e-mail body:")
    say(textwrap.indent(alert.text.rstrip(), "    | "))


def _print_chat(say: Callable[[str], None], notification: ChatNotification) -> None:
    metadata = notification.document["metadata"]
    say(f"    chat (Slack / Microsoft Teams), thread {metadata['threadId']}, markdown:")
    say(textwrap.indent(notification.markdown.rstrip(), "    # "))


Timeline = list[tuple[Step, Callable[[], dict[str, Any]]]]


def timeline(demo: Demo) -> Timeline:
    """The story: each step's title, the alerts it must produce, and how its event comes about."""
    dead: dict[str, Any] = {}

    def break_it() -> dict[str, Any]:
        dead.update(demo.associate_event(demo.option_sets["dead"]))
        return copy.deepcopy(dead)

    def corp_stops_answering() -> dict[str, Any]:
        demo.corp.behaviour = "blackhole"  # no change event: the server just goes quiet
        return demo.sweep_event()

    def corp_answers_again() -> dict[str, Any]:
        demo.corp.behaviour = "answer"
        return demo.sweep_event()

    return [
        (
            Step(
                "jane.doe creates an option set naming the dead DNS server: preflight",
                ["WARNING"],
            ),
            lambda: demo.create_event(demo.option_sets["dead"]),
        ),
        (Step("Scheduled sweep, DNS healthy", []), demo.sweep_event),
        (
            Step("jane.doe associates the dead DNS server anyway", ["CRITICAL"], show_chat=True),
            break_it,
        ),
        (
            Step("EventBridge delivers the same CloudTrail event again", []),
            lambda: copy.deepcopy(dead),
        ),
        (
            Step("jane.doe tries a DC that does not forward AWS names", ["CRITICAL"]),
            lambda: demo.associate_event(demo.option_sets["no-forward"]),
        ),
        (
            Step("Fix: the corp DNS servers, which forward AWS names", ["RECOVERED"]),
            lambda: demo.associate_event(demo.option_sets["corp"]),
        ),
        (Step("Scheduled sweep, healthy again", []), demo.sweep_event),
        (
            Step(
                "The corp DNS server stops answering, no change event: scheduled sweep, "
                f"confirmed by a second canary run {CONFIRM_DELAY_S} s later",
                ["CRITICAL"],
            ),
            corp_stops_answering,
        ),
        (
            Step("The corp DNS server answers again: scheduled sweep", ["RECOVERED"]),
            corp_answers_again,
        ),
        (
            Step(
                "A sandbox VPC holding nothing but its canary gets the dead DNS server; "
                "PriorityFromImpact is turned on for this step",
                ["WARNING"],
                priority_from_impact=True,
            ),
            lambda: demo.associate_event(demo.option_sets["dead"], demo.build_sandbox()),
        ),
        *zone_steps(demo),
    ]


def zone_steps(demo: Demo) -> Timeline:
    """A VPC with a private hosted zone and no probe names configured: the zone is discovered."""
    return [
        (
            Step(
                f"A new VPC with the private hosted zone {ZONE}, no probe names configured: "
                "checked, healthy, its zone discovered",
                [],
                default_probes=True,
            ),
            lambda: demo.check_event(demo.build_zone_vpc()),
        ),
        (
            Step(
                f"jane.doe creates an option set naming corporate DNS that does not forward "
                f"{ZONE}: preflight",
                ["WARNING"],
                default_probes=True,
            ),
            lambda: demo.create_event(demo.option_sets["corp-no-zone"]),
        ),
        (
            Step(
                f"jane.doe associates it with the VPC of {ZONE} anyway",
                ["CRITICAL"],
                default_probes=True,
            ),
            lambda: demo.associate_event(demo.option_sets["corp-no-zone"], demo.zone_vpc_id),
        ),
    ]


def play(
    number: int,
    step: Step,
    event: dict[str, Any],
    checker: Callable[..., Any],
    world: AwsWorld,
    say: Callable[[str], None],
) -> bool:
    """Hand one event to the checker; print what reached e-mail (and chat); True when expected."""
    t0 = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):  # its metric documents
        context = FakeLambdaContext("dns-watchdog-checker", timeout_ms=120_000)
        step.result = checker(event, context)
    step.seconds = time.monotonic() - t0
    step.alerts = world.alerts()
    step.chat = world.chat_notifications()
    mark = "ok" if step.ok else "UNEXPECTED"
    say(f"[{number}] {step.title}  ({step.seconds:.2f} s, {mark})")
    if not step.alerts:
        say("    no alert")
    for alert in step.alerts:
        print_alert(say, alert)
    if step.show_chat:
        for notification in step.chat:
            _print_chat(say, notification)
    if not step.ok:
        say(
            f"    expected alerts {step.expected_alerts} (also in chat: "
            f"{len(step.chat)} posted), got result {step.result}"
        )
    say("")
    return step.ok


def run(say: Callable[[str], None] = print) -> bool:
    """Play the timeline; True when every step produced exactly the expected alerts."""
    started = time.monotonic()
    all_ok = True
    with DnsLab() as lab, local_aws(), quiet_empty_metrics():
        demo = Demo(lab, say)
        checker_env = demo.build_aws()
        platform = LocalCanaryPlatform(lab, demo.amazon, region=REGION)
        with platform.routing(), environment_variables(checker_env):
            checker = load_handler(CHECKER_DIR)
            say(f"Local world: VPC {demo.vpc_id} ({lab.cidr}), canary {CANARY}, ")
            say(f"  DNS lab on loopback: Amazon resolver {demo.amazon.address} (VPC base+2), ")
            say(f"  corp DNS {demo.corp.address}, dead DNS {demo.dead.address}, ")
            say(f"  DC without forwarders {demo.no_forward.address}; alerts land in an SQS queue,")
            say("  chat notifications in another, in the place of Amazon Q Developer.")
            say("")
            for number, (step, make_event) in enumerate(timeline(demo)):
                if step.priority_from_impact or step.default_probes:
                    with _step_environment(step):
                        own = load_handler(CHECKER_DIR)
                        ok = play(number, step, make_event(), own, demo.world, say)
                else:
                    ok = play(number, step, make_event(), checker, demo.world, say)
                all_ok = all_ok and ok
    verdict = "the story played out as expected" if all_ok else "the story did NOT play out"
    say(f"Demo finished in {time.monotonic() - started:.1f} s: {verdict}.")
    return all_ok


@contextlib.contextmanager
def _step_environment(step: Step) -> Iterator[None]:
    """The checker's settings of a step with settings of its own (restored after it)."""
    with environment_variables({"PRIORITY_FROM_IMPACT": str(step.priority_from_impact).lower()}):
        if step.default_probes:
            os.environ.pop("PROBE_PLAN", None)
        yield


def main() -> int:
    return 0 if run() else 1


if __name__ == "__main__":
    sys.exit(main())
