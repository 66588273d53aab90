"""Alert formatting and the exact SNS publish call (Stubber)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from canary_findings import REGION, unreachable
from dns_watchdog.aws.publisher import AlertPublisher, AlertPublishError
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.incidents import Decision
from dns_watchdog.domain.judge import judge
from dns_watchdog.domain.lint import LintFinding, lint_option_set
from dns_watchdog.domain.models import CanaryFindings, CanaryRun, Severity
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import OptionSet, vpc_facts
from dns_watchdog.render.alert import build_alert
from dns_watchdog.render.view import AlertContext
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
VPC = "vpc-0a1b2c3d4e5f60718"


def _alert(
    event_name: str = "AssociateDhcpOptions",
    severity: Severity = Severity.CRITICAL,
    *,
    last_good: OptionSet | None = None,
    last_good_id: str | None = None,
    lint: tuple[LintFinding, ...] = (),
) -> Any:
    run = CanaryRun(
        "arn:aws:lambda:us-east-1:123456789012:function:canary-a",
        "findings",
        CanaryFindings.model_validate(unreachable(["10.1.1.10"])),
    )
    facts = vpc_facts(VPC, "10.0.0.0/16", OptionSet("dopt-new", ("10.1.1.10",), None), True)
    judgement = judge(VPC, [run], dns_support=True)
    last_good_id = last_good_id or (last_good.option_set_id if last_good else None)
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
        last_good_option_set_id=last_good_id,
        last_good_verified_at="2024-05-14T08:00:00Z" if last_good_id else None,
    )
    outcome = VpcOutcome(facts, judgement, Decision(severity, state, "test"))
    known: dict[str, OptionSet | None] = {"dopt-old": None}
    if last_good_id:
        known[last_good_id] = last_good
    request = CheckRequest(trigger="sweep", event_name=event_name, resources=())
    context = AlertContext(request, Place(None, REGION), "2024-05-14T09:16:00Z", lint=lint)
    return build_alert(outcome, known, context)


def test_lint_findings_appear_in_text_and_document() -> None:
    # Given the lint of an option set that mixes AmazonProvidedDNS with a loopback server
    lint = tuple(lint_option_set(OptionSet("dopt-new", ("127.0.0.1", "AmazonProvidedDNS"), None)))

    alert = _alert(lint=lint)

    # Then on-call reads each finding, and machines get code, severity and sentence
    assert "Option-set lint:\n  [ERROR] UNUSABLE_ADDRESS: dopt-new names 127.0.0.1" in alert.text
    assert "  [WARNING] AMAZON_MIXED_WITH_CUSTOM: dopt-new mixes" in alert.text
    assert [f["code"] for f in alert.document["lint"]] == [
        "UNUSABLE_ADDRESS",
        "AMAZON_MIXED_WITH_CUSTOM",
    ]
    assert alert.document["lint"][0]["severity"] == "ERROR"


def test_without_lint_findings_the_alert_has_no_lint_section() -> None:
    alert = _alert()
    assert "Option-set lint" not in alert.text
    assert alert.document["lint"] == []


@given(st.text(min_size=1, max_size=200), st.sampled_from(list(Severity)))
def test_subject_stays_under_100_characters(event_name: str, severity: Severity) -> None:
    assert len(_alert(event_name, severity).subject) < 100


def test_deleted_previous_option_set_is_said_and_still_rolled_back_to() -> None:
    alert = _alert()
    assert "Option set:   dopt-old (no longer exists) -> dopt-new (10.1.1.10)" in alert.text
    assert "--dhcp-options-id dopt-old" in alert.text


def test_last_good_option_set_is_the_rollback_and_the_previous_one_is_warned_off() -> None:
    alert = _alert(last_good=OptionSet("dopt-good", ("AmazonProvidedDNS",), "ec2.internal"))
    assert (
        "Roll back to the last option set verified healthy: dopt-good "
        "(verified 2024-05-14T08:00:00Z)\n"
        f"  aws ec2 associate-dhcp-options --dhcp-options-id dopt-good --vpc-id {VPC} "
        f"--region {REGION}\n"
        "Not the option set just before this one, dopt-old (no longer exists): the watchdog "
        "did not verify it healthy.\n"
    ) in alert.text
    assert (
        "Last good:    dopt-good (AmazonProvidedDNS), verified healthy 2024-05-14T08:00:00Z"
        in alert.text
    )
    assert alert.document["rollback_option_set_id"] == "dopt-good"
    assert alert.document["last_good_option_set"] == {
        "id": "dopt-good",
        "exists": True,
        "domain_name_servers": ["AmazonProvidedDNS"],
        "domain_name": "ec2.internal",
        "uses_amazon_dns": True,
        "verified_at": "2024-05-14T08:00:00Z",
    }


def test_deleted_last_good_option_set_falls_back_to_the_previous_one() -> None:
    alert = _alert(last_good_id="dopt-gone")
    assert (
        "The last option set verified healthy, dopt-gone (verified 2024-05-14T08:00:00Z), "
        "no longer exists." in alert.text
    )
    assert alert.document["rollback_option_set_id"] == "dopt-old"
    assert "--dhcp-options-id dopt-old " in alert.text


def test_without_any_verified_option_set_the_previous_one_is_rolled_back_to() -> None:
    alert = _alert()
    assert alert.document["last_good_option_set"] is None
    assert alert.document["rollback_option_set_id"] == "dopt-old"
    assert "Roll back the option set:" in alert.text
    assert "Last good:" not in alert.text


@pytest.mark.parametrize("severity", [Severity.INFO, Severity.RECOVERED])
def test_no_rollback_when_no_action_is_needed(severity: Severity) -> None:
    alert = _alert(severity=severity, last_good=OptionSet("dopt-good", ("10.0.0.2",), None))
    assert alert.document["rollback_command"] is None
    assert alert.document["rollback_option_set_id"] is None
    assert "No action needed." in alert.text


def test_publish_sends_text_to_people_and_json_to_machines(
    aws_env: None, stub_session: boto3.session.Session
) -> None:
    client = stub_session.client("sns")
    alert = _alert()
    with Stubber(client) as stub:
        stub.add_response(
            "publish",
            {"MessageId": "m-1"},
            {
                "TopicArn": TOPIC,
                "Subject": f"[CRITICAL] {VPC}: Lambda DNS FAILED in AssociateDhcpOptions",
                "Message": alert.sns_message(),
                "MessageStructure": "json",
                "MessageAttributes": {
                    "severity": {"DataType": "String", "StringValue": "CRITICAL"},
                    "vpc_id": {"DataType": "String", "StringValue": VPC},
                    "event_name": {"DataType": "String", "StringValue": "AssociateDhcpOptions"},
                    "verdict": {"DataType": "String", "StringValue": "FAILED"},
                    "evidence": {"DataType": "String", "StringValue": "not-collected"},
                },
            },
        )
        assert AlertPublisher(TOPIC, client).publish(alert) == "m-1"
    message = json.loads(alert.sns_message())
    assert message["default"] == alert.text  # e-mail and every protocol without its own body
    for protocol in ("sqs", "lambda", "https"):
        assert json.loads(message[protocol])["schema"] == "vpc-dns-watchdog/alert/v1"


def test_publish_failure_raises_with_the_cause(
    aws_env: None, stub_session: boto3.session.Session
) -> None:
    client = stub_session.client("sns")
    with Stubber(client) as stub:
        stub.add_client_error("publish", "AuthorizationError", "not allowed", 403)
        with pytest.raises(AlertPublishError, match=f"CRITICAL alert for {VPC}") as raised:
            AlertPublisher(TOPIC, client).publish(_alert())
    assert "AuthorizationError" in str(raised.value.__cause__)
