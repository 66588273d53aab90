"""Preflight: what associating a candidate option set would do to Lambda DNS in a VPC (pure).

The canaries probe the candidate's servers directly (`candidate_nameservers`) and diagnose as if
they were configured; this module turns a VPC's canary runs into its predicted verdict, and the
per-VPC predictions plus the lint into the preflight result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dns_watchdog.domain.judge import Judgement, judge
from dns_watchdog.domain.lint import LintFinding
from dns_watchdog.domain.models import CanaryRun, Diagnosis, Verdict
from dns_watchdog.domain.vpc import OptionSet, VpcFacts, expected_nameservers

# The diagnosis when the candidate names no server at all: nothing to probe, nothing resolves.
NO_SERVERS_CODE = "NO_CONFIGURED_SERVERS"


def candidate_servers(candidate: OptionSet, facts: VpcFacts) -> tuple[str, ...]:
    """The servers Lambdas in this VPC would see (AmazonProvidedDNS: the VPC's base + 2)."""
    return expected_nameservers(candidate.domain_name_servers, facts.cidr_block)


@dataclass(frozen=True)
class VpcPrediction:
    facts: VpcFacts
    candidate_servers: tuple[str, ...]
    judgement: Judgement

    @property
    def breaks(self) -> bool:
        return self.judgement.verdict == Verdict.FAILED

    def as_dict(self) -> dict[str, Any]:
        judgement = self.judgement
        return {
            "vpc_id": self.facts.vpc_id,
            "verdict": judgement.verdict.value,
            "would_break": self.breaks,
            "diagnosis": judgement.diagnosis.code,
            "failing_hop": judgement.diagnosis.failing_hop,
            "summary": judgement.diagnosis.summary,
            "likely_causes": list(judgement.diagnosis.likely_causes),
            # The VPC's own zones and rules the candidate would lose (canary contract).
            "sources": [source.model_dump(mode="json") for source in judgement.diagnosis.sources],
            "current_option_set_id": self.facts.option_set.option_set_id,
            "candidate_nameservers": list(self.candidate_servers),
            "canaries": len(judgement.canaries),
            "notes": list(judgement.notes),
        }


def predict(candidate: OptionSet, facts: VpcFacts, runs: Sequence[CanaryRun]) -> VpcPrediction:
    """The VPC's verdict if `candidate` were associated, from its canaries' preflight runs."""
    servers = candidate_servers(candidate, facts)
    if not servers:
        diagnosis = Diagnosis(
            code=NO_SERVERS_CODE,
            severity=Verdict.FAILED,
            failing_hop="option_set",
            summary=f"{candidate.option_set_id} names no DNS servers: nothing would resolve.",
        )
        return VpcPrediction(facts, servers, Judgement(Verdict.FAILED, diagnosis, (), ()))
    return VpcPrediction(facts, servers, judge(facts.vpc_id, runs, dns_support=facts.dns_support))


def preflight_result(
    candidate: OptionSet,
    lint: Sequence[LintFinding],
    predictions: Sequence[VpcPrediction],
    errors: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    breaking = [p.facts.vpc_id for p in predictions if p.breaks]
    return {
        "status": "preflight",
        "dhcp_options_id": candidate.option_set_id,
        "domain_name_servers": list(candidate.domain_name_servers),
        "lint": [finding.as_dict() for finding in lint],
        "vpcs": [p.as_dict() for p in predictions] + list(errors),
        "would_break": breaking,
        "safe": not breaking and not errors,
    }
