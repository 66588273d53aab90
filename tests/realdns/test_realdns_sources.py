"""Discovered probes against real DNS software: a private zone a corporate resolver does not
forward, and a forward rule whose target is dead (devtools/realdns.py describes the world)."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.realdns import (
    AMAZON_BASE_PLUS_2,
    LAMBDA,
    PRIVATE_NAME,
    PRIVATE_ZONE,
    RULE_DEAD_TARGET,
    RULE_DOMAIN,
    RULE_NAME,
    STS,
    UNBOUND_CORP_RECURSIVE,
    RealDnsWorld,
)

pytestmark = pytest.mark.realdns

DEADLINE_FACTOR = 1.10
ZONE_ID = "Z0123456789ABC"
RULE_ID = "rslvr-rr-0123456789abcdef0"


def _run(realdns: RealDnsWorld, configured: str, *discovered: dict[str, object]) -> dict[str, Any]:
    forwarder = realdns.add_forwarder([configured])
    try:
        plan = {"probes": [{"name": STS}, {"name": LAMBDA}, *discovered], "deadline_ms": 1500}
        run = realdns.run_canary(plan, forwarder=forwarder, configured=[configured])
    finally:
        realdns.remove_forwarder(forwarder)
    assert run.wall_ms <= DEADLINE_FACTOR * 1500
    result: dict[str, Any] = run.result
    return result


def test_a_corporate_unbound_that_does_not_forward_the_private_zone(realdns: RealDnsWorld) -> None:
    zone = {"kind": "private_zone", "id": ZONE_ID, "domain": PRIVATE_ZONE}

    result = _run(realdns, UNBOUND_CORP_RECURSIVE, {"name": PRIVATE_NAME, "source": zone})

    diagnosis = result["diagnosis"]
    assert diagnosis["code"] == "CUSTOM_SERVER_MISSING_NAMES"
    assert diagnosis["severity"] == "FAILED"
    assert diagnosis["option_set_at_fault"] is True
    assert diagnosis["summary"].startswith(
        f"Private hosted zone {PRIVATE_ZONE} ({ZONE_ID}) is answered only by the Amazon "
        f"resolver; {UNBOUND_CORP_RECURSIVE} does not forward it."
    )
    assert diagnosis["failed_names"] == [PRIVATE_NAME]
    assert [s["status"] for s in result["sources"]] == ["not_forwarded"]


def test_a_forward_rule_with_a_dead_target_is_not_the_option_sets_fault(
    realdns: RealDnsWorld,
) -> None:
    rule = {"kind": "forward_rule", "id": RULE_ID, "domain": RULE_DOMAIN}

    result = _run(
        realdns,
        AMAZON_BASE_PLUS_2,
        {"name": RULE_NAME, "source": rule, "targets": [RULE_DEAD_TARGET]},
    )

    diagnosis = result["diagnosis"]
    assert diagnosis["code"] == "RESOLVER_RULE_TARGETS_FAILING"
    assert diagnosis["failing_hop"] == "rule_target"
    assert diagnosis["option_set_at_fault"] is False
    assert diagnosis["sources"][0]["servers"] == [RULE_DEAD_TARGET]
    assert result["sources"][0]["targets"][0]["outcome"] == "TIMEOUT"
