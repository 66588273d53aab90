"""NOBODY_AT_ADDRESS asks EC2 per VPC (moto): an interface with the same address in another VPC
(same CIDR, or a peer) does not answer there, so it is named, never counted as the holder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from checker_doubles import FakeCanary, World
from dns_watchdog.aws.vpcs import VpcDirectory

from devtools.lambdakit import cloudtrail_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CIDR = "10.0.0.0/16"
SERVER = "10.0.9.9"


def interface_at(world: World, vpc_id: str, address: str) -> None:
    subnet = world.create_subnet(vpc_id, "10.0.9.0/24")
    world.ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=address)


def test_the_adapter_counts_only_interfaces_of_the_vpc_asked_about(moto_world: World) -> None:
    # Given two VPCs with the same CIDR, the address held only in the second
    watched, other = moto_world.create_vpc(CIDR), moto_world.create_vpc(CIDR)
    interface_at(moto_world, other, SERVER)
    vpcs = VpcDirectory(boto3.client("ec2"))

    # Then the watched VPC holds nothing there, and the other VPC is named as the holder
    assert vpcs.held_addresses({watched: [SERVER]}) == {watched: set()}
    assert vpcs.held_addresses({other: [SERVER]}) == {other: {SERVER}}
    assert vpcs.held_addresses({watched: [SERVER], other: [SERVER]}) == {
        watched: set(),
        other: {SERVER},
    }
    assert vpcs.address_holders([SERVER, "10.0.9.10"]) == {SERVER: {other}}


def test_a_change_alert_names_the_other_vpc_instead_of_counting_its_interface(
    world: World, checker_app: Invoke
) -> None:
    # Given a watched VPC and another VPC with the same CIDR whose interface holds 10.0.9.9
    vpc_id = world.create_vpc(CIDR)
    other = world.create_vpc(CIDR)
    interface_at(world, other, SERVER)
    good = world.option_set("AmazonProvidedDNS")
    ghost = world.option_set(SERVER)
    world.associate(vpc_id, good)
    world.add_canary(vpc_id, "vpc-dns-canary-a", FakeCanary(dead={SERVER}))
    checker_app({"action": "check", "vpc_ids": [vpc_id]})

    # When the option set naming 10.0.9.9 is associated with the watched VPC
    world.associate(vpc_id, ghost)
    checker_app(cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=ghost))

    # Then its lint says nobody there holds the address, and who elsewhere does
    [alert] = world.alerts()
    [finding] = [f for f in alert.document["lint"] if f["code"] == "NOBODY_AT_ADDRESS"]
    assert finding["message"] == (
        f"{ghost} names {SERVER}, inside {vpc_id}, but no network interface there holds that "
        f"address; it is held by an interface in {other} (another VPC), not reached at that "
        f"address from {vpc_id}: nothing is there to answer."
    )
    assert f"[ERROR] NOBODY_AT_ADDRESS: {finding['message']}" in alert.text


def test_an_interface_in_the_vpc_itself_still_counts(world: World, checker_app: Invoke) -> None:
    vpc_id = world.create_vpc(CIDR)
    interface_at(world, vpc_id, SERVER)
    ghost = world.option_set(SERVER)
    world.add_canary(vpc_id, "vpc-dns-canary-a", FakeCanary())
    world.associate(vpc_id, ghost)

    result = checker_app({"action": "preflight", "dhcp_options_id": ghost, "vpc_ids": [vpc_id]})

    assert [f["code"] for f in result["lint"]] == []
