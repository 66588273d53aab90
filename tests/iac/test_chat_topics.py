"""Chat channels on the chat topic, never on the alert topic.

Amazon Q Developer in chat applications subscribes to a topic with protocol ``https`` (endpoint
``https://global.sns-api.chatbot.amazonaws.com``) and posts only its custom notification
documents, dropping anything else without a trace. The checker publishes alerts with
``MessageStructure=json``, where an HTTPS subscriber receives the ``https`` body: on the alert
topic that is the alert's JSON document (for webhooks), not a custom notification. So a channel
subscribed to the alert topic stays silent while everything looks configured. The stack tells users
where chat goes (its outputs), and the alert topic refuses an Amazon Q Developer subscription so the
mistake is loud.
"""

from __future__ import annotations

from typing import Any

import pytest
from iac_template import MAIN_TEMPLATE, load_template
from iam_policy import Request, decide
from stack_model import StackResolver

pytestmark = pytest.mark.iac

MAIN = load_template(MAIN_TEMPLATE)
AMAZON_Q_ENDPOINT = "https://global.sns-api.chatbot.amazonaws.com"
CHANNELS = {
    "VpcId": "vpc-0a1b2c3d4e5f60718",
    "SubnetIds": ["subnet-0a1b2c3d4e5f60001"],
    "SlackWorkspaceId": "T0123ABCDEF",
    "SlackChannelId": "C0123ABCDEF",
}


def topic_policy(stack: StackResolver, topic: str) -> list[dict[str, Any]]:
    arn = stack.value_of(topic)
    statements: list[dict[str, Any]] = []
    for policy in stack.resources("AWS::SNS::TopicPolicy").values():
        if arn in policy["Topics"]:
            statements += policy["PolicyDocument"]["Statement"]
    return statements


def subscribe(stack: StackResolver, topic: str, endpoint: str) -> str:
    request = Request(
        "sns:Subscribe",
        stack.value_of(topic),
        {"sns:Endpoint": endpoint, "sns:Protocol": "https"},
    )
    # (no statement allows it: the account's own IAM policies would; only a deny can refuse)
    return "refused" if decide(topic_policy(stack, topic), request) == "Deny" else "not refused"


def test_the_alert_topic_refuses_amazon_q_developer() -> None:
    stack = StackResolver(MAIN, CHANNELS)
    assert subscribe(stack, "AlertTopic", AMAZON_Q_ENDPOINT) == "refused"
    # and only it: webhooks and the chat topic's own channels are welcome
    assert subscribe(stack, "AlertTopic", "https://oncall.example.com/sns") == "not refused"
    assert subscribe(stack, "ChatTopic", AMAZON_Q_ENDPOINT) == "not refused"


def test_the_outputs_send_chat_to_the_chat_topic() -> None:
    outputs = MAIN["Outputs"]
    alert = outputs["AlertTopicArn"]["Description"]
    what_to_subscribe = alert.split(".")[0]  # its first sentence
    assert "chat" not in what_to_subscribe.lower()
    assert "ChatTopicArn" in alert
    assert "chat channels" in outputs["ChatTopicArn"]["Description"].lower()
