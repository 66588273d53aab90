"""The opt-in "Roll back" button of the chat channels (template.yaml, ChatRollbackAction).

Off, nothing of it exists. On, the custom action's command (at most 100 characters, the Chatbot
API's limit), filled from a chat document the checker really renders
(chat.build_chat_notification), invokes the checker's chat alias with the rollback request the
checker parses; its button shows only on notifications that advise a rollback to the last good
set; the channel role and the channels' guardrails allow exactly lambda:InvokeFunction on that
alias, nothing that can associate an option set by itself; and the checker's own tag-scoped
association exists when self-healing or the button is on.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_limits import API_OF, api_shape
from dns_watchdog import constants
from dns_watchdog.domain.events import parse_event
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.incidents import decide
from dns_watchdog.domain.judge import Judgement
from dns_watchdog.domain.models import Diagnosis, Severity, Verdict
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest, RollbackRequest
from dns_watchdog.domain.vpc import OptionSet, vpc_facts
from dns_watchdog.render.chat import build_chat_notification
from dns_watchdog.render.view import AlertContext, RollbackButton
from iac_template import MAIN_TEMPLATE, SAMPLE_ACCOUNT, SAMPLE_REGION, Resolver, load_template

pytestmark = pytest.mark.iac

MAIN = load_template(MAIN_TEMPLATE)
ACTION = "ChatRollbackCustomAction"
POLICY = "ChatRollbackPolicy"
CHANNELS = ("SlackChannel", "TeamsChannel")
ALIAS = "ChatRollbackAlias"
CHECKER_POLICY = "CheckerSelfHealingPolicy"
CHAT_RESOURCES = {ACTION, POLICY, ALIAS, CHECKER_POLICY, "ChatChannelRole", *CHANNELS}
POLICY_ARN = f"arn:aws:iam::{SAMPLE_ACCOUNT}:policy/vpc-dns-watchdog-ChatRollbackPolicy-ABC"
ACTION_ARN = f"arn:aws:chatbot::{SAMPLE_ACCOUNT}:custom-action/vpc-dns-rollback-0f1e2d3c"
CHECKER_NAME = "vpc-dns-watchdog-CheckerFunction-AbC123"
ALIAS_ARN = f"arn:aws:lambda:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:function:{CHECKER_NAME}:chat"
# The Chatbot API's limit on a custom action's CommandText (CustomActionDefinition).
COMMAND_TEXT_LIMIT = 100
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
            ALIAS: ALIAS_ARN,
            "CheckerFunction": CHECKER_NAME,
            "CheckerRole": "vpc-dns-watchdog-CheckerRole-AbC123",
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


BUTTON = RollbackButton(f"{CHECKER_NAME}:chat", SAMPLE_REGION)


def alert_context(
    region: str, *, account: str | None = None, button: RollbackButton | None = BUTTON
) -> AlertContext:
    request = CheckRequest(trigger="sweep", event_name="ScheduledSweep", resources=())
    return AlertContext(
        request,
        Place(account, region),
        "2024-05-14T09:16:00Z",
        request_id="req-42",
        names_account=account is not None,
        rollback_button=button,
    )


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
    assert ALIAS not in resources
    assert CHECKER_POLICY not in resources  # SelfHealing is off by default too
    kinds = {resource["Type"] for resource in resources.values()}
    assert "AWS::Chatbot::CustomAction" not in kinds
    assert "AWS::IAM::ManagedPolicy" not in kinds
    assert "AWS::Lambda::Alias" not in kinds
    for channel in CHANNELS:
        if channel in resources:
            properties = resources[channel]["Properties"]
            assert properties["GuardrailPolicies"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
            assert "CustomizationResourceArns" not in properties
    if "ChatChannelRole" in resources:
        assert resources["ChatChannelRole"]["Properties"]["ManagedPolicyArns"] == [
            "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"
        ]


def test_the_command_fits_the_chatbot_limit() -> None:
    action = deployed(**CHANNELS_ON, ChatRollbackAction="true")[ACTION]
    text = action["Properties"]["Definition"]["CommandText"]
    assert len(text) <= COMMAND_TEXT_LIMIT
    assert text == (
        "lambda invoke --function-name $fn --region $rgn --invocation-type Event --payload $req"
    )


@pytest.mark.parametrize(
    ("vpc_id", "region", "account"),
    [
        ("vpc-0a1b2c3d4e5f60718", "us-east-1", None),
        ("vpc-0123456789abcdef0", "eu-west-1", None),
        # organization mode: the checker rolls back in the VPC's account through its member role
        ("vpc-0123456789abcdef0", "eu-west-1", "222222222222"),
    ],
)
def test_the_button_asks_the_checker_for_the_rollback_the_alert_advises(
    vpc_id: str, region: str, account: str | None
) -> None:
    # Given the stack with a channel and the rollback action
    action = deployed(**CHANNELS_ON, ChatRollbackAction="true")[ACTION]
    [attachment] = action["Properties"]["Attachments"]
    assert attachment["NotificationType"] == "Custom"
    assert attachment["ButtonText"] == "Roll back"
    # When the checker renders the chat document of a CRITICAL that advises the last good set
    outcome = rollback_outcome(vpc_id)
    assert outcome.severity == Severity.CRITICAL
    context = alert_context(region, account=account)
    document = build_chat_notification(outcome, KNOWN, context).document
    variables = variables_from(attachment, document)

    # Then the button shows, and invokes the checker's chat alias, asynchronously, in the
    # checker's region, with a rollback request the checker parses for that VPC
    assert button_shown(attachment, variables)
    payload = json.dumps(
        {
            "action": "rollback",
            "vpc_id": vpc_id,
            **({"account_id": account} if account else {}),
            "region": region,
            "requested_by": "chat",
        },
        separators=(",", ":"),
    )
    assert command(action, variables) == (
        f"lambda invoke --function-name {CHECKER_NAME}:chat --region {SAMPLE_REGION} "
        f"--invocation-type Event --payload {payload}"
    )
    assert parse_event(json.loads(variables["req"])) == RollbackRequest(
        vpc_id, "chat", account_id=account, region=region
    )
    # (the variables read the keys the checker's constants name)
    paths = [VARIABLE_PATH.match(path) for path in attachment["Variables"].values()]
    keys = {match["key"] for match in paths if match}
    assert keys == {
        constants.CHAT_CONTEXT_ROLLBACK_FUNCTION,
        constants.CHAT_CONTEXT_CHECKER_REGION,
        constants.CHAT_CONTEXT_ROLLBACK_REQUEST,
    }


def test_no_button_on_a_notification_without_a_rollback() -> None:
    action = deployed(**CHANNELS_ON, ChatRollbackAction="true")[ACTION]
    [attachment] = action["Properties"]["Attachments"]
    critical = rollback_outcome("vpc-0a1b2c3d4e5f60718")
    recovered = recovered_outcome(critical)
    assert recovered.severity == Severity.RECOVERED
    for outcome, context in (
        (recovered, alert_context("us-east-1")),
        # the checker was not deployed with the button (CHAT_ROLLBACK false)
        (critical, alert_context("us-east-1", button=None)),
    ):
        document = build_chat_notification(outcome, KNOWN, context).document
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


def test_the_channels_may_only_ask_the_checker_never_associate_themselves() -> None:
    resources = deployed(**CHANNELS_ON, ChatRollbackAction="true")
    # The one write: invoke the checker's chat alias (the checker's name, qualified by it)
    document = resources[POLICY]["Properties"]["PolicyDocument"]
    [statement] = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == ALIAS_ARN
    assert set(statement) == {"Sid", "Effect", "Action", "Resource"}  # no Not*, no widening
    alias = resources[ALIAS]["Properties"]
    assert alias == {
        "FunctionName": CHECKER_NAME,
        "FunctionVersion": "$LATEST",
        "Name": constants.CHAT_ROLLBACK_ALIAS,
    }
    # The channel role holds nothing else (no inline policy); the guardrails, which cap that
    # role, let exactly that through; every channel offers the button
    role = resources["ChatChannelRole"]["Properties"]
    assert "Policies" not in role
    assert role["ManagedPolicyArns"] == [
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
    # Nothing the chat stack creates grants an EC2 write
    for logical_id in (POLICY, "ChatChannelRole", *CHANNELS):
        assert "ec2:" not in json.dumps(resources[logical_id]["Properties"]), logical_id


@pytest.mark.parametrize(
    ("parameters", "may_associate", "chat_rollback"),
    [
        ({}, False, "false"),
        ({"SelfHealing": "dry-run"}, False, "false"),
        ({"SelfHealing": "on"}, True, "false"),
        ({**CHANNELS_ON, "ChatRollbackAction": "true"}, True, "true"),
        ({"ChatRollbackAction": "true"}, False, "false"),  # no channel: no button
    ],
)
def test_the_checker_associates_tag_scoped_when_self_healing_or_the_button_is_on(
    parameters: dict[str, str], may_associate: bool, chat_rollback: str
) -> None:
    resources = deployed(**parameters)
    assert (CHECKER_POLICY in resources) is may_associate
    if may_associate:
        statements = resources[CHECKER_POLICY]["Properties"]["PolicyDocument"]["Statement"]
        on_vpcs = next(s for s in statements if s["Resource"].endswith(":vpc/*"))
        assert on_vpcs["Action"] == "ec2:AssociateDhcpOptions"
        assert on_vpcs["Condition"] == {
            "StringEquals": {"aws:ResourceTag/dhcp-watchdog:self-heal": "true"}
        }
    resolver = Resolver(MAIN, dict(parameters))
    variables = MAIN["Resources"]["CheckerFunction"]["Properties"]["Environment"]["Variables"]
    assert resolver.resolve(variables[constants.CHAT_ROLLBACK_ENV]) == chat_rollback
