"""The opt-in "Roll back" button of the chat channels (template.yaml, ChatRollbackAction).

Off, nothing of it exists. On, the custom action's command, filled from a chat document the
checker really renders (chat.build_chat_notification), is the alert's rollback command; its button
shows only on notifications that advise a rollback; and the channel role and the channels'
guardrails allow exactly ec2:AssociateDhcpOptions, in this account and region.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_limits import API_OF, api_shape
from dns_watchdog import constants
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.incidents import decide
from dns_watchdog.domain.judge import Judgement
from dns_watchdog.domain.models import Diagnosis, Severity, Verdict
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import OptionSet, vpc_facts
from dns_watchdog.render.alert import AlertContext, rollback_command
from dns_watchdog.render.chat import build_chat_notification
from iac_template import MAIN_TEMPLATE, SAMPLE_ACCOUNT, SAMPLE_REGION, Resolver, load_template

pytestmark = pytest.mark.iac

MAIN = load_template(MAIN_TEMPLATE)
ACTION = "ChatRollbackCustomAction"
POLICY = "ChatRollbackPolicy"
CHANNELS = ("SlackChannel", "TeamsChannel")
CHAT_RESOURCES = {ACTION, POLICY, "ChatChannelRole", *CHANNELS}
POLICY_ARN = f"arn:aws:iam::{SAMPLE_ACCOUNT}:policy/vpc-dns-watchdog-ChatRollbackPolicy-ABC"
ACTION_ARN = f"arn:aws:chatbot::{SAMPLE_ACCOUNT}:custom-action/vpc-dns-rollback-0f1e2d3c"
CHANNELS_ON = {
    "SlackWorkspaceId": "T0123ABCDEF",
    "SlackChannelId": "C0123ABCDEF",
    "TeamsTenantId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "TeamsTeamId": "1f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    # URL-encoded, as the channel link shows it and Amazon Q Developer takes it
    "TeamsChannelId": "19%3a0f1e2d3c4b5a69788a9b0c1d2e3f4a5b%40thread.tacv2",
}
VARIABLE_PATH = re.compile(r"^event\.metadata\.additionalContext\.(?P<key>[A-Za-z0-9_]+)$")


def deployed(**parameters: str) -> dict[str, dict[str, Any]]:
    """The resources a stack with these parameters creates, their properties resolved."""
    resolver = Resolver(
        MAIN,
        {
            **parameters,
            "AWS::StackId": f"arn:aws:cloudformation:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:stack/"
            "vpc-dns-watchdog/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
            "ChatTopic": f"arn:aws:sns:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:chat",
            "ChatChannelRole.Arn": f"arn:aws:iam::{SAMPLE_ACCOUNT}:role/chat",
            POLICY: POLICY_ARN,
            ACTION: ACTION_ARN,
        },
    )
    created = {
        logical_id: resource
        for logical_id, resource in MAIN["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }
    # The chat resources' properties resolved; the others only need to exist
    return {
        logical_id: {
            "Type": resource["Type"],
            "Properties": resolver.resolve(resource["Properties"])
            if logical_id in CHAT_RESOURCES
            else resource.get("Properties", {}),
        }
        for logical_id, resource in created.items()
    }


def rollback_outcome(vpc_id: str) -> VpcOutcome:
    """A CRITICAL after the VPC moved from its last good option set to a dead server's."""
    diagnosis = Diagnosis(
        code="CONFIGURED_SERVER_UNREACHABLE",
        severity=Verdict.FAILED,
        failing_hop="configured_server",
        option_set_at_fault=True,
    )
    judgement = Judgement(Verdict.FAILED, diagnosis, (), ())
    stored = VpcState(
        vpc_id=vpc_id,
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
    decision = decide(
        previous=stored,
        vpc_id=vpc_id,
        verdict=Verdict.FAILED,
        option_set_id="dopt-0bad",
        announce=True,
        event_id=None,
        now="2024-05-14T09:16:00Z",
    )
    facts = vpc_facts(vpc_id, "10.0.0.0/16", OptionSet("dopt-0bad", ("10.1.1.10",), None), True)
    return VpcOutcome(facts, judgement, decision)


def recovered_outcome(critical: VpcOutcome) -> VpcOutcome:
    healthy = Judgement(Verdict.OK, Diagnosis(code="OK", severity=Verdict.OK), (), ())
    decision = decide(
        previous=critical.decision.state,
        vpc_id=critical.facts.vpc_id,
        verdict=Verdict.OK,
        option_set_id="dopt-0bad",
        announce=False,
        event_id=None,
        now="2024-05-14T09:30:00Z",
    )
    return VpcOutcome(critical.facts, healthy, decision)


KNOWN = {"dopt-0good": OptionSet("dopt-0good", ("AmazonProvidedDNS",), None)}


def alert_context(region: str) -> AlertContext:
    request = CheckRequest(trigger="sweep", event_name="ScheduledSweep", resources=())
    return AlertContext(request, region, "2024-05-14T09:16:00Z", request_id="req-42")


def variables_from(attachment: dict[str, Any], document: dict[str, Any]) -> dict[str, str]:
    """What Amazon Q Developer extracts from a custom notification for the action's variables
    (each one a path into the notification, `event` being the notification itself)."""
    extracted = {}
    for name, path in attachment["Variables"].items():
        match = VARIABLE_PATH.match(path)
        assert match, f"{name}: {path} does not read the notification's additionalContext"
        value = document["metadata"]["additionalContext"].get(match["key"])
        if value:
            extracted[name] = value
    return extracted


def button_shown(attachment: dict[str, Any], variables: dict[str, str]) -> bool:
    for criterion in attachment["Criteria"]:
        assert criterion["Operator"] == "HAS_VALUE"
        if criterion["VariableName"] not in variables:
            return False
    return True


def command(action: dict[str, Any], variables: dict[str, str]) -> str:
    text: str = action["Properties"]["Definition"]["CommandText"]
    return re.sub(r"\$([A-Za-z0-9_-]+)", lambda m: variables[m[1]], text)


@pytest.mark.parametrize("parameters", [{}, CHANNELS_ON, {"ChatRollbackAction": "true"}])
def test_without_the_parameter_or_a_channel_nothing_of_the_rollback_exists(
    parameters: dict[str, str],
) -> None:
    resources = deployed(**parameters)
    assert ACTION not in resources
    assert POLICY not in resources
    kinds = {resource["Type"] for resource in resources.values()}
    assert "AWS::Chatbot::CustomAction" not in kinds
    assert "AWS::IAM::ManagedPolicy" not in kinds
    for channel in CHANNELS:
        if channel in resources:
            properties = resources[channel]["Properties"]
            assert properties["GuardrailPolicies"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
            assert "CustomizationResourceArns" not in properties
    if "ChatChannelRole" in resources:
        assert resources["ChatChannelRole"]["Properties"]["ManagedPolicyArns"] == [
            "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"
        ]


@pytest.mark.parametrize(
    ("vpc_id", "region"),
    [("vpc-0a1b2c3d4e5f60718", "us-east-1"), ("vpc-0123456789abcdef0", "eu-west-1")],
)
def test_the_button_runs_the_alerts_rollback_command(vpc_id: str, region: str) -> None:
    # Given the stack with a channel and the rollback action
    action = deployed(**CHANNELS_ON, ChatRollbackAction="true")[ACTION]
    [attachment] = action["Properties"]["Attachments"]
    assert attachment["NotificationType"] == "Custom"
    assert attachment["ButtonText"] == "Roll back"
    # When the checker renders the chat document of a CRITICAL that advises a rollback
    outcome = rollback_outcome(vpc_id)
    assert outcome.severity == Severity.CRITICAL
    document = build_chat_notification(outcome, KNOWN, alert_context(region)).document
    variables = variables_from(attachment, document)

    # Then the button shows, and runs exactly the rollback command of the alert
    assert button_shown(attachment, variables)
    expected = rollback_command(outcome.rollback(KNOWN), vpc_id, region)
    assert expected == (
        f"aws ec2 associate-dhcp-options --dhcp-options-id dopt-0good --vpc-id {vpc_id} "
        f"--region {region}"
    )
    assert command(action, variables) == expected
    # (the variables read the keys the checker's constants name)
    paths = [VARIABLE_PATH.match(path) for path in attachment["Variables"].values()]
    keys = {match["key"] for match in paths if match}
    assert keys == {
        constants.CHAT_CONTEXT_ROLLBACK_OPTION_SET_ID,
        constants.CHAT_CONTEXT_VPC_ID,
        constants.CHAT_CONTEXT_REGION,
    }


def test_no_button_on_a_notification_without_a_rollback() -> None:
    action = deployed(**CHANNELS_ON, ChatRollbackAction="true")[ACTION]
    [attachment] = action["Properties"]["Attachments"]
    recovered = recovered_outcome(rollback_outcome("vpc-0a1b2c3d4e5f60718"))
    assert recovered.severity == Severity.RECOVERED
    document = build_chat_notification(recovered, KNOWN, alert_context("us-east-1")).document
    assert not button_shown(attachment, variables_from(attachment, document))


def test_the_action_fits_the_chatbot_apis_limits() -> None:
    # The resource schema allows 5,000 characters of command text; CreateCustomAction, which
    # CloudFormation calls, allows 100: a longer command fails the deploy in a real account.
    properties = deployed(**CHANNELS_ON, ChatRollbackAction="true")[ACTION]["Properties"]
    assert API_OF["AWS::Chatbot::CustomAction"].problems(properties, ACTION) == []
    command_text = properties["Definition"]["CommandText"]
    limit = api_shape("chatbot", "CreateCustomAction", "Definition", "CommandText").metadata["max"]
    assert len(command_text) <= limit == 100


def test_the_action_name_fits_and_differs_per_stack() -> None:
    name = deployed(**CHANNELS_ON, ChatRollbackAction="true")[ACTION]["Properties"]["ActionName"]
    assert name == "vpc-dns-rollback-0f1e2d3c"
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name)
    assert ACTION_ARN.endswith(f"custom-action/{name}")


def test_on_the_channels_may_make_exactly_the_rollback_in_this_account_and_region() -> None:
    resources = deployed(**CHANNELS_ON, ChatRollbackAction="true")
    # The one write: associate an option set with a VPC, both in this account and region
    document = resources[POLICY]["Properties"]["PolicyDocument"]
    [statement] = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "ec2:AssociateDhcpOptions"
    assert sorted(statement["Resource"]) == [
        f"arn:aws:ec2:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:dhcp-options/*",
        f"arn:aws:ec2:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:vpc/*",
    ]
    assert set(statement) == {"Sid", "Effect", "Action", "Resource"}  # no Not*, no widening
    # The channel role holds it; the guardrails, which cap that role, let it through; every
    # channel offers the button
    assert resources["ChatChannelRole"]["Properties"]["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess",
        POLICY_ARN,
    ]
    for channel in CHANNELS:
        properties = resources[channel]["Properties"]
        assert properties["GuardrailPolicies"] == [
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            POLICY_ARN,
        ]
        assert properties["CustomizationResourceArns"] == [ACTION_ARN]
