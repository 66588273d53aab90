"""The alert view (render/view.py): the pieces e-mail, JSON document and chat share, worded once.

Each test plays a short story through `conclude` (test_outcome.Vpc), builds the view of its alert,
and holds the e-mail text, the document and the chat notification to the view's words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from canary_findings import zone_broken_everywhere
from dns_watchdog.domain.healing import HealPlan, HealReport
from dns_watchdog.domain.outcome import RollbackKind, VpcOutcome
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import OptionSet
from dns_watchdog.render.alert import render_alert
from dns_watchdog.render.chat import render_chat
from dns_watchdog.render.escape import SUBJECT_LIMIT
from dns_watchdog.render.view import AlertContext, AlertView, build_view
from test_outcome import AMAZON, DC, DEAD, SWEEP, VPC, Vpc, associate, evidence, known, run

pytestmark = pytest.mark.unit

REGION = "us-east-1"
CHECKED_AT = "2024-05-14T09:16:00Z"


@dataclass(frozen=True)
class Story:
    """An alert's outcome, the option sets its check found described, and its request."""

    outcome: VpcOutcome
    known: dict[str, OptionSet | None]
    request: CheckRequest

    def view(self, **context: object) -> AlertView:
        alert_context = AlertContext(self.request, Place(None, REGION), CHECKED_AT, "req-7")
        return build_view(self.outcome, self.known, replace(alert_context, **context))  # type: ignore[arg-type]


def healthy_then_dead() -> Vpc:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    return vpc


def story(kind: RollbackKind, *, last_good_gone: bool = False) -> Story:
    """A story whose alert advises the rollback `kind`."""
    if kind == "none_needed":
        vpc = healthy_then_dead()
        vpc.check(associate(DEAD), evidence(DEAD, dead=True))
        request = associate(AMAZON, "e-2")
        return Story(vpc.check(request, evidence(AMAZON)), known(AMAZON, DEAD), request)
    if kind == "not_option_set":
        vpc = healthy_then_dead()
        outcome = vpc.check(associate(DEAD), run(zone_broken_everywhere(["10.1.1.10"])))
        return Story(outcome, known(AMAZON, DEAD), associate(DEAD))
    if kind == "current_is_last_good":
        vpc = Vpc(option_set=DEAD)
        vpc.check(SWEEP, evidence(DEAD))
        return Story(vpc.check(SWEEP, evidence(DEAD, dead=True)), known(DEAD), SWEEP)
    if kind == "unknown":
        vpc = Vpc(option_set=DEAD)
        return Story(vpc.check(SWEEP, evidence(DEAD, dead=True)), known(DEAD), SWEEP)
    if kind == "previous" and not last_good_gone:
        # First seen on a broken set, then another broken one: nothing was ever verified healthy
        vpc = Vpc(option_set=DC)
        vpc.check(SWEEP, evidence(DC, dead=True))
        outcome = vpc.check(associate(DEAD), evidence(DEAD, dead=True))
        return Story(outcome, known(DC, DEAD), associate(DEAD))
    vpc = healthy_then_dead()
    outcome = vpc.check(associate(DEAD), evidence(DEAD, dead=True))
    gone = (AMAZON.option_set_id,) if last_good_gone else ()
    existing = (DEAD,) if last_good_gone else (AMAZON, DEAD)
    return Story(outcome, known(*existing, gone=gone), associate(DEAD))


STORIES = [
    ("none_needed", False),
    ("not_option_set", False),
    ("current_is_last_good", False),
    ("last_good", False),
    ("previous", False),
    ("previous", True),
    ("unknown", False),
]


