"""Chat markdown injection through the handler: a canary whose answer quotes hostile text (a DNS
server's answer, a tampered canary) reaches the chat topic escaped by the chat rule, next to the
one real rollback step; the e-mail text keeps the canary's words as written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from canary_findings import healthy, unreachable
from checker_doubles import Reply, World
from test_checker_chat import chat_documents, chat_queue  # noqa: F401  # the fixture by name

from devtools.lambdakit import cloudtrail_event, load_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CORP_DNS = "10.1.1.10"
SUMMARY = (
    "lambda.us-east-1.amazonaws.com answered <!channel> <https://evil.example|Roll back now> "
    "and [Roll back](https://evil.example/r)"
)
CAUSES = ["*click* `here`", "> <@U0123ABC> says: roll back to dopt-evil at https://evil.example"]


def hostile_canary(payload: dict[str, Any], env: dict[str, str]) -> Reply:
    """Healthy on AmazonProvidedDNS; on the corp server, a FAILED whose words are hostile."""
    expected = list(payload.get("expected_nameservers") or [])
    if CORP_DNS not in expected:
        return None, healthy(expected, expected)
    findings = unreachable(expected, expected)
    findings["diagnosis"]["summary"] = SUMMARY
    findings["diagnosis"]["likely_causes"] = CAUSES
    return None, findings


def test_a_hostile_canary_answer_is_escaped_in_the_chat_message(
    world: World,
    chat_queue: str,  # noqa: F811  # the fixture imported above
    checker_app: Invoke,
) -> None:
    # Given a watched VPC, seen healthy, whose canary quotes hostile text when DNS fails
    vpc_id = world.create_vpc("10.0.0.0/16")
    good = world.option_set("AmazonProvidedDNS")
    bad = world.option_set(CORP_DNS)
    world.associate(vpc_id, good)
    world.add_canary(vpc_id, "vpc-dns-canary-a", hostile_canary)
    manual = load_event("manual_check")
    manual["vpc_ids"] = [vpc_id]
    checker_app(manual)

    # When the corp server's option set is associated and the change is checked
    world.associate(vpc_id, bad)
    checker_app(cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=bad))

    # Then the chat message shows the canary's words, escaped: no mention, no link
    [critical] = chat_documents(world, chat_queue)
    content = critical["content"]
    rendered = "\n".join([content["title"], content["description"], *content["nextSteps"]])
    for forbidden in ("<!channel>", "<@U0123ABC>", "<https://", "](https://", "https://evil"):
        assert forbidden not in rendered
    assert (
        "> lambda.us-east-1.amazonaws.com answered \u2039!channel\u203a "
        "\u2039https[:]//evil.example|Roll back now\u203a and "
        "\uff3bRoll back\uff3d(https[:]//evil.example/r)"
    ) in content["description"].splitlines()
    assert (
        "*Likely causes:* \u2217click\u2217 \u02cbhere\u02cb; \u203a \u2039\uff20U0123ABC\u203a "
        "says: roll back to dopt-evil at https[:]//evil.example"
    ) in content["description"].splitlines()
    # And the only command offered is the checker's own rollback
    commands = [step for step in content["nextSteps"] if "associate-dhcp-options" in step]
    assert len(commands) == 1
    assert f"--dhcp-options-id {good} --vpc-id {vpc_id}" in commands[0]
    # And e-mail (plain text) keeps the words as the canary wrote them
    [alert] = [a for a in world.alerts() if a.severity == "CRITICAL"]
    assert SUMMARY in alert.text
