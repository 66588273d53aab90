"""One canary run: read resolv.conf, probe every hop within the deadline, diagnose."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from dns_canary.diagnose import Context
from dns_canary.findings import Findings, NameReport, QueryResult
from dns_canary.plan import ProbePlan
from dns_canary.probe import Hop, ProbeRun, probe_run, target_hops
from dns_canary.resolv_conf import ResolvConf, read_resolv_conf
from dns_canary.settings import CanarySettings
from dns_canary.sources import diagnose_with_sources

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
    amazon = amazon_resolver(resolv, settings)
    hops = [
        *(Hop(server, "forwarder") for server in resolv.nameservers),
        *(Hop(server, "configured") for server in resolv.configured_nameservers),
        Hop(amazon, "amazon"),
    ]
    run = _probe(plan, hops, settings, window, clock)
    results = run.results
    reports = _reports(plan, hops, results)
    diagnosis, sources = diagnose_with_sources(
        reports,
        _context(resolv, plan.expected_nameservers, amazon, settings, window, run, stale=stale),
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
        amazon_dns_server=amazon,
        probes=tuple(result for result in results if result.role == "forwarder"),
        direct=_direct(results),
        diagnosis=diagnosis,
        sources=sources,
        identities=run.identities,
    )


def amazon_resolver(resolv: ResolvConf, settings: CanarySettings) -> str:
    """The Amazon resolver's address for this run: the IPv6 one (``AMAZON_DNS_SERVER_IPV6``,
    fd00:ec2::253 on Nitro) when resolv.conf names IPv6 servers only (an IPv6-only
    environment), else the IPv4 one (``AMAZON_DNS_SERVER``), which dual-stack subnets reach."""
    addresses = [*resolv.nameservers, *resolv.configured_nameservers]
    if addresses and all(ipaddress.ip_address(a).version == 6 for a in addresses):
        return settings.amazon_dns_server_ipv6
    return settings.amazon_dns_server


def _direct(results: list[QueryResult]) -> tuple[QueryResult, ...]:
    """The direct queries of ``direct[]``: configured servers and the Amazon resolver (a rule's
    targets are reported with their probe in ``sources[]``)."""
    return tuple(result for result in results if result.role in ("configured", "amazon"))


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
    amazon = amazon_resolver(resolv, settings)
    hops = [
        *(Hop(server, "configured") for server in candidates),
        Hop(amazon, "amazon"),
    ]
    run = _probe(plan, hops, settings, window, clock)
    reports = [
        replace(report, forwarder=(_predicted_forwarder(report.configured, forwarders[0]),))
        for report in _reports(plan, hops, run.results)
    ]
    diagnosis, sources = diagnose_with_sources(
        reports, _context(resolv, candidates, amazon, settings, window, run, stale=False)
    )
    return Findings(
        ok=all(report.ok for report in reports),
        stale=False,
        deadline_ms=window.deadline_ms,
        deadline_clipped=window.deadline_clipped,
        elapsed_ms=(clock() - window.started) * 1000,
        resolv_conf=resolv,
        expected_nameservers=candidates,
        amazon_dns_server=amazon,
        probes=tuple(report.forwarder[0] for report in reports),
        direct=_direct(run.results),
        diagnosis=diagnosis,
        preflight=True,
        sources=sources,
        identities=run.identities,
    )


def _probe(
    plan: ProbePlan,
    hops: list[Hop],
    settings: CanarySettings,
    window: RunWindow,
    clock: Callable[[], float],
) -> ProbeRun:
    return probe_run(
        plan.probes,
        hops,
        port=settings.dns_port,
        expiry=window.expiry,
        deadline_ms=window.deadline_ms,
        identify=_direct_hops(hops),
        clock=clock,
    )


def _context(
    resolv: ResolvConf,
    expected: tuple[str, ...] | None,
    amazon: str,
    settings: CanarySettings,
    window: RunWindow,
    run: ProbeRun,
    *,
    stale: bool,
) -> Context:
    return Context(
        resolv_conf=resolv,
        stale=stale,
        expected_nameservers=expected,
        amazon_dns_server=amazon,
        port=settings.dns_port,
        deadline_ms=window.deadline_ms,
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
    """Regroup the flat results (probe order, then hop order, then the probe's targets)."""
    reports = []
    start = 0
    for probe in plan.probes:
        width = len(hops) + len(target_hops(probe))
        own = results[start : start + width]
        start += width
        amazon = [result for result in own if result.role == "amazon"]
        reports.append(
            NameReport(
                name=probe.name,
                type=probe.type,
                max_latency_ms=probe.max_latency_ms,
                forwarder=tuple(result for result in own if result.role == "forwarder"),
                configured=tuple(result for result in own if result.role == "configured"),
                amazon=amazon[0] if amazon else None,
                source=probe.source,
                targets=tuple(result for result in own if result.role == "rule_target"),
            )
        )
    return reports
