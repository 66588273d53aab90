"""The canary against real DNS server software: each scenario's diagnosis, hop, verdict and time.

unbound, BIND 9, NSD, Samba 4 as an AD domain controller and dnsmasq (as the Lambda forwarder)
run in a private network namespace (devtools/realdns.py describes the world). The canary runs in
a child process inside it; every run must end within 1.10 x its deadline.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from devtools.realdns import (
    AD_DC_HOST,
    AD_LDAP_SRV,
    AMAZON_BASE_PLUS_2,
    BIG_NAMES,
    BIND_DC_NO_RECURSION,
    BIND_FORWARDING,
    BIND_SLOW,
    BIND_SPLIT_HORIZON,
    BIND_TCP_DROPPED,
    BLACKHOLE,
    DB,
    DEAD,
    LAMBDA,
    NAMED_IDENTITY,
    NSD_PRIVATE_ROOT,
    PUBLIC_DB_ADDRESS,
    SAMBA_DC,
    SAMBA_DC_DEAD_FORWARDER,
    SAMBA_DC_SLOW_FORWARDING,
    STS,
    SVC_NAMES,
    UNBOUND_NO_TCP,
    UNBOUND_RATE_LIMITED,
    UNBOUND_REFUSE_ALL,
    UNBOUND_REFUSE_RELAYED,
    UNBOUND_VALIDATING,
    RealDnsWorld,
)

pytestmark = pytest.mark.realdns

DEADLINE_FACTOR = 1.10
BASE = ({"name": STS}, {"name": LAMBDA}, {"name": DB})
# The domain controller's own names (its AD zone), answered authoritatively.
AD_NAMES = ({"name": AD_DC_HOST}, {"name": AD_LDAP_SRV, "type": "SRV"})
MISSING_NAME = "nothere.corp.example"


@dataclass(frozen=True)
class Scenario:
    id: str
    configured: tuple[str, ...]
    code: str
    hop: str
    verdict: str
    at_fault: bool
    probes: Sequence[dict[str, Any]] = BASE
    deadline_ms: int = 1500
    summary_has: tuple[str, ...] = ()
    failed_names: tuple[str, ...] | None = None
    upstreams: tuple[str, ...] | None = None  # the forwarder relays to these (default: configured)
    timeout_ms: int = 10_000  # the canary function's timeout
    extra: dict[str, Any] = field(default_factory=dict)


SCENARIOS = [
    Scenario(
        "healthy-forwarding-bind",
        (BIND_FORWARDING,),
        "HEALTHY",
        "none",
        "OK",
        False,
    ),
    Scenario(
        "domain-controller-recursion-off-refused",
        (BIND_DC_NO_RECURSION,),
        "CONFIGURED_SERVER_ERRORS",
        "configured_server",
        "FAILED",
        True,
        summary_has=(
            f"{BIND_DC_NO_RECURSION} answers REFUSED for {STS} and {LAMBDA}",
            # the instance that answered: BIND's hostname.bind / server-id
            f'{BIND_DC_NO_RECURSION} answered as "{NAMED_IDENTITY}"',
        ),
        failed_names=(STS, LAMBDA),
    ),
    Scenario(
        "authoritative-only-private-zone-nxdomain",
        (NSD_PRIVATE_ROOT,),
        "CUSTOM_SERVER_MISSING_NAMES",
        "configured_server",
        "FAILED",
        True,
        summary_has=("conditional forwarders for amazonaws.com",),
        failed_names=(STS, LAMBDA),
    ),
    Scenario(
        "acl-refusing-everyone",
        (UNBOUND_REFUSE_ALL,),
        "CONFIGURED_SERVER_ERRORS",
        "configured_server",
        "FAILED",
        True,
        summary_has=(f"{UNBOUND_REFUSE_ALL} answers REFUSED",),
        failed_names=(STS, LAMBDA, DB),
    ),
    Scenario(
        "acl-refusing-only-relayed-queries",
        (UNBOUND_REFUSE_RELAYED,),
        "FORWARDER_FAILING",
        "forwarder",
        "FAILED",
        True,
        summary_has=(f"{UNBOUND_REFUSE_RELAYED} answers the same names directly",),
    ),
    Scenario(
        "dead-server-nothing-listens",
        (DEAD,),
        "CONFIGURED_SERVER_UNREACHABLE",
        "configured_server",
        "FAILED",
        True,
        summary_has=(f"{DEAD} could not be reached on port 53", "UDP connection refused"),
    ),
    Scenario(
        "black-holed-server",
        (BLACKHOLE,),
        "CONFIGURED_SERVER_UNREACHABLE",
        "configured_server",
        "FAILED",
        True,
        summary_has=(f"{BLACKHOLE} gave no answer within 1500 ms on port 53",),
    ),
    Scenario(
        "dnssec-validating-resolver-servfail-for-bogus-zone",
        (UNBOUND_VALIDATING,),
        "CONFIGURED_SERVER_ERRORS",
        "configured_server",
        "FAILED",
        True,
        probes=(*BASE, {"name": "www.bogus.example"}),
        summary_has=(
            "answers SERVFAIL for www.bogus.example",
            f'{UNBOUND_VALIDATING} answered as "unbound-validating"',
        ),
        failed_names=("www.bogus.example",),
    ),
    Scenario(
        "truncated-answers-tcp-working",
        (BIND_FORWARDING,),
        "HEALTHY",
        "none",
        "OK",
        False,
        probes=(*BASE, *({"name": name} for name in BIG_NAMES[:3])),
        extra={"tcp_names": BIG_NAMES[:3]},
    ),
    Scenario(
        "truncated-answers-tcp-dropped",
        (BIND_TCP_DROPPED,),
        "CONFIGURED_SERVER_NO_TCP",
        "configured_server",
        "FAILED",
        True,
        probes=(*BASE, *({"name": name} for name in BIG_NAMES[3:5])),
        summary_has=("answers over UDP", "gave no answer over TCP within 1500 ms"),
        failed_names=BIG_NAMES[3:5],
    ),
    Scenario(
        "truncated-answers-tcp-disabled",
        (UNBOUND_NO_TCP,),
        "CONFIGURED_SERVER_NO_TCP",
        "configured_server",
        "FAILED",
        True,
        probes=(*BASE, *({"name": name} for name in BIG_NAMES[5:7])),
        summary_has=("answers over UDP", "refuses TCP connections on port 53"),
        failed_names=BIG_NAMES[5:7],
    ),
    Scenario(
        "slow-path",
        (BIND_SLOW,),
        "SLOW_ANSWERS",
        "forwarder",
        "DEGRADED",
        True,
        probes=tuple({"name": name, "max_latency_ms": 300} for name in (STS, SVC_NAMES[0])),
        deadline_ms=2500,
        summary_has=("(budget 300 ms)",),
    ),
    Scenario(
        "response-rate-limiting",
        (UNBOUND_RATE_LIMITED,),
        "PARTIAL_LOSS",
        "configured_server",
        "DEGRADED",
        True,
        probes=tuple({"name": name} for name in SVC_NAMES),
        summary_has=("lost or rate-limited, not blocked", UNBOUND_RATE_LIMITED),
    ),
    Scenario(
        "split-horizon-wrong-answer",
        (BIND_SPLIT_HORIZON,),
        "UNEXPECTED_ANSWERS",
        "configured_server",
        "DEGRADED",
        True,
        probes=({"name": STS}, {"name": DB, "expect": {"answers_in": ["10.0.0.0/8"]}}),
        summary_has=(f"{DB} -> {PUBLIC_DB_ADDRESS}",),
        failed_names=(DB,),
    ),
    Scenario(
        "two-servers-one-dead",
        (BIND_FORWARDING, BLACKHOLE),
        "REDUNDANCY_LOST",
        "configured_server",
        "DEGRADED",
        True,
        summary_has=(BLACKHOLE, "redundancy is lost"),
    ),
    Scenario(
        "lame-delegation-with-amazon-provided-dns",
        (AMAZON_BASE_PLUS_2,),
        "NAME_FAILS_EVERYWHERE",
        "zone",
        "DEGRADED",
        False,
        probes=(*BASE, {"name": "www.lame.example"}),
        summary_has=("www.lame.example fails at every resolver asked", "not in the option set"),
        failed_names=("www.lame.example",),
    ),
    Scenario(
        "dead-authoritative-with-amazon-provided-dns",
        (AMAZON_BASE_PLUS_2,),
        "NAME_FAILS_EVERYWHERE",
        "zone",
        "DEGRADED",
        False,
        probes=(*BASE, {"name": "www.deadauth.example"}),
        summary_has=("www.deadauth.example fails at every resolver asked",),
        failed_names=("www.deadauth.example",),
    ),
    Scenario(
        "samba-dc-healthy",
        (SAMBA_DC,),
        "HEALTHY",
        "none",
        "OK",
        False,
        probes=(*BASE, *AD_NAMES),
    ),
    Scenario(
        # Samba's internal DNS server returns a forwarded NXDOMAIN as NOERROR without records:
        # a quirk, not an outage (every real name resolves), so no rollback and no page.
        "samba-dc-forwarded-nxdomain-as-no-data",
        (SAMBA_DC,),
        "NO_DATA_FOR_NXDOMAIN",
        "configured_server",
        "DEGRADED",
        False,
        probes=(*BASE, *AD_NAMES, {"name": MISSING_NAME, "expect": {"rcode": "NXDOMAIN"}}),
        summary_has=(f'{SAMBA_DC} answers "no data"', "where the zone says NXDOMAIN"),
        failed_names=(MISSING_NAME,),
    ),
    Scenario(
        "samba-dc-forwarder-black-holed-without-ad-names",
        (SAMBA_DC_DEAD_FORWARDER,),
        "CONFIGURED_SERVER_UNREACHABLE",
        "configured_server",
        "FAILED",
        True,
        failed_names=(STS, LAMBDA, DB),
    ),
    Scenario(
        # The DC answers its own AD names at once and stays silent on every name it must
        # forward (SERVFAIL only after about 10 s): its forwarder is dead. Adding the AD names
        # to the plan must not soften the verdict of the scenario above.
        "samba-dc-forwarder-black-holed",
        (SAMBA_DC_DEAD_FORWARDER,),
        "CONFIGURED_SERVER_CANNOT_FORWARD",
        "configured_server",
        "FAILED",
        True,
        probes=(*BASE, *AD_NAMES),
        summary_has=(
            f"{SAMBA_DC_DEAD_FORWARDER} answers its own zone at once ({AD_DC_HOST}",
            "for every name it must forward",
        ),
        failed_names=(STS, LAMBDA, DB),
    ),
    Scenario(
        # Forwarders [dead, working]: Samba asks the second only after the first timed out
        # (about 10 s). Within the default deadline the names get no answer at all.
        "samba-dc-first-forwarder-dead",
        (SAMBA_DC_SLOW_FORWARDING,),
        "CONFIGURED_SERVER_CANNOT_FORWARD",
        "configured_server",
        "FAILED",
        True,
        probes=(*BASE, *AD_NAMES),
        failed_names=(STS, LAMBDA, DB),
    ),
    Scenario(
        # The same DC with a deadline long enough to see the answers arrive after ~10 s:
        # resolving, but later than a Lambda function's default 3 s timeout.
        "samba-dc-first-forwarder-dead-long-deadline",
        (SAMBA_DC_SLOW_FORWARDING,),
        "ANSWERS_TOO_SLOW",
        "configured_server",
        "FAILED",
        True,
        probes=({"name": STS}, *AD_NAMES),
        deadline_ms=12_000,
        timeout_ms=15_000,
        summary_has=(
            "a Lambda function with the default 3 s timeout fails",
            f"{SAMBA_DC_SLOW_FORWARDING} answers its own zone at once",
        ),
        failed_names=(STS,),
    ),
    Scenario(
        "fifty-names-needing-tcp",
        (BIND_FORWARDING,),
        "HEALTHY",
        "none",
        "OK",
        False,
        # What this scenario tests is the TCP path, not latency: BIND's first forwarded query for
        # a name can take a retransmission (about 1.2 s) on a loaded machine, so each probe gets
        # a budget that such a retry fits in (the deadline still bounds the run).
        probes=tuple({"name": name, "max_latency_ms": 2000} for name in BIG_NAMES),
        deadline_ms=3000,
        extra={"tcp_names": BIG_NAMES},
    ),
]


# Configured servers that answer hostname.bind and NSID, and the name they give.
_IDENTIFIED = {
    BIND_FORWARDING: NAMED_IDENTITY,
    BIND_DC_NO_RECURSION: NAMED_IDENTITY,
    UNBOUND_VALIDATING: "unbound-validating",
}


@pytest.fixture
def forwarder(realdns: RealDnsWorld, request: pytest.FixtureRequest) -> Iterator[str]:
    scenario: Scenario = request.param
    address = realdns.add_forwarder(scenario.upstreams or scenario.configured)
    yield address
    realdns.remove_forwarder(address)


@pytest.mark.parametrize(
    ("scenario", "forwarder"),
    [(scenario, scenario) for scenario in SCENARIOS],
    ids=[scenario.id for scenario in SCENARIOS],
    indirect=["forwarder"],
)
def test_real_server_scenario(realdns: RealDnsWorld, scenario: Scenario, forwarder: str) -> None:
    # Given the option set names the scenario's server(s), relayed by a dnsmasq forwarder
    plan = {"probes": list(scenario.probes), "deadline_ms": scenario.deadline_ms}

    # When the canary runs inside the namespace
    run = realdns.run_canary(
        plan, forwarder=forwarder, configured=scenario.configured, timeout_ms=scenario.timeout_ms
    )

    # Then the diagnosis, the failing hop, the verdict and the blame are the scenario's
    diagnosis = run.diagnosis
    context = f"{scenario.id}: {diagnosis}\nforwarder: {run.outcomes()}\n"
    context += f"configured: {run.outcomes('configured')}\namazon: {run.outcomes('amazon')}"
    assert diagnosis["code"] == scenario.code, context
    assert diagnosis["failing_hop"] == scenario.hop, context
    assert diagnosis["severity"] == scenario.verdict, context
    assert diagnosis["option_set_at_fault"] is scenario.at_fault, context
    for text in scenario.summary_has:
        assert text in diagnosis["summary"], context
    if scenario.failed_names is not None:
        assert sorted(diagnosis["failed_names"]) == sorted(scenario.failed_names), context
    # and the run ends within 1.10 x its deadline
    assert run.wall_ms <= DEADLINE_FACTOR * scenario.deadline_ms, context
    assert run.result["elapsed_ms"] <= DEADLINE_FACTOR * scenario.deadline_ms, context
    # and a configured BIND or unbound said which instance it is (hostname.bind / NSID)
    identities = {entry["server"]: entry for entry in run.result["identities"]}
    for server in scenario.configured:
        if server in _IDENTIFIED:
            assert identities[server]["hostname_bind"] == _IDENTIFIED[server], context
            assert identities[server]["nsid"] == _IDENTIFIED[server], context
    tcp_names = scenario.extra.get("tcp_names", ())
    if tcp_names:
        by_name = {entry["name"]: entry for entry in run.result["probes"]}
        assert {by_name[name]["transport"] for name in tcp_names} == {"tcp"}
        # the canary's own TCP burst never makes a healthy server look slow
        assert all(by_name[name]["outcome"] == "OK" for name in tcp_names), context
