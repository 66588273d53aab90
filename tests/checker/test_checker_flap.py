"""Flap control end to end: a sweep's failure pages only when a second canary run confirms it,
and the alert says so; a failure right after a change pages at once, asked once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from checker_doubles import FakeCanary, Reply, World
from dns_watchdog.constants import SWEEP_CONFIRM_DELAY_S_ENV

from devtools.lambdakit import cloudtrail_event, load_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CORP_DNS = "10.1.1.10"
CANARY = "vpc-dns-canary-a"


class FailsOnce:
    """A canary whose next `failures_left` runs cannot reach the DNS server, then is fine."""

    def __init__(self) -> None:
        self.healthy = FakeCanary()
        self.broken = FakeCanary(dead={CORP_DNS})
        self.failures_left = 0

    def __call__(self, payload: dict[str, Any], env: dict[str, str]) -> Reply:
        if self.failures_left:
            self.failures_left -= 1
            return self.broken(payload, env)
        return self.healthy(payload, env)


def watched_vpc(world: World, canary: Any) -> str:
    vpc_id = world.create_vpc("10.0.0.0/16")
    corp = world.option_set(CORP_DNS)
    world.associate(vpc_id, corp)
    world.add_canary(vpc_id, CANARY, canary)
    return vpc_id


def sweep() -> dict[str, Any]:
    return load_event("scheduled_sweep")


def test_a_transient_failure_in_a_sweep_does_not_page(world: World, checker_app: Invoke) -> None:
    # Given a healthy VPC, known to the watchdog
    canary = FailsOnce()
    watched_vpc(world, canary)
    checker_app(sweep())
    world.alerts()
    # When one sweep's canary run fails and the next run, moments later, is fine
    canary.failures_left = 1
    result = checker_app(sweep())
    # Then nobody is paged, and the canary was asked twice
    assert world.alerts() == []
    assert result["vpcs"][0]["verdict"] == "OK"
    assert len(world.router.invocations(CANARY)) == 3


def test_a_confirmed_sweep_failure_pages_once_and_says_it_was_confirmed(
    world: World, checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SWEEP_CONFIRM_DELAY_S_ENV, "0")  # as in the conftest, said here
    # Given a healthy VPC, known to the watchdog
    canary = FailsOnce()
    watched_vpc(world, canary)
    checker_app(sweep())
    world.alerts()
    # When its DNS server stops answering for good
    canary.failures_left = 10
    checker_app(sweep())
    # Then one CRITICAL says the failure was confirmed by a second run
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert "Confirmed: a second canary run 0 s after the first found the same." in alert.text
    assert alert.document["confirmed_after_s"] == 0
    # and the next sweep, with the incident open, asks once and pages no more
    before = len(world.router.invocations(CANARY))
    checker_app(sweep())
    assert world.alerts() == []
    assert len(world.router.invocations(CANARY)) == before + 1


def test_a_failure_after_a_change_pages_at_once_without_a_second_run(
    world: World, checker_app: Invoke
) -> None:
    vpc_id = world.create_vpc("10.0.0.0/16")
    bad = world.option_set(CORP_DNS)
    world.associate(vpc_id, bad)
    world.add_canary(vpc_id, CANARY, FakeCanary(dead={CORP_DNS}))
    checker_app(cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=bad))
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert "Confirmed:" not in alert.text
    assert alert.document["confirmed_after_s"] is None
    assert len(world.router.invocations(CANARY)) == 1


def test_a_confirmation_that_would_outlast_the_function_is_asked_sooner(
    world: World,
    load_handler: Callable[[str], Any],
    lambda_context_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a confirmation delay of a minute, and an invocation with 21 s left (10 s kept to
    # publish and store, 10 s for the second canary run: about 1 s to wait)
    monkeypatch.setenv(SWEEP_CONFIRM_DELAY_S_ENV, "60")
    monkeypatch.setenv("CANARY_INVOKE_TIMEOUT_S", "10")
    canary = FailsOnce()
    watched_vpc(world, canary)
    app = load_handler("checker")
    app.lambda_handler(sweep(), lambda_context_factory(timeout_ms=600_000))
    world.alerts()
    canary.failures_left = 10

    app.lambda_handler(sweep(), lambda_context_factory(timeout_ms=21_000))

    # Then the failure is still confirmed and paged, well inside the function's time
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert 0 < alert.document["confirmed_after_s"] <= 1
    assert "Confirmed: a second canary run" in alert.text


def test_a_sweep_reads_a_vpcs_state_once_to_confirm_and_conclude(
    world: World, checker_app: Invoke
) -> None:
    reads: list[str] = []

    def count_state_reads(params: dict[str, Any], **_: Any) -> None:
        key = params["Key"]["pk"]["S"]
        if key.startswith("vpc#"):
            reads.append(key)

    # (the checker's clients, built on its first event, copy the session's hooks)
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "provide-client-params.dynamodb.GetItem", count_state_reads
    )
    # Given a VPC known to the watchdog, whose DNS server then stops answering for good
    canary = FailsOnce()
    vpc_id = watched_vpc(world, canary)
    checker_app(sweep())
    world.alerts()
    canary.failures_left = 10
    reads.clear()

    # When a sweep finds the failure, confirms it and concludes (a page, a state write)
    checker_app(sweep())

    # Then the state was read once: the confirmation and the conclusion share the read
    assert [alert.severity for alert in world.alerts()] == ["CRITICAL"]
    assert reads == [f"vpc#{vpc_id}"]
