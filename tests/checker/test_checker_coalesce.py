"""The announcement flood, through the handler: re-associating a VPC's unchanged option set
twenty times pages nobody and asks the canaries far less; a real change right after still pages
at once (moto, canary doubles)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from checker_doubles import FakeCanary, World

from devtools.lambdakit import cloudtrail_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CANARY = "vpc-dns-canary-a"
DEAD_SERVER = "10.1.1.10"


def later() -> None:
    """CloudTrail times calls to the second: a call in the same second as the check before it
    cannot be shown to come after it (and is then checked and announced, to be safe)."""
    time.sleep(1.05)


def association(world: World, vpc_id: str, option_set: str) -> dict[str, Any]:
    """Associate `option_set` now, and its CloudTrail event as EventBridge delivers it."""
    world.associate(vpc_id, option_set)
    event = cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=option_set)
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    event["time"] = event["detail"]["eventTime"] = now
    return event


@pytest.fixture
def healthy_vpc(world: World, checker_app: Invoke) -> dict[str, str]:
    """A watched VPC on AmazonProvidedDNS, checked healthy; a dead server's set at hand."""
    vpc_id = world.create_vpc("10.0.0.0/16")
    good = world.option_set("AmazonProvidedDNS")
    bad = world.option_set(DEAD_SERVER)
    world.associate(vpc_id, good)
    world.add_canary(vpc_id, CANARY, FakeCanary(dead={DEAD_SERVER}))
    checker_app({"action": "check", "vpc_ids": [vpc_id]})
    assert world.alerts() == []
    later()
    return {"vpc_id": vpc_id, "good": good, "bad": bad}


def test_re_associating_the_unchanged_set_20_times_pages_nobody(
    world: World, healthy_vpc: dict[str, str], checker_app: Invoke
) -> None:
    vpc_id, good = healthy_vpc["vpc_id"], healthy_vpc["good"]
    runs_before = len(world.router.invocations(CANARY))

    # When the option set it already has is associated again, 20 times
    results = [checker_app(association(world, vpc_id, good)) for _ in range(20)]

    # Then no alert, and no canary run: the check before still speaks for the VPC
    assert world.alerts() == []
    assert len(world.router.invocations(CANARY)) == runs_before
    assert all(result["vpcs"][0]["status"] == "coalesced" for result in results)
    [first, *_] = [result["vpcs"][0] for result in results]
    assert first["status"] == "coalesced"
    assert first["verdict"] == "OK"
    assert "that check's verdict (OK) stands" in first["why"]

    # And a real change right after pages at once, its canary asked
    runs = len(world.router.invocations(CANARY))
    result = checker_app(association(world, vpc_id, healthy_vpc["bad"]))
    [critical] = world.alerts()
    assert critical.severity == "CRITICAL"
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert len(world.router.invocations(CANARY)) == runs + 1


def test_without_coalescing_the_unchanged_set_is_checked_but_not_announced(
    world: World, checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANGE_COALESCE_WINDOW_S", "0")
    vpc_id = world.create_vpc("10.0.0.0/16")
    good = world.option_set("AmazonProvidedDNS")
    world.associate(vpc_id, good)
    world.add_canary(vpc_id, CANARY, FakeCanary())
    checker_app({"action": "check", "vpc_ids": [vpc_id]})
    later()

    results = [checker_app(association(world, vpc_id, good)) for _ in range(3)]

    # Every event was checked, none announced (no INFO: nothing changed)
    assert [r["vpcs"][0]["verdict"] for r in results] == ["OK"] * 3
    assert len(world.router.invocations(CANARY)) == 4
    assert world.alerts() == []


def test_a_re_association_whose_check_finds_another_verdict_pages(
    world: World, checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a VPC healthy on a corp server's set, checked longer ago than the window (0 here)
    monkeypatch.setenv("CHANGE_COALESCE_WINDOW_S", "0")
    vpc_id = world.create_vpc("10.0.0.0/16")
    corp = world.option_set(DEAD_SERVER)
    world.associate(vpc_id, corp)
    world.add_canary(vpc_id, CANARY, FakeCanary())
    checker_app({"action": "check", "vpc_ids": [vpc_id]})

    # When the server dies and the same set is associated again
    world.canary_dead(CANARY, DEAD_SERVER)
    checker_app(association(world, vpc_id, corp))

    # Then the changed verdict pages
    [critical] = world.alerts()
    assert critical.severity == "CRITICAL"
