"""IPv6-only and dual-stack VPCs against real DNS software (devtools/realdns_ipv6.py describes
the servers): the canary reads IPv6 resolv.conf lines, asks every hop over IPv6, asks the
Amazon resolver at ``AMAZON_DNS_SERVER_IPV6`` only when every address in resolv.conf is IPv6,
and diagnoses IPv6 servers like IPv4 ones. Every run must end within 1.10 x its deadline."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from devtools.realdns import (
    AAAA_ADDRESS,
    AAAA_NAME,
    BIND_FORWARDING,
    DB,
    LAMBDA,
    STS,
    RealDnsWorld,
)
from devtools.realdns_ipv6 import (
    AMAZON_V4,
    AMAZON_V6,
    BIND_V6_FORWARDING,
    BLACKHOLE_V6,
    PRIVATE_NAME_V6,
    PRIVATE_NAME_V6_ADDRESS,
    PRIVATE_ZONE_V6,
    UNBOUND_V6_CORP,
    Ipv6Servers,
)

pytestmark = pytest.mark.realdns

DEADLINE_MS = 1500
DEADLINE_FACTOR = 1.10
ZONE_ID = "Z0123456789ABC"


@pytest.fixture(scope="module")
def ipv6(realdns: RealDnsWorld) -> Iterator[Ipv6Servers]:
    with Ipv6Servers(realdns) as servers:
        yield servers


def _run(
    ipv6: Ipv6Servers,
    configured: Sequence[str],
    *probes: dict[str, Any],
    ipv6_forwarder: bool = True,
) -> dict[str, Any]:
    """One canary run: the forwarder relays to the configured servers, as the Lambda one does."""
    forwarder = ipv6.add_forwarder(configured, ipv6=ipv6_forwarder)
    plan = {"probes": list(probes), "deadline_ms": DEADLINE_MS}
    run = ipv6.run_canary(plan, forwarder=forwarder, configured=configured)
    assert run.wall_ms <= DEADLINE_FACTOR * DEADLINE_MS
    result: dict[str, Any] = run.result
    return result


def _asked(result: dict[str, Any], role: str) -> set[str]:
    return {entry["server"] for entry in result["direct"] if entry["role"] == role}


def _direct(result: dict[str, Any], name: str, role: str = "amazon") -> dict[str, Any]:
    entries: list[dict[str, Any]] = result["direct"]
    [entry] = [e for e in entries if e["name"] == name and e["role"] == role]
    return entry


def _aaaa(*blocks: str) -> dict[str, Any]:
    return {"name": AAAA_NAME, "type": "AAAA", "expect": {"answers_in": list(blocks)}}


# --- IPv6-only: every address in resolv.conf is IPv6 -----------------------------------------


def test_an_ipv6_only_vpc_with_a_healthy_server_is_healthy_and_asks_the_ipv6_amazon_resolver(
    ipv6: Ipv6Servers,
) -> None:
    result = _run(
        ipv6,
        [BIND_V6_FORWARDING],
        {"name": STS},
        {"name": LAMBDA},
        {"name": DB},
        _aaaa("fd00:50:0:6::/64"),
    )

    assert result["diagnosis"]["code"] == "HEALTHY"
    assert result["diagnosis"]["severity"] == "OK"
    assert result["ok"] is True
    assert result["resolv_conf"]["configured_nameservers"] == [BIND_V6_FORWARDING]
    assert result["amazon_dns_server"] == AMAZON_V6
    assert _asked(result, "amazon") == {AMAZON_V6}
    assert _asked(result, "configured") == {BIND_V6_FORWARDING}
    aaaa = [p for p in result["probes"] if p["name"] == AAAA_NAME]
    assert [(p["outcome"], p["answers"]) for p in aaaa] == [("OK", [AAAA_ADDRESS])]


def test_the_ipv6_amazon_resolver_is_the_one_whose_answers_are_reported(
    ipv6: Ipv6Servers,
) -> None:
    # Only the IPv6 "Amazon resolver" has corp6.internal: the IPv4 one answers NXDOMAIN for it.
    result = _run(
        ipv6, [BIND_V6_FORWARDING], {"name": STS}, {"name": PRIVATE_NAME_V6, "type": "AAAA"}
    )

    entry = _direct(result, PRIVATE_NAME_V6)
    assert (entry["server"], entry["outcome"], entry["answers"]) == (
        AMAZON_V6,
        "OK",
        [PRIVATE_NAME_V6_ADDRESS],
    )
    assert result["diagnosis"]["code"] == "HEALTHY"


def test_a_dead_ipv6_server_in_an_ipv6_only_vpc_is_unreachable_and_named(
    ipv6: Ipv6Servers,
) -> None:
    result = _run(ipv6, [BLACKHOLE_V6], {"name": STS}, {"name": LAMBDA})

    diagnosis = result["diagnosis"]
    assert diagnosis["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert diagnosis["severity"] == "FAILED"
    assert diagnosis["failing_hop"] == "configured_server"
    assert diagnosis["option_set_at_fault"] is True
    assert f"DNS server {BLACKHOLE_V6} gave no answer" in diagnosis["summary"]
    assert diagnosis["failed_names"] == [STS, LAMBDA]
    # the IPv6 Amazon resolver answered: the path is fine, the option set's server is not
    assert (
        f"The Amazon resolver {AMAZON_V6} resolved the same names directly"
        in (diagnosis["summary"])
    )
    assert {e["outcome"] for e in result["direct"] if e["role"] == "amazon"} == {"OK"}
    assert _asked(result, "amazon") == {AMAZON_V6}


def test_an_ipv6_corporate_server_that_does_not_forward_the_private_zone_is_named_with_it(
    ipv6: Ipv6Servers,
) -> None:
    zone = {"kind": "private_zone", "id": ZONE_ID, "domain": PRIVATE_ZONE_V6}

    result = _run(
        ipv6,
        [UNBOUND_V6_CORP],
        {"name": STS},
        {"name": LAMBDA},
        {"name": PRIVATE_NAME_V6, "type": "AAAA", "source": zone},
    )

    diagnosis = result["diagnosis"]
    assert diagnosis["code"] == "CUSTOM_SERVER_MISSING_NAMES"
    assert diagnosis["severity"] == "FAILED"
    assert diagnosis["option_set_at_fault"] is True
    assert diagnosis["summary"].startswith(
        f"Private hosted zone {PRIVATE_ZONE_V6} ({ZONE_ID}) is answered only by the Amazon "
        f"resolver; {UNBOUND_V6_CORP} does not forward it."
    )
    assert diagnosis["failed_names"] == [PRIVATE_NAME_V6]
    assert diagnosis["sources"][0]["servers"] == [UNBOUND_V6_CORP]
    assert [s["status"] for s in result["sources"]] == ["not_forwarded"]
    # the evidence came from the IPv6 Amazon resolver, the only one with the zone
    assert _direct(result, PRIVATE_NAME_V6)["server"] == AMAZON_V6


# --- AAAA expectations ------------------------------------------------------------------------


def test_an_aaaa_answer_outside_the_expected_block_is_an_unexpected_answer(
    ipv6: Ipv6Servers,
) -> None:
    result = _run(ipv6, [BIND_V6_FORWARDING], {"name": STS}, _aaaa("fd00:51::/64", "10.0.0.0/8"))

    [probe] = [p for p in result["probes"] if p["name"] == AAAA_NAME]
    assert probe["outcome"] == "UNEXPECTED_ANSWER"
    assert probe["answers"] == [AAAA_ADDRESS]
    assert f"answer {AAAA_ADDRESS} is outside fd00:51::/64" in probe["detail"]
    diagnosis = result["diagnosis"]
    assert diagnosis["code"] == "UNEXPECTED_ANSWERS"
    assert diagnosis["severity"] == "DEGRADED"
    assert diagnosis["failing_hop"] == "configured_server"
    # the Amazon resolver gives the same answer: the plan's expectation, not the option set
    assert diagnosis["option_set_at_fault"] is False


# --- dual-stack: IPv4 and IPv6 servers ------------------------------------------------------


def test_a_dead_ipv6_server_in_a_dual_stack_vpc_loses_redundancy_and_asks_the_ipv4_amazon(
    ipv6: Ipv6Servers,
) -> None:
    result = _run(
        ipv6,
        [BIND_FORWARDING, BLACKHOLE_V6],
        {"name": STS},
        {"name": LAMBDA},
        {"name": DB},
        _aaaa("fd00:50:0:6::/64"),
        ipv6_forwarder=False,
    )

    diagnosis = result["diagnosis"]
    assert diagnosis["code"] == "REDUNDANCY_LOST"
    assert diagnosis["severity"] == "DEGRADED"
    assert diagnosis["failing_hop"] == "configured_server"
    assert diagnosis["option_set_at_fault"] is True
    assert BLACKHOLE_V6 in diagnosis["summary"]
    assert "redundancy is lost" in diagnosis["summary"]
    assert f"only {BIND_FORWARDING} carries the VPC's DNS" in diagnosis["summary"]
    assert result["amazon_dns_server"] == AMAZON_V4
    assert _asked(result, "amazon") == {AMAZON_V4}
    assert {e["outcome"] for e in result["direct"] if e["server"] == BLACKHOLE_V6} == {"TIMEOUT"}
