"""When to alert (pure): one incident one alert, one RECOVERED per fix, every option-set change
announced, one "cannot verify" warning per option set, and the last option set verified healthy
remembered as the rollback target."""

from __future__ import annotations

from dataclasses import dataclass

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
    incident_open = previous.incident_open if previous else False
    ended_incident: str | None = None
    started_at = previous.incident_started_at if previous else None
    warned_for = previous.unverified_alerted_for if previous else None
    last_verdict = previous.verdict if previous else None
    severity: Severity | None = None
    why = "no change worth an alert"

    if verdict == Verdict.UNVERIFIED:
        if announce or warned_for != option_set_id:
            severity, why = Severity.WARNING, "cannot verify DNS for this option set"
            warned_for = option_set_id
        else:
            why = "already warned that this option set cannot be verified"
    elif verdict in _PROBLEMS:
        if not incident_open:
            severity, why = _ANNOUNCE[verdict], "a new incident"
            incident_open, started_at = True, now
        elif last_verdict == Verdict.DEGRADED and verdict == Verdict.FAILED:
            severity, why = Severity.CRITICAL, "the open incident got worse"
        else:
            why = "the incident is already open and alerted"
    elif incident_open:
        severity, why = Severity.RECOVERED, "the open incident is over"
        incident_open, started_at = False, None
        ended_incident = previous.incident_started_at if previous else None

    if announce and severity is None:
        severity, why = _ANNOUNCE[verdict], "every option-set change is announced"

    history = OptionSetHistory.after(previous, option_set_id)
    if verdict == Verdict.OK and verified_healthy is not False:
        history = history.verified_healthy(now)

    state = VpcState(
        vpc_id=vpc_id,
        verdict=verdict,
        option_set_id=option_set_id,
        previous_option_set_id=history.previous,
        incident_open=incident_open,
        incident_started_at=started_at,
        last_checked_at=now,
        last_event_id=event_id or (previous.last_event_id if previous else None),
        unverified_alerted_for=warned_for,
        last_good_option_set_id=history.last_good,
        last_good_verified_at=history.last_good_verified_at,
        observed_at=observed_at or now,
        version=previous.version if previous else 0,
        healed_incident=previous.healed_incident if previous else None,
        blocking_analysed=previous.blocking_analysed if previous and started_at else (),
    )
    return Decision(severity, state, why, started_at or ended_incident)
