"""The canary's result model: plain dataclasses turned into the JSON document of the contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dns_canary.resolv_conf import ResolvConf

Role = Literal["forwarder", "configured", "amazon"]
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
Severity = Literal["OK", "DEGRADED", "FAILED", "UNVERIFIED"]
FailingHop = Literal[
    "none", "forwarder", "configured_server", "option_set", "resolv_conf", "environment"
]

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
    transport: Literal["udp", "tcp"] = "udp"
    attempts: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "server": self.server,
            "role": self.role,
            "ok": self.ok,
            "outcome": self.outcome,
            "rcode": self.rcode,
            "answers": list(self.answers),
            "elapsed_ms": round(self.elapsed_ms, 1),
            "detail": self.detail,
            "transport": self.transport,
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class Diagnosis:
    code: str
    severity: Severity
    failing_hop: FailingHop
    summary: str
    likely_causes: tuple[str, ...] = ()
    failed_names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "failing_hop": self.failing_hop,
            "summary": self.summary,
            "likely_causes": list(self.likely_causes),
            "failed_names": list(self.failed_names),
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

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "stale": self.stale,
            "deadline_ms": self.deadline_ms,
            "deadline_clipped": self.deadline_clipped,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "resolv_conf": self.resolv_conf.to_dict(),
            "expected_nameservers": (
                None if self.expected_nameservers is None else list(self.expected_nameservers)
            ),
            "amazon_dns_server": self.amazon_dns_server,
            "probes": [result.to_dict() for result in self.probes],
            "direct": [result.to_dict() for result in self.direct],
            "diagnosis": self.diagnosis.to_dict(),
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

    @property
    def ok(self) -> bool:
        return bool(self.forwarder) and all(result.ok for result in self.forwarder)

    @property
    def failures(self) -> tuple[QueryResult, ...]:
        return tuple(result for result in self.forwarder if not result.ok)
