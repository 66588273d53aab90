"""The verdict for one VPC from what its canaries reported (pure)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dns_watchdog.constants import CANARY_FUNCTION_NAME_PREFIX, CANARY_TAG_KEY
from dns_watchdog.domain.models import CanaryRun, Diagnosis, ProbeResult, RunStatus, Verdict

# A healthy canary outweighs one that could not report; any failure outweighs both.
_PRECEDENCE = (Verdict.FAILED, Verdict.DEGRADED, Verdict.OK, Verdict.UNVERIFIED)

HANG_CAUSES = [
    "the option set's DNS server is down or does not listen on port 53",
    "the Lambda security group has no egress on UDP/TCP 53 to that server",
    "a network ACL or route blocks the server or its replies (ephemeral ports)",
]


@dataclass(frozen=True)
class CanaryReport:
    """One canary's part in the verdict."""

    name: str
    function_arn: str
    status: str
    severity: Verdict
    diagnosis: Diagnosis
    probes: tuple[ProbeResult, ...]
    direct: tuple[ProbeResult, ...]
    detail: str
    refreshed: bool
    from_findings: bool


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    diagnosis: Diagnosis
    canaries: tuple[CanaryReport, ...]
    notes: tuple[str, ...]

    @property
    def verified_healthy(self) -> bool:
        """Every canary that exists reported healthy DNS: only then is the option set "good"
        (one canary's OK, genuine or not, never vouches for the others' silence)."""
        present = [r for r in self.canaries if r.status != "gone"]
        return bool(present) and all(r.severity == Verdict.OK for r in present)


def judge(vpc_id: str, runs: Sequence[CanaryRun], *, dns_support: bool) -> Judgement:
    """OK / DEGRADED / FAILED / UNVERIFIED for the VPC, with the most telling diagnosis.

    Any failing canary fails the VPC (a function with that canary's network placement cannot
    resolve); canaries that could not report only count when nothing else did.
    """
    reports = tuple(_report(run) for run in runs)
    notes = []
    if not dns_support:
        notes.append(
            "enableDnsSupport is false for this VPC: the Amazon resolver does not answer in it"
        )
    gone = [r.name for r in reports if r.status == "gone"]
    if gone:
        notes.append(f"skipped canaries that no longer exist: {', '.join(gone)}")
    evidence = [r for r in reports if r.status != "gone"]
    if not evidence:
        diagnosis = _no_canaries(vpc_id, bool(gone))
        return Judgement(Verdict.UNVERIFIED, diagnosis, reports, tuple(notes))

    severities = {r.severity for r in evidence}
    verdict = next(v for v in _PRECEDENCE if v in severities)
    if verdict == Verdict.OK:
        unverified = [r.name for r in evidence if r.severity == Verdict.UNVERIFIED]
        if unverified:
            notes.append(f"could not verify with: {', '.join(unverified)}")
    elif Verdict.OK in severities:
        # Canaries of one VPC disagree: say which ones found DNS healthy, never let them hide it.
        healthy = sorted(r.name for r in evidence if r.severity == Verdict.OK)
        notes.append(
            f"canaries disagree: {', '.join(healthy)} found DNS healthy (another subnet or "
            "security group?); the verdict follows the worst"
        )
    best = sorted(
        (r for r in evidence if r.severity == verdict),
        key=lambda r: (not r.from_findings, r.name),
    )[0]
    diagnosis = best.diagnosis
    if not dns_support and verdict == Verdict.FAILED:
        diagnosis = diagnosis.model_copy(
            update={"likely_causes": ["enableDnsSupport was turned off", *diagnosis.likely_causes]}
        )
    return Judgement(verdict, diagnosis, reports, tuple(notes))


def _report(run: CanaryRun) -> CanaryReport:
    findings = run.findings
    if run.status == "findings" and findings is not None:
        diagnosis = findings.diagnosis
        return CanaryReport(
            name=run.name,
            function_arn=run.function_arn,
            status=run.status,
            severity=diagnosis.severity,
            diagnosis=diagnosis,
            probes=tuple(findings.probes),
            direct=tuple(findings.direct),
            detail=run.detail,
            refreshed=run.refreshed,
            from_findings=True,
        )
    diagnosis = _synthetic_diagnosis(run)
    return CanaryReport(
        name=run.name,
        function_arn=run.function_arn,
        status=run.status,
        severity=diagnosis.severity,
        diagnosis=diagnosis,
        probes=tuple(findings.probes) if findings else (),
        direct=tuple(findings.direct) if findings else (),
        detail=run.detail,
        refreshed=run.refreshed,
        from_findings=False,
    )