@pytest.mark.parametrize(("kind", "last_good_gone"), STORIES)
def test_e_mail_and_chat_show_the_same_rollback_reason_and_command(
    kind: RollbackKind, last_good_gone: bool
) -> None:
    # Given an alert whose rollback advice is `kind`
    view = story(kind, last_good_gone=last_good_gone).view()
    assert view.rollback.kind == kind
    assert view.rollback.last_good_gone is last_good_gone

    # When it is rendered for e-mail and for chat
    alert = render_alert(view)
    notification = render_chat(view)
    steps = notification.document["content"]["nextSteps"]
    context = notification.document["metadata"]["additionalContext"]

    # Then both say the view's one reason, and give the same command (or none)
    assert view.rollback_reason in alert.text
    assert any(view.rollback_reason in step for step in steps)
    command = view.rollback_command
    assert alert.document["rollback_command"] == command
    assert context["rollback_command"] == (command or "")
    if command is None:
        assert not any("associate-dhcp-options" in step for step in steps)
        assert "--dhcp-options-id dopt-" not in alert.text
    else:
        assert f"\n  {command}\n" in alert.text
        assert any(f"`{command}`" in step for step in steps)
    # ... and the same word on a last good set that is gone
    note = view.last_good_gone_note
    assert (note is not None) is last_good_gone
    if note is not None:
        assert note in alert.text.splitlines()
        assert note in steps


def test_the_rollback_command_puts_the_target_back_in_the_vpcs_region() -> None:
    view = story("last_good").view(place=Place(None, "eu-west-1"))
    assert view.rollback.option_set_id == AMAZON.option_set_id
    assert view.rollback_command == (
        f"aws ec2 associate-dhcp-options --dhcp-options-id dopt-amazon --vpc-id {VPC} "
        "--region eu-west-1"
    )
    assert story("unknown").view().rollback_command is None


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("none_needed", "No action needed"),
        ("not_option_set", "No rollback advised: the evidence does not point at the option set"),
        (
            "current_is_last_good",
            "No option set to roll back to: the current one, dopt-dead, is the last option set "
            "verified healthy (verified 2024-05-14T09:01:00Z)",
        ),
        ("last_good", "Roll back to the last option set verified healthy"),
        ("previous", "Roll back the option set"),
    ],
)
def test_the_reason_is_worded_from_the_facts(kind: RollbackKind, reason: str) -> None:
    assert story(kind).view().rollback_reason == reason


def test_self_healing_held_back_by_the_advice_says_the_advices_reason() -> None:
    # Given self-healing did not act because the current set is the last one verified healthy
    current = story("current_is_last_good")
    outcome = current.outcome
    held = HealPlan(False, False, None, "the rollback advice is current_is_last_good", None)
    plan = replace(held, held_by=outcome.rollback(current.known))
    view = current.view(healing=HealReport(plan))

    # Then its sentence gives the advice's own reason, in the advice's words
    why = "the current one, dopt-dead, is the last option set verified healthy"
    assert view.healing_sentence is not None
    assert view.healing_sentence.startswith(f"Self-healing did not act: {why} (verified ")
    assert why in view.rollback_reason
    document = view.healing_document()
    assert document is not None
    assert document["reason"] in view.healing_sentence
    assert document["summary"] == view.healing_sentence
    # ... in the e-mail text, the document and chat alike
    alert = render_alert(view)
    assert view.healing_sentence in alert.text.splitlines()
    assert alert.document["self_healing"] == document
    assert f"*{view.healing_sentence}*" in render_chat(view).document["content"]["description"]


def test_a_plan_of_its_own_keeps_its_reason() -> None:
    plan = HealPlan(False, False, None, f"{VPC} is not tagged dhcp-watchdog:self-heal=true", None)
    view = story("last_good").view(healing=HealReport(plan))
    assert view.healing_sentence == (
        f"Self-healing did not act: {VPC} is not tagged dhcp-watchdog:self-heal=true."
    )
    assert story("last_good").view().healing_sentence is None
    assert story("last_good").view().healing_document() is None


