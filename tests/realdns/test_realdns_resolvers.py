"""PowerDNS Recursor, Knot Resolver and dnsdist as the option set's DNS server: healthy, behind
an access list that excludes the function (each as it really behaves: PowerDNS Recursor and
dnsdist drop the query, Knot Resolver answers REFUSED) and dnsdist balancing over a dead backend
(devtools/realdns.py describes the world; the servers start on first use)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from devtools.realdns import (
    DB,
    DNSDIST,
    DNSDIST_ACL,
    DNSDIST_ONE_BACKEND_DEAD,
    KRESD,
    KRESD_ACL,
    KRESD_IDENTITY,
    LAMBDA,
    PDNS_IDENTITY,
    PDNS_RECURSOR,
    PDNS_RECURSOR_ACL,
    STS,
    SVC_NAMES,
    RealDnsWorld,
)

pytestmark = pytest.mark.realdns

DEADLINE_FACTOR = 1.10
DEADLINE_MS = 1500
PROBES = ({"name": STS}, {"name": LAMBDA}, {"name": DB})
BACKENDS = ("resolver-backend-a", "resolver-backend-b")
LB_PROBES = tuple({"name": name} for name in SVC_NAMES[:10])


@pytest.fixture(scope="module")
def resolvers(realdns: RealDnsWorld) -> RealDnsWorld:
    realdns.start_resolvers()  # stopped with the world, by PID
    return realdns


def _run(
    world: RealDnsWorld, server: str, probes: Sequence[dict[str, Any]] = PROBES
) -> dict[str, Any]:
    """The canary once, the option set naming ``server`` alone, relayed by a dnsmasq forwarder;
    the run must end within 1.10 x its deadline."""
    forwarder = world.add_forwarder([server])
    try:
        plan = {"probes": list(probes), "deadline_ms": DEADLINE_MS}
        run = world.run_canary(plan, forwarder=forwarder, configured=[server])
    finally:
        world.remove_forwarder(forwarder)
    assert run.wall_ms <= DEADLINE_FACTOR * DEADLINE_MS, run.result
    assert run.result["elapsed_ms"] <= DEADLINE_FACTOR * DEADLINE_MS, run.result
    result: dict[str, Any] = run.result
    return result


def _verdict(result: dict[str, Any]) -> tuple[str, str, str, bool]:
    diagnosis = result["diagnosis"]
    return (
        diagnosis["code"],
        diagnosis["failing_hop"],
        diagnosis["severity"],
        diagnosis["option_set_at_fault"],
    )


def _identity(result: dict[str, Any], server: str) -> dict[str, Any] | None:
    return next((entry for entry in result["identities"] if entry["server"] == server), None)


# --- healthy: forwarding to the "Amazon" unbound -------------------------------------------------


@pytest.mark.parametrize(
    ("server", "nsid"),
    [(PDNS_RECURSOR, PDNS_IDENTITY), (KRESD, KRESD_IDENTITY)],
    ids=["pdns-recursor", "knot-resolver"],
)
def test_a_healthy_recursor_is_healthy_and_names_itself_by_nsid(
    resolvers: RealDnsWorld, server: str, nsid: str
) -> None:
    result = _run(resolvers, server)

    assert _verdict(result) == ("HEALTHY", "none", "OK", False), result["diagnosis"]
    # Both give their identity as NSID only: hostname.bind (CH TXT) is not answered.
    assert _identity(result, server) == {
        "server": server,
        "role": "configured",
        "hostname_bind": None,
        "nsid": nsid,
    }


def test_a_healthy_dnsdist_passes_the_identity_query_to_one_backend(
    resolvers: RealDnsWorld,
) -> None:
    result = _run(resolvers, DNSDIST)

    assert _verdict(result) == ("HEALTHY", "none", "OK", False), result["diagnosis"]
    # dnsdist has no identity of its own: the backend that got the query answers it.
    identity = _identity(result, DNSDIST)
    assert identity is not None, result["identities"]
    assert identity["hostname_bind"] in BACKENDS
    assert identity["nsid"] == identity["hostname_bind"]


# --- an access list that excludes the function ------------------------------------------------


@pytest.mark.parametrize(
    "server", [PDNS_RECURSOR_ACL, DNSDIST_ACL], ids=["pdns-recursor-allow-from", "dnsdist-acl"]
)
def test_a_resolver_whose_acl_drops_the_function_is_unreachable_not_refusing(
    resolvers: RealDnsWorld, server: str
) -> None:
    # PowerDNS Recursor's allow-from and dnsdist's ACL (its default action) drop the queries of
    # clients they do not allow, without an answer.
    result = _run(resolvers, server)

    diagnosis = result["diagnosis"]
    assert _verdict(result) == (
        "CONFIGURED_SERVER_UNREACHABLE",
        "configured_server",
        "FAILED",
        True,
    ), diagnosis
    assert f"{server} gave no answer within {DEADLINE_MS} ms on port 53" in diagnosis["summary"]
    assert "REFUSED" not in diagnosis["summary"]
    assert sorted(diagnosis["failed_names"]) == sorted(p["name"] for p in PROBES)
    assert _identity(result, server) is None


def test_knot_resolver_whose_view_refuses_the_function_answers_refused(
    resolvers: RealDnsWorld,
) -> None:
    result = _run(resolvers, KRESD_ACL)

    diagnosis = result["diagnosis"]
    assert _verdict(result) == (
        "CONFIGURED_SERVER_ERRORS",
        "configured_server",
        "FAILED",
        True,
    ), diagnosis
    assert f"{KRESD_ACL} answers REFUSED for {STS}, {LAMBDA} and {DB}" in diagnosis["summary"]
    assert "gave no answer" not in diagnosis["summary"]
    assert any("(REFUSED)" in cause for cause in diagnosis["likely_causes"])
    # the refusing instance still names itself (NSID on the refusal)
    assert f'{KRESD_ACL} answered as "{KRESD_IDENTITY}"' in diagnosis["summary"]


# --- dnsdist balancing over a dead backend ---------------------------------------------------


def test_dnsdist_with_one_dead_backend_loses_queries_at_its_own_address(
    resolvers: RealDnsWorld,
) -> None:
    # Round robin, health checks off: every other query dnsdist receives (the forwarder's and
    # the canary's direct ones, interleaved) goes to a backend where nothing listens and is
    # never answered; a resend may land on the working backend. Which names are lost changes
    # from run to run, so ten names make a run without any loss on the forwarder path unlikely.
    result = _run(resolvers, DNSDIST_ONE_BACKEND_DEAD, LB_PROBES)

    diagnosis = result["diagnosis"]
    # Never a page, never healthy: answers are late (resent) or lost, so DEGRADED. Which hop is
    # named depends on which queries were lost: lost direct queries name dnsdist's address
    # (PARTIAL_LOSS at the configured server); when only the forwarder path was late or lost,
    # the forwarder is named (SLOW_ANSWERS / PARTIAL_LOSS at the forwarder).
    assert diagnosis["code"] in ("PARTIAL_LOSS", "SLOW_ANSWERS"), diagnosis
    assert diagnosis["severity"] == "DEGRADED", diagnosis
    assert diagnosis["option_set_at_fault"] is True, diagnosis
    configured = [entry for entry in result["direct"] if entry["role"] == "configured"]
    assert any(entry["attempts"] > 1 for entry in configured), configured
    # The identity query is answered by the working backend, or by nobody when it went to the
    # dead one: it can never name the dead member, only fail to name anyone.
    identity = _identity(result, DNSDIST_ONE_BACKEND_DEAD)
    assert identity is None or identity["hostname_bind"] == BACKENDS[0], identity
