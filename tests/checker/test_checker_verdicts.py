"""Judging canary runs and deciding when to alert (pure domain code)."""

from __future__ import annotations

import pytest
from canary_findings import healthy, unreachable
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.incidents import decide
from dns_watchdog.domain.judge import judge
from dns_watchdog.domain.models import CanaryFindings, CanaryRun, Severity, Verdict

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def ok_run(name: str = "canary-ok") -> CanaryRun:
    return CanaryRun(ARN + name, "findings", CanaryFindings.model_validate(healthy(["10.0.0.2"])))


def failed_run(name: str = "canary-failed") -> CanaryRun:
    findings = CanaryFindings.model_validate(unreachable(["10.1.1.10"]))
    return CanaryRun(ARN + name, "findings", findings)


def test_any_failing_canary_fails_the_vpc_with_its_diagnosis() -> None:
    judgement = judge(VPC, [ok_run(), failed_run()], dns_support=True)
    assert judgement.verdict == Verdict.FAILED
    assert judgement.diagnosis.code == "CONFIGURED_SERVER_UNREACHABLE"


def test_real_findings_outweigh_a_canary_that_could_not_report() -> None:
    crashed = CanaryRun(ARN + "canary-crashed", "error", detail="it crashed")
    judgement = judge(VPC, [crashed, ok_run()], dns_support=True)
    assert judgement.verdict == Verdict.OK
    assert judgement.notes == ("could not verify with: canary-crashed",)


def test_canaries_that_cannot_report_leave_the_vpc_unverified() -> None:
    runs = [
        CanaryRun(ARN + "a", "error", detail="malformed findings"),
        CanaryRun(ARN + "b", "stale", detail="still stale"),
    ]
    judgement = judge(VPC, runs, dns_support=True)
    assert judgement.verdict == Verdict.UNVERIFIED


def test_timeout_fails_the_vpc() -> None:
    hung = CanaryRun(ARN + "hung", "timed_out", detail="Task timed out after 3.00 seconds")
    judgement = judge(VPC, [hung], dns_support=True)
    assert judgement.verdict == Verdict.FAILED
    assert judgement.diagnosis.code == "CANARY_TIMED_OUT"


def test_no_canaries_or_only_vanished_ones_cannot_verify() -> None:
    assert judge(VPC, [], dns_support=True).diagnosis.code == "NO_CANARIES"
    gone = judge(VPC, [CanaryRun(ARN + "x", "gone")], dns_support=True)
    assert gone.verdict == Verdict.UNVERIFIED
    assert "skipped canaries that no longer exist: x" in gone.notes


def test_disabled_dns_support_is_named_first_among_causes() -> None:
    judgement = judge(VPC, [failed_run()], dns_support=False)
    assert judgement.diagnosis.likely_causes[0] == "enableDnsSupport was turned off"


def _state(verdict: Verdict, *, incident: bool, option_set: str = "dopt-1") -> VpcState:
    return VpcState(
        vpc_id=VPC,
        verdict=verdict,
        option_set_id=option_set,
        previous_option_set_id="dopt-0",
        incident_open=incident,
        incident_started_at="2024-05-14T09:00:00Z" if incident else None,
        last_checked_at="2024-05-14T09:00:00Z",
        last_event_id=None,
        unverified_alerted_for=None,
    )


@pytest.mark.parametrize(
    ("previous", "verdict", "announce", "severity"),
    [
        (None, Verdict.OK, False, None),
        (None, Verdict.OK, True, Severity.INFO),
        (None, Verdict.FAILED, False, Severity.CRITICAL),
        (None, Verdict.DEGRADED, False, Severity.WARNING),
        (_state(Verdict.FAILED, incident=True), Verdict.FAILED, False, None),
        (_state(Verdict.FAILED, incident=True), Verdict.FAILED, True, Severity.CRITICAL),
        (_state(Verdict.DEGRADED, incident=True), Verdict.FAILED, False, Severity.CRITICAL),
        (_state(Verdict.FAILED, incident=True), Verdict.DEGRADED, False, None),
        (_state(Verdict.FAILED, incident=True), Verdict.OK, False, Severity.RECOVERED),
        (_state(Verdict.FAILED, incident=True), Verdict.OK, True, Severity.RECOVERED),
        (_state(Verdict.FAILED, incident=True), Verdict.UNVERIFIED, False, Severity.WARNING),
        (_state(Verdict.OK, incident=False), Verdict.OK, False, None),
    ],
)
def test_alert_decisions(
    previous: VpcState | None, verdict: Verdict, announce: bool, severity: Severity | None
) -> None:
    decision = decide(
        previous=previous,
        vpc_id=VPC,
        verdict=verdict,
        option_set_id="dopt-1",
        announce=announce,
        event_id=None,
        now="2024-05-14T10:00:00Z",
    )
    assert decision.severity == severity


