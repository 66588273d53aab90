"""The local Lambda platform: boto3 Invoke runs the real canary in a simulated VPC execution
environment whose resolv.conf comes from the VPC's option set (moto for AWS, the DNS lab on
loopback for DNS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from devtools.awsworld import AwsWorld, local_aws
from devtools.dnslab import DnsLab, LabServer
from devtools.lambdakit import REGION
from devtools.local_lambda import LocalCanaryPlatform

pytestmark = pytest.mark.integration

CANARY = "canary-local"
AWS_RECORDS = {
    f"sts.{REGION}.amazonaws.com": {"A": ["52.94.0.1"]},
    f"lambda.{REGION}.amazonaws.com": {"A": ["52.94.0.2"]},
}


@dataclass
class LocalVpc:
    world: AwsWorld
    lab: DnsLab
    platform: LocalCanaryPlatform
    amazon: LabServer
    corp: LabServer
    vpc_id: str
    subnet_id: str
    amazon_set: str
    corp_set: str

    def associate(self, option_set: str) -> None:
        self.world.associate(self.vpc_id, option_set)

    def invoke(self, event: dict[str, Any] | None = None) -> tuple[str | None, Any]:
        """Invoke the canary through a boto3 client, as the checker does."""
        response = boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=CANARY, Payload=json.dumps(event or {}).encode()
        )
        return response.get("FunctionError"), json.loads(response["Payload"].read())

    def set_variable(self, name: str, value: str) -> None:
        self.world.lambda_.update_function_configuration(
            FunctionName=CANARY, Environment={"Variables": {name: value}}
        )


def _canary_in(world: AwsWorld, vpc_cidr: str) -> tuple[str, str]:
    """A VPC and a canary function attached to it; returns (vpc id, subnet id)."""
    vpc_id = world.create_vpc(vpc_cidr)
    subnet_id = world.create_subnet(vpc_id, vpc_cidr)
    world.add_canary(vpc_id, CANARY, subnet_ids=[subnet_id], timeout_s=5)
    return vpc_id, subnet_id


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    for variable in ("PROBE_NAMES", "PROBE_MAX_LATENCY_MS", "DEADLINE_MARGIN_MS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    with local_aws():
        yield AwsWorld()


@pytest.fixture
def local_vpc(aws: AwsWorld) -> Iterator[LocalVpc]:
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records=AWS_RECORDS, host=2)
        corp = lab.add_server("corp", records=AWS_RECORDS)
        vpc_id, subnet_id = _canary_in(aws, lab.cidr)
        amazon_set, corp_set = aws.option_set("AmazonProvidedDNS"), aws.option_set(corp.address)
        platform = LocalCanaryPlatform(lab, amazon, region=REGION)
        vpc = LocalVpc(aws, lab, platform, amazon, corp, vpc_id, subnet_id, amazon_set, corp_set)
        vpc.associate(amazon_set)
        with platform.routing():
            yield vpc


def test_environment_keeps_the_option_set_it_started_with_until_the_configuration_changes(
    local_vpc: LocalVpc,
) -> None:
    # Given a first invocation: a new environment sees AmazonProvidedDNS (the VPC base + 2)
    error, findings = local_vpc.invoke()
    assert error is None
    assert findings["ok"] is True
    assert findings["resolv_conf"]["configured_nameservers"] == [local_vpc.amazon.address]
    first = local_vpc.platform.environments[CANARY]
    resolv_conf = first.resolv_conf.read_text()
    assert f"; configured nameserver {local_vpc.amazon.address}\n" in resolv_conf
    assert first.forwarder is not None
    assert f"nameserver {first.forwarder.address}\n" in resolv_conf

    # When the VPC moves to another option set, the warm environment keeps the old resolv.conf
    local_vpc.associate(local_vpc.corp_set)
    error, findings = local_vpc.invoke({"expected_nameservers": [local_vpc.corp.address]})
    assert error is None
    assert findings["stale"] is True
    assert findings["resolv_conf"]["configured_nameservers"] == [local_vpc.amazon.address]
    assert local_vpc.platform.environments[CANARY] is first
    assert first.invocations == 2

    # When the function's configuration changes, the next invocation gets a new environment
    local_vpc.set_variable("WATCHDOG_OPTION_SET", local_vpc.corp_set)
    error, findings = local_vpc.invoke({"expected_nameservers": [local_vpc.corp.address]})
    assert error is None
    assert findings["ok"] is True
    assert findings["resolv_conf"]["configured_nameservers"] == [local_vpc.corp.address]
    second = local_vpc.platform.environments[CANARY]
    assert second is not first
    # and the old environment's forwarder is gone from the lab
    assert first.forwarder not in list(local_vpc.lab.servers())


def test_recycled_environment_is_replaced_by_one_with_the_current_option_set(
    local_vpc: LocalVpc,
) -> None:
    local_vpc.invoke()
    local_vpc.associate(local_vpc.corp_set)
    local_vpc.platform.recycle(CANARY)
    _, findings = local_vpc.invoke()
    assert findings["resolv_conf"]["configured_nameservers"] == [local_vpc.corp.address]


def test_exception_comes_back_as_unhandled_function_error(local_vpc: LocalVpc) -> None:
    error, payload = local_vpc.invoke({"probes": [{"name": "sts.amazonaws.com", "type": "AAA"}]})
    assert error == "Unhandled"
    assert payload["errorType"] == "InvalidProbePlan"
    assert "probes[0].type: unsupported record type 'AAA'" in payload["errorMessage"]
    assert isinstance(payload["stackTrace"], list)


@pytest.mark.parametrize(
    ("vpc_cidr", "servers", "refused"),
    [
        (None, ("10.1.1.10",), "10.1.1.10"),
        ("10.0.0.0/16", ("AmazonProvidedDNS",), "10.0.0.2"),
    ],
)
def test_option_set_servers_outside_the_lab_are_refused(
    aws: AwsWorld, vpc_cidr: str | None, servers: tuple[str, ...], refused: str
) -> None:
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records=AWS_RECORDS, host=2)
        vpc_id, _ = _canary_in(aws, vpc_cidr or lab.cidr)
        aws.associate(vpc_id, aws.option_set(*servers))
        platform = LocalCanaryPlatform(lab, amazon, region=REGION)
        with platform.routing(), pytest.raises(ValueError, match="outside the DNS lab") as raised:
            boto3.client("lambda", region_name=REGION).invoke(FunctionName=CANARY, Payload=b"{}")
        assert f"'{refused}'" in str(raised.value)
        assert platform.environments == {}
        assert [server.name for server in lab.servers()] == ["amazon"]
