"""One canary run: read resolv.conf, probe every hop within the deadline, diagnose."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from dns_canary.diagnose import Context, diagnose
from dns_canary.findings import Findings, NameReport, QueryResult
from dns_canary.plan import ProbePlan
from dns_canary.probe import Hop, probe_run
from dns_canary.resolv_conf import read_resolv_conf
from dns_canary.settings import CanarySettings

# The forwarder's address in a preflight's findings when resolv.conf names none (it is observed,
# not documented: docs/canary-contract.md).
PREDICTED_FORWARDER = "169.254.78.1"


@dataclass(frozen=True)
class RunWindow:
    """When a run must end: computed once in the handler, passed to every helper.

    ``expiry`` is the one absolute time value (a ``time.monotonic`` reading, like dnspython's
    ``expiration``); ``deadline_ms`` is the duration it stands for, as reported in the findings.
    """

    started: float
    expiry: float
    deadline_ms: int
    deadline_clipped: bool


def run_window(
    plan_deadline_ms: int, remaining_ms: int, margin_ms: int, started: float
) -> RunWindow:
    """The plan's deadline, clipped so the answer leaves before the Lambda times out."""
    available = max(0, remaining_ms - margin_ms)
    deadline_ms, clipped = (
        (available, True) if available < plan_deadline_ms else (plan_deadline_ms, False)
    )
    return RunWindow(
        started=started,
        expiry=started + deadline_ms / 1000,
        deadline_ms=deadline_ms,
        deadline_clipped=clipped,
    )


def run_canary(
    plan: ProbePlan,
    settings: CanarySettings,
    window: RunWindow,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Findings:
    """Probe DNS the way workloads use it, and every hop directly; never past ``window.expiry``."""
    if plan.candidate_nameservers is not None:
        return _preflight(plan, plan.candidate_nameservers, settings, window, clock)
    resolv = read_resolv_conf(settings.resolv_conf_path)
    stale = (
        plan.expected_nameservers is not None
        and resolv.found
        and set(plan.expected_nameservers) != set(resolv.configured_nameservers)
    )
    hops = [
        *(Hop(server, "forwarder") for server in resolv.nameservers),
        *(Hop(server, "configured") for server in resolv.configured_nameservers),
        Hop(settings.amazon_dns_server, "amazon"),
    ]
    run = probe_run(
        plan.probes,
        hops,
        port=settings.dns_port,
        expiry=window.expiry,
        deadline_ms=window.deadline_ms,
        identify=_direct_hops(hops),
        clock=clock,
    )
    results = run.results
    reports = _reports(plan, hops, results)
    diagnosis = diagnose(
        reports,
        Context(
            resolv_conf=resolv,
            stale=stale,
            expected_nameservers=plan.expected_nameservers,
            amazon_dns_server=settings.amazon_dns_server,
            port=settings.dns_port,
            deadline_ms=window.deadline_ms,
            identities=run.identities,
        ),
    )
    ok = bool(resolv.nameservers) and all(report.ok for report in reports) and not stale
    return Findings(
        ok=ok,
        stale=stale,
        deadline_ms=window.deadline_ms,
        deadline_clipped=window.deadline_clipped,
        elapsed_ms=(clock() - window.started) * 1000,
        resolv_conf=resolv,
        expected_nameservers=plan.expected_nameservers,
        amazon_dns_server=settings.amazon_dns_server,
        probes=tuple(result for result in results if result.role == "forwarder"),
        direct=tuple(result for result in results if result.role != "forwarder"),
        diagnosis=diagnosis,
        identities=run.identities,
    )


def _preflight(
    plan: ProbePlan,
    candidates: tuple[str, ...],
    settings: CanarySettings,
    window: RunWindow,
    clock: Callable[[], float],
) -> Findings:
    """Probe a candidate option set's servers directly and diagnose as if it were associated.

    The forwarder's answer is predicted (it cannot be asked to use a candidate): per name, the
    first candidate that answers as expected, else the first candidate's failure (a dead server
    makes the real forwarder hang the same way); the candidates act as the configured servers.
    """
    live = read_resolv_conf(settings.resolv_conf_path)
    forwarders = live.nameservers or (PREDICTED_FORWARDER,)
    resolv = replace(live, nameservers=forwarders, configured_nameservers=candidates)
    hops = [
        *(Hop(server, "configured") for server in candidates),
        Hop(settings.amazon_dns_server, "amazon"),
    ]
    run = probe_run(
        plan.probes,
        hops,
        port=settings.dns_port,
        expiry=window.expiry,
        deadline_ms=window.deadline_ms,
        identify=_direct_hops(hops),
        clock=clock,
    )
    reports = [
        replace(report, forwarder=(_predicted_forwarder(report.configured, forwarders[0]),))
        for report in _reports(plan, hops, run.results)
    ]
    diagnosis = diagnose(
        reports,
        Context(
            resolv_conf=resolv,
            stale=False,
            expected_nameservers=candidates,
            amazon_dns_server=settings.amazon_dns_server,
            port=settings.dns_port,
            deadline_ms=window.deadline_ms,
            identities=run.identities,
        ),
    )
    return Findings(
        ok=all(report.ok for report in reports),
        stale=False,
        deadline_ms=window.deadline_ms,
        deadline_clipped=window.deadline_clipped,
        elapsed_ms=(clock() - window.started) * 1000,
        resolv_conf=resolv,
        expected_nameservers=candidates,
        amazon_dns_server=settings.amazon_dns_server,
        probes=tuple(report.forwarder[0] for report in reports),
        direct=tuple(run.results),
        diagnosis=diagnosis,
        preflight=True,
        identities=run.identities,
    )


def _direct_hops(hops: list[Hop]) -> list[Hop]:
    """The servers asked which instance answers: each configured server and the Amazon
    resolver once (the forwarder is not asked: it would relay the question)."""
    return list({hop.server: hop for hop in hops if hop.role != "forwarder"}.values())


def _predicted_forwarder(configured: tuple[QueryResult, ...], forwarder: str) -> QueryResult:
    chosen = next((result for result in configured if result.ok), configured[0])
    return replace(
        chosen,
        server=forwarder,
        role="forwarder",
        detail=f"predicted from {chosen.server}: {chosen.detail}".rstrip(": "),
    )


def _reports(plan: ProbePlan, hops: list[Hop], results: list[QueryResult]) -> list[NameReport]:
    """Regroup the flat results (probe order, then hop order) per probe."""
    reports = []
    width = len(hops)
    for index, probe in enumerate(plan.probes):
        own = results[index * width : (index + 1) * width]
        amazon = [result for result in own if result.role == "amazon"]
        reports.append(
            NameReport(
                name=probe.name,
                type=probe.type,
                max_latency_ms=probe.max_latency_ms,
                forwarder=tuple(result for result in own if result.role == "forwarder"),
                configured=tuple(result for result in own if result.role == "configured"),
                amazon=amazon[0] if amazon else None,
            )
        )
    return reports
