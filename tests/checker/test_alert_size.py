"""Alerts always fit in one SNS message (256 KiB), whatever the fleet and the probe plan allow.

Pure: the alert is built from canary findings as canaries return them; the size is measured the
way SNS counts it (the message with every protocol's body, the subject and the attributes).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from canary_findings import AMAZON, FORWARDER, probe, unreachable
from dns_watchdog.aws.endpoint_health import MAX_ENDPOINTS
from dns_watchdog.constants import MAX_EVIDENCE_MAX_FUNCTIONS
from dns_watchdog.domain.discovery import FirewallRule, LostZone
from dns_watchdog.domain.dns_causes import DnsCauses, FirewallBlock
from dns_watchdog.domain.endpoint_health import EndpointHealth
from dns_watchdog.domain.evidence import evidence_from_counts
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.incidents import decide
from dns_watchdog.domain.judge import judge
from dns_watchdog.domain.models import CanaryFindings, CanaryRun, Severity, Verdict
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import OptionSet, vpc_facts
from dns_watchdog.domain.workloads import (
    MAX_FUNCTIONS_NAMED,
    MAX_OTHER_TYPES_KEPT,
    MAX_OWNERS_KEPT,
    BlastRadius,
    Census,
)
from dns_watchdog.render.alert import SNS_MESSAGE_LIMIT_BYTES, build_alert
from dns_watchdog.render.view import AlertContext

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
DEAD = ("10.1.1.10", "10.1.1.11", "10.1.1.12", "10.1.1.13")
NAMES = [f"service-{i:02d}.corp.example.internal" for i in range(50)]
TIMEOUT = {"outcome": "TIMEOUT", "elapsed_ms": 1500.0, "detail": "no answer within 1500 ms"}


def dead_servers_findings() -> dict[str, Any]:
    """50 probes, 4 silent configured servers: the largest answer a canary may give."""
    probes = [probe(name, server=FORWARDER, **TIMEOUT) for name in NAMES]
    direct = [
        probe(name, role="configured", server=server, **TIMEOUT)
        for name in NAMES
        for server in DEAD
    ] + [probe(name, role="amazon", server=AMAZON, answers=["10.20.0.1"]) for name in NAMES]
    return {
        "ok": False,
        "stale": False,
        "probes": probes,
        "direct": direct,
        "diagnosis": {
            "code": "CONFIGURED_SERVER_UNREACHABLE",
            "severity": "FAILED",
            "failing_hop": "configured_server",
            "summary": f"The option set's DNS servers {', '.join(DEAD)} do not answer on port 53",
            "likely_causes": ["the DNS servers are down", "security group egress is missing"],
            "failed_names": NAMES,
            "option_set_at_fault": True,
        },
    }


def critical_outcome(canaries: int) -> VpcOutcome:
    findings = CanaryFindings.model_validate(dead_servers_findings())
    runs = [
        CanaryRun(
            f"arn:aws:lambda:us-east-1:123456789012:function:vpc-dns-canary-{i:03d}",
            "findings",
            findings,
        )
        for i in range(canaries)
    ]
    facts = vpc_facts(VPC, "10.0.0.0/16", OptionSet("dopt-0bad", DEAD, None), True)
    stored = VpcState(
        vpc_id=VPC,
        verdict=Verdict.OK,
        option_set_id="dopt-0good",
        previous_option_set_id=None,
        incident_open=False,
        incident_started_at=None,
        last_checked_at="2024-05-14T09:00:00Z",
        last_event_id=None,
        unverified_alerted_for=None,
        last_good_option_set_id="dopt-0good",
        last_good_verified_at="2024-05-14T09:00:00Z",
    )
    judgement = judge(VPC, runs, dns_support=True)
    decision = decide(
        previous=stored,
        vpc_id=VPC,
        verdict=judgement.verdict,
        option_set_id="dopt-0bad",
        announce=True,
        event_id=None,
        now="2024-05-14T09:16:00Z",
    )
    return VpcOutcome(facts, judgement, decision)


# The largest blast radius a census holds: every name at Lambda's 64 characters (botocore model:
# FunctionName of a function's configuration), every kept owner and interface type.
LARGEST_BLAST = BlastRadius(
    "read",
    Census(
        read_at="2024-05-14T09:16:00Z",
        functions=tuple(f"{i:02d}" + "f" * 62 for i in range(MAX_FUNCTIONS_NAMED)),
        functions_total=10_000,
        functions_complete=False,
        ecs_tasks=5_000,
        instances=5_000,
        foreign_lambda_interfaces=5_000,
        other_interfaces=5_000,
        other_types=tuple((f"type-{i}" * 8, 1) for i in range(MAX_OTHER_TYPES_KEPT)),
        owners=tuple((f"{i:012d}", 1) for i in range(MAX_OWNERS_KEPT)),
    ),
)


def alert_for(canaries: int) -> Any:
    outcome = critical_outcome(canaries)
    request = CheckRequest(trigger="sweep", event_name="ScheduledSweep", resources=())
    context = AlertContext(
        request,
        Place(None, "us-east-1"),
        "2024-05-14T09:16:00Z",
        request_id="req-42",
        blast=LARGEST_BLAST,
    )
    known = {"dopt-0good": OptionSet("dopt-0good", ("AmazonProvidedDNS",), None)}
    return build_alert(outcome, known, context)


ROLLBACK = f"aws ec2 associate-dhcp-options --dhcp-options-id dopt-0good --vpc-id {VPC}"


@pytest.mark.parametrize("canaries", [1, 3, 500])
def test_the_largest_evidence_still_makes_one_alert_that_fits(canaries: int) -> None:
    alert = alert_for(canaries)
    assert alert.size_bytes() < SNS_MESSAGE_LIMIT_BYTES
    assert alert.attributes["severity"] == Severity.CRITICAL.value
    # Still naming the failing hop and the rollback command, for people and machines
    assert "CONFIGURED_SERVER_UNREACHABLE (failing hop: configured_server)" in alert.text
    assert ROLLBACK in alert.text
    assert alert.document["rollback_command"].startswith(ROLLBACK)
    assert alert.document["diagnosis"]["failing_hop"] == "configured_server"
    assert alert.document["canaries_total"] == canaries
    # and what is hit, whatever else had to be cut
    assert "Hit: at least 10000 Lambda functions (00ffff" in alert.text
    assert alert.document["blast_radius"]["lambda_functions"]["total"] == 10_000
    assert alert.attributes["workloads"] == 25_000


def test_a_shortened_alert_says_so_and_where_the_full_findings_are() -> None:
    alert = alert_for(500)
    assert alert.document["shortened"] is True
    assert "request id req-42" in alert.document["full_findings"]
    assert "request id req-42, lines 'Canary findings'" in alert.text
    assert alert.document["canaries_omitted"] == 500 - len(alert.document["canaries"])
    assert alert.document["canaries_omitted_by_diagnosis"] == {
        "FAILED CONFIGURED_SERVER_UNREACHABLE": alert.document["canaries_omitted"]
    }
    assert "... and 49" in alert.text or "more: " in alert.text


def test_the_text_is_not_repeated_inside_the_machine_document() -> None:
    alert = alert_for(1)
    assert "text" not in alert.document
    message = alert.sns_message()
    assert message.count("Roll back to the last option set verified healthy") == 1


def test_a_small_alert_shows_every_lookup_and_is_not_shortened() -> None:
    findings = CanaryFindings.model_validate(unreachable(["10.1.1.10"]))
    run = CanaryRun(
        "arn:aws:lambda:us-east-1:123456789012:function:vpc-dns-canary-a", "findings", findings
    )
    outcome = critical_outcome(1)
    small = VpcOutcome(outcome.facts, judge(VPC, [run], dns_support=True), outcome.decision)
    request = CheckRequest(trigger="sweep", event_name="ScheduledSweep", resources=())
    alert = build_alert(
        small, {}, AlertContext(request, Place(None, "us-east-1"), "2024-05-14T09:16:00Z")
    )
    assert alert.document["shortened"] is False
    assert alert.document["full_findings"] is None
    assert alert.document["canaries"][0]["lookups_omitted"] == 0
    assert "shortened" not in alert.text
    assert "more lookups" not in alert.text


def _label(i: int, width: int) -> str:
    return f"{i:02d}" + "x" * (width - 2)


def _long_name(i: int) -> str:
    # 253 characters, the longest DNS name: four labels of 63 and one of 1
    return ".".join([_label(i, 63), "a" * 63, "b" * 63, "c" * 61])


def everything_outcome(canaries: int) -> VpcOutcome:
    """A FAILED check carrying every part a page may show, each at its largest: the canaries'
    diagnosis sources (50 names, 6 servers each), lost zones and firewall blocks."""
    document = dead_servers_findings()
    document["diagnosis"]["sources"] = [
        {
            "kind": "forward_rule",
            "id": _label(i, 64),
            "domain": _long_name(i),
            "via": _label(i, 64),
            "finding": "targets_failing",
            "names": [_long_name(i)],
            "servers": [f"fd00:53:{i:x}::{s:x}" + "0" * 40 for s in range(6)],
        }
        for i in range(50)
    ]
    findings = CanaryFindings.model_validate(document)
    outcome = critical_outcome(canaries)
    runs = [
        CanaryRun(f"arn:aws:lambda:us-east-1:123456789012:function:c-{i:03d}", "findings", findings)
        for i in range(canaries)
    ]
    judgement = judge(VPC, runs, dns_support=True)
    rule = FirewallRule(_label(0, 64), 100, 1, "BLOCK", ("*.example",), name=_label(1, 64))
    causes = DnsCauses(
        lost_zones=tuple(LostZone(_label(i, 32), _long_name(i), VPC) for i in range(100)),
        firewall=tuple(FirewallBlock(_long_name(i), "AAAA", rule) for i in range(50)),
    )
    return replace(outcome, judgement=judgement, causes=causes)


@pytest.mark.parametrize("canaries", [1, 500])
def test_every_part_a_page_can_carry_at_its_largest_still_fits(canaries: int) -> None:
    functions = [_label(i, 64) for i in range(MAX_EVIDENCE_MAX_FUNCTIONS)]
    evidence = evidence_from_counts(
        functions, {name: 10_000 + i for i, name in enumerate(functions)}
    )
    endpoints = tuple(
        EndpointHealth(
            endpoint_id=_label(i, 64),
            status="ACTION_NEEDED",
            status_message="m" * 200,
            interfaces=6,
            healthy_interfaces=0,
            capacity_status=2,
        )
        for i in range(MAX_ENDPOINTS)
    )
    request = CheckRequest(trigger="sweep", event_name="ScheduledSweep", resources=())
    context = AlertContext(
        request,
        Place(None, "us-east-1"),
        "2024-05-14T09:16:00Z",
        request_id="req-42",
        blast=LARGEST_BLAST,
        evidence=evidence,
        endpoints=endpoints,
    )
    known = {"dopt-0good": OptionSet("dopt-0good", ("AmazonProvidedDNS",), None)}

    alert = build_alert(everything_outcome(canaries), known, context)

    assert alert.size_bytes() < SNS_MESSAGE_LIMIT_BYTES
    assert "Hit: at least 10000 Lambda functions" in alert.text
    assert "Workload evidence" in alert.text
    assert "Outbound endpoint" in alert.text
