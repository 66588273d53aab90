"""The chat document: Amazon Q Developer's custom notification schema, its limits, one thread per
incident, the rollback command in the next steps, and SNS's budget with the largest evidence."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from dns_watchdog import constants
from dns_watchdog.domain.incidents import decide
from dns_watchdog.domain.judge import judge
from dns_watchdog.domain.models import Severity, Verdict
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import OptionSet, vpc_facts
from dns_watchdog.render import chat
from dns_watchdog.render.alert import SNS_MESSAGE_LIMIT_BYTES
from dns_watchdog.render.chat import build_chat_notification
from dns_watchdog.render.preflight import build_preflight_warning
from dns_watchdog.render.view import AlertContext
from test_alert_size import DEAD, ROLLBACK, VPC, critical_outcome
from test_preflight_alerts import DEAD as DEAD_SET
from test_preflight_alerts import _breaking

pytestmark = pytest.mark.unit

# The published event schema: required fields and the only text type supported.
CONTENT_FIELDS = {"textType", "title", "description", "nextSteps", "keywords"}
METADATA_FIELDS = {"threadId", "summary", "eventType", "relatedResources", "additionalContext"}
KNOWN = {"dopt-0good": OptionSet("dopt-0good", ("AmazonProvidedDNS",), None)}


def context(trigger: str = "sweep") -> AlertContext:
    request = CheckRequest(trigger=trigger, event_name="ScheduledSweep", resources=())  # type: ignore[arg-type]
    return AlertContext(
        request, Place(None, "us-east-1"), "2024-05-14T09:16:00Z", request_id="req-42"
    )


def assert_schema(document: dict[str, object]) -> None:
    assert document["version"] == "1.0"
    assert document["source"] == "custom"
    assert set(document) == {"version", "source", "id", "content", "metadata"}
    content = document["content"]
    metadata = document["metadata"]
    assert isinstance(content, dict)
    assert isinstance(metadata, dict)
    assert set(content) == CONTENT_FIELDS
    assert set(metadata) == METADATA_FIELDS
    assert content["textType"] == "client-markdown"
    assert 0 < len(content["title"]) <= chat.TITLE_LIMIT
    assert 0 < len(content["description"]) <= chat.DESCRIPTION_LIMIT
    assert 0 < len(content["nextSteps"]) <= chat.NEXT_STEPS_LIMIT
    assert all(isinstance(s, str) and len(s) <= chat.NEXT_STEP_LIMIT for s in content["nextSteps"])
    assert 0 < len(content["keywords"]) <= chat.KEYWORDS_LIMIT
    assert all(len(k) <= chat.KEYWORD_LIMIT for k in content["keywords"])
    assert chat.THREAD_ID_PATTERN.match(metadata["threadId"])
    assert len(metadata["summary"]) <= chat.SUMMARY_LIMIT
    assert len(metadata["relatedResources"]) <= chat.RELATED_RESOURCES_LIMIT
    assert all(isinstance(v, str) for v in metadata["additionalContext"].values())


@pytest.mark.parametrize("canaries", [1, 500])
def test_the_largest_evidence_makes_a_valid_chat_document_within_sns_budget(canaries: int) -> None:
    # Given a CRITICAL from 500 canaries, each with 250 timed-out lookups
    notification = build_chat_notification(critical_outcome(canaries), KNOWN, context())
    document = json.loads(notification.sns_message())

    assert_schema(document)
    assert notification.size_bytes() < SNS_MESSAGE_LIMIT_BYTES
    # The rollback command is a next step; the title says how bad and where
    assert any(ROLLBACK in step for step in document["content"]["nextSteps"])
    assert document["content"]["title"].startswith(":rotating_light: [CRITICAL] " + VPC)
    assert document["metadata"]["eventType"] == "VpcDnsWatchdogCritical"
    assert document["metadata"]["additionalContext"]["rollback_command"].startswith(ROLLBACK)
    assert "CONFIGURED_SERVER_UNREACHABLE" in document["content"]["description"]
    assert "request id req-42" in document["content"]["description"]


def test_the_markdown_names_the_servers_and_counts_hidden_canaries() -> None:
    notification = build_chat_notification(critical_outcome(12), KNOWN, context())
    markdown = notification.markdown
    assert ", ".join(DEAD) in markdown
    assert "… and 7 more" in markdown
    assert "*Next steps*" in markdown


def test_a_critical_and_its_recovered_share_one_thread() -> None:
    # Given an incident opened by a CRITICAL
    critical = critical_outcome(1)
    assert critical.severity == Severity.CRITICAL
    opened = critical.decision.state
    # When the next check finds DNS healthy again
    facts = vpc_facts(VPC, "10.0.0.0/16", OptionSet("dopt-0bad", DEAD, None), True)
    judgement = judge(VPC, [], dns_support=True)
    decision = decide(
        previous=opened,
        vpc_id=VPC,
        verdict=Verdict.OK,
        option_set_id="dopt-0bad",
        announce=False,
        event_id=None,
        now="2024-05-14T09:30:00Z",
    )
    recovered = VpcOutcome(facts, judgement, decision)
    assert recovered.severity == Severity.RECOVERED

    first = build_chat_notification(critical, KNOWN, context()).document
    second = build_chat_notification(recovered, KNOWN, context()).document

    # Then both land in one thread, and the recovery is told apart
    assert first["metadata"]["threadId"] == second["metadata"]["threadId"]
    assert first["metadata"]["threadId"] == f"{VPC}-2024-05-14T09:16:00Z"
    assert second["content"]["title"].startswith(":white_check_mark: [RECOVERED]")
    assert first["id"] != second["id"]
    # A later incident gets a thread of its own
    again = decide(
        previous=decision.state,
        vpc_id=VPC,
        verdict=Verdict.FAILED,
        option_set_id="dopt-0bad",
        announce=False,
        event_id=None,
        now="2024-05-14T10:00:00Z",
    )
    assert again.incident_started_at == "2024-05-14T10:00:00Z"


def test_no_alert_no_chat_document() -> None:
    outcome = critical_outcome(1)
    quiet = VpcOutcome(outcome.facts, outcome.judgement, outcome.decision, skipped="older")
    with pytest.raises(ValueError, match="no alert"):
        build_chat_notification(quiet, KNOWN, context())


@pytest.mark.parametrize("vpcs", [2, 3000])
def test_a_preflight_warning_has_its_chat_document_in_its_own_thread(vpcs: int) -> None:
    # Given a new option set that would break Lambda DNS in some VPCs
    breaking = _breaking(vpcs)
    alert = build_preflight_warning(
        DEAD_SET.option_set_id, DEAD_SET.domain_name_servers, [], breaking, None, "us-east-1"
    )
    # When it is rendered for chat
    notification = chat.build_preflight_chat_notification(
        alert, DEAD_SET.option_set_id, [p.facts.vpc_id for p in breaking], "us-east-1"
    )
    document = json.loads(notification.sns_message())

    # Then it is a valid custom notification, threaded per option set, within SNS's budget
    assert_schema(document)
    assert notification.size_bytes() < SNS_MESSAGE_LIMIT_BYTES
    assert document["metadata"]["threadId"] == "preflight-dopt-0dead00001"
    assert document["content"]["title"] == f":warning: {alert.subject}"
    steps = document["content"]["nextSteps"]
    assert steps[0].startswith("Do not associate dopt-0dead00001 with " + breaking[0].facts.vpc_id)
    assert "vpc-dns-watchdog preflight dopt-0dead00001" in steps[1]
    assert "CONFIGURED_SERVER_UNREACHABLE" in document["content"]["description"]


def additional_context(notification: chat.ChatNotification) -> dict[str, str]:
    context: dict[str, str] = notification.document["metadata"]["additionalContext"]
    return context


def test_an_alert_that_advises_a_rollback_carries_its_target_for_the_roll_back_button() -> None:
    # Given a CRITICAL whose rollback target is the last option set verified healthy
    notification = build_chat_notification(critical_outcome(1), KNOWN, context())
    extra = additional_context(notification)

    # Then the document names the target, the VPC and the region apart, and they make the very
    # command the next step shows
    assert extra[constants.CHAT_CONTEXT_ROLLBACK_OPTION_SET_ID] == "dopt-0good"
    assert extra[constants.CHAT_CONTEXT_VPC_ID] == VPC
    assert extra[constants.CHAT_CONTEXT_REGION] == "us-east-1"
    command = (
        f"aws ec2 associate-dhcp-options --dhcp-options-id "
        f"{extra[constants.CHAT_CONTEXT_ROLLBACK_OPTION_SET_ID]} "
        f"--vpc-id {extra[constants.CHAT_CONTEXT_VPC_ID]} "
        f"--region {extra[constants.CHAT_CONTEXT_REGION]}"
    )
    assert command == extra["rollback_command"]
    assert any(command in step for step in notification.document["content"]["nextSteps"])


def test_no_rollback_target_where_no_rollback_is_advised() -> None:
    # Given a first check that fails with no option set known to roll back to
    critical = critical_outcome(1)
    first = decide(
        previous=None,
        vpc_id=VPC,
        verdict=critical.judgement.verdict,
        option_set_id="dopt-0bad",
        announce=True,
        event_id=None,
        now="2024-05-14T09:16:00Z",
    )
    unknown = VpcOutcome(critical.facts, critical.judgement, first)
    assert unknown.severity == Severity.CRITICAL
    assert unknown.rollback(KNOWN).kind == "unknown"
    # ... and its recovery, which needs no action
    facts = vpc_facts(VPC, "10.0.0.0/16", OptionSet("dopt-0bad", DEAD, None), True)
    healthy = decide(
        previous=critical.decision.state,
        vpc_id=VPC,
        verdict=Verdict.OK,
        option_set_id="dopt-0bad",
        announce=False,
        event_id=None,
        now="2024-05-14T09:30:00Z",
    )
    recovered = VpcOutcome(facts, judge(VPC, [], dns_support=True), healthy)
    assert recovered.severity == Severity.RECOVERED

    for outcome in (unknown, recovered):
        extra = additional_context(build_chat_notification(outcome, KNOWN, context()))
        # Then no target: the "Roll back" button does not appear on the notification
        assert constants.CHAT_CONTEXT_ROLLBACK_OPTION_SET_ID not in extra
        assert extra["rollback_command"] == ""
    # Nor on a preflight WARNING (nothing is associated yet)
    breaking = _breaking(2)
    alert = build_preflight_warning(
        DEAD_SET.option_set_id, DEAD_SET.domain_name_servers, [], breaking, None, "us-east-1"
    )
    preflight = chat.build_preflight_chat_notification(
        alert, DEAD_SET.option_set_id, [p.facts.vpc_id for p in breaking], "us-east-1"
    )
    assert constants.CHAT_CONTEXT_ROLLBACK_OPTION_SET_ID not in additional_context(preflight)


def test_in_organization_mode_the_document_names_the_account_and_offers_no_roll_back_button() -> (
    None
):
    org = replace(context(), place=Place("222222222222", "us-east-1"), names_account=True)
    document = build_chat_notification(critical_outcome(1), KNOWN, org).document
    extra = document["metadata"]["additionalContext"]
    assert extra["account_id"] == "222222222222"
    assert "rollback_option_set_id" not in extra
    assert document["content"]["title"].startswith(
        ":rotating_light: [CRITICAL] 222222222222 us-east-1"
    )