def test_previous_option_set_survives_checks_after_the_change() -> None:
    # A sweep that ran between the change and its CloudTrail event already stored dopt-2
    after_sweep = decide(
        previous=_state(Verdict.OK, incident=False, option_set="dopt-1"),
        vpc_id=VPC,
        verdict=Verdict.FAILED,
        option_set_id="dopt-2",
        announce=False,
        event_id=None,
        now="2024-05-14T10:00:00Z",
    )
    on_event = decide(
        previous=after_sweep.state,
        vpc_id=VPC,
        verdict=Verdict.FAILED,
        option_set_id="dopt-2",
        announce=True,
        event_id="e-1",
        now="2024-05-14T10:01:00Z",
    )
    assert on_event.state.previous_option_set_id == "dopt-1"
    assert on_event.severity == Severity.CRITICAL
    assert on_event.state.incident_started_at == "2024-05-14T10:00:00Z"


def _check(previous: VpcState | None, verdict: Verdict, option_set: str, now: str) -> VpcState:
    return decide(
        previous=previous,
        vpc_id=VPC,
        verdict=verdict,
        option_set_id=option_set,
        announce=True,
        event_id=None,
        now=now,
    ).state


def test_only_an_ok_verdict_makes_an_option_set_the_last_good_one() -> None:
    # A healthy, then B and C broken: A stays the last good option set, B is merely previous
    on_a = _check(None, Verdict.OK, "dopt-a", "2024-05-14T09:00:00Z")
    on_b = _check(on_a, Verdict.FAILED, "dopt-b", "2024-05-14T10:00:00Z")
    on_c = _check(on_b, Verdict.FAILED, "dopt-c", "2024-05-14T11:00:00Z")
    assert (on_a.last_good_option_set_id, on_a.last_good_verified_at) == (
        "dopt-a",
        "2024-05-14T09:00:00Z",
    )
    assert on_c.previous_option_set_id == "dopt-b"
    assert (on_c.last_good_option_set_id, on_c.last_good_verified_at) == (
        "dopt-a",
        "2024-05-14T09:00:00Z",
    )


@pytest.mark.parametrize("verdict", [Verdict.FAILED, Verdict.DEGRADED, Verdict.UNVERIFIED])
def test_no_option_set_is_known_good_until_a_check_says_ok(verdict: Verdict) -> None:
    state = _check(None, verdict, "dopt-a", "2024-05-14T09:00:00Z")
    assert state.last_good_option_set_id is None
    assert state.last_good_verified_at is None


def test_a_later_healthy_check_moves_the_last_good_option_set_and_its_time() -> None:
    on_a = _check(None, Verdict.OK, "dopt-a", "2024-05-14T09:00:00Z")
    on_b = _check(on_a, Verdict.FAILED, "dopt-b", "2024-05-14T10:00:00Z")
    on_d = _check(on_b, Verdict.OK, "dopt-d", "2024-05-14T11:00:00Z")
    again = _check(on_d, Verdict.OK, "dopt-d", "2024-05-14T12:00:00Z")
    assert on_d.last_good_option_set_id == "dopt-d"
    assert again.last_good_verified_at == "2024-05-14T12:00:00Z"


def test_state_stored_before_last_good_existed_counts_its_ok_verdict() -> None:
    # An item written without last_good_* fields, whose last check was OK on dopt-1
    legacy = _state(Verdict.OK, incident=False, option_set="dopt-1")
    assert legacy.last_good_option_set_id is None
    state = _check(legacy, Verdict.FAILED, "dopt-2", "2024-05-14T10:00:00Z")
    assert state.last_good_option_set_id == "dopt-1"
    assert state.last_good_verified_at == "2024-05-14T09:00:00Z"
