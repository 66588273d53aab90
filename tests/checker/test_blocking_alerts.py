"""The blocking rule in the page: which servers a page analyses, and how the finding reads in the
e-mail text, the JSON document and the chat notification (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from canary_findings import REGION, healthy, unreachable
from dns_watchdog.domain.blocking import (
    AnalysisPlan,
    BlockingFinding,
    analysis_plan,
    blocking_finding,
    not_analysed,
)
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.incidents import Decision
from dns_watchdog.domain.judge import Judgement, judge
from dns_watchdog.domain.models import CanaryFindings, CanaryRun, Severity
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import OptionSet, vpc_facts
from dns_watchdog.render.alert import build_alert
from dns_watchdog.render.chat import build_chat_notification
from dns_watchdog.render.view import AlertContext

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
SERVER = "10.1.1.10"
CANARY = "arn:aws:lambda:us-east-1:123456789012:function:vpc-dns-canary-a"
OTHER = "arn:aws:lambda:us-east-1:123456789012:function:vpc-dns-canary-b"
ACL_DENY: dict[str, Any] = {
    "ExplanationCode": "SUBNET_ACL_RESTRICTION",
    "Direction": "egress",
    "Acl": {"Id": "acl-0f00ba4"},
    "AclRule": {"Egress": True, "RuleAction": "deny", "RuleNumber": 90},
    "Subnet": {"Id": "subnet-0c0ffee"},
}
NACL_LINE = (
    "Blocking rule: UDP and TCP 53 to 10.1.1.10 is blocked by egress entry #90 (deny) of "
    "network ACL acl-0f00ba4 of subnet subnet-0c0ffee (SUBNET_ACL_RESTRICTION)."
)


def _analysis(protocol: str) -> dict[str, Any]:
    return {
        "NetworkInsightsAnalysisId": f"nia-0{protocol}",
        "Status": "succeeded",
        "NetworkPathFound": False,
        "Explanations": [ACL_DENY],
    }


def _nacl_findings() -> tuple[BlockingFinding, ...]:
    return (
        blocking_finding(_analysis("udp"), protocol="udp", server=SERVER),
        blocking_finding(_analysis("tcp"), protocol="tcp", server=SERVER),
    )


def _run(findings: dict[str, Any], arn: str = CANARY) -> CanaryRun:
    return CanaryRun(arn, "findings", CanaryFindings.model_validate(findings))


def _outcome() -> VpcOutcome:
    facts = vpc_facts(VPC, "10.0.0.0/16", OptionSet("dopt-new", (SERVER,), None), True)
    judgement = judge(VPC, [_run(unreachable([SERVER]))], dns_support=True)
    state = VpcState(
        vpc_id=VPC,
        verdict=judgement.verdict,
        option_set_id="dopt-new",
        previous_option_set_id="dopt-old",
        incident_open=True,
        incident_started_at="2024-05-14T09:16:00Z",
        last_checked_at="2024-05-14T09:16:00Z",
        last_event_id=None,
        unverified_alerted_for=None,
    )
    decision = Decision(Severity.CRITICAL, state, "a new incident", "2024-05-14T09:16:00Z")
    return VpcOutcome(facts, judgement, decision)


def _context(blocking: tuple[BlockingFinding, ...] = ()) -> AlertContext:
    request = CheckRequest(trigger="sweep", event_name="ScheduledSweep", resources=())
    return AlertContext(request, Place(None, REGION), "2024-05-14T09:16:00Z", blocking=blocking)


# --- the alert ----------------------------------------------------------------------------------


def test_the_critical_names_the_network_acl_entry_next_to_the_likely_causes() -> None:
    # Given Reachability Analyzer found a NACL deny entry for UDP and TCP 53
    alert = build_alert(_outcome(), {"dopt-old": None}, _context(_nacl_findings()))

    # Then the text has one line for both protocols, right after the likely causes
    lines = alert.text.splitlines()
    assert NACL_LINE in lines
    index = lines.index(NACL_LINE)
    assert lines[index - 1].startswith("  - ")  # the last likely cause
    assert lines.index("Likely causes:") < index < lines.index("Canaries (1):")

    # And the document lists both answers, with the component and code machines can match
    rules = alert.document["blocking_rules"]
    assert [(r["protocol"], r["server"], r["port"]) for r in rules] == [
        ("udp", SERVER, 53),
        ("tcp", SERVER, 53),
    ]
    assert {r["kind"] for r in rules} == {"network_acl_entry"}
    assert {r["component_id"] for r in rules} == {"acl-0f00ba4"}
    assert all(r["blocked"] for r in rules)
    assert {r["explanation_code"] for r in rules} == {"SUBNET_ACL_RESTRICTION"}


def test_the_chat_notification_carries_the_same_line() -> None:
    chat = build_chat_notification(_outcome(), {"dopt-old": None}, _context(_nacl_findings()))
    description = chat.document["content"]["description"]
    assert NACL_LINE.replace("Blocking rule:", "*Blocking rule:*") in description.splitlines()


def test_an_analysis_that_could_not_run_says_why() -> None:
    denied = tuple(
        not_analysed(
            "the checker may not call CreateNetworkInsightsPath (UnauthorizedOperation)",
            protocol=p,
            server=SERVER,
        )
        for p in ("udp", "tcp")
    )
    alert = build_alert(_outcome(), {"dopt-old": None}, _context(denied))
    assert (
        "Blocking rule: UDP 53 to 10.1.1.10: could not analyse: the checker may not call "
        "CreateNetworkInsightsPath (UnauthorizedOperation)"
    ) in alert.text.splitlines()
    assert [r["kind"] for r in alert.document["blocking_rules"]] == ["not_analysed"] * 2
    assert not any(r["blocked"] for r in alert.document["blocking_rules"])


def test_without_an_analysis_the_alert_has_no_blocking_rule() -> None:
    alert = build_alert(_outcome(), {"dopt-old": None}, _context())
    assert "Blocking rule" not in alert.text
    assert alert.document["blocking_rules"] == []
    chat = build_chat_notification(_outcome(), {"dopt-old": None}, _context())
    assert "Blocking rule" not in chat.document["content"]["description"]


# --- which servers a page analyses --------------------------------------------------------------


def _judgement(*runs: CanaryRun) -> Judgement:
    return judge(VPC, list(runs), dns_support=True)


def test_the_silent_servers_of_the_failing_canary_are_analysed_at_most_two() -> None:
    servers = ["10.1.1.10", "10.1.2.10", "10.1.3.10"]
    judgement = _judgement(_run(healthy(servers), OTHER), _run(unreachable(servers)))
    assert analysis_plan(judgement, servers) == AnalysisPlan(CANARY, tuple(servers[:2]))


def test_servers_already_analysed_in_the_incident_are_not_analysed_again() -> None:
    servers = ["10.1.1.10", "10.1.2.10"]
    judgement = _judgement(_run(unreachable(servers)))
    assert analysis_plan(judgement, servers, already_analysed={"10.1.1.10"}) == (
        AnalysisPlan(CANARY, ("10.1.2.10",))
    )
    assert analysis_plan(judgement, servers, already_analysed=set(servers)) is None


def test_a_healthy_vpc_or_a_server_outside_the_option_set_is_not_analysed() -> None:
    assert analysis_plan(_judgement(_run(healthy([SERVER]))), [SERVER]) is None
    # AmazonProvidedDNS (not a custom server of the option set) is never a path to analyse
    judgement = _judgement(_run(unreachable([SERVER])))
    assert analysis_plan(judgement, []) is None


def test_a_canary_that_timed_out_points_at_every_custom_server() -> None:
    timed_out = CanaryRun(CANARY, "timed_out", detail="Task timed out after 5.00 seconds")
    judgement = _judgement(timed_out)
    assert analysis_plan(judgement, [SERVER, "10.1.2.10"]) == (
        AnalysisPlan(CANARY, (SERVER, "10.1.2.10"))
    )


def test_two_entries_of_one_network_acl_are_two_lines() -> None:
    # Given UDP is denied by entry #90 and TCP by entry #91 of the same network ACL
    tcp_rule = {**ACL_DENY, "AclRule": {**ACL_DENY["AclRule"], "RuleNumber": 91}}
    tcp = {**_analysis("tcp"), "Explanations": [tcp_rule]}
    findings = (
        blocking_finding(_analysis("udp"), protocol="udp", server=SERVER),
        blocking_finding(tcp, protocol="tcp", server=SERVER),
    )

    # Then the alert names each entry with its own protocol, not one merged line
    text = build_alert(_outcome(), {}, _context(findings)).text
    blocking = [line for line in text.splitlines() if line.startswith("Blocking rule:")]
    assert [line.split(" is blocked by ")[0] for line in blocking] == [
        "Blocking rule: UDP 53 to 10.1.1.10",
        "Blocking rule: TCP 53 to 10.1.1.10",
    ]
    assert "entry #90" in blocking[0]
    assert "entry #91" in blocking[1]
