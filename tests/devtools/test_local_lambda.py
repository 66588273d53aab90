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
from moto import mock_aws

from devtools.dnslab import DnsLab, LabServer
from devtools.local_lambda import LocalCanaryPlatform

REGION = "us-east-1"
CANARY = "canary-local"
AWS_RECORDS = {
    f"sts.{REGION}.amazonaws.com": {"A": ["52.94.0.1"]},
    f"lambda.{REGION}.amazonaws.com": {"A": ["52.94.0.2"]},
}


@dataclass
class LocalVpc:
    lab: DnsLab
    platform: LocalCanaryPlatform
    amazon: LabServer
    corp: LabServer
    vpc_id: str
    subnet_id: str
    amazon_set: str
    corp_set: str

    def associate(self, option_set: str) -> None:
        boto3.client("ec2", region_name=REGION).associate_dhcp_options(
            DhcpOptionsId=option_set, VpcId=self.vpc_id
        )

    def invoke(self, event: dict[str, Any] | None = None) -> tuple[str | None, Any]:
        """Invoke the canary through a boto3 client, as the checker does."""
        response = boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=CANARY, Payload=json.dumps(event or {}).encode()
        )
        return response.get("FunctionError"), json.loads(response["Payload"].read())

    def set_variable(self, name: str, value: str) -> None:
        boto3.client("lambda", region_name=REGION).update_function_configuration(
            FunctionName=CANARY, Environment={"Variables": {name: value}}
        )


def _option_set(*servers: str) -> str:
    option_set_id: str = boto3.client("ec2", region_name=REGION).create_dhcp_options(
        DhcpConfigurations=[{"Key": "domain-name-servers", "Values": list(servers)}]
    )["DhcpOptions"]["DhcpOptionsId"]
    return option_set_id


def _canary_in(vpc_cidr: str) -> tuple[str, str]:
    """A VPC and a canary function attached to it; returns (vpc id, subnet id)."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc_id: str = ec2.create_vpc(CidrBlock=vpc_cidr)["Vpc"]["VpcId"]
    subnet_id: str = ec2.create_subnet(VpcId=vpc_id, CidrBlock=vpc_cidr)["Subnet"]["SubnetId"]
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="canary-role", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=CANARY,
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Timeout=5,
        VpcConfig={"SubnetIds": [subnet_id], "SecurityGroupIds": []},
    )
    return vpc_id, subnet_id


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for variable in ("PROBE_NAMES", "PROBE_MAX_LATENCY_MS", "DEADLINE_MARGIN_MS"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    with mock_aws():
        boto3.setup_default_session(region_name=REGION)
        try:
            yield
        finally:
            boto3.DEFAULT_SESSION = None


@pytest.fixture
def local_vpc(aws: None) -> Iterator[LocalVpc]:
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records=AWS_RECORDS, host=2)
        corp = lab.add_server("corp", records=AWS_RECORDS)
        vpc_id, subnet_id = _canary_in(lab.cidr)
        amazon_set, corp_set = _option_set("AmazonProvidedDNS"), _option_set(corp.address)
        platform = LocalCanaryPlatform(lab, amazon, region=REGION)
        vpc = LocalVpc(lab, platform, amazon, corp, vpc_id, subnet_id, amazon_set, corp_set)
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
    aws: None, vpc_cidr: str | None, servers: tuple[str, ...], refused: str
) -> None:
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records=AWS_RECORDS, host=2)
        vpc_id, _ = _canary_in(vpc_cidr or lab.cidr)
        boto3.client("ec2", region_name=REGION).associate_dhcp_options(
            DhcpOptionsId=_option_set(*servers), VpcId=vpc_id
        )
        platform = LocalCanaryPlatform(lab, amazon, region=REGION)
        with platform.routing(), pytest.raises(ValueError, match="outside the DNS lab") as raised:
            boto3.client("lambda", region_name=REGION).invoke(FunctionName=CANARY, Payload=b"{}")
        assert f"'{refused}'" in str(raised.value)
        assert platform.environments == {}
        assert [server.name for server in lab.servers()] == ["amazon"]
