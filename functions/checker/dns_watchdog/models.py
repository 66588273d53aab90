"""Shared vocabulary: verdicts, alert severities, and canary findings as the checker reads them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Verdict(StrEnum):
    """The checker's verdict on DNS for Lambda functions in one VPC."""

    OK = "OK"
    DEGRADED = "DEGRADED"
    FAILED = "FAILED"
    UNVERIFIED = "UNVERIFIED"


class Severity(StrEnum):
    """How loudly an alert speaks (SNS message attribute `severity`)."""

    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    INFO = "INFO"
    RECOVERED = "RECOVERED"


class ProbeResult(BaseModel):
    """One lookup as the canary reports it (canary contract, `probes[]` and `direct[]`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    type: str = "A"
    server: str = ""
    role: str = ""
    ok: bool
    outcome: str
    rcode: str | None = None
    answers: list[str] = Field(default_factory=list)
    elapsed_ms: float | None = None
    detail: str = ""


class Diagnosis(BaseModel):
    """The canary's diagnosis, or one the checker makes when a canary could not report."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    severity: Verdict
    failing_hop: str | None = None
    summary: str = ""
    likely_causes: list[str] = Field(default_factory=list)
    failed_names: list[str] = Field(default_factory=list)
    # False when the evidence clears the option set (for example a zone broken at every
    # resolver): then no rollback is advised. None from canaries that do not say.
    option_set_at_fault: bool | None = None


class ResolvConfView(BaseModel):
    """The part of the canary's resolv.conf report the checker shows."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    found: bool = True
    nameservers: list[str] = Field(default_factory=list)
    configured_nameservers: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class CanaryFindings(BaseModel):
    """A canary's answer (canary contract, "Findings"). Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ok: bool
    stale: bool
    probes: list[ProbeResult]
    direct: list[ProbeResult] = Field(default_factory=list)
    diagnosis: Diagnosis
    resolv_conf: ResolvConfView | None = None
    expected_nameservers: list[str] | None = None
    elapsed_ms: float | None = None


RunStatus = Literal["findings", "timed_out", "error", "invalid_plan", "gone", "stale"]


@dataclass(frozen=True)
class CanaryRun:
    """What became of invoking one canary (after throttling retries and any refresh)."""

    function_arn: str
    status: RunStatus
    findings: CanaryFindings | None = None
    detail: str = ""
    attempts: int = 1
    refreshed: bool = False

    @property
    def name(self) -> str:
        """The function name (the last part of its ARN)."""
        parts = self.function_arn.split(":")
        if len(parts) >= 7 and parts[5] == "function":
            return parts[6]
        return self.function_arn
