"""Option sets with IPv6 DNS servers through the checker's handler (moto, canary doubles).

EC2's CreateDhcpOptions takes "the IP addresses of up to four DNS servers" (botocore ec2
2016-11-15 model), so an option set may name IPv6 servers; the checker must pass them to the
canary, page them, lint them and offer the rollback as for IPv4 ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from checker_doubles import FakeCanary, World

from devtools.lambdakit import REGION, cloudtrail_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CANARY = "vpc-dns-canary-v6"
V6_DNS = "fd00:53:6::10"
V4_DNS = "10.1.1.10"


@pytest.fixture
def vpc(world: World) -> dict[str, str]:
    """A VPC on AmazonProvidedDNS whose canary cannot reach the IPv6 server."""
    vpc_id = world.create_vpc("10.0.0.0/16")
    good = world.option_set("AmazonProvidedDNS", domain_name="ec2.internal")
    world.associate(vpc_id, good)
    world.add_canary(vpc_id, CANARY, FakeCanary(dead={V6_DNS}))
    return {"vpc_id": vpc_id, "good": good}


def _change(world: World, vpc: dict[str, str], option_set: str, checker_app: Invoke) -> Any:
    """The checker has seen the VPC healthy on AmazonProvidedDNS; then the set changes."""
    checker_app({"action": "check", "vpc_ids": [vpc["vpc_id"]], "reason": "baseline"})
    assert world.alerts() == []
    world.associate(vpc["vpc_id"], option_set)
    event = cloudtrail_event(
        "associate_dhcp_options", vpcId=vpc["vpc_id"], dhcpOptionsId=option_set
    )
    return checker_app(event)


def test_an_ipv6_only_option_set_with_a_dead_server_pages_it_with_the_lint_and_rollback(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    bad = world.option_set(V6_DNS)

    result = _change(world, vpc, bad, checker_app)

    assert result["vpcs"][0]["verdict"] == "FAILED"
    # the canary was told to expect the IPv6 server
    assert world.router.invocations(CANARY)[-1]["expected_nameservers"] == [V6_DNS]
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    text = alert.text
    assert f"{vpc['good']} (AmazonProvidedDNS) -> {bad} ({V6_DNS})" in text
    assert f"@{V6_DNS} (configured): TIMEOUT" in text
    assert "IPV6_ONLY_SERVERS" in text
    rollback = (
        f"aws ec2 associate-dhcp-options --dhcp-options-id {vpc['good']} "
        f"--vpc-id {vpc['vpc_id']} --region {REGION}"
    )
    assert rollback in text
    document = alert.document
    assert document["rollback_command"] == rollback
    assert document["option_set"]["domain_name_servers"] == [V6_DNS]
    assert [f["code"] for f in document["lint"]] == ["IPV6_ONLY_SERVERS"]


def test_a_dual_stack_option_set_that_answers_is_healthy_and_not_linted(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    dual = world.option_set(V4_DNS, "fd00:53:6::11")

    result = _change(world, vpc, dual, checker_app)

    assert result["vpcs"][0]["verdict"] == "OK"
    assert world.router.invocations(CANARY)[-1]["expected_nameservers"] == [
        V4_DNS,
        "fd00:53:6::11",
    ]
    [info] = world.alerts()
    assert info.severity == "INFO"
    assert info.document["option_set"]["domain_name_servers"] == [V4_DNS, "fd00:53:6::11"]
    assert info.document["lint"] == []
