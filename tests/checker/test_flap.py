"""Flap control, the pure decision: which verdicts a second canary run must confirm."""

from __future__ import annotations

import pytest
from dns_watchdog.domain.flap import confirmation_note, needs_confirmation
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.models import Verdict

pytestmark = pytest.mark.unit


def stored(*, incident_open: bool) -> VpcState:
    return VpcState(
        vpc_id="vpc-0a1b2c3d4e5f60718",
        verdict=Verdict.FAILED if incident_open else Verdict.OK,
        option_set_id="dopt-0a",
        previous_option_set_id=None,
        incident_open=incident_open,
        incident_started_at="2024-05-14T09:00:00Z" if incident_open else None,
        last_checked_at="2024-05-14T09:00:00Z",
        last_event_id=None,
        unverified_alerted_for=None,
    )


@pytest.mark.parametrize("verdict", [Verdict.FAILED, Verdict.DEGRADED])
def test_a_new_failure_found_by_a_sweep_is_confirmed_first(verdict: Verdict) -> None:
    assert needs_confirmation("sweep", verdict, stored(incident_open=False))
    assert needs_confirmation("sweep", verdict, None)


@pytest.mark.parametrize("trigger", ["change", "manual"])
def test_a_failure_after_a_change_or_a_manual_check_pages_at_once(trigger: str) -> None:
    assert not needs_confirmation(trigger, Verdict.FAILED, stored(incident_open=False))  # type: ignore[arg-type]


@pytest.mark.parametrize("verdict", [Verdict.OK, Verdict.UNVERIFIED])
def test_nothing_to_confirm_when_the_sweep_finds_no_failure(verdict: Verdict) -> None:
    assert not needs_confirmation("sweep", verdict, stored(incident_open=False))


def test_an_open_incident_needs_no_confirmation_it_pages_no_more() -> None:
    assert not needs_confirmation("sweep", Verdict.FAILED, stored(incident_open=True))


def test_the_note_says_how_much_later() -> None:
    assert confirmation_note(30.0) == (
        "Confirmed: a second canary run 30 s after the first found the same."
    )
