"""Shared vocabulary: verdicts, alert severities, and canary findings as the checker reads them.

A canary's answer is untrusted input (any function carrying the canary tag is invoked), so the
findings models bound everything a canary could inflate:

- lists the canary contract bounds (`probes`, `direct`, `failed_names`, the resolv.conf server
  lists) are rejected beyond the contract's maximum: such an answer is not a canary's;
- identifiers (names, servers, record types, outcomes, codes) are rejected beyond their
  longest legitimate form (a DNS name is at most 253 characters);
- free text (details, summaries, causes, problems, answers) is clipped, with the clipping said
  (a trailing "…", or "(and N more)" as a list's last entry): a genuine canary with a long
  story still counts, and nothing it sends can blow up an alert;
- latencies are finite, non-negative and at most Lambda's 15-minute limit, so they can be
  written to EMF (JSON has no NaN or Infinity).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from dns_watchdog.domain.text import clip

# The canary contract: a plan has 1 to 50 probes; each name is asked directly of every
# configured server (EC2 allows 4 per option set) and the Amazon resolver: 5 per name, plus one
# spare for a resolver the contract may add.
MAX_PROBES = 50
MAX_DIRECT_PER_PROBE = 6
MAX_DIRECT = MAX_PROBES * MAX_DIRECT_PER_PROBE
# A forward rule's targets the canary asks per probe (canary contract); an option set names at
# most 4 servers, so this bounds every server list of `diagnosis.sources`.
MAX_TARGETS_PER_PROBE = 6
# resolv.conf server lists (glibc reads 3 nameservers, EC2 hands out 4); generous, not exact.
MAX_SERVERS_LISTED = 16
MAX_DNS_NAME_CHARS = 253
MAX_IDENTIFIER_CHARS = 64
MAX_TEXT_CHARS = 1024
MAX_SUMMARY_CHARS = 4096
MAX_ANSWER_CHARS = 512
MAX_ANSWERS = 32
MAX_TEXT_ITEMS = 20
# No Lambda runs longer than 15 minutes, so no latency it measures can exceed this.
MAX_ELAPSED_MS = 900_000.0


def _clipped(limit: int) -> AfterValidator:
    return AfterValidator(partial(clip, limit=limit))


def _clip_items(limit: int) -> BeforeValidator:
    """Keep the first `limit` entries, and say how many were left out (before item parsing)."""

    def clip(value: Any) -> Any:
        if isinstance(value, list) and len(value) > limit:
            return [*value[:limit], f"(and {len(value) - limit} more)"]
        return value

    return BeforeValidator(clip)


Text = Annotated[str, _clipped(MAX_TEXT_CHARS)]
Summary = Annotated[str, _clipped(MAX_SUMMARY_CHARS)]
TextList = Annotated[list[Text], _clip_items(MAX_TEXT_ITEMS)]
AnswerList = Annotated[list[Annotated[str, _clipped(MAX_ANSWER_CHARS)]], _clip_items(MAX_ANSWERS)]
DnsName = Annotated[str, Field(max_length=MAX_DNS_NAME_CHARS)]
Identifier = Annotated[str, Field(max_length=MAX_IDENTIFIER_CHARS)]
ServerList = Annotated[list[Identifier], Field(max_length=MAX_SERVERS_LISTED)]
ElapsedMs = Annotated[float, Field(ge=0, le=MAX_ELAPSED_MS, allow_inf_nan=False)]


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

    name: DnsName
    type: Identifier = "A"
    server: Identifier = ""
    role: Identifier = ""
    ok: bool
    outcome: Identifier
    rcode: Identifier | None = None
    answers: AnswerList = Field(default_factory=list)
    elapsed_ms: ElapsedMs | None = None
    detail: Text = ""


class DiagnosisSource(BaseModel):
    """A zone, rule or endpoint the diagnosis is about (canary contract, `diagnosis.sources`):
    what the VPC's own DNS holds that failed, and which servers fail it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Identifier
    id: Identifier | None = None
    domain: DnsName | None = None
    via: Identifier | None = None
    # not_forwarded (servers: the option set's servers that miss the names), targets_failing or
    # targets_unreachable (servers: the rule's targets that did not answer).
    finding: Identifier
    names: Annotated[list[DnsName], Field(max_length=MAX_PROBES)] = Field(default_factory=list)
    servers: Annotated[list[Identifier], Field(max_length=MAX_TARGETS_PER_PROBE)] = Field(
        default_factory=list
    )


