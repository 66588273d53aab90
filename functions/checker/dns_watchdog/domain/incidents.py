"""When to alert (pure): one incident one alert, one RECOVERED per fix, every option-set change
announced, one "cannot verify" warning per option set, and the last option set verified healthy
remembered as the rollback target."""

from __future__ import annotations

from dataclasses import dataclass, replace

from dns_watchdog.domain.history import OptionSetHistory, VpcState
from dns_watchdog.domain.models import Severity, Verdict

_PROBLEMS = (Verdict.FAILED, Verdict.DEGRADED)
_ANNOUNCE = {
    Verdict.OK: Severity.INFO,
    Verdict.DEGRADED: Severity.WARNING,
    Verdict.UNVERIFIED: Severity.WARNING,
    Verdict.FAILED: Severity.CRITICAL,
}


@dataclass(frozen=True)
class Decision:
    severity: Severity | None
    state: VpcState
    why: str
    # When the incident this alert belongs to started (also for its RECOVERED, whose stored
    # state no longer holds it): the chat thread of the incident is named after it.
    incident_started_at: str | None = None

    @property
    def history(self) -> OptionSetHistory:
        """The option-set history as stored after this check."""
        state = self.state
        return OptionSetHistory(
            state.option_set_id,
            state.previous_option_set_id,
            state.last_good_option_set_id,
            state.last_good_verified_at,
        )


def decide(
    *,
    previous: VpcState | None,
    vpc_id: str,
    verdict: Verdict,
    option_set_id: str,
    announce: bool,
    event_id: str | None,
    now: str,
    observed_at: str | None = None,
    verified_healthy: bool | None = None,
) -> Decision:
    """The alert to send (if any) and the state to store after a check.

    `observed_at` is when the evidence was gathered; the new state keeps the stored version it
    was decided from (the store writes it only if that version is still current). The option set
    becomes the last good one only when `verified_healthy` (default: the verdict is OK).
    """
    step = _step(previous, verdict, option_set_id, announce, now)
    if announce and step.severity is None:
        step = replace(
            step, severity=_ANNOUNCE[verdict], why="every option-set change is announced"
        )

    history = OptionSetHistory.after(previous, option_set_id)
    if verdict == Verdict.OK and verified_healthy is not False:
        history = history.verified_healthy(now)

    state = VpcState(
        vpc_id=vpc_id,
        verdict=verdict,
        option_set_id=option_set_id,
        previous_option_set_id=history.previous,
        incident_open=step.incident_open,
        incident_started_at=step.started_at,
        last_checked_at=now,
        last_event_id=event_id or (previous.last_event_id if previous else None),
        unverified_alerted_for=step.warned_for,
        last_good_option_set_id=history.last_good,
        last_good_verified_at=history.last_good_verified_at,
        observed_at=observed_at or now,
        option_set_since=(
            previous.option_set_since
            if previous and previous.option_set_id == option_set_id
            else observed_at or now
        ),
        version=previous.version if previous else 0,
        healed_incident=previous.healed_incident if previous else None,
        blocking_analysed=previous.blocking_analysed if previous and step.started_at else (),
        analyses_day=previous.analyses_day if previous else None,
        analyses_started=previous.analyses_started if previous else 0,
        discovery=previous.discovery if previous else None,
        workloads=previous.workloads if previous else None,
    )
    return Decision(step.severity, state, step.why, step.started_at or step.ended_incident)


@dataclass(frozen=True)
class _Step:
    """What one check does to the incident: the alert (if any), why, and what to remember."""

    severity: Severity | None
    why: str
    incident_open: bool
    started_at: str | None  # when the open incident started
    warned_for: str | None  # the option set already warned about as unverifiable
    ended_incident: str | None = None  # when the incident this check ended had started


def _step(
    previous: VpcState | None, verdict: Verdict, option_set_id: str, announce: bool, now: str
) -> _Step:
    unchanged = _Step(
        severity=None,
        why="no change worth an alert",
        incident_open=previous.incident_open if previous else False,
        started_at=previous.incident_started_at if previous else None,
        warned_for=previous.unverified_alerted_for if previous else None,
    )
    if verdict == Verdict.UNVERIFIED:
        if announce or unchanged.warned_for != option_set_id:
            return replace(
                unchanged,
                severity=Severity.WARNING,
                why="cannot verify DNS for this option set",
                warned_for=option_set_id,
            )
        return replace(unchanged, why="already warned that this option set cannot be verified")
    if verdict in _PROBLEMS:
        return _problem(unchanged, verdict, previous.verdict if previous else None, now)
    if unchanged.incident_open:
        return replace(
            unchanged,
            severity=Severity.RECOVERED,
            why="the open incident is over",
            incident_open=False,
            started_at=None,
            ended_incident=unchanged.started_at,
        )
    return unchanged


def _problem(unchanged: _Step, verdict: Verdict, last_verdict: Verdict | None, now: str) -> _Step:
    """A FAILED or DEGRADED verdict: a new incident, one that got worse, or one already alerted."""
    if not unchanged.incident_open:
        return replace(
            unchanged,
            severity=_ANNOUNCE[verdict],
            why="a new incident",
            incident_open=True,
            started_at=now,
        )
    if last_verdict == Verdict.DEGRADED and verdict == Verdict.FAILED:
        return replace(unchanged, severity=Severity.CRITICAL, why="the open incident got worse")
    return replace(unchanged, why="the incident is already open and alerted")
