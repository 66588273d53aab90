"""EC2 adapter: which server addresses a network interface holds (moto)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from dns_watchdog.aws.vpcs import VpcDirectory
from dns_watchdog.domain.lint import lint_option_set
from dns_watchdog.domain.vpc import OptionSet

pytestmark = pytest.mark.integration


def test_held_addresses_names_only_addresses_an_interface_holds(moto_world: Any) -> None:
    # Given a VPC with a DNS server's interface at 10.20.1.10
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress="10.20.1.10")

    # When the lint asks which candidate servers are held
    held = VpcDirectory(ec2).held_addresses({vpc_id: ["10.20.1.10", "10.20.1.99"]})

    # Then only the real server counts, and the empty address is reported as nobody's
    assert held == {vpc_id: {"10.20.1.10"}}
    option_set = OptionSet("dopt-x", ("10.20.1.10", "10.20.1.99"), None)
    findings = lint_option_set(option_set, vpc_cidrs={vpc_id: "10.20.0.0/16"}, held_addresses=held)
    assert [(f.code.value, f.severity.value) for f in findings] == [("NOBODY_AT_ADDRESS", "ERROR")]
    assert "10.20.1.99" in findings[0].message


def test_held_addresses_of_nothing_asks_nothing(moto_world: Any) -> None:
    assert VpcDirectory(boto3.client("ec2")).held_addresses({}) == {}


def test_routes_out_are_the_non_local_routes_of_every_route_table(moto_world: Any) -> None:
    ec2 = boto3.client("ec2")
    isolated = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    online = ec2.create_vpc(CidrBlock="10.31.0.0/16")["Vpc"]["VpcId"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=online)
    table = ec2.create_route_table(VpcId=online)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    vpcs = VpcDirectory(ec2)

    assert vpcs.routes_out(isolated) == set()
    assert vpcs.routes_out(online) == {"0.0.0.0/0"}
    public = OptionSet("dopt-public", ("52.94.0.53",), None)
    routes = {isolated: vpcs.routes_out(isolated), online: vpcs.routes_out(online)}
    findings = lint_option_set(public, routes_out=routes)
    assert [f.code.value for f in findings] == ["PUBLIC_SERVER_NO_ROUTE"]
    assert isolated in findings[0].message
