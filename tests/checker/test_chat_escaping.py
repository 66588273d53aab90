"""Chat markdown injection: text others wrote (canary findings, Organizations account names,
CloudTrail fields) reaches Amazon Q Developer's client-markdown only through the chat rule
(render/escape.py `chat_markdown`), so it can mention nobody, link nowhere and format nothing,
and stays readable (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from canary_findings import unreachable
from dns_watchdog.domain.place import Place
from dns_watchdog.render.chat import render_chat
from dns_watchdog.render.escape import chat_markdown
from dns_watchdog.render.view import AlertContext, build_view
from test_outcome import AMAZON, DEAD, SWEEP, Vpc, associate, evidence, known, run

pytestmark = pytest.mark.unit

# What a hostile DNS server (quoted by the canary), a canary's author, or an account's owner
# would write to be acted on in the channel, next to the real rollback step.
HOSTILE_SUMMARY = (
    "sts answered <!channel> <https://evil.example|Roll back now> "
    "[Roll back](https://evil.example/r)"
)
HOSTILE_CAUSES = [
    "*urgent* _now_ ~gone~ `rm -rf`",
    "> Run <@U0123ABC> https://evil.example/x\n> # second line",
    "<!here> www.evil.example",
]
HOSTILE_ACCOUNT = "<!channel> *ops* [x](https://evil.example)"


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("<!channel>", "\u2039!channel\u203a"),
        ("<!here>", "\u2039!here\u203a"),
        ("<@U123>", "\u2039\uff20U123\u203a"),
        (
            "<https://evil.example|Roll back now>",
            "\u2039https[:]//evil.example|Roll back now\u203a",
        ),
        ("[text](https://evil.example)", "\uff3btext\uff3d(https[:]//evil.example)"),
        (
            "see http://evil.example or www.evil.example",
            "see http[:]//evil.example or www[.]evil.example",
        ),
        ("*b* ~s~ `c`", "\u2217b\u2217 \u223cs\u223c \u02cbc\u02cb"),
        ("_it_ _ldap._tcp", "\u02cdit\u02cd \u02cdldap.\u02cdtcp"),
        ("> quote\n> two\r\nthree", "\u203a quote \u203a two three"),
        ("# heading, entry #90", "\uff03 heading, entry #90"),
        ("a\u202eb\u200bc\x1b[2J", "a b c \uff3b2J"),
        # what is not special stays as written
        ("CONFIGURED_SERVER_UNREACHABLE", "CONFIGURED_SERVER_UNREACHABLE"),
        (
            "vpc-dns-canary_a 10.1.1.10 (UDP/TCP 53): Zürich",
            "vpc-dns-canary_a 10.1.1.10 (UDP/TCP 53): Zürich",
        ),
    ],
)
def test_the_rule(written: str, shown: str) -> None:
    assert chat_markdown(written) == shown


def hostile_critical(**context: Any) -> dict[str, Any]:
    """The chat document of a CRITICAL whose canary answered with hostile text."""
    findings = unreachable(["10.1.1.10"])
    findings["diagnosis"]["summary"] = HOSTILE_SUMMARY
    findings["diagnosis"]["likely_causes"] = HOSTILE_CAUSES
    return _document(run(findings), **context)


def benign_critical(**context: Any) -> dict[str, Any]:
    """The same CRITICAL with plain words where the hostile text was."""
    findings = unreachable(["10.1.1.10"])
    findings["diagnosis"]["summary"] = "x"
    findings["diagnosis"]["likely_causes"] = ["x"] * len(HOSTILE_CAUSES)
    return _document(run(findings), **context)


def _document(canary: Any, **context: Any) -> dict[str, Any]:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    request = associate(DEAD)
    outcome = vpc.check(request, canary)
    alert_context = AlertContext(request, Place(None, "us-east-1"), "2024-05-14T09:16:00Z", "r-1")
    view = build_view(outcome, known(AMAZON, DEAD), replace(alert_context, **context))
    document: dict[str, Any] = json.loads(render_chat(view).sns_message())
    return document


def markdown_fields(document: dict[str, Any]) -> list[str]:
    """Every field the channel renders as markdown (or shows as text)."""
    content = document["content"]
    return [
        content["title"],
        content["description"],
        *content["nextSteps"],
        *content["keywords"],
        document["metadata"]["summary"],
    ]


SPECIALS = ("*", "`", "~", "<", "[", "]", "@", "://", "](", "www.")


def specials(document: dict[str, Any]) -> dict[str, int]:
    # "[:]" and "[.]" are the rule's own defanged URLs ("https[:]//", "www[.]"): no link
    text = "\n".join(markdown_fields(document)).replace("[:]", "").replace("[.]", "")
    counted = {special: text.count(special) for special in SPECIALS}
    counted["line-start >"] = sum(1 for line in text.splitlines() if line.startswith(">"))
    counted["lines"] = len(text.splitlines())
    return counted


def test_hostile_canary_findings_mention_link_and_format_nothing() -> None:
    document = hostile_critical()

    # Then the markdown holds exactly the checker's own markup, no more: no mention, no link,
    # no emphasis, code, quote or line of the canary's making
    assert specials(document) == specials(benign_critical())
    description = document["content"]["description"]
    for forbidden in ("<!channel>", "<!here>", "<@", "<https", "](https", "https://evil"):
        assert forbidden not in description
    # And the canary's words are still there to read
    assert (
        "> sts answered \u2039!channel\u203a \u2039https[:]//evil.example|Roll back now\u203a "
        "\uff3bRoll back\uff3d(https[:]//evil.example/r)"
    ) in description.splitlines()
    assert "\u2217urgent\u2217 \u02cdnow\u02cd \u223cgone\u223c \u02cbrm -rf\u02cb" in description
    assert "\u203a Run \u2039\uff20U0123ABC\u203a https[:]//evil.example/x \u203a # second" in (
        description
    )
    assert "\u2039!here\u203a www[.]evil.example" in description
    # And the real rollback step is the only command offered
    rollback = "aws ec2 associate-dhcp-options --dhcp-options-id dopt-amazon"
    assert [step for step in document["content"]["nextSteps"] if "`aws " in step] == [
        step for step in document["content"]["nextSteps"] if rollback in step
    ]


def test_a_hostile_diagnosis_code_and_canary_name_stay_inside_their_code_spans() -> None:
    findings = unreachable(["10.1.1.10"])
    findings["diagnosis"]["code"] = "X` <!channel> `Y"
    canary = replace(run(findings), function_arn=run(findings).function_arn + "_`*x*`")
    document = _document(canary)

    text = "\n".join(markdown_fields(document))
    assert "<!channel>" not in text
    assert "`X\u02cb \u2039!channel\u203a \u02cbY`" in document["content"]["description"]
    assert "\u02cb\u2217x\u2217\u02cb`" in document["content"]["description"]
    assert "X\u02cb \u2039!channel\u203a \u02cbY" in document["content"]["keywords"]


def test_a_hostile_account_name_is_escaped_in_title_and_summary() -> None:
    # Given organization mode and an account whose owner named it to ping the channel
    document = hostile_critical(
        place=Place("222222222222", "us-east-1"), names_account=True, account_name=HOSTILE_ACCOUNT
    )

    named = "222222222222 (\u2039!channel\u203a \u2217ops\u2217 \uff3bx\uff3d(https[:]//evil.ex"
    assert document["content"]["title"].startswith(f":rotating_light: [CRITICAL] {named}")
    assert document["metadata"]["summary"].startswith(f"[CRITICAL] {named}")
    for field in markdown_fields(document):
        assert "<!channel>" not in field
        assert "](" not in field


def test_cloudtrail_fields_in_the_change_line_are_escaped() -> None:
    # Given an actor ARN that is ARN-shaped but written to format the line
    request = associate(DEAD)
    assert request.change is not None
    actor = "arn:aws:sts::123456789012:assumed-role/Admin/_x_@here"
    change = replace(request.change, actor_arn=actor)
    document = _document(evidence(DEAD, dead=True), request=replace(request, change=change))

    assert (
        "*Change* AssociateDhcpOptions by "
        "arn:aws:sts::123456789012:assumed-role/Admin/\u02cdx\u02cd\uff20here at "
    ) in document["content"]["description"]


def test_the_checker_s_own_markdown_is_kept() -> None:
    document = benign_critical()
    description = document["content"]["description"]
    assert "*Verdict* FAILED - `CONFIGURED_SERVER_UNREACHABLE`" in description
    assert "*Likely causes:* x; x; x" in description
