"""Checker fan-out benchmark: one VPC with many canaries whose invocations each take a while.

The checker handler runs for real under moto; each canary ``Invoke`` sleeps the simulated latency
and answers with findings recorded from a real canary run against the DNS lab.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from devtools.dnslab import DnsLab
from devtools.local_lambda import (
    CANARY_DIR,
    MOTO_CREDENTIALS,
    REPO_ROOT,
    FakeLambdaContext,
    InvokeRouter,
    environment_variables,
    load_handler,
)

REGION = "us-east-1"
TAG_KEY = "dhcp-watchdog:vpc-id"
CHECKER_DIR = REPO_ROOT / "functions" / "checker"


def recorded_healthy_findings(vpc_cidr: str) -> dict[str, Any]:
    """Findings of a real canary run in a healthy VPC whose AmazonProvidedDNS is base + 2."""
    names = {"sts.us-east-1.amazonaws.com": {"A": ["209.54.177.164"]}}
    with DnsLab(prefix=vpc_cidr.rsplit(".", 1)[0]) as lab:
        amazon = lab.add_server("amazon", records=names, host=2)
        lab.add_forwarder([amazon.address])
        lab.write_resolv_conf(configured=[amazon.address])
        with environment_variables(lab.canary_env(amazon=amazon)):
            handler = load_handler(CANARY_DIR, "canary_app_fanout")
            findings: dict[str, Any] = handler(
                {"probes": [{"name": "sts.us-east-1.amazonaws.com"}]},
                FakeLambdaContext("canary", timeout_s=5),
            )
    return findings


@dataclass
class SimulatedCanaries(InvokeRouter):
    """Every canary takes `latency_ms` and answers with the same recorded findings."""

    latency_ms: float
    findings: dict[str, Any]

    def invoke(self, function: str, event: dict[str, Any]) -> tuple[int, Any, str | None]:
        time.sleep(self.latency_ms / 1000)
        return 200, self.findings, None


def fanout_wall_ms(canaries: int, latency_ms: float, concurrency: int) -> float:
    """Wall time of one manual check of a VPC with `canaries` canaries."""
    cidr = "127.201.7.0/24"
    findings = recorded_healthy_findings(cidr)
    with environment_variables(MOTO_CREDENTIALS), mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        option_set = ec2.create_dhcp_options(
            DhcpConfigurations=[{"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]}]
        )["DhcpOptions"]["DhcpOptionsId"]
        ec2.associate_dhcp_options(DhcpOptionsId=option_set, VpcId=vpc_id)
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="canary", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        for number in range(canaries):
            lam.create_function(
                FunctionName=f"vpc-dns-canary-{number:03d}",
                Runtime="python3.12",
                Role=role,
                Handler="app.lambda_handler",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
                Tags={TAG_KEY: vpc_id},
            )
        topic = boto3.client("sns", region_name=REGION).create_topic(Name="alerts")["TopicArn"]
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="state",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        settings = {
            "ALERT_TOPIC_ARN": topic,
            "STATE_TABLE_NAME": "state",
            "MAX_CONCURRENT_INVOCATIONS": str(concurrency),
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        }
        event = {"action": "check", "vpc_ids": [vpc_id], "reason": "fan-out benchmark"}
        router = SimulatedCanaries(latency_ms=latency_ms, findings=findings)
        with router.routing(), environment_variables(settings):
            handler = load_handler(CHECKER_DIR, f"checker_app_fanout_{concurrency}")
            context = FakeLambdaContext("checker", timeout_s=120)
            started = time.perf_counter()
            result = handler(event, context)
            wall_ms = (time.perf_counter() - started) * 1000
    checked = result["vpcs"][0]
    if checked["verdict"] != "OK" or checked["canaries"] != canaries:
        raise RuntimeError(f"fan-out run did not check every canary: {json.dumps(result)}")
    return wall_ms
