"""The real canary behind the checker, against the DNS lab: one watched VPC, shared by the test
modules that need it (fixtures `lab_vpc` and `checker`; see test_checker_with_real_canary.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from checker_doubles import World

from devtools.awsworld import AwsWorld
from devtools.dnslab import DnsLab, LabServer
from devtools.lambdakit import REGION, cloudtrail_event
from devtools.local_lambda import LocalCanaryPlatform

CANARY = "vpc-dns-canary-real"
AWS_RECORDS = {
    f"sts.{REGION}.amazonaws.com": {"A": ["52.94.0.1"]},
    f"lambda.{REGION}.amazonaws.com": {"A": ["52.94.0.2"]},
}
Invoke = Callable[[Any], dict[str, Any]]


@dataclass
class LabVpc:
    """A moto VPC whose CIDR is the lab's block, so AmazonProvidedDNS (base + 2) is a lab server,
    watched by one canary that the local platform runs for real."""

    world: World
    platform: LocalCanaryPlatform
    amazon: LabServer
    dead: LabServer
    vpc_id: str
    good: str
    bad: str

    def associate(self, option_set: str) -> None:
        self.world.associate(self.vpc_id, option_set)

    def canary_invocations(self) -> int:
        return sum(1 for name, _ in self.platform.invocations if name == CANARY)


@dataclass(frozen=True)
class WatchedVpc:
    """A VPC on the lab's CIDR with its healthy (AmazonProvidedDNS) and dead-server option sets."""

    vpc_id: str
    good: str
    bad: str


# Canary settings of the test process that would override the lab's own.
CANARY_VARIABLES = ("PROBE_NAMES", "PROBE_MAX_LATENCY_MS", "DEADLINE_MARGIN_MS")


def watched_vpc(world: AwsWorld, lab: DnsLab, dead: LabServer, canary: str) -> WatchedVpc:
    """A VPC on the lab's CIDR (AmazonProvidedDNS, base + 2, is a lab server) associated with
    its healthy set, watched by one real canary named `canary`."""
    vpc_id = world.create_vpc(lab.cidr)
    subnet = world.create_subnet(vpc_id, lab.cidr)
    group = world.create_security_group(vpc_id)
    good = world.option_set("AmazonProvidedDNS")
    bad = world.option_set(dead.address)
    world.associate(vpc_id, good)
    world.add_canary(vpc_id, canary, subnet_ids=[subnet], security_group_ids=[group], timeout_s=5)
    return WatchedVpc(vpc_id, good, bad)


def handler_invoker(load_handler: Callable[[str], ModuleType], lambda_context: Any) -> Invoke:
    """The checker handler in one execution environment (load it after setting its env)."""
    app = load_handler("checker")

    def invoke(event: Any) -> dict[str, Any]:
        result: dict[str, Any] = app.lambda_handler(event, lambda_context)
        return result

    return invoke


@pytest.fixture
def lab_vpc(moto_world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabVpc]:
    for variable in CANARY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records=AWS_RECORDS, host=2)
        dead = lab.add_server("corp-dead", behaviour="blackhole")
        vpc = watched_vpc(moto_world, lab, dead, CANARY)
        platform = LocalCanaryPlatform(lab, amazon, region=REGION)
        # Before the checker exists: its clients must be built with the routing hooks in place.
        with platform.routing():
            yield LabVpc(moto_world, platform, amazon, dead, vpc.vpc_id, vpc.good, vpc.bad)


@pytest.fixture
def checker(
    lab_vpc: LabVpc, load_handler: Callable[[str], ModuleType], lambda_context: Any
) -> Invoke:
    """The checker handler in one execution environment, created inside the platform's routing."""
    return handler_invoker(load_handler, lambda_context)


def change_event(vpc: LabVpc, option_set: str) -> dict[str, Any]:
    return cloudtrail_event("associate_dhcp_options", vpcId=vpc.vpc_id, dhcpOptionsId=option_set)


def manual_check(vpc_ids: Sequence[str]) -> dict[str, Any]:
    return {"action": "check", "vpc_ids": list(vpc_ids), "reason": "baseline"}
