"""EC2 adapter: VPC facts (primary CIDR, DHCP option set, DNS support) and resource owners."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from dns_watchdog.aws.calls import read_error
from dns_watchdog.constants import SELF_HEAL_TAG_KEY, SELF_HEAL_TAG_VALUE
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.vpc import DEFAULT_OPTION_SET, NO_OPTIONS, OptionSet, VpcFacts, vpc_facts

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


# The EC2 operations this adapter calls: member clients are built with only the operations the
# adapters declare (aws/sessions.py; tests/checker/test_member_clients.py holds the lists true).
EC2_OPERATIONS = frozenset(
    {
        "AssociateDhcpOptions",
        "DescribeDhcpOptions",
        "DescribeNetworkAcls",
        "DescribeNetworkInterfaces",
        "DescribeRouteTables",
        "DescribeSecurityGroups",
        "DescribeVpcAttribute",
        "DescribeVpcs",
    }
)


class UnknownResource(LookupError):
    """A VPC, security group, network ACL or option set that EC2 does not know."""


class VpcDirectory:
    """Reads VPC facts from EC2 (client injectable for tests)."""

    def __init__(self, client: EC2Client | None = None) -> None:
        self._ec2 = client or boto3.client("ec2")

    def describe_vpc(self, vpc_id: str) -> VpcFacts:
        try:
            vpcs = self._ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        except ClientError as exc:
            if read_error(exc).code.startswith("InvalidVpcID"):
                raise UnknownResource(f"VPC {vpc_id} does not exist in this region") from exc
            raise
        if not vpcs:
            raise UnknownResource(f"VPC {vpc_id} does not exist in this region")
        vpc = vpcs[0]
        option_set = self.describe_option_set(vpc.get("DhcpOptionsId") or DEFAULT_OPTION_SET)
        if option_set is None:
            raise UnknownResource(
                f"option set {vpc.get('DhcpOptionsId')} of VPC {vpc_id} cannot be described"
            )
        attribute = self._ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
        dns_support = bool(attribute.get("EnableDnsSupport", {}).get("Value", True))
        tags = {tag.get("Key"): tag.get("Value") for tag in vpc.get("Tags", [])}
        return vpc_facts(
            vpc_id,
            vpc["CidrBlock"],
            option_set,
            dns_support,
            self_heal_opt_in=tags.get(SELF_HEAL_TAG_KEY) == SELF_HEAL_TAG_VALUE,
        )

    def option_set_of(self, vpc_id: str) -> str:
        """The id of the option set the VPC is on now (one DescribeVpcs call)."""
        try:
            vpcs = self._ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        except ClientError as exc:
            if read_error(exc).code.startswith("InvalidVpcID"):
                raise UnknownResource(f"VPC {vpc_id} does not exist in this region") from exc
            raise AwsCallFailed(f"could not describe {vpc_id}: {read_error(exc).code}") from exc
        if not vpcs:
            raise UnknownResource(f"VPC {vpc_id} does not exist in this region")
        return vpcs[0].get("DhcpOptionsId") or DEFAULT_OPTION_SET

    def replace_option_set(self, vpc_id: str, expected: str, option_set_id: str) -> str | None:
        """Associate `option_set_id` with the VPC only if it is still on `expected` (self-healing
        and rollbacks): the VPC is described right before associating. Returns None when
        associated, or the option set the VPC was found on instead (nothing associated).

        EC2 has no conditional association: a change in the instant between the two calls still
        wins the race, and its own CloudTrail event is checked like any other.
        """
        found = self.option_set_of(vpc_id)
        if found != expected:
            return found
        try:
            self._ec2.associate_dhcp_options(DhcpOptionsId=option_set_id, VpcId=vpc_id)
        except ClientError as exc:
            raise AwsCallFailed(
                f"AssociateDhcpOptions {option_set_id} -> {vpc_id} failed: {read_error(exc).code}"
            ) from exc
        return None

    def describe_option_set(self, option_set_id: str) -> OptionSet | None:
        """The option set's DNS settings, or None when it no longer exists."""
        if option_set_id == DEFAULT_OPTION_SET:
            return NO_OPTIONS
        try:
            found = self._ec2.describe_dhcp_options(DhcpOptionsIds=[option_set_id])["DhcpOptions"]
        except ClientError as exc:
            if read_error(exc).code.startswith("InvalidDhcpOption"):
                return None
            raise AwsCallFailed(f"could not describe option set {option_set_id}: {exc}") from exc
        if not found:
            return None
        settings: dict[str, list[str]] = {}
        for configuration in found[0].get("DhcpConfigurations", []):
            values = [v["Value"] for v in configuration.get("Values", []) if "Value" in v]
            settings[configuration.get("Key", "")] = values
        domain = settings.get("domain-name", [])
        return OptionSet(
            option_set_id=option_set_id,
            domain_name_servers=tuple(settings.get("domain-name-servers", [])),
            domain_name=domain[0] if domain else None,
        )

    def held_addresses(
        self, addresses_by_vpc: Mapping[str, Collection[str]]
    ) -> dict[str, set[str]]:
        """Per VPC, which of its `addresses` a network interface *in that VPC* holds as a private
        IP (DescribeNetworkInterfaces filtered by `vpc-id`): an interface elsewhere with the same
        address (another VPC with the same CIDR) does not answer there."""
        held: dict[str, set[str]] = {vpc_id: set() for vpc_id in addresses_by_vpc}
        wanted = sorted({a for addresses in addresses_by_vpc.values() for a in addresses})
        vpc_ids = sorted(addresses_by_vpc)
        # DescribeNetworkInterfaces takes up to 200 values per filter.
        for vpcs in _chunks(vpc_ids):
            for chunk in _chunks(wanted):
                filters = {"vpc-id": vpcs, "addresses.private-ip-address": chunk}
                for vpc_id, address in self._interface_addresses(filters):
                    if address in addresses_by_vpc.get(vpc_id, ()):
                        held[vpc_id].add(address)
        return held

    def address_holders(self, addresses: Collection[str]) -> dict[str, set[str]]:
        """Each of `addresses` -> the VPCs of this region whose network interfaces hold it (to
        name the other VPC an address is held in)."""
        holders: dict[str, set[str]] = {}
        for chunk in _chunks(sorted(set(addresses))):
            for vpc_id, address in self._interface_addresses(
                {"addresses.private-ip-address": chunk}
            ):
                if address in chunk:
                    holders.setdefault(address, set()).add(vpc_id)
        return holders

    def _interface_addresses(self, filters: Mapping[str, list[str]]) -> Iterator[tuple[str, str]]:
        """(VPC, private IP) of every network interface matching `filters`."""
        try:
            pages = self._ec2.get_paginator("describe_network_interfaces").paginate(
                Filters=[{"Name": name, "Values": values} for name, values in filters.items()]
            )
            for page in pages:
                for interface in page.get("NetworkInterfaces", []):
                    for address in interface.get("PrivateIpAddresses", []):
                        if address.get("PrivateIpAddress"):
                            yield interface.get("VpcId", ""), address["PrivateIpAddress"]
        except ClientError as exc:
            raise AwsCallFailed(f"could not describe network interfaces: {exc}") from exc

    def routes_out(self, vpc_id: str) -> set[str]:
        """The destinations of the VPC's active routes that leave it (not `local`), across all
        its route tables: a public DNS server outside all of them cannot be reached."""
        destinations: set[str] = set()
        try:
            pages = self._ec2.get_paginator("describe_route_tables").paginate(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
            )
            for page in pages:
                for table in page.get("RouteTables", []):
                    for route in table.get("Routes", []):
                        if route.get("State") == "blackhole" or route.get("GatewayId") == "local":
                            continue
                        for key in ("DestinationCidrBlock", "DestinationIpv6CidrBlock"):
                            if route.get(key):
                                destinations.add(route[key])
        except ClientError as exc:
            raise AwsCallFailed(f"could not describe the route tables of {vpc_id}: {exc}") from exc
        return destinations

    def vpc_of_security_group(self, group_id: str) -> str:
        try:
            groups = self._ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        except ClientError as exc:
            if read_error(exc).code.startswith("InvalidGroup"):
                raise UnknownResource(f"security group {group_id} does not exist") from exc
            raise
        if not groups or not groups[0].get("VpcId"):
            raise UnknownResource(f"security group {group_id} does not belong to a VPC")
        return groups[0]["VpcId"]

    def vpc_of_network_acl(self, acl_id: str) -> str:
        try:
            acls = self._ec2.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"]
        except ClientError as exc:
            if read_error(exc).code.startswith("InvalidNetworkAclID"):
                raise UnknownResource(f"network ACL {acl_id} does not exist") from exc
            raise
        if not acls or not acls[0].get("VpcId"):
            raise UnknownResource(f"network ACL {acl_id} does not exist")
        return acls[0]["VpcId"]


def _chunks(values: Sequence[str], size: int = 200) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])
