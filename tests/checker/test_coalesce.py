"""Change events that change nothing: a re-association of the set a VPC already had is not
announced, and soon after a check it is not probed; anything else is (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from dns_watchdog.domain.coalesce import announces, coalesced, reassociates_unchanged
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.models import Severity, Verdict
from dns_watchdog.domain.request import CheckRequest, Resource
from test_outcome import AMAZON, DEAD, SWEEP, VPC, Vpc, associate, evidence

pytestmark = pytest.mark.unit

CHECKED = "2024-05-14T09:15:00Z"
CALLED = "2024-05-14T09:15:42Z"  # associate()'s event time


def stored(
    option_set: str = AMAZON.option_set_id,
    verdict: Verdict = Verdict.OK,
    *,
    since: str | None = "2024-05-14T09:00:00.000Z",
    checked: str = CHECKED,
) -> VpcState:
    return VpcState(
        vpc_id=VPC,
        verdict=verdict,
        option_set_id=option_set,
        previous_option_set_id=None,
        incident_open=verdict == Verdict.FAILED,
        incident_started_at=None,
        last_checked_at=checked,
        last_event_id=None,
        unverified_alerted_for=None,
        observed_at=checked.replace("Z", ".000Z"),
        option_set_since=since,
    )


def security_group_change() -> CheckRequest:
    """A change that may change the verdict whatever the option set (its event time as above)."""
    association = associate(AMAZON)
    assert association.change is not None
    name = "AuthorizeSecurityGroupEgress"
    change = replace(association.change, event_name=name, requested_option_set_id=None)
    return CheckRequest("change", name, (Resource("security_group", "sg-1"),), change)


def test_a_re_association_of_the_set_seen_before_the_call_changes_nothing() -> None:
    assert reassociates_unchanged(stored(), associate(AMAZON), AMAZON.option_set_id)


@pytest.mark.parametrize(
    ("state", "request_", "current"),
    [
        # another option set named, or another one current, or another one stored
        (stored(), associate(DEAD), AMAZON.option_set_id),
        (stored(), associate(AMAZON), DEAD.option_set_id),
        (stored(DEAD.option_set_id), associate(AMAZON), AMAZON.option_set_id),
        # the set was first seen after the call: a sweep may have seen the real change first
        (stored(since="2024-05-14T09:15:43.000Z"), associate(AMAZON), AMAZON.option_set_id),
        # first sight
        (None, associate(AMAZON), AMAZON.option_set_id),
        # not an association
        (stored(), SWEEP, AMAZON.option_set_id),
        (stored(), security_group_change(), AMAZON.option_set_id),
    ],
)
def test_anything_else_may_have_changed_something(
    state: VpcState | None, request_: CheckRequest, current: str
) -> None:
    assert not reassociates_unchanged(state, request_, current)


def test_items_stored_before_option_set_since_use_their_latest_evidence() -> None:
    legacy = stored(since=None)
    assert reassociates_unchanged(legacy, associate(AMAZON), AMAZON.option_set_id)
    later = stored(since=None, checked="2024-05-14T09:16:00Z")
    assert not reassociates_unchanged(later, associate(AMAZON), AMAZON.option_set_id)


def test_only_a_real_change_or_a_changed_verdict_is_announced() -> None:
    current = AMAZON.option_set_id
    assert not announces(stored(), associate(AMAZON), current, Verdict.OK)
    assert announces(stored(), associate(AMAZON), current, Verdict.FAILED)
    assert announces(stored(DEAD.option_set_id), associate(AMAZON), current, Verdict.OK)
    assert announces(None, associate(AMAZON), current, Verdict.OK)
    assert not announces(stored(), SWEEP, current, Verdict.OK)


def test_the_unchanged_set_re_associated_is_not_announced_through_conclude() -> None:
    # Given a VPC checked healthy on its option set
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    # When that same set is associated again (after the check), still healthy: no INFO
    assert vpc.check(associate(AMAZON), evidence(AMAZON)).severity is None
    # And a real change is announced, whatever the verdict
    assert vpc.check(associate(DEAD, "e-2"), evidence(DEAD)).severity == Severity.INFO


def test_a_re_association_whose_check_finds_another_verdict_pages() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    assert vpc.check(associate(AMAZON), evidence(AMAZON, dead=True)).severity in {
        Severity.CRITICAL,
        Severity.WARNING,
    }


NOW = "2024-05-14T09:15:50Z"  # 50 s after the last check


def test_a_re_association_within_the_window_is_coalesced() -> None:
    why = coalesced(stored(), associate(AMAZON), AMAZON.option_set_id, now=NOW, window_s=60)
    assert why == (
        f"AssociateDhcpOptions re-associated dopt-amazon, the option set {VPC} already had, 50 s "
        "after its last check: that check's verdict (OK) stands"
    )


@pytest.mark.parametrize(
    ("state", "request_", "window_s"),
    [
        (stored(), associate(AMAZON), 30),  # the last check is older than the window
        (stored(), associate(AMAZON), 0),  # coalescing off
        (stored(verdict=Verdict.UNVERIFIED), associate(AMAZON), 60),  # nothing verified
        (stored(), associate(DEAD), 60),  # another option set: never
        (stored(since="2024-05-14T09:15:43.000Z"), associate(AMAZON), 60),  # seen after the call
        (None, associate(AMAZON), 60),
        (stored(), security_group_change(), 60),  # may change the verdict: checked at once
    ],
)
def test_never_coalesced(state: VpcState | None, request_: CheckRequest, window_s: int) -> None:
    assert coalesced(state, request_, AMAZON.option_set_id, now=NOW, window_s=window_s) is None


def test_a_failed_verdict_stands_too() -> None:
    failed = stored(DEAD.option_set_id, Verdict.FAILED)
    why = coalesced(failed, associate(DEAD), DEAD.option_set_id, now=NOW, window_s=60)
    assert why is not None
    assert "(FAILED) stands" in why
