"""A VPC as the checker reasons about it: its primary CIDR, option set and DNS settings, and where
a canary sits in it (pure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

AMAZON_PROVIDED_DNS = "AmazonProvidedDNS"
# `AssociateDhcpOptions --dhcp-options-id default`: no options at all, so no DNS servers.
DEFAULT_OPTION_SET = "default"


@dataclass(frozen=True)
class OptionSet:
    """A DHCP option set's DNS settings (`default` means no options at all)."""

    option_set_id: str
    domain_name_servers: tuple[str, ...]
    domain_name: str | None

    @property
    def uses_amazon_dns(self) -> bool:
        return AMAZON_PROVIDED_DNS in self.domain_name_servers


NO_OPTIONS = OptionSet(DEFAULT_OPTION_SET, (), None)


@dataclass(frozen=True)
class VpcFacts:
    """What EC2 says about a VPC at check time."""

    vpc_id: str
    cidr_block: str
    option_set: OptionSet
    dns_support: bool
    expected_nameservers: tuple[str, ...]
    # The VPC is tagged for self-healing (constants.SELF_HEAL_TAG_KEY = "true"; healing.py).
    self_heal_opt_in: bool = False


def expected_nameservers(servers: Sequence[str], cidr_block: str) -> tuple[str, ...]:
    """The `; configured nameserver` lines a Lambda in this VPC should see.

    AmazonProvidedDNS appears as the VPC's primary CIDR base + 2 (10.0.0.0/16 -> 10.0.0.2).
    """
    network = ipaddress.ip_network(cidr_block, strict=False)
    expected = []
    for server in servers:
        if server == AMAZON_PROVIDED_DNS:
            expected.append(str(network.network_address + 2))
        else:
            expected.append(server)
    return tuple(dict.fromkeys(expected))


def vpc_facts(
    vpc_id: str,
    cidr_block: str,
    option_set: OptionSet,
    dns_support: bool,
    *,
    self_heal_opt_in: bool = False,
) -> VpcFacts:
    """The facts of a VPC, with the nameservers its Lambdas should see derived once."""
    return VpcFacts(
        vpc_id=vpc_id,
        cidr_block=cidr_block,
        option_set=option_set,
        dns_support=dns_support,
        expected_nameservers=expected_nameservers(option_set.domain_name_servers, cidr_block),
        self_heal_opt_in=self_heal_opt_in,
    )


@dataclass(frozen=True)
class CanaryPlacement:
    """Where a canary sits: its function's VpcConfig (GetFunctionConfiguration)."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