def _synthetic_diagnosis(run: CanaryRun) -> Diagnosis:
    """The diagnosis of a canary that gave no findings, from how its run ended."""
    return _SYNTHETIC.get(run.status, _canary_error)(run)


def _timed_out(run: CanaryRun) -> Diagnosis:
    return Diagnosis(
        code="CANARY_TIMED_OUT",
        severity=Verdict.FAILED,
        failing_hop="configured_server",
        summary=(
            f"The canary {run.name} timed out ({run.detail}): DNS lookups hang, as they do "
            "when the option set's DNS server does not answer the link-local forwarder."
        ),
        likely_causes=list(HANG_CAUSES),
    )


def _invalid_plan(run: CanaryRun) -> Diagnosis:
    return Diagnosis(
        code="INVALID_PROBE_PLAN",
        severity=Verdict.UNVERIFIED,
        failing_hop=None,
        summary=(
            f"Configuration error: the canary {run.name} rejected the probe plan: "
            f"{run.detail}. Fix the checker's PROBE_PLAN setting."
        ),
        likely_causes=["PROBE_PLAN holds a probe the canary does not accept"],
    )


def _stale(run: CanaryRun) -> Diagnosis:
    return Diagnosis(
        code="STALE_CONFIG",
        severity=Verdict.UNVERIFIED,
        failing_hop="environment",
        summary=(
            f"The canary {run.name} still runs with an older option set than the VPC's "
            f"current one: {run.detail or 'refresh did not help'}."
        ),
        likely_causes=[
            "Lambda kept warm execution environments from before the change",
            "the canary's configuration update is still in progress",
        ],
    )


def _placement_failed(run: CanaryRun) -> Diagnosis:
    return Diagnosis(
        code="CANARY_PLACEMENT_FAILED",
        severity=Verdict.DEGRADED,
        failing_hop="vpc_placement",
        summary=(
            f"Lambda cannot start the canary {run.name} in its VPC: {run.detail}. New "
            "execution environments of Lambda functions in the same subnets and security "
            "groups fail the same way; DNS could not be checked from there."
        ),
        likely_causes=[
            "network interface quota used up (ENILimitReachedException)",
            "no free IP addresses in the function's subnets",
            "a subnet or security group of the function was deleted",
            "EC2 throttling or errors while Lambda attaches network interfaces",
        ],
        option_set_at_fault=False,
    )


def _gone(run: CanaryRun) -> Diagnosis:
    return Diagnosis(
        code="CANARY_GONE",
        severity=Verdict.UNVERIFIED,
        summary=f"The canary {run.name} no longer exists.",
    )


def _canary_error(run: CanaryRun) -> Diagnosis:
    return Diagnosis(
        code="CANARY_ERROR",
        severity=Verdict.UNVERIFIED,
        failing_hop=None,
        summary=f"The canary {run.name} gave no usable findings: {run.detail}.",
        likely_causes=["the canary function is broken or misconfigured; see its logs"],
    )


# How a run without findings ended -> its diagnosis; any other ending is a CANARY_ERROR.
_SYNTHETIC: dict[RunStatus, Callable[[CanaryRun], Diagnosis]] = {
    "timed_out": _timed_out,
    "invalid_plan": _invalid_plan,
    "stale": _stale,
    "placement_error": _placement_failed,
    "gone": _gone,
}


def _no_canaries(vpc_id: str, all_gone: bool) -> Diagnosis:
    why = "Every canary of" if all_gone else "No canary watches"
    return Diagnosis(
        code="NO_CANARIES",
        severity=Verdict.UNVERIFIED,
        failing_hop=None,
        summary=(
            f"{why} {vpc_id} (Lambda functions named {CANARY_FUNCTION_NAME_PREFIX}* tagged "
            f"{CANARY_TAG_KEY}={vpc_id})"
            f"{' is gone' if all_gone else ''}: DNS in this VPC cannot be verified."
        ),
        likely_causes=[
            f"deploy canary-template.yaml into the VPC's Lambda subnets (VpcId={vpc_id})",
        ],
    )
