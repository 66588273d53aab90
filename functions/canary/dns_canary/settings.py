"""Typed canary settings, read once from the environment (see docs/canary-contract.md)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from dns_canary.constants import (
    DEFAULT_AMAZON_DNS_SERVER,
    DEFAULT_AMAZON_DNS_SERVER_IPV6,
    DEFAULT_DEADLINE_MARGIN_MS,
    DEFAULT_DEADLINE_MS,
    DEFAULT_DNS_PORT,
    DEFAULT_MAX_LATENCY_MS,
    DEFAULT_PROBE_NAMES,
    DEFAULT_RESOLV_CONF_PATH,
    ENV_AMAZON_DNS_SERVER,
    ENV_AMAZON_DNS_SERVER_IPV6,
    ENV_DEADLINE_MARGIN_MS,
    ENV_DEADLINE_MS,
    ENV_DEFAULT_REGION,
    ENV_DNS_PORT,
    ENV_PROBE_MAX_LATENCY_MS,
    ENV_PROBE_NAMES,
    ENV_REGION,
    ENV_RESOLV_CONF_PATH,
    MAX_DEADLINE_MS,
    MAX_LATENCY_MS,
    MAX_PROBES,
    MIN_DEADLINE_MS,
)
from dns_canary.names import InvalidName, check_name, check_type


class InvalidSettings(ValueError):
    """An environment variable of the canary has a value it cannot use."""


@dataclass(frozen=True)
class DefaultProbe:
    """One entry of PROBE_NAMES: an absolute name (region already filled in) and a record type."""

    name: str
    type: str


@dataclass(frozen=True)
class CanarySettings:
    resolv_conf_path: str
    amazon_dns_server: str
    probe_names: tuple[DefaultProbe, ...]
    deadline_ms: int
    probe_max_latency_ms: int
    deadline_margin_ms: int
    dns_port: int
    region: str | None
    probe_names_error: str | None = None
    # The Amazon resolver over IPv6, asked when resolv.conf names IPv6 servers only.
    amazon_dns_server_ipv6: str = DEFAULT_AMAZON_DNS_SERVER_IPV6

    def default_probes(self) -> tuple[DefaultProbe, ...]:
        """PROBE_NAMES; raises InvalidSettings when they need a region that is not set."""
        if self.probe_names_error:
            raise InvalidSettings(self.probe_names_error)
        return self.probe_names

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CanarySettings:
        env = os.environ if environ is None else environ
        region = env.get(ENV_REGION) or env.get(ENV_DEFAULT_REGION) or None
        probe_names, probe_names_error = _probe_names(env, region)
        return cls(
            resolv_conf_path=_raw(env, ENV_RESOLV_CONF_PATH, DEFAULT_RESOLV_CONF_PATH),
            amazon_dns_server=_ip_address(env, ENV_AMAZON_DNS_SERVER, DEFAULT_AMAZON_DNS_SERVER),
            probe_names=probe_names,
            deadline_ms=_integer(
                env, ENV_DEADLINE_MS, DEFAULT_DEADLINE_MS, MIN_DEADLINE_MS, MAX_DEADLINE_MS
            ),
            probe_max_latency_ms=_integer(
                env, ENV_PROBE_MAX_LATENCY_MS, DEFAULT_MAX_LATENCY_MS, 1, MAX_LATENCY_MS
            ),
            deadline_margin_ms=_integer(
                env, ENV_DEADLINE_MARGIN_MS, DEFAULT_DEADLINE_MARGIN_MS, 0, MAX_DEADLINE_MS
            ),
            dns_port=_integer(env, ENV_DNS_PORT, DEFAULT_DNS_PORT, 1, 65535),
            region=region,
            probe_names_error=probe_names_error,
            amazon_dns_server_ipv6=_ip_address(
                env, ENV_AMAZON_DNS_SERVER_IPV6, DEFAULT_AMAZON_DNS_SERVER_IPV6, version=6
            ),
        )


def _raw(env: Mapping[str, str], variable: str, default: str) -> str:
    value = env.get(variable)
    return default if value is None or not value.strip() else value.strip()


def _ip_address(
    env: Mapping[str, str], variable: str, default: str, version: int | None = None
) -> str:
    value = _raw(env, variable, default)
    try:
        address = ipaddress.ip_address(value)
    except ValueError as exc:
        raise InvalidSettings(f"{variable}: {value!r} is not an IP address") from exc
    if version is not None and address.version != version:
        raise InvalidSettings(f"{variable}: {value!r} is not an IPv{version} address")
    return str(address)


def _integer(
    env: Mapping[str, str], variable: str, default: int, minimum: int, maximum: int
) -> int:
    value = _raw(env, variable, str(default))
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidSettings(f"{variable}: {value!r} is not an integer") from exc
    if not minimum <= number <= maximum:
        raise InvalidSettings(f"{variable}: {number} is outside {minimum}..{maximum}")
    return number


def _probe_names(
    env: Mapping[str, str], region: str | None
) -> tuple[tuple[DefaultProbe, ...], str | None]:
    """The default probes, or the error to raise when they are needed but lack a region."""
    value = _raw(env, ENV_PROBE_NAMES, DEFAULT_PROBE_NAMES)
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if not entries:
        raise InvalidSettings(f"{ENV_PROBE_NAMES}: no names given")
    if len(entries) > MAX_PROBES:
        raise InvalidSettings(
            f"{ENV_PROBE_NAMES}: {len(entries)} names, at most {MAX_PROBES} allowed"
        )
    probes = []
    for entry in entries:
        name, _, rdtype = entry.partition("/")
        try:
            probes.append(
                DefaultProbe(
                    # Without a region the syntax is still checked, with a stand-in.
                    name=check_name(name.strip().replace("{region}", region or "region"), "name"),
                    type=check_type(rdtype.strip() or "A", "type"),
                )
            )
        except InvalidName as exc:
            raise InvalidSettings(f"{ENV_PROBE_NAMES}: entry {entry!r}: {exc}") from exc
    if region is None and "{region}" in value:
        # Lambda always sets AWS_REGION; elsewhere this only matters when the defaults are used.
        return (), f"{ENV_PROBE_NAMES}: names use {{region}} but {ENV_REGION} is not set"
    return tuple(probes), None
