"""The probe plan (the invocation event): hand-written validation into frozen dataclasses.

Hand-written rather than pydantic on purpose: the canary must start fast inside a VPC. Every error
is an ``InvalidProbePlan`` whose message starts with the path of the offending field, e.g.
``probes[2].type: unsupported record type 'AAA' (...)``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from dns_canary.constants import (
    ADDRESS_TYPES,
    EXPECTED_RCODES,
    MAX_CIDRS,
    MAX_DEADLINE_MS,
    MAX_EXPECTED_NAMESERVERS,
    MAX_LATENCY_MS,
    MAX_PATTERN_LENGTH,
    MAX_PROBES,
    MAX_SOURCE_ID_LENGTH,
    MAX_TARGET_HOPS,
    MAX_TARGETS_PER_PROBE,
    MIN_DEADLINE_MS,
    SOURCE_CONFIGURED,
    SOURCE_FORWARD_RULE,
    SOURCE_ID_PATTERN,
    SOURCE_KINDS,
)
from dns_canary.names import InvalidName, check_name, check_type, describe
from dns_canary.settings import CanarySettings

_PLAN_FIELDS = ("candidate_nameservers", "deadline_ms", "expected_nameservers", "probes")
_PROBE_FIELDS = ("expect", "max_latency_ms", "name", "source", "targets", "type")
_EXPECT_FIELDS = ("answers_in", "answers_match", "rcode")
_SOURCE_FIELDS = ("domain", "id", "kind", "via")
_SOURCE_ID = re.compile(SOURCE_ID_PATTERN)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class InvalidProbePlan(ValueError):
    """The probe plan breaks a rule of docs/canary-contract.md; the message names the field."""


@dataclass(frozen=True)
class Expectation:
    rcode: str = "NOERROR"
    answers_match: re.Pattern[str] | None = None
    answers_in: tuple[Network, ...] = ()


@dataclass(frozen=True)
class Source:
    """Where a probe came from: a configured name, or what the checker discovered in the VPC."""

    kind: str
    id: str | None = None
    domain: str | None = None  # absolute, without the final dot
    via: str | None = None  # the Route 53 Profile that brought it

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "id": self.id, "domain": self.domain, "via": self.via}


@dataclass(frozen=True)
class Probe:
    name: str  # absolute, without the final dot, ASCII (IDNA) form
    type: str
    expect: Expectation
    max_latency_ms: int
    source: Source | None = None
    # A forward rule's target addresses, asked directly as hops of their own (role rule_target).
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProbePlan:
    probes: tuple[Probe, ...]
    deadline_ms: int
    expected_nameservers: tuple[str, ...] | None
    # Preflight: servers of an option set not associated yet, probed as if they were configured.
    candidate_nameservers: tuple[str, ...] | None = None


def parse_plan(event: object, settings: CanarySettings) -> ProbePlan:
    """Validate an invocation event into a ProbePlan, filling defaults from the settings."""
    if event is None:
        event = {}
    plan = _mapping(event, "plan", _PLAN_FIELDS, prefix="")
    if "probes" in plan:
        probes = _probes(plan["probes"], settings)
    else:
        probes = tuple(
            Probe(
                name=default.name,
                type=default.type,
                expect=Expectation(),
                max_latency_ms=settings.probe_max_latency_ms,
            )
            for default in settings.default_probes()
        )
    deadline_ms = settings.deadline_ms
    if "deadline_ms" in plan:
        deadline_ms = _integer(plan["deadline_ms"], "deadline_ms", MIN_DEADLINE_MS, MAX_DEADLINE_MS)
    expected = None
    if "expected_nameservers" in plan:
        expected = _nameservers(plan["expected_nameservers"], "expected_nameservers")
    candidates = None
    if "candidate_nameservers" in plan:
        candidates = _nameservers(plan["candidate_nameservers"], "candidate_nameservers")
        if not candidates:
            raise InvalidProbePlan("candidate_nameservers: at least one address is needed")
    return ProbePlan(
        probes=probes,
        deadline_ms=deadline_ms,
        expected_nameservers=expected,
        candidate_nameservers=candidates,
    )


def expand_region(name: str, region: str | None, path: str) -> str:
    """Replace ``{region}`` by the function's region."""
    if "{region}" not in name:
        return name
    if not region:
        raise InvalidProbePlan(f"{path}: {name!r} uses {{region}} but AWS_REGION is not set")
    return name.replace("{region}", region)


