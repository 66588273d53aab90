"""The option sets a run names: each described at most once per run, and linted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dns_watchdog.aws.vpcs import VpcDirectory
from dns_watchdog.domain.discovery import Discovery
from dns_watchdog.domain.lint import (
    IpNetwork,
    LintFinding,
    addresses_to_look_up,
    lint_option_set,
    public_servers,
)
from dns_watchdog.domain.vpc import OptionSet


class OptionSets:
    """Describes option sets for one run (a set named by several alerts is read once)."""

    def __init__(
        self,
        vpcs: VpcDirectory,
        allowed_networks: tuple[IpNetwork, ...] = (),
    ) -> None:
        self._vpcs = vpcs
        self._allowed = allowed_networks
        self._described: dict[str, OptionSet | None] = {}

    def describe(self, option_set_id: str) -> OptionSet | None:
        """The option set, or None when it no longer exists (raises AwsCallFailed)."""
        if option_set_id not in self._described:
            self._described[option_set_id] = self._vpcs.describe_option_set(option_set_id)
        return self._described[option_set_id]

    def known(self, option_set_ids: Iterable[str]) -> Mapping[str, OptionSet | None]:
        """Each of these option sets, described once per run."""
        return {i: self.describe(i) for i in option_set_ids}

    def lint(
        self,
        option_set: OptionSet,
        vpc_cidrs: dict[str, str],
        discoveries: Mapping[str, Discovery] | None = None,
    ) -> list[LintFinding]:
        """The option set's lint, asking EC2 which interface of each VPC in `vpc_cidrs` holds
        the server addresses inside it, and which other VPC holds those nobody there holds;
        with `discoveries`, what custom servers must forward of each VPC's own DNS."""
        held, elsewhere = self._holders(addresses_to_look_up(option_set, vpc_cidrs))
        # Route tables only matter (and are read) when a server is at a public address.
        routes = (
            {vpc_id: self._vpcs.routes_out(vpc_id) for vpc_id in vpc_cidrs}
            if public_servers(option_set)
            else None
        )
        return lint_option_set(
            option_set,
            allowed_networks=self._allowed,
            vpc_cidrs=vpc_cidrs,
            held_addresses=held,
            held_elsewhere=elsewhere,
            routes_out=routes,
            discoveries=discoveries,
        )

    def _holders(
        self, lookups: Mapping[str, tuple[str, ...]]
    ) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """(VPC -> the addresses its interfaces hold, address -> the VPCs holding it) for the
        servers `lookups` names (server -> the watched VPCs it is inside)."""
        if not lookups:
            return {}, {}
        by_vpc: dict[str, set[str]] = {}
        for server, vpc_ids in lookups.items():
            for vpc_id in vpc_ids:
                by_vpc.setdefault(vpc_id, set()).add(server)
        held = self._vpcs.held_addresses(by_vpc)
        missing = {a for vpc_id, wanted in by_vpc.items() for a in wanted - held[vpc_id]}
        return held, (self._vpcs.address_holders(missing) if missing else {})
