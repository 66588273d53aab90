"""Checker fan-out benchmark: one VPC with many canaries whose invocations each take a while.

The checker handler runs for real under moto; each canary ``Invoke`` sleeps the simulated latency
and answers with findings recorded from a real canary run against the DNS lab.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from devtools.awsworld import AwsWorld, local_aws
from devtools.dnslab import DnsLab
from devtools.lambdakit import (
    CANARY_DIR,
    CHECKER_DIR,
    FakeLambdaContext,
    SimulatedCanaries,
    environment_variables,
    load_handler,
)

__all__ = ["SimulatedCanaries", "fanout_wall_ms", "recorded_healthy_findings"]


def recorded_healthy_findings(vpc_cidr: str) -> dict[str, Any]:
    """Findings of a real canary run in a healthy VPC whose AmazonProvidedDNS is base + 2."""
    names = {"sts.us-east-1.amazonaws.com": {"A": ["209.54.177.164"]}}
    with DnsLab(prefix=vpc_cidr.rsplit(".", 1)[0]) as lab:
        amazon = lab.add_server("amazon", records=names, host=2)
        lab.add_forwarder([amazon.address])
        lab.write_resolv_conf(configured=[amazon.address])
        with environment_variables(lab.canary_env(amazon=amazon)):
            handler = load_handler(CANARY_DIR)
            findings: dict[str, Any] = handler(
                {"probes": [{"name": "sts.us-east-1.amazonaws.com"}]},
                FakeLambdaContext("canary", timeout_ms=5000),
            )
    return findings


def fanout_wall_ms(canaries: int, latency_ms: float, concurrency: int) -> float:
    """Wall time of one manual check of a VPC with `canaries` canaries."""
    cidr = "127.201.7.0/24"
    findings = recorded_healthy_findings(cidr)
    with local_aws():
        # The session the checker's clients come from: its service models load here, before the
        # timed run, as in a warm execution environment.
        world = AwsWorld(boto3.DEFAULT_SESSION)
        vpc_id = world.create_vpc(cidr)
        world.associate(vpc_id, world.option_set("AmazonProvidedDNS"))
        for number in range(canaries):
            world.add_canary(vpc_id, f"vpc-dns-canary-{number:03d}")
        resources = world.checker_resources(table="state", topic="alerts")
        settings = {
            **resources.settings,
            "MAX_CONCURRENT_INVOCATIONS": str(concurrency),
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        }
        event = {"action": "check", "vpc_ids": [vpc_id], "reason": "fan-out benchmark"}
        router = SimulatedCanaries(latency_ms=latency_ms, findings=findings)
        with router.routing(), environment_variables(settings):
            handler = load_handler(CHECKER_DIR)
            context = FakeLambdaContext("checker", timeout_ms=120_000)
            started = time.perf_counter()
            result = handler(event, context)
            wall_ms = (time.perf_counter() - started) * 1000
    checked = result["vpcs"][0]
    if checked["verdict"] != "OK" or checked["canaries"] != canaries:
        raise RuntimeError(f"fan-out run did not check every canary: {json.dumps(result)}")
    return wall_ms