def test_the_subject_is_clipped_to_sns_limit_in_ascii() -> None:
    # Given an event name too long for an SNS subject
    long_event = CheckRequest(trigger="sweep", event_name="E" * 150, resources=())
    view = replace(story("last_good"), request=long_event).view()

    # Then the subject is cut to SNS's limit, ending with "..." (SNS subjects are ASCII)
    full = f"[CRITICAL] {VPC}: Lambda DNS FAILED in {'E' * 150}"
    assert view.subject == full[: SUBJECT_LIMIT - 3] + "..."
    assert len(view.subject) == SUBJECT_LIMIT < 100
    assert view.subject.isascii()
    # ... and e-mail, document and chat carry that very subject
    alert = render_alert(view)
    chat = render_chat(view).document
    assert alert.subject == alert.document["subject"] == view.subject
    assert chat["content"]["title"] == f":rotating_light: {view.subject}"
    assert chat["metadata"]["summary"] == view.subject


def test_a_short_subject_is_whole() -> None:
    view = story("last_good").view()
    assert view.subject == f"[CRITICAL] {VPC}: Lambda DNS FAILED after AssociateDhcpOptions"


def test_the_headline_and_where_the_findings_are_are_shared() -> None:
    view = story("last_good").view()
    alert = render_alert(view)
    description = render_chat(view).document["content"]["description"]
    assert view.headline == (
        f"CRITICAL: DNS for Lambda functions in {VPC} is FAILED after AssociateDhcpOptions."
    )
    assert alert.text.startswith(view.headline + "\n")
    assert alert.document["headline"] == view.headline
    assert description.startswith(view.headline + "\n")
    assert "request id req-7" in view.where_in_full
    assert view.where_in_full in description


def test_organization_mode_labels_the_account_in_subject_and_text() -> None:
    view = story("last_good").view(
        place=Place("222222222222", REGION), names_account=True, account_name="prod"
    )
    assert view.account_label == "222222222222 (prod)"
    assert view.subject.startswith(f"[CRITICAL] 222222222222 (prod) {REGION} {VPC}: ")
    assert "Account:      222222222222 (prod)" in render_alert(view).text
    assert (
        story("last_good")
        .view(place=Place("222222222222", REGION), names_account=True)
        .account_label
        == "222222222222"
    )
    assert story("last_good").view().account_label is None


def test_option_sets_are_described_with_their_servers_or_their_absence() -> None:
    view = story("previous", last_good_gone=True).view()
    assert view.described(DEAD.option_set_id) == "dopt-dead (10.1.1.10)"
    assert view.described(AMAZON.option_set_id) == "dopt-amazon (no longer exists)"
    assert view.described(None) == "unknown"


def test_failing_canaries_come_first() -> None:
    vpc = healthy_then_dead()
    dead = evidence(DEAD, dead=True)
    ok = replace(evidence(DEAD), function_arn=dead.function_arn.replace("canary-a", "canary-0"))
    outcome = vpc.check(associate(DEAD), ok, dead)
    view = Story(outcome, known(AMAZON, DEAD), associate(DEAD)).view()
    names = [report.name for report in view.canaries_worst_first]
    assert names == ["vpc-dns-canary-a", "vpc-dns-canary-0"]


def test_no_alert_no_view() -> None:
    quiet = story("last_good")
    skipped = replace(quiet.outcome, skipped="the stored state comes from newer evidence")
    with pytest.raises(ValueError, match="no alert was decided"):
        build_view(
            skipped, quiet.known, AlertContext(quiet.request, Place(None, REGION), CHECKED_AT)
        )


def test_an_account_name_in_another_script_keeps_the_subject_ascii() -> None:
    # Given an organization account whose name SNS could not carry in a subject
    view = story("last_good").view(
        place=Place("222222222222", REGION), names_account=True, account_name="Zürich\n\u65e5\u672c"
    )

    # Then the subject is printable ASCII on one line; the body keeps the name as written
    assert view.subject.isascii()
    assert "\n" not in view.subject
    assert "222222222222 (Z?rich ??)" in view.subject
    assert "Zürich" in render_alert(view).text
