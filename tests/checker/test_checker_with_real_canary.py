"""The checker with the real canary handler answering Invoke, against real DNS servers on
loopback (the DNS lab). AWS is moto; the lab plays the VPC's DNS path:

    canary --> forwarder (169.254.78.1) --> the option set's server(s)
    canary --direct--> those servers and the Amazon resolver (the VPC base + 2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from checker_doubles import REGION, Reply, World, cloudtrail_event

from devtools.dnslab import DnsLab, LabForwarder, LabServer

AWS_RECORDS = {
    f"sts.{REGION}.amazonaws.com": {"A": ["52.94.0.1"]},
    f"lambda.{REGION}.amazonaws.com": {"A": ["52.94.0.2"]},
}


@dataclass
class LabVpc:
    """A moto VPC whose CIDR is the lab's block, so AmazonProvidedDNS (base + 2) is a lab server.

    Like Lambda, a warm execution environment keeps the resolv.conf it started with; a
    configuration change (the checker's WATCHDOG_OPTION_SET) starts a fresh one that sees the
    VPC's current option set.
    """

    world: World
    lab: DnsLab
    forwarder: LabForwarder
    amazon: LabServer
    dead: LabServer
    vpc_id: str
    good: str
    bad: str
    canary_module: ModuleType
    context_factory: Callable[..., Any]
    environment_marker: str | None = None
    warm_servers: list[str] = field(default_factory=list)

    def associate(self, option_set: str, *, warm_environment_notices: bool = True) -> None:
        self.world.associate(self.vpc_id, option_set)
        self.forwarder.upstreams = self._servers(option_set)
        if warm_environment_notices:
            self._start_environment(self.environment_marker)

    def _servers(self, option_set: str) -> list[str]:
        return [self.amazon.address] if option_set == self.good else [self.dead.address]

    def _start_environment(self, marker: str | None) -> None:
        option_set = self.world.ec2.describe_vpcs(VpcIds=[self.vpc_id])["Vpcs"][0]["DhcpOptionsId"]
        self.warm_servers = self._servers(option_set)
        self.lab.write_resolv_conf(configured=self.warm_servers)
        self.environment_marker = marker

    def canary(self, payload: dict[str, Any], env: dict[str, str]) -> Reply:
        marker = env.get("WATCHDOG_OPTION_SET")
        if marker != self.environment_marker:
            self._start_environment(marker)
        try:
            result = self.canary_module.lambda_handler(
                payload, self.context_factory(timeout_ms=5000)
            )
        except Exception as exc:  # the Lambda runtime turns it into FunctionError: Unhandled
            return "Unhandled", {"errorType": type(exc).__name__, "errorMessage": str(exc)}
        return None, result


@pytest.fixture
def lab_vpc(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    load_handler: Callable[[str], ModuleType],
    lambda_context_factory: Callable[..., Any],
) -> Iterator[LabVpc]:
    for variable in ("PROBE_NAMES", "PROBE_MAX_LATENCY_MS", "DEADLINE_MARGIN_MS"):
        monkeypatch.delenv(variable, raising=False)
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records=AWS_RECORDS, host=2)
        dead = lab.add_server("corp-dead", behaviour="blackhole")
        forwarder = lab.add_forwarder(upstreams=[amazon.address])
        lab.write_resolv_conf(configured=[amazon.address])
        for variable, value in lab.canary_env(amazon=amazon).items():
            monkeypatch.setenv(variable, value)
        vpc_id = world.create_vpc(lab.cidr)
        good = world.option_set("AmazonProvidedDNS")
        bad = world.option_set(dead.address)
        vpc = LabVpc(
            world,
            lab,
            forwarder,
            amazon,
            dead,
            vpc_id,
            good,
            bad,
            load_handler("canary"),
            lambda_context_factory,
        )
        vpc.associate(good)
        world.add_canary(vpc_id, "canary-real", vpc.canary)
        yield vpc


def _event(vpc: LabVpc, option_set: str) -> dict[str, Any]:
    return cloudtrail_event("associate_dhcp_options", vpcId=vpc.vpc_id, dhcpOptionsId=option_set)


def _manual(vpc_ids: Sequence[str]) -> dict[str, Any]:
    return {"action": "check", "vpc_ids": list(vpc_ids), "reason": "baseline"}


def test_dead_server_change_alerts_critical_then_rollback_recovers(
    lab_vpc: LabVpc, world: World, checker_app: Callable[[Any], dict[str, Any]]
) -> None:
    # Given a healthy VPC on AmazonProvidedDNS
    baseline = checker_app(_manual([lab_vpc.vpc_id]))
    assert baseline["vpcs"][0]["verdict"] == "OK"
    assert world.alerts() == []

    # When the option set is switched to a server that never answers
    lab_vpc.associate(lab_vpc.bad)
    result = checker_app(_event(lab_vpc, lab_vpc.bad))

    # Then the real canary's findings give a CRITICAL alert with the hop and the rollback
    assert result["vpcs"][0]["verdict"] == "FAILED"
    [critical] = world.alerts()
    assert critical.severity == "CRITICAL"
    assert critical.document["diagnosis"]["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert critical.document["diagnosis"]["failing_hop"] == "configured_server"
    dead = lab_vpc.dead.address
    assert f"@{dead} (configured): TIMEOUT" in critical.text
    assert f"@{lab_vpc.amazon.address} (amazon): OK" in critical.text
    assert (
        f"aws ec2 associate-dhcp-options --dhcp-options-id {lab_vpc.good} "
        f"--vpc-id {lab_vpc.vpc_id} --region {REGION}"
    ) in critical.text

    # When it is rolled back
    lab_vpc.associate(lab_vpc.good)
    checker_app(_event(lab_vpc, lab_vpc.good))

    # Then exactly one RECOVERED follows
    [recovered] = world.alerts()
    assert recovered.severity == "RECOVERED"
    assert recovered.document["diagnosis"]["code"] == "HEALTHY"


def test_warm_canary_is_refreshed_before_it_is_believed(
    lab_vpc: LabVpc, world: World, checker_app: Callable[[Any], dict[str, Any]]
) -> None:
    # Given the option set changes but the canary's warm environment keeps its old resolv.conf
    lab_vpc.associate(lab_vpc.bad, warm_environment_notices=False)
    # When the change is checked
    result = checker_app(_event(lab_vpc, lab_vpc.bad))
    # Then the canary first reported itself stale, was refreshed, and its fresh answer counts
    assert world.environment("canary-real")["WATCHDOG_OPTION_SET"] == lab_vpc.bad
    assert len(world.router.invocations("canary-real")) == 2
    assert result["vpcs"][0]["verdict"] == "FAILED"
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert "canary-real: FAILED - CONFIGURED_SERVER_UNREACHABLE, refreshed" in alert.text
