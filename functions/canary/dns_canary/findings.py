"""The canary's result model: plain dataclasses turned into the JSON document of the contract."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from dns_canary.constants import (
    MAX_ANSWER_CHARS,
    MAX_ANSWERS_PER_RESULT,
    MAX_DETAIL_CHARS,
    MAX_IDENTITY_CHARS,
)
from dns_canary.plan import Source
from dns_canary.resolv_conf import ResolvConf

# rule_target: a forward rule's target, asked directly for that rule's probe names.
Role = Literal["forwarder", "configured", "amazon", "rule_target"]
Outcome = Literal[
    "OK",
    "NXDOMAIN",
    "SERVFAIL",
    "REFUSED",
    "NOANSWER",
    "TIMEOUT",
    "NETWORK_ERROR",
    "UNEXPECTED_ANSWER",
    "SLOW",
]
# The canary's verdict on what it saw (the checker makes the final verdict for the VPC).
Verdict = Literal["OK", "DEGRADED", "FAILED", "UNVERIFIED"]
FailingHop = Literal[
    "none",
    "forwarder",
    "configured_server",
    "option_set",
    "resolv_conf",
    "environment",
    "zone",
    "rule_target",
]
# What the canary found about one probe with a source (findings `sources[].status`).
SourceStatus = Literal["ok", "not_forwarded", "targets_failing", "targets_unreachable", "failing"]
Transport = Literal["udp", "tcp"]

# Outcomes meaning the server gave no usable reply at all.
SILENT_OUTCOMES = frozenset({"TIMEOUT", "NETWORK_ERROR"})
# Outcomes meaning the server answered that it could not resolve.
ERROR_OUTCOMES = frozenset({"SERVFAIL", "REFUSED"})
# Outcomes meaning the server says the name or the data does not exist.
MISSING_OUTCOMES = frozenset({"NXDOMAIN", "NOANSWER"})


@dataclass(frozen=True)
class QueryResult:
    """One name asked of one server."""

    name: str
    type: str
    server: str
    role: Role
    ok: bool
    outcome: Outcome
    rcode: str | None
    answers: tuple[str, ...]
    elapsed_ms: float
    detail: str
    transport: Transport = "udp"
    attempts: int = 0
    # The answer had the AA flag: the server answered from a zone of its own, not by forwarding
    # or recursion (a domain controller's AD names).
    authoritative: bool = False

    def to_dict(self) -> dict[str, object]:
        document: dict[str, object] = {
            "name": self.name,
            "type": self.type,
            "server": self.server,
            "role": self.role,
            "ok": self.ok,
            "outcome": self.outcome,
            "rcode": self.rcode,
            "answers": [_clip(answer, MAX_ANSWER_CHARS) for answer in self.answers][
                :MAX_ANSWERS_PER_RESULT
            ],
            "elapsed_ms": finite_ms(self.elapsed_ms),
            "detail": _clip(self.detail, MAX_DETAIL_CHARS),
            "transport": self.transport,
            "attempts": self.attempts,
            "authoritative": self.authoritative,
        }
        if len(self.answers) > MAX_ANSWERS_PER_RESULT:
            document["answers_total"] = len(self.answers)
        return document


@dataclass(frozen=True)
class ServerIdentity:
    """Which instance behind an address answered the run's identity query: its ``hostname.bind``
    TXT and its EDNS NSID, untrusted text from the server, printable ASCII only, clipped."""

    server: str
    role: Role
    hostname_bind: str | None
    nsid: str | None

    @property
    def label(self) -> str:
        return self.hostname_bind or self.nsid or ""

    def to_dict(self) -> dict[str, object]:
        return {
            "server": self.server,
            "role": self.role,
            "hostname_bind": self.hostname_bind,
            "nsid": self.nsid,
        }


def printable(text: str, limit: int = MAX_IDENTITY_CHARS) -> str:
    """Untrusted text reduced to printable ASCII (anything else becomes '?'), clipped."""
    return _clip("".join(c if " " <= c <= "~" else "?" for c in text[: limit * 2]), limit)


@dataclass(frozen=True)
class Diagnosis:
    """One code, the canary's verdict, the failing hop, and whether the option set is to blame.

    ``option_set_at_fault`` is true only when the evidence points at the option set's servers or
    the forwarder path to them: a rollback of the option set could help. The JSON key of the
    verdict stays ``severity`` (the contract's field).
    """

    code: str
    verdict: Verdict
    failing_hop: FailingHop
    summary: str
    likely_causes: tuple[str, ...] = ()
    failed_names: tuple[str, ...] = ()
    option_set_at_fault: bool = False
    # The zones / rules / endpoints the diagnosis is about (docs/canary-contract.md, "Sources").
    sources: tuple[SourceFinding, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.verdict,
            "failing_hop": self.failing_hop,
            "option_set_at_fault": self.option_set_at_fault,
            "summary": self.summary,
            "likely_causes": list(self.likely_causes),
            "failed_names": list(self.failed_names),
            "sources": [finding.to_dict() for finding in self.sources],
        }


@dataclass(frozen=True)
class SourceFinding:
    """One zone, rule or endpoint the run found something about, and which servers it concerns:
    the option set's servers that do not forward it, or the rule's targets that do not answer."""

    source: Source
    finding: SourceStatus
    names: tuple[str, ...]
    servers: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            **self.source.to_dict(),
            "finding": self.finding,
            "names": list(self.names),
            "servers": list(self.servers),
        }


@dataclass(frozen=True)
class SourceReport:
    """One probe with a source, as the findings echo it: the source, the status, the targets."""

    name: str
    type: str
    source: Source
    status: SourceStatus
    targets: tuple[QueryResult, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "source": self.source.to_dict(),
            "status": self.status,
            "targets": [result.to_dict() for result in self.targets],
        }


@dataclass(frozen=True)
class Findings:
    ok: bool
    stale: bool
    deadline_ms: int
    deadline_clipped: bool
    elapsed_ms: float
    resolv_conf: ResolvConf
    expected_nameservers: tuple[str, ...] | None
    amazon_dns_server: str
    probes: tuple[QueryResult, ...]
    direct: tuple[QueryResult, ...]
    diagnosis: Diagnosis
    # A preflight: `probes` are predicted from direct queries to candidate servers.
    preflight: bool = False
    # One entry per probe whose plan entry carries a source (discovered probes).
    sources: tuple[SourceReport, ...] = ()
    identities: tuple[ServerIdentity, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "preflight": self.preflight,
            "ok": self.ok,
            "stale": self.stale,
            "deadline_ms": self.deadline_ms,
            "deadline_clipped": self.deadline_clipped,
            "elapsed_ms": finite_ms(self.elapsed_ms),
            "resolv_conf": self.resolv_conf.to_dict(),
            "expected_nameservers": (
                None if self.expected_nameservers is None else list(self.expected_nameservers)
            ),
            "amazon_dns_server": self.amazon_dns_server,
            "probes": [result.to_dict() for result in self.probes],
            "direct": [result.to_dict() for result in self.direct],
            "sources": [report.to_dict() for report in self.sources],
            "diagnosis": self.diagnosis.to_dict(),
            "identities": [identity.to_dict() for identity in self.identities],
        }


@dataclass(frozen=True)
class NameReport:
    """Everything learnt about one probe: through the forwarder(s) and asked directly."""

    name: str
    type: str
    max_latency_ms: int
    forwarder: tuple[QueryResult, ...]
    configured: tuple[QueryResult, ...]
    amazon: QueryResult | None
    source: Source | None = None
    targets: tuple[QueryResult, ...] = ()  # a forward rule's targets, asked directly

    @property
    def ok(self) -> bool:
        return bool(self.forwarder) and all(result.ok for result in self.forwarder)

    @property
    def failures(self) -> tuple[QueryResult, ...]:
        return tuple(result for result in self.forwarder if not result.ok)


def finite_ms(value: float) -> float:
    """A latency as the contract promises it: finite, not negative, 0.1 ms resolution."""
    if not math.isfinite(value) or value < 0:
        return 0.0
    return round(value, 1)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