def _probes(value: object, settings: CanarySettings) -> tuple[Probe, ...]:
    if not isinstance(value, list):
        raise InvalidProbePlan(f"probes: expected a list of probes, got {describe(value)}")
    if not 1 <= len(value) <= MAX_PROBES:
        raise InvalidProbePlan(f"probes: {len(value)} probes given, expected 1 to {MAX_PROBES}")
    probes = tuple(_probe(item, f"probes[{index}]", settings) for index, item in enumerate(value))
    target_hops = sum(len(probe.targets) for probe in probes)
    if target_hops > MAX_TARGET_HOPS:
        raise InvalidProbePlan(
            f"probes: {target_hops} target addresses in all (at most {MAX_TARGET_HOPS} per plan)"
        )
    return probes


def _probe(value: object, path: str, settings: CanarySettings) -> Probe:
    probe = _mapping(value, path, _PROBE_FIELDS, prefix=f"{path}.")
    if "name" not in probe:
        raise InvalidProbePlan(f"{path}.name: required")
    raw_name = probe["name"]
    if isinstance(raw_name, str):
        raw_name = expand_region(raw_name, settings.region, f"{path}.name")
    try:
        name = check_name(raw_name, f"{path}.name")
        rdtype = check_type(probe.get("type", "A"), f"{path}.type")
    except InvalidName as exc:
        raise InvalidProbePlan(str(exc)) from exc
    expect = Expectation()
    if "expect" in probe:
        expect = _expectation(probe["expect"], f"{path}.expect", rdtype)
    max_latency_ms = settings.probe_max_latency_ms
    if "max_latency_ms" in probe:
        max_latency_ms = _integer(
            probe["max_latency_ms"], f"{path}.max_latency_ms", 1, MAX_LATENCY_MS
        )
    source = _source(probe["source"], f"{path}.source") if "source" in probe else None
    targets: tuple[str, ...] = ()
    if "targets" in probe:
        if source is None or source.kind != SOURCE_FORWARD_RULE:
            raise InvalidProbePlan(
                f"{path}.targets: only allowed with source.kind {SOURCE_FORWARD_RULE!r}"
            )
        targets = _targets(probe["targets"], f"{path}.targets")
    return Probe(
        name=name,
        type=rdtype,
        expect=expect,
        max_latency_ms=max_latency_ms,
        source=source,
        targets=targets,
    )


def _source(value: object, path: str) -> Source:
    source = _mapping(value, path, _SOURCE_FIELDS, prefix=f"{path}.")
    kind = source.get("kind", SOURCE_CONFIGURED)
    if not isinstance(kind, str) or kind not in SOURCE_KINDS:
        raise InvalidProbePlan(
            f"{path}.kind: unsupported source kind {describe(kind)} "
            f"(use one of {', '.join(SOURCE_KINDS)})"
        )
    if kind == SOURCE_CONFIGURED:
        return Source(kind=kind)
    for required in ("id", "domain"):
        if required not in source:
            raise InvalidProbePlan(f"{path}.{required}: required for kind {kind!r}")
    domain_value = source["domain"]
    if isinstance(domain_value, str) and domain_value.strip() == ".":
        domain = "."  # a rule for the whole name space
    else:
        try:
            domain = check_name(domain_value, f"{path}.domain")
        except InvalidName as exc:
            raise InvalidProbePlan(str(exc)) from exc
    via = _source_id(source["via"], f"{path}.via") if "via" in source else None
    return Source(kind=kind, id=_source_id(source["id"], f"{path}.id"), domain=domain, via=via)


