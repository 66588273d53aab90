"""The guard rails of a rollback somebody asks for (pure): the checker puts back only its own
verified last good option set, and each rail that holds it back is the refusal's reason."""

from __future__ import annotations

from dataclasses import replace

import pytest
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.rollback import RollbackPlan, last_good_of, plan_rollback
from dns_watchdog.domain.vpc import OptionSet, VpcFacts, vpc_facts

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
GOOD = OptionSet("dopt-0good", ("AmazonProvidedDNS",), None)
BAD = OptionSet("dopt-0bad", ("10.1.1.10",), None)
NOW = "2024-05-14T10:00:00Z"
DAY_S = 24 * 3600.0
STORED = VpcState(
    vpc_id=VPC,
    verdict=Verdict.FAILED,
    option_set_id=BAD.option_set_id,
    previous_option_set_id=GOOD.option_set_id,
    incident_open=True,
    incident_started_at="2024-05-14T09:16:00Z",
    last_checked_at="2024-05-14T09:16:00Z",
    last_event_id="e-1",
    unverified_alerted_for=None,
    last_good_option_set_id=GOOD.option_set_id,
    last_good_verified_at="2024-05-14T09:00:00Z",
)


def facts(option_set: OptionSet = BAD, *, opted_in: bool = True) -> VpcFacts:
    return vpc_facts(VPC, "10.0.0.0/16", option_set, True, self_heal_opt_in=opted_in)


def plan(
    vpc: VpcFacts | None = None,
    stored: VpcState | None = STORED,
    *,
    enabled: bool = True,
    gone: bool = False,
    max_age_s: float = DAY_S,
) -> RollbackPlan:
    vpc = vpc or facts()
    target = last_good_of(stored, vpc.option_set.option_set_id)
    known = {target: None if gone else GOOD} if target else {}
    return plan_rollback(vpc, stored, known, enabled=enabled, max_age_s=max_age_s, now=NOW)


def test_a_failed_vpc_is_rolled_back_to_its_last_good_set() -> None:
    rollback = plan()
    assert rollback.act
    assert rollback == RollbackPlan(VPC, "dopt-0bad", "dopt-0good", None, "2024-05-14T09:00:00Z")


def test_a_degraded_vpc_may_be_rolled_back_too() -> None:
    assert plan(stored=replace(STORED, verdict=Verdict.DEGRADED)).act


@pytest.mark.parametrize(
    ("rollback", "refusal"),
    [
        (
            lambda: plan(enabled=False),
            "rollbacks are off in this deployment: the checker may associate option sets only "
            "with SelfHealing=on or ChatRollbackAction=true",
        ),
        (
            lambda: plan(facts(opted_in=False)),
            f"{VPC} is not tagged dhcp-watchdog:self-heal=true",
        ),
        (lambda: plan(stored=None), f"the watchdog has not checked {VPC} yet: check it first"),
        (
            lambda: plan(facts(OptionSet("dopt-0other", ("10.9.9.9",), None))),
            f"{VPC} is on dopt-0other, but the watchdog last judged it on dopt-0bad: check it "
            "first",
        ),
        (
            lambda: plan(stored=replace(STORED, verdict=Verdict.OK)),
            "DNS worked on dopt-0bad at the last check (2024-05-14T09:16:00Z): nothing to roll "
            "back",
        ),
        (
            lambda: plan(stored=replace(STORED, verdict=Verdict.UNVERIFIED)),
            "DNS could not be verified on dopt-0bad at the last check (2024-05-14T09:16:00Z): "
            "check it first",
        ),
        (
            lambda: plan(
                stored=replace(STORED, last_good_option_set_id=None, last_good_verified_at=None)
            ),
            "no option set was ever verified healthy in this VPC (it is on dopt-0bad)",
        ),
        (
            lambda: plan(
                facts(GOOD),
                replace(STORED, option_set_id=GOOD.option_set_id, previous_option_set_id=None),
            ),
            "the VPC is already on dopt-0good, the last option set verified healthy (verified "
            "2024-05-14T09:00:00Z): look for what else changed",
        ),
        (
            lambda: plan(gone=True),
            "the last option set verified healthy, dopt-0good (verified 2024-05-14T09:00:00Z), "
            "no longer exists",
        ),
        (
            lambda: plan(max_age_s=1800),
            "dopt-0good was last verified healthy 2024-05-14T09:00:00Z, longer ago than the "
            "30 min allowed",
        ),
    ],
)
def test_each_guard_rail_refuses_with_its_reason(rollback: object, refusal: str) -> None:
    assert callable(rollback)
    refused = rollback()
    assert isinstance(refused, RollbackPlan)
    assert not refused.act
    assert refused.target is None
    assert refused.refusal == refusal
