"""Diagnosis: from the findings to one code and a summary an on-call engineer can act on.

Pure: plain data in, a Diagnosis out. The lookups through the forwarder say *whether* workloads
can resolve; the direct queries to the configured servers and the Amazon resolver say *where* it
breaks. Codes and their meaning: docs/canary-contract.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from dns_canary.constants import LAMBDA_DEFAULT_TIMEOUT_MS, MAX_LISTED
from dns_canary.findings import (
    ERROR_OUTCOMES,
    MISSING_OUTCOMES,
    SILENT_OUTCOMES,
    Diagnosis,
    NameReport,
    QueryResult,
    ServerIdentity,
)
from dns_canary.resolv_conf import ResolvConf

_SOFT_OUTCOMES = frozenset({"SLOW", "UNEXPECTED_ANSWER"})
# What a failure says about the name: its zone is broken, or the name/data is missing.
_BROKEN = "broken"
_MISSING_KIND = "missing"
_KINDS = {
    "TIMEOUT": _BROKEN,
    "NETWORK_ERROR": _BROKEN,
    "SERVFAIL": _BROKEN,
    "NXDOMAIN": _MISSING_KIND,
    "NOANSWER": _MISSING_KIND,
}
# Failure causes tried in this order; the first that explains any failing name wins.
_UNREACHABLE = "CONFIGURED_SERVER_UNREACHABLE"
_ERRORS = "CONFIGURED_SERVER_ERRORS"
_NO_TCP = "CONFIGURED_SERVER_NO_TCP"
_CANNOT_FORWARD = "CONFIGURED_SERVER_CANNOT_FORWARD"
_MISSING = "CUSTOM_SERVER_MISSING_NAMES"
_PARTIAL_LOSS = "PARTIAL_LOSS"
_FORWARDER = "FORWARDER_FAILING"
_NO_DATA = "NO_DATA_FOR_NXDOMAIN"
_CAUSE_ORDER = (
    _UNREACHABLE,
    _ERRORS,
    _NO_TCP,
    _CANNOT_FORWARD,
    _MISSING,
    _PARTIAL_LOSS,
    _FORWARDER,
    _NO_DATA,
)
_MAX_LISTED = MAX_LISTED


@dataclass(frozen=True)
class Context:
    """What the diagnosis needs besides the per-name reports."""

    resolv_conf: ResolvConf
    stale: bool
    expected_nameservers: tuple[str, ...] | None
    amazon_dns_server: str
    port: int
    deadline_ms: int = 0
    # Which instance answered each server's identity query (hostname.bind / NSID), if any.
    identities: tuple[ServerIdentity, ...] = ()


@dataclass(frozen=True)
class _Evidence:
    """What the whole run says about each server, decided once for the run (never name by name).

    ``answering``: the servers that answered anything at all. ``lossy``: the configured servers
    that answered some direct queries and stayed silent on others. ``cannot_forward``: the lossy
    ones whose every answer came from a zone of their own (AA flag) while every name they were
    silent on lies outside those zones: they answer what they hold and cannot forward the rest
    (a domain controller whose DNS forwarder is dead or slower than the deadline).
    """

    answering: frozenset[str]
    lossy: frozenset[str] = frozenset()
    cannot_forward: frozenset[str] = frozenset()
    own_names: tuple[tuple[str, str], ...] = ()  # (server, name) answered from its own zone

    @classmethod
    def of(cls, reports: Sequence[NameReport]) -> _Evidence:
        answering = frozenset(
            result.server
            for report in reports
            for result in (*report.forwarder, *report.configured, *_amazon(report))
            # a truncated UDP answer (transport tcp) also proves the server answers
            if result.rcode is not None or result.transport == "tcp"
        )
        silent: dict[str, list[QueryResult]] = {}
        replies: dict[str, list[QueryResult]] = {}
        for report in reports:
            for result in report.configured:
                if _silent_udp(result):
                    silent.setdefault(result.server, []).append(result)
                elif result.rcode is not None:
                    replies.setdefault(result.server, []).append(result)
        lossy = frozenset(server for server in silent if server in answering)
        cannot_forward = frozenset(
            server for server in lossy if _own_zone_only(replies.get(server, []), silent[server])
        )
        own_names = tuple(
            (result.server, result.name)
            for results in replies.values()
            for result in results
            if result.authoritative
        )
        return cls(answering, lossy, cannot_forward, own_names)

    def answered(self, server: str) -> bool:
        return server in self.answering


def _silent_udp(result: QueryResult) -> bool:
    return result.outcome in SILENT_OUTCOMES and result.transport == "udp"


def _own_zone_only(replies: Sequence[QueryResult], silent: Sequence[QueryResult]) -> bool:
    """Every reply authoritative, and every silent name outside the zones those replies came
    from (a reply's zone is taken as its name's parent: the server's own names sit in it)."""
    if not replies or not all(result.authoritative for result in replies):
        return False
    zones = {result.name.partition(".")[2] or result.name for result in replies}
    return not any(
        result.name == zone or result.name.endswith(f".{zone}")
        for result in silent
        for zone in zones
    )


def diagnose(reports: Sequence[NameReport], context: Context) -> Diagnosis:
    return _name_instances(_diagnose(reports, context), context)


def _name_instances(diagnosis: Diagnosis, context: Context) -> Diagnosis:
    """A failing configured server that said which instance it is gets named in the summary:
    behind a load-balanced or anycast address, that is the member to look at."""
    if diagnosis.verdict == "OK" or diagnosis.failing_hop != "configured_server":
        return diagnosis
    named = [
        f'{identity.server} answered as "{identity.label}"'
        for identity in context.identities
        if identity.role == "configured" and identity.label and identity.server in diagnosis.summary
    ]
    if not named:
        return diagnosis
    return replace(
        diagnosis,
        summary=f"{diagnosis.summary} Instance: {'; '.join(named)} (hostname.bind / NSID).",
    )


def _diagnose(reports: Sequence[NameReport], context: Context) -> Diagnosis:
    resolv = context.resolv_conf
    if not resolv.found or not resolv.nameservers:
        return _no_nameserver(reports, context, _names(reports))
    failed = [report for report in reports if not report.ok]
    if context.stale:
        return _stale(context, _names(failed))
    evidence = _Evidence.of(reports)
    if not failed:
        lost = _redundancy_lost(reports, context, evidence) or _direct_loss(
            reports, context, evidence
        )
        if lost is not None:
            return lost
        return Diagnosis(
            code="HEALTHY",
            verdict="OK",
            failing_hop="none",
            summary=(
                f"All {len(reports)} names resolved as expected through "
                f"{_servers(resolv.nameservers)} (the option set's DNS servers: "
                f"{_servers(resolv.configured_nameservers) or 'none listed'})."
            ),
        )
    return _diagnose_failures(failed, len(reports), context, evidence)


def _diagnose_failures(
    failed: Sequence[NameReport], total: int, context: Context, evidence: _Evidence
) -> Diagnosis:
    failed_names = _names(failed)
    if not context.resolv_conf.configured_nameservers:
        return _no_configured_servers(failed, context, failed_names)
    everywhere = [report for report in failed if _fails_everywhere(report, evidence)]
    blamable = [report for report in failed if report not in everywhere]
    hard = [report for report in blamable if _hard_failures(report)]
    if hard:
        causes = {id(report): _cause(report, evidence) for report in hard}
        for code in _CAUSE_ORDER:
            explained = [report for report in hard if causes[id(report)] == code]
            if explained:
                found = _BUILDERS[code](explained, context, failed_names, evidence)
                return _also_everywhere(found, everywhere, context)
        return _also_everywhere(
            _unexplained(failed, total, context, failed_names), everywhere, context
        )
    if blamable:
        if all(result.outcome == "SLOW" for report in blamable for result in report.failures):
            found = _slow(blamable, context, failed_names, evidence)
        else:
            found = _unexpected(blamable, context, failed_names)
        return _also_everywhere(found, everywhere, context)
    return _name_fails_everywhere(everywhere, context, failed_names, evidence)


def _fails_everywhere(report: NameReport, evidence: _Evidence) -> bool:
    """The name fails the same way at the Amazon resolver and at every configured server, each
    of which answered in this run: a problem of the name or its zone, not of the option set."""
    amazon = report.amazon
    if amazon is None or amazon.ok or not report.configured:
        return False
    kind = _KINDS.get(amazon.outcome)
    if kind is None or not evidence.answered(amazon.server):
        return False
    for result in report.configured:
        if result.ok or _KINDS.get(result.outcome) != kind:
            return False
        if not evidence.answered(result.server):
            return False
    return True


def _cause(report: NameReport, evidence: _Evidence) -> str | None:
    """Which hop one failing name points at, from the direct queries."""
    forwarder_outcomes = {result.outcome for result in report.failures}
    silent = [result for result in report.configured if _silent_udp(result)]
    down = [result for result in silent if not evidence.answered(result.server)]
    lossy = [result for result in silent if evidence.answered(result.server)]
    cannot_forward = [result for result in silent if result.server in evidence.cannot_forward]
    no_tcp = [
        result
        for result in report.configured
        if result.outcome in SILENT_OUTCOMES and result.transport == "tcp"
    ]
    errors = [result for result in report.configured if result.outcome in ERROR_OUTCOMES]
    missing = [
        result
        for result in report.configured
        if result.outcome in MISSING_OUTCOMES and not result.ok
    ]
    # The Amazon resolver *resolves* the name (records), not merely meets the expectation: a
    # name expected NXDOMAIN that the Amazon resolver calls NXDOMAIN is no name to forward.
    amazon_resolves = report.amazon is not None and report.amazon.outcome == "OK"
    amazon_nxdomain = (
        report.amazon is not None and report.amazon.ok and report.amazon.outcome == "NXDOMAIN"
    )
    forwarder_silent = bool(forwarder_outcomes & SILENT_OUTCOMES)
    forwarder_answers = any(evidence.answered(result.server) for result in report.failures)
    configured_ok = bool(report.configured) and all(result.ok for result in report.configured)
    # Silent for this name but answering others in the same run: loss or rate limiting on the
    # forwarder path, not a broken forwarder.
    forwarder_lossy = (
        forwarder_silent
        and forwarder_answers
        and not all(result.transport == "tcp" for result in report.failures)
    )
    rules = (
        (
            bool(down) and bool(forwarder_outcomes & (SILENT_OUTCOMES | ERROR_OUTCOMES)),
            _UNREACHABLE,
        ),
        (bool(errors), _ERRORS),
        (bool(no_tcp), _NO_TCP),
        (bool(cannot_forward) and forwarder_silent, _CANNOT_FORWARD),
        (bool(missing) and amazon_resolves, _MISSING),
        (bool(lossy) and forwarder_silent, _PARTIAL_LOSS),
        (configured_ok and forwarder_lossy, _PARTIAL_LOSS),
        (configured_ok, _FORWARDER),
        (any(r.outcome == "NOANSWER" for r in missing) and amazon_nxdomain, _NO_DATA),
    )
    return next((code for matched, code in rules if matched), None)


def _hard_failures(report: NameReport) -> list[QueryResult]:
    return [result for result in report.failures if result.outcome not in _SOFT_OUTCOMES]


def _redundancy_lost(
    reports: Sequence[NameReport], context: Context, evidence: _Evidence
) -> Diagnosis | None:
    """Every name resolves, but one of several configured servers fails what the others answer."""
    configured = context.resolv_conf.configured_nameservers
    if len(configured) < 2:
        return None
    failing: dict[str, list[QueryResult]] = {}
    for report in reports:
        for result in report.configured:
            if not result.ok:
                failing.setdefault(result.server, []).append(result)
    working = [server for server in configured if server not in failing]
    if not failing or not working:
        return None
    bad = list(failing)
    details = _unique(
        f"{result.server}: {result.name} {result.outcome}"
        + (f" ({result.detail})" if result.detail else "")
        for server in bad
        for result in failing[server][:2]
    )
    silent = [s for s in bad if not evidence.answered(s)]
    port = context.port
    return Diagnosis(
        code="REDUNDANCY_LOST",
        verdict="DEGRADED",
        failing_hop="configured_server",
        option_set_at_fault=True,
        summary=(
            f"Every name resolves through the forwarder {_servers(context.resolv_conf.nameservers)}"
            f", but the option set's {_dns_servers(bad)} {_verb(bad, 'fails', 'fail')} when asked "
            f"directly ({'; '.join(details[:_MAX_LISTED])}): redundancy is lost, only "
            f"{_servers(working)} {_verb(working, 'carries', 'carry')} the VPC's DNS. Fix or "
            f"replace {_servers(bad)} before the remaining server fails too."
        ),
        likely_causes=(
            *(
                (
                    f"{_servers(silent)} is down, or the security group / network ACL / route "
                    f"blocks port {port} to it",
                )
                if silent
                else ()
            ),
            f"{_servers(bad)} cannot resolve these names (broken forwarders, zones or DNSSEC)",
            "the servers of the option set are not configured alike",
        ),
        failed_names=tuple(_unique(r.name for server in bad for r in failing[server])),
    )


def _also_everywhere(
    diagnosis: Diagnosis, everywhere: Sequence[NameReport], context: Context
) -> Diagnosis:
    """A mixed run: the option-set fault leads, the names failing everywhere are mentioned."""
    if not everywhere:
        return diagnosis
    note = (
        f" Not the option set's fault: {_list(_names(everywhere))} also "
        f"{_verb(_names(everywhere), 'fails', 'fail')} at the Amazon resolver "
        f"{context.amazon_dns_server}."
    )
    return replace(diagnosis, summary=diagnosis.summary + note)


def _name_fails_everywhere(
    everywhere: Sequence[NameReport],
    context: Context,
    failed_names: list[str],
    evidence: _Evidence,
) -> Diagnosis:
    names = _names(everywhere)
    outcomes = _unique(
        f"{report.name}: {report.amazon.outcome}"
        for report in everywhere
        if report.amazon is not None
    )
    servers = _unique(r.server for report in everywhere for r in report.configured)
    answered_others = [server for server in servers if evidence.answered(server)]
    zones = _unique(_zone_of(name) for name in names)
    return Diagnosis(
        code="NAME_FAILS_EVERYWHERE",
        verdict="DEGRADED",
        failing_hop="zone",
        option_set_at_fault=False,
        summary=(
            f"{_list(names)} {_verb(names, 'fails', 'fail')} at every resolver asked, the Amazon "
            f"resolver {context.amazon_dns_server} included ({'; '.join(outcomes[:_MAX_LISTED])}),"
            f" while the option set's {_dns_servers(answered_others or servers)} answered other "
            "names in this run: the fault is in the name or its zone "
            f"({_list(zones)}), not in the option set. Changing or rolling back the option set "
            "will not fix it."
        ),
        likely_causes=(
            "the zone's delegation is lame (its name servers do not serve it) or its "
            "authoritative servers are down or unreachable",
            "DNSSEC for the zone is broken (validating resolvers answer SERVFAIL)",
            "the name or the record type does not exist (NXDOMAIN / no data), or the probe plan "
            "names something that was removed",
        ),
        failed_names=tuple(failed_names),
    )


def _direct_loss(
    reports: Sequence[NameReport], context: Context, evidence: _Evidence
) -> Diagnosis | None:
    """Every name resolves, but a configured server lost most of the canary's direct queries
    (while answering the rest): the forwarder path happened to get through this time."""
    for server in context.resolv_conf.configured_nameservers:
        if server not in evidence.lossy:
            continue
        asked = [r for report in reports for r in report.configured if r.server == server]
        lost = [result for result in asked if _silent_udp(result)]
        if 2 * len(lost) > len(asked):
            return _direct_loss_diagnosis(server, asked, lost, context)
    return None


def _direct_loss_diagnosis(
    server: str, asked: Sequence[QueryResult], lost: Sequence[QueryResult], context: Context
) -> Diagnosis:
    names = _unique(result.name for result in lost)
    return Diagnosis(
        code=_PARTIAL_LOSS,
        verdict="DEGRADED",
        failing_hop="configured_server",
        option_set_at_fault=True,
        summary=(
            f"Every name resolves through the forwarder {_servers(context.resolv_conf.nameservers)}"
            f", but the option set's DNS server {server} gave no answer within "
            f"{context.deadline_ms} ms to {len(lost)} of the {len(asked)} queries the canary "
            f"sent it directly ({_list(names)}) and answered the rest: queries to it are lost or "
            "rate-limited, not blocked. Workloads' lookups through it can fail the same way."
        ),
        likely_causes=(
            "the server limits the rate of queries per client and drops the rest",
            "packet loss on the path to the server (an overloaded NAT, VPN or firewall)",
            "the server's own forwarder for these names is slow or down",
        ),
        failed_names=tuple(names),
    )


# --- one builder per code ----------------------------------------------------------------------


def _no_nameserver(reports: Sequence[NameReport], context: Context, names: list[str]) -> Diagnosis:
    resolv = context.resolv_conf
    if not resolv.found:
        problem = resolv.problems[0] if resolv.problems else "not found"
        state = f"{resolv.path} is missing or unreadable ({problem})"
    else:
        state = f"{resolv.path} has no usable 'nameserver' line"
    amazon = _amazon_sentence(reports, context)
    return Diagnosis(
        code="NO_NAMESERVER",
        verdict="FAILED",
        failing_hop="resolv_conf",
        summary=f"{state}: code in this function cannot resolve any name. {amazon}",
        likely_causes=(
            "RESOLV_CONF_PATH points at the wrong file",
            "a custom runtime or container image replaced /etc/resolv.conf",
            "the execution environment's network setup failed; new environments may recover",
        ),
        failed_names=tuple(names),
    )


def _stale(context: Context, failed_names: list[str]) -> Diagnosis:
    configured = _servers(context.resolv_conf.configured_nameservers) or "none"
    expected = _servers(context.expected_nameservers or ()) or "none"
    return Diagnosis(
        code="STALE_CONFIG",
        verdict="UNVERIFIED",
        failing_hop="environment",
        summary=(
            f"This execution environment still has the DNS servers {configured} in "
            f"{context.resolv_conf.path}, but the VPC's option set now names {expected}: its "
            "probe results describe the old configuration. Update the function's configuration "
            "so Lambda starts new execution environments, then probe again."
        ),
        likely_causes=(
            "execution environments started before the option set change keep the servers "
            "they started with",
            "the option set changed again after the expected servers were computed",
        ),
        failed_names=tuple(failed_names),
    )


def _no_configured_servers(
    failed: Sequence[NameReport], context: Context, names: list[str]
) -> Diagnosis:
    resolv = context.resolv_conf
    return Diagnosis(
        code="NO_CONFIGURED_SERVERS",
        verdict="FAILED",
        failing_hop="option_set",
        option_set_at_fault=True,
        summary=(
            f"{resolv.path} has no '; configured nameserver' line: the VPC's DHCP option set hands "
            f"out no DNS servers, so the forwarder {_servers(resolv.nameservers)} has nowhere to "
            f"send queries and lookups fail ({_describe(failed)}). Associate an option set with "
            "domain-name-servers=AmazonProvidedDNS or with working DNS servers. "
            f"{_amazon_sentence(failed, context)}"
        ),
        likely_causes=(
            "the VPC was associated with the 'default' option set id, which means no options",
            "the VPC's option set has no domain-name-servers entry",
        ),
        failed_names=tuple(names),
    )


def _slow(
    failed: Sequence[NameReport], context: Context, names: list[str], evidence: _Evidence
) -> Diagnosis:
    slowest = max(result.elapsed_ms for report in failed for result in report.failures)
    if slowest > LAMBDA_DEFAULT_TIMEOUT_MS:
        return _too_slow(failed, context, names, evidence)
    resolv = context.resolv_conf
    slow = "; ".join(
        f"{result.name} in {result.elapsed_ms:.0f} ms (budget {report.max_latency_ms} ms)"
        for report in failed[:_MAX_LISTED]
        for result in report.failures
    )
    direct = _direct_latency(failed)
    # A repeat the canary sent because the answer was merely late is not evidence of loss: only
    # a direct answer that came fast while the forwarder's was slow points at lost packets.
    fast_direct = any(
        result.ok and result.elapsed_ms <= report.max_latency_ms
        for report in failed
        for result in report.configured
    )
    retransmitted = any(result.attempts > 1 for report in failed for result in report.failures)
    causes = [
        f"the {_dns_servers(resolv.configured_nameservers)} "
        f"{_verb(resolv.configured_nameservers, 'is', 'are')} overloaded or far away "
        "(another region, or on premises over VPN)",
        "the server's own upstream recursion is slow (cold cache, slow forwarders)",
    ]
    if retransmitted and fast_direct:
        causes.append(
            "packets are lost on the forwarder path: the same servers answered fast when asked "
            "directly, while the forwarder's answers came only after the canary resent the query"
        )
    return Diagnosis(
        code="SLOW_ANSWERS",
        verdict="DEGRADED",
        failing_hop="forwarder",
        option_set_at_fault=True,
        summary=(
            f"Names resolve, but slower than their latency budget through the forwarder "
            f"{_servers(resolv.nameservers)}: {slow}.{direct}"
        ),
        likely_causes=tuple(causes),
        failed_names=tuple(names),
    )


def _too_slow(
    failed: Sequence[NameReport], context: Context, names: list[str], evidence: _Evidence
) -> Diagnosis:
    """Answers that come later than a Lambda function's default timeout: a failure."""
    limit = LAMBDA_DEFAULT_TIMEOUT_MS
    slow = "; ".join(
        f"{result.name} in {result.elapsed_ms:.0f} ms"
        for report in failed[:_MAX_LISTED]
        for result in report.failures
    )
    late_direct = _unique(
        result.server
        for report in failed
        for result in report.configured
        if result.ok and result.elapsed_ms > limit
    )
    own = _unique(name for server, name in evidence.own_names if server in late_direct)
    forwarding = (
        f" Asked directly, {_servers(late_direct)} {_verb(late_direct, 'answers', 'answer')} "
        f"{_verb(late_direct, 'its', 'their')} own zone at once ({_list(own)}) but the names "
        "it must forward only after more than "
        f"{limit} ms: its forwarding is slow (typically its first forwarder is dead and the "
        "next one is asked only after a timeout)."
        if own
        else ""
    )
    return Diagnosis(
        code="ANSWERS_TOO_SLOW",
        verdict="FAILED",
        failing_hop="configured_server" if late_direct else "forwarder",
        option_set_at_fault=True,
        summary=(
            f"Names resolve only after more than {limit} ms through the forwarder "
            f"{_servers(context.resolv_conf.nameservers)} ({slow}): a Lambda function with the "
            f"default {limit // 1000} s timeout fails before its lookup returns.{forwarding}"
            f"{_direct_latency(failed)}"
        ),
        likely_causes=(
            "the DNS server's first forwarder is dead, and it asks the next one only after a "
            "timeout (Samba AD: about 10 s; Windows DNS: its forwarder timeout)",
            "the server's upstream recursion or its path to its forwarders is very slow",
            "the server is overloaded",
        ),
        failed_names=tuple(names),
    )


def _unexpected(failed: Sequence[NameReport], context: Context, names: list[str]) -> Diagnosis:
    wrong = "; ".join(
        f"{result.name} -> {', '.join(result.answers) or 'no records'} ({result.detail})"
        for report in failed[:_MAX_LISTED]
        for result in report.failures
        if result.outcome == "UNEXPECTED_ANSWER"
    )
    amazon = _amazon_answers(failed)
    amazon_agrees = any(report.amazon is not None and report.amazon.ok for report in failed)
    return Diagnosis(
        code="UNEXPECTED_ANSWERS",
        verdict="DEGRADED",
        failing_hop="configured_server",
        # Only the option set's fault when the Amazon resolver gives an answer the plan allows.
        option_set_at_fault=amazon_agrees,
        summary=(
            "Names resolve to answers the probe plan does not allow: "
            f"{wrong}. The answers come from the option set's "
            f"{_dns_servers(context.resolv_conf.configured_nameservers)}.{amazon}"
        ),
        likely_causes=(
            "a private hosted zone is not associated with the VPC (or not forwarded to), so the "
            "public record is returned",
            "the custom DNS server answers from another view (split horizon) or a stale zone",
            "the record was changed on purpose and the probe plan is out of date",
        ),
        failed_names=tuple(names),
    )


def _unreachable(
    explained: Sequence[NameReport], context: Context, failed_names: list[str]
) -> Diagnosis:
    silent = _unique(
        result.server
        for report in explained
        for result in report.configured
        if result.outcome in SILENT_OUTCOMES
    )
    details = _unique(
        result.detail
        for report in explained
        for result in report.configured
        if result.outcome in SILENT_OUTCOMES
    )
    servers = _servers(silent)
    port = context.port
    timed_out = all(
        result.outcome == "TIMEOUT"
        for report in explained
        for result in report.configured
        if result.server in silent
    )
    how = (
        f"gave no answer within {context.deadline_ms} ms on port {port}"
        if timed_out
        else f"could not be reached on port {port}"
    )
    return Diagnosis(
        code=_UNREACHABLE,
        verdict="FAILED",
        failing_hop="configured_server",
        option_set_at_fault=True,
        summary=(
            f"The option set's {_dns_servers(silent)} {how} to any query of this run "
            f"({'; '.join(details[:_MAX_LISTED])}), so lookups through the forwarder "
            f"{_servers(context.resolv_conf.nameservers)} fail ({_describe(explained)}). "
            f"{_amazon_sentence(explained, context)} Fix the path to {servers} or associate an "
            "option set that uses AmazonProvidedDNS."
        ),
        likely_causes=(
            f"{servers} is down or not listening on port {port}",
            f"the function's security group does not allow egress UDP and TCP {port} to {servers}",
            f"a network ACL drops the queries (port {port}) or the replies "
            "(ephemeral ports 1024-65535)",
            f"no route from the function's subnets to {servers} (route table, peering, VPN, "
            "Transit Gateway)",
            "the server's own access list drops queries from the function's subnets without an "
            "answer (PowerDNS Recursor allow-from, dnsdist's ACL; BIND and Knot Resolver refuse "
            "instead)",
        ),
        failed_names=tuple(failed_names),
    )


def _errors(
    explained: Sequence[NameReport], context: Context, failed_names: list[str]
) -> Diagnosis:
    erring = [
        result
        for report in explained
        for result in report.configured
        if result.outcome in ERROR_OUTCOMES
    ]
    rcodes = _unique(result.rcode or result.outcome for result in erring)
    erring_servers = _unique(result.server for result in erring)
    causes = []
    if "REFUSED" in rcodes:
        causes.append("the server does not allow recursion for the function's subnets (REFUSED)")
    if set(rcodes) - {"REFUSED"}:
        causes.append(
            "the server cannot reach its own forwarders or the root servers, or DNSSEC "
            "validation fails (SERVFAIL)"
        )
    causes.append("the zone for these names is broken on the server")
    return Diagnosis(
        code=_ERRORS,
        verdict="FAILED",
        failing_hop="configured_server",
        option_set_at_fault=True,
        summary=(
            f"The option set's {_dns_servers(erring_servers)} "
            f"{_verb(erring_servers, 'answers', 'answer')} "
            f"{' / '.join(rcodes)} for {_list(_names(explained))}, so lookups through the "
            f"forwarder {_servers(context.resolv_conf.nameservers)} fail "
            f"({_describe(explained)}). {_amazon_sentence(explained, context)}"
        ),
        likely_causes=tuple(causes),
        failed_names=tuple(failed_names),
    )


def _missing(
    explained: Sequence[NameReport], context: Context, failed_names: list[str]
) -> Diagnosis:
    missing = [
        result
        for report in explained
        for result in report.configured
        if result.outcome in MISSING_OUTCOMES and not result.ok
    ]
    names = _names(explained)
    zones = _unique(_zone_of(name) for name in names)
    missing_servers = _unique(result.server for result in missing)
    how = " / ".join(_unique("NXDOMAIN" if r.outcome == "NXDOMAIN" else "no data" for r in missing))
    return Diagnosis(
        code=_MISSING,
        verdict="FAILED",
        failing_hop="configured_server",
        option_set_at_fault=True,
        summary=(
            f"The option set's {_dns_servers(missing_servers)} "
            f"{_verb(missing_servers, 'answers', 'answer')} "
            f"{how} for {_list(names)}, which the Amazon resolver {context.amazon_dns_server} "
            "resolves: the custom server does not forward AWS or private hosted zone names to "
            "AmazonProvidedDNS. Add conditional forwarders for "
            f"{_list(zones)} to the VPC resolver at the VPC CIDR base +2 (10.0.0.2 for "
            "10.0.0.0/16), or use Route 53 Resolver endpoints."
        ),
        likely_causes=(
            "the custom DNS server (for example a domain controller) has no conditional "
            "forwarder to AmazonProvidedDNS for these domains",
            "the custom server forwards to public resolvers, which cannot see private hosted "
            "zones or VPC endpoint private DNS names",
            "the private hosted zone is not associated with the VPC whose resolver the custom "
            "server forwards to",
        ),
        failed_names=tuple(failed_names),
    )


def _forwarder(
    explained: Sequence[NameReport], context: Context, failed_names: list[str]
) -> Diagnosis:
    answering = _unique(r.server for report in explained for r in report.configured if r.ok)
    servers = _servers(answering)
    return Diagnosis(
        code=_FORWARDER,
        verdict="FAILED",
        failing_hop="forwarder",
        option_set_at_fault=True,
        summary=(
            f"Lookups through the forwarder {_servers(context.resolv_conf.nameservers)} fail "
            f"({_describe(explained)}) although the option set's {_dns_servers(answering)} "
            f"{_verb(answering, 'answers', 'answer')} "
            "the same names directly: the path every workload takes is broken between the "
            "forwarder and the server."
        ),
        likely_causes=(
            "this execution environment relays to an older option set: update the function's "
            "configuration so new environments start, then check again",
            f"{servers} accepts queries from the function's ENI but not the relayed ones",
            "a transient fault of the Lambda DNS forwarder: check again",
        ),
        failed_names=tuple(failed_names),
    )


def _unexplained(
    failed: Sequence[NameReport], total: int, context: Context, failed_names: list[str]
) -> Diagnosis:
    direct = "; ".join(
        f"{result.server} ({result.role}): {result.outcome}"
        for result in _unique_results(
            r for report in failed for r in (*report.configured, *_amazon(report))
        )
    )
    forwarder = _servers(context.resolv_conf.nameservers)
    if len(failed) < total:
        return Diagnosis(
            code="PARTIAL_FAILURE",
            verdict="DEGRADED",
            failing_hop="forwarder",
            summary=(
                f"{len(failed)} of {total} names fail through the forwarder {forwarder} "
                f"({_describe(failed)}) while the others resolve; the direct queries do not "
                f"single out one server ({direct or 'none'})."
            ),
            likely_causes=(
                "these names do not exist, or their zones are broken, on every server asked",
                "the probe plan expects something the zones no longer hold",
            ),
            failed_names=tuple(failed_names),
        )
    return Diagnosis(
        code="RESOLUTION_FAILED",
        verdict="FAILED",
        failing_hop="forwarder",
        summary=(
            f"Every name fails through the forwarder {forwarder} ({_describe(failed)}); the "
            f"direct queries do not single out one hop ({direct or 'none'})."
        ),
        likely_causes=(
            "the names do not exist on any server asked",
            "several hops fail at once (forwarder, configured servers, network)",
        ),
        failed_names=tuple(failed_names),
    )


def _no_tcp(
    explained: Sequence[NameReport], context: Context, failed_names: list[str]
) -> Diagnosis:
    failing = [
        result
        for report in explained
        for result in report.configured
        if result.outcome in SILENT_OUTCOMES and result.transport == "tcp"
    ]
    servers = _unique(result.server for result in failing)
    refused = any("refused" in result.detail for result in failing)
    port = context.port
    how = (
        f"refuses TCP connections on port {port}"
        if refused
        else f"gave no answer over TCP within {context.deadline_ms} ms"
    )
    return Diagnosis(
        code=_NO_TCP,
        verdict="FAILED",
        failing_hop="configured_server",
        option_set_at_fault=True,
        summary=(
            f"The option set's {_dns_servers(servers)} {_verb(servers, 'answers', 'answer')} over "
            f"UDP, but the answers for {_list(_names(explained))} are too large for UDP "
            f"(truncated) and {_servers(servers)} {how}: lookups that need TCP fail through the "
            f"forwarder {_servers(context.resolv_conf.nameservers)} ({_describe(explained)}). "
            f"{_amazon_sentence(explained, context)} Allow TCP {port} to {_servers(servers)}."
        ),
        likely_causes=(
            f"the function's security group or a network ACL allows UDP {port} only: DNS needs "
            f"TCP {port} too, for answers over 512 bytes",
            f"a firewall in front of {_servers(servers)} drops or rejects TCP {port}",
            f"TCP is disabled on {_servers(servers)}, or its TCP listener is overloaded",
        ),
        failed_names=tuple(failed_names),
    )


def _partial_loss(
    explained: Sequence[NameReport],
    context: Context,
    failed_names: list[str],
    evidence: _Evidence,
) -> Diagnosis:
    # Which hop loses answers is decided from the whole run: a configured server that lost any
    # direct query in it is the lossy one, whichever names the forwarder happened to lose.
    lossy = [s for s in context.resolv_conf.configured_nameservers if s in evidence.lossy]
    hop: Literal["configured_server", "forwarder"] = "configured_server" if lossy else "forwarder"
    where = (
        f"the option set's {_dns_servers(lossy)} answered other names in this run but left "
        f"queries without an answer within {context.deadline_ms} ms, and lookups of "
        f"{_list(_names(explained))} through the forwarder got none"
        if lossy
        else (
            f"the forwarder {_servers(context.resolv_conf.nameservers)} answered other names in "
            f"this run but gave no answer within {context.deadline_ms} ms for "
            f"{_list(_names(explained))}, which the option set's servers answer directly"
        )
    )
    return Diagnosis(
        code=_PARTIAL_LOSS,
        verdict="DEGRADED",
        failing_hop=hop,
        option_set_at_fault=True,
        summary=(
            f"Queries are lost or rate-limited, not blocked: {where} "
            f"({_describe(explained)}). The servers are reachable; some of their answers do not "
            "arrive."
        ),
        likely_causes=(
            "the server limits the rate of queries per client (unbound ip-ratelimit, BIND "
            "rate-limit / response-rate limiting) and drops the rest",
            "the Amazon Route 53 Resolver drops queries beyond 1024 packets per second per "
            "network interface (it logs nothing about them): too many lookups from functions "
            "sharing the interface",
            "the server's own forwarder for these names' zones is slow or down",
            "packet loss on the path to the server (an overloaded NAT, VPN or firewall)",
        ),
        failed_names=tuple(failed_names),
    )


def _cannot_forward(
    explained: Sequence[NameReport],
    context: Context,
    failed_names: list[str],
    evidence: _Evidence,
) -> Diagnosis:
    servers = [
        s for s in context.resolv_conf.configured_nameservers if s in evidence.cannot_forward
    ]
    own = _unique(name for server, name in evidence.own_names if server in servers)
    names = _names(explained)
    return Diagnosis(
        code=_CANNOT_FORWARD,
        verdict="FAILED",
        failing_hop="configured_server",
        option_set_at_fault=True,
        summary=(
            f"The option set's {_dns_servers(servers)} {_verb(servers, 'answers', 'answer')} "
            f"{_verb(servers, 'its', 'their')} own zone at once"
            f"{f' ({_list(own)})' if own else ''} but gave no answer within "
            f"{context.deadline_ms} ms, on any attempt, for every name it must forward "
            f"({_list(names)}), so lookups through the forwarder "
            f"{_servers(context.resolv_conf.nameservers)} fail ({_describe(explained)}). "
            f"{_amazon_sentence(explained, context)} The server's own DNS forwarder is dead, "
            "unreachable from it, or slower than the deadline: a lookup that takes longer than "
            f"{LAMBDA_DEFAULT_TIMEOUT_MS // 1000} s fails every Lambda function with the default "
            "timeout."
        ),
        likely_causes=(
            "the domain controller's DNS forwarder (Samba 'dns forwarder', Windows DNS "
            "forwarders) is down or its address changed",
            "the server cannot reach its forwarder: its own security group, network ACL or route "
            "blocks the queries",
            "the first of several forwarders is dead and the server tries the next only after "
            "its timeout (Samba waits about 10 s)",
        ),
        failed_names=tuple(failed_names),
    )


def _no_data(
    explained: Sequence[NameReport], context: Context, failed_names: list[str]
) -> Diagnosis:
    servers = _unique(
        result.server
        for report in explained
        for result in report.configured
        if result.outcome == "NOANSWER"
    )
    return Diagnosis(
        code=_NO_DATA,
        verdict="DEGRADED",
        failing_hop="configured_server",
        # Names that exist still resolve: another option set would not help a workload.
        option_set_at_fault=False,
        summary=(
            f"The option set's {_dns_servers(servers)} {_verb(servers, 'answers', 'answer')} "
            f'"no data" (NOERROR without records) for {_list(_names(explained))}, where the '
            f"zone says NXDOMAIN (the Amazon resolver {context.amazon_dns_server} answers "
            "NXDOMAIN): names that do not exist still fail, names that exist still resolve, but "
            "clients that tell NXDOMAIN from no data (negative caching, search lists, probes "
            "that expect NXDOMAIN) see a different answer."
        ),
        likely_causes=(
            "a Samba AD domain controller's internal DNS server returns its forwarder's "
            "NXDOMAIN as NOERROR without records",
            "a DNS proxy or filter in front of the server rewrites NXDOMAIN answers",
        ),
        failed_names=tuple(failed_names),
    )


_Builder = Callable[[Sequence[NameReport], Context, list[str], _Evidence], Diagnosis]


def _per_name(
    builder: Callable[[Sequence[NameReport], Context, list[str]], Diagnosis],
) -> _Builder:
    """A builder that needs only the explained names, not the run's evidence."""
    return lambda explained, context, failed_names, _evidence: builder(
        explained, context, failed_names
    )


_BUILDERS: dict[str, _Builder] = {
    _UNREACHABLE: _per_name(_unreachable),
    _ERRORS: _per_name(_errors),
    _NO_TCP: _per_name(_no_tcp),
    _CANNOT_FORWARD: _cannot_forward,
    _MISSING: _per_name(_missing),
    _PARTIAL_LOSS: _partial_loss,
    _FORWARDER: _per_name(_forwarder),
    _NO_DATA: _per_name(_no_data),
}


# --- sentences -----------------------------------------------------------------------------------


def _amazon_sentence(reports: Sequence[NameReport], context: Context) -> str:
    results = [report.amazon for report in reports if report.amazon is not None]
    if not results:
        return ""
    server = context.amazon_dns_server
    answered = [result for result in results if result.ok]
    if len(answered) == len(results):
        return f"The Amazon resolver {server} resolved the same names directly."
    if answered:
        return (
            f"The Amazon resolver {server} resolved {len(answered)} of the {len(results)} names "
            "directly."
        )
    outcomes = ", ".join(_unique(result.outcome for result in results))
    return f"The Amazon resolver {server} did not resolve them either ({outcomes})."


def _amazon_answers(reports: Sequence[NameReport]) -> str:
    answers = [
        f"{report.amazon.name} -> {', '.join(report.amazon.answers)}"
        for report in reports
        if report.amazon is not None and report.amazon.answers
    ]
    if not answers:
        return ""
    return f" The Amazon resolver answers {'; '.join(answers[:_MAX_LISTED])}."


def _direct_latency(reports: Sequence[NameReport]) -> str:
    direct = [
        result for report in reports for result in report.configured if result.outcome == "OK"
    ]
    if not direct:
        return ""
    slowest = max(direct, key=lambda result: result.elapsed_ms)
    return (
        f" Asked directly, {slowest.server} took up to {slowest.elapsed_ms:.0f} ms for "
        f"{slowest.name}."
    )


def _describe(reports: Sequence[NameReport]) -> str:
    parts = []
    for report in reports[:_MAX_LISTED]:
        result = report.failures[0] if report.failures else None
        if result is None:
            parts.append(f"{report.name}: no lookup")
            continue
        parts.append(f"{report.name}: {result.outcome}")
    if len(reports) > _MAX_LISTED:
        parts.append(f"and {len(reports) - _MAX_LISTED} more")
    return ", ".join(parts)


def _zone_of(name: str) -> str:
    if name == "amazonaws.com" or name.endswith(".amazonaws.com"):
        return "amazonaws.com"
    _, _, parent = name.partition(".")
    return parent or name


def _amazon(report: NameReport) -> tuple[QueryResult, ...]:
    return () if report.amazon is None else (report.amazon,)


def _unique_results(results: Iterable[QueryResult]) -> list[QueryResult]:
    seen: dict[tuple[str, str, str], QueryResult] = {}
    for result in results:
        seen.setdefault((result.server, result.role, result.outcome), result)
    return list(seen.values())


def _names(reports: Sequence[NameReport]) -> list[str]:
    return _unique(report.name for report in reports)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _dns_servers(servers: Sequence[str]) -> str:
    return f"DNS server{'s' if len(servers) > 1 else ''} {_servers(servers)}"


def _verb(servers: Sequence[str], singular: str, plural: str) -> str:
    return plural if len(servers) > 1 else singular


def _servers(servers: Sequence[str]) -> str:
    return _list(list(servers))


def _list(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) > _MAX_LISTED:
        items = [*items[:_MAX_LISTED], f"{len(items) - _MAX_LISTED} more"]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