def _source_id(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidProbePlan(f"{path}: expected an AWS id string, got {describe(value)}")
    if not 1 <= len(value) <= MAX_SOURCE_ID_LENGTH:
        raise InvalidProbePlan(
            f"{path}: {len(value)} characters long (1 to {MAX_SOURCE_ID_LENGTH})"
        )
    if not _SOURCE_ID.fullmatch(value):
        raise InvalidProbePlan(
            f"{path}: {value[:80]!r} holds characters other than letters, digits and ._:/-"
        )
    return value


def _targets(value: object, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidProbePlan(f"{path}: expected a list of IP addresses, got {describe(value)}")
    if not 1 <= len(value) <= MAX_TARGETS_PER_PROBE:
        raise InvalidProbePlan(
            f"{path}: {len(value)} addresses given (1 to {MAX_TARGETS_PER_PROBE})"
        )
    return tuple(dict.fromkeys(_addresses(value, path)))


def _expectation(value: object, path: str, rdtype: str) -> Expectation:
    expect = _mapping(value, path, _EXPECT_FIELDS, prefix=f"{path}.")
    rcode = expect.get("rcode", "NOERROR")
    if not isinstance(rcode, str) or rcode.upper() not in EXPECTED_RCODES:
        raise InvalidProbePlan(
            f"{path}.rcode: unsupported rcode {describe(rcode)} "
            f"(use {' or '.join(EXPECTED_RCODES)})"
        )
    pattern = None
    if "answers_match" in expect:
        pattern = _pattern(expect["answers_match"], f"{path}.answers_match")
    networks: tuple[Network, ...] = ()
    if "answers_in" in expect:
        networks = _networks(expect["answers_in"], f"{path}.answers_in")
        if rdtype not in ADDRESS_TYPES:
            raise InvalidProbePlan(
                f"{path}.answers_in: only applies to A and AAAA probes, this one asks for {rdtype}"
            )
    return Expectation(rcode=rcode.upper(), answers_match=pattern, answers_in=networks)


def _pattern(value: object, path: str) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise InvalidProbePlan(
            f"{path}: expected a regular expression string, got {describe(value)}"
        )
    if len(value) > MAX_PATTERN_LENGTH:
        raise InvalidProbePlan(
            f"{path}: {len(value)} characters long (at most {MAX_PATTERN_LENGTH})"
        )
    try:
        return re.compile(value)
    except re.error as exc:
        raise InvalidProbePlan(f"{path}: {value!r} does not compile ({exc})") from exc


def _networks(value: object, path: str) -> tuple[Network, ...]:
    if not isinstance(value, list):
        raise InvalidProbePlan(f"{path}: expected a list of CIDR blocks, got {describe(value)}")
    if len(value) > MAX_CIDRS:
        raise InvalidProbePlan(f"{path}: {len(value)} CIDR blocks given (at most {MAX_CIDRS})")
    networks = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidProbePlan(f"{path}[{index}]: expected a CIDR string, got {describe(item)}")
        try:
            networks.append(ipaddress.ip_network(item.strip()))
        except ValueError as exc:
            raise InvalidProbePlan(
                f"{path}[{index}]: {item!r} is not a CIDR block ({exc})"
            ) from exc
    return tuple(networks)


def _nameservers(value: object, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidProbePlan(f"{path}: expected a list of IP addresses, got {describe(value)}")
    if len(value) > MAX_EXPECTED_NAMESERVERS:
        raise InvalidProbePlan(
            f"{path}: {len(value)} addresses given (at most {MAX_EXPECTED_NAMESERVERS})"
        )
    return _addresses(value, path)


def _addresses(value: list[object], path: str) -> tuple[str, ...]:
    addresses = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidProbePlan(f"{path}[{index}]: expected an IP address, got {describe(item)}")
        try:
            addresses.append(str(ipaddress.ip_address(item.strip())))
        except ValueError as exc:
            raise InvalidProbePlan(f"{path}[{index}]: {item!r} is not an IP address") from exc
    return tuple(addresses)


def _integer(value: object, path: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidProbePlan(f"{path}: expected an integer (milliseconds), got {describe(value)}")
    if not minimum <= value <= maximum:
        raise InvalidProbePlan(f"{path}: {value} is outside {minimum}..{maximum}")
    return value


def _mapping(
    value: object, path: str, allowed: tuple[str, ...], *, prefix: str
) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise InvalidProbePlan(f"{path}: expected a JSON object, got {describe(value)}")
    for key in value:
        if key not in allowed:
            raise InvalidProbePlan(f"{prefix}{key}: unknown field (allowed: {', '.join(allowed)})")
    # JSON null means "not given": the field takes its default.
    return {key: item for key, item in value.items() if item is not None}