class Diagnosis(BaseModel):
    """The canary's diagnosis, or one the checker makes when a canary could not report."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: Identifier
    severity: Verdict
    failing_hop: Identifier | None = None
    summary: Summary = ""
    likely_causes: TextList = Field(default_factory=list)
    failed_names: Annotated[list[DnsName], Field(max_length=MAX_PROBES)] = Field(
        default_factory=list
    )
    # False when the evidence clears the option set (for example a zone broken at every
    # resolver): then no rollback is advised. None from canaries that do not say.
    option_set_at_fault: bool | None = None
    # The zones and rules it is about, each naming its failing names: every name is one probe of
    # the plan, so all of them together hold at most MAX_PROBES names.
    sources: Annotated[list[DiagnosisSource], Field(max_length=MAX_PROBES)] = Field(
        default_factory=list
    )

    @field_validator("sources")
    @classmethod
    def _one_name_per_probe(cls, sources: list[DiagnosisSource]) -> list[DiagnosisSource]:
        named = sum(len(source.names) for source in sources)
        if named > MAX_PROBES:
            raise ValueError(f"{named} names in sources, more than the plan's {MAX_PROBES} probes")
        return sources


class ResolvConfView(BaseModel):
    """The part of the canary's resolv.conf report the checker shows."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    found: bool = True
    nameservers: ServerList = Field(default_factory=list)
    configured_nameservers: ServerList = Field(default_factory=list)
    problems: TextList = Field(default_factory=list)


class CanaryFindings(BaseModel):
    """A canary's answer (canary contract, "Findings"). Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ok: bool
    stale: bool
    probes: Annotated[list[ProbeResult], Field(max_length=MAX_PROBES)]
    direct: Annotated[list[ProbeResult], Field(max_length=MAX_DIRECT)] = Field(default_factory=list)
    diagnosis: Diagnosis
    resolv_conf: ResolvConfView | None = None
    expected_nameservers: ServerList | None = None
    elapsed_ms: ElapsedMs | None = None


# What became of one canary's invocation:
# - findings: it answered with valid findings; stale: with findings from an older option set;
# - timed_out: it hung past its Lambda timeout (itself evidence of hanging DNS);
# - invalid_plan: it rejected the checker's probe plan (a configuration error);
# - placement_error: Lambda could not start it in its VPC (ENI limit, no free IP address in
#   the subnet, deleted subnet or security group, EC2 errors): new execution environments of
#   every Lambda with that placement fail the same way, so this is evidence about the VPC path;
# - error: any other failure (an Invoke error, a crash, a malformed or oversized answer);
# - gone: the function no longer exists.
RunStatus = Literal[
    "findings", "timed_out", "error", "invalid_plan", "placement_error", "gone", "stale"
]


@dataclass(frozen=True)
class CanaryRun:
    """What became of invoking one canary (after throttling retries and any refresh)."""

    function_arn: str
    status: RunStatus
    findings: CanaryFindings | None = None
    detail: str = ""
    attempts: int = 1
    refreshed: bool = False
    # The AWS error code (or botocore exception name) behind an "error" / "placement_error".
    error_code: str = ""

    @property
    def name(self) -> str:
        """The function name (the last part of its ARN)."""
        parts = self.function_arn.split(":")
        if len(parts) >= 7 and parts[5] == "function":
            return parts[6]
        return self.function_arn
