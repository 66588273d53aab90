"""`make demo` is part of the test suite: the same story must play out."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from devtools.demo import CONFIRM_DELAY_S, ZONE, run
from devtools.lambdakit import REPO_ROOT

pytestmark = pytest.mark.integration

# What Python's warnings module prints: "...: UserWarning: ...", "DeprecationWarning", "Warning".
WARNING_LINE = re.compile(r"\b\w*Warning\b")


@pytest.fixture(scope="module")
def transcript() -> str:
    lines: list[str] = []
    assert run(say=lines.append), "\n".join(lines)
    return "\n".join(lines)


def test_the_demo_story_plays_out_with_one_page_per_incident_and_one_recovery(
    transcript: str,
) -> None:
    # What the on-call engineer reads: the outage, the missing names, the recovery.
    assert "CONFIGURED_SERVER_UNREACHABLE" in transcript
    assert "CUSTOM_SERVER_MISSING_NAMES" in transcript
    # Step 0: the dead-server option set is flagged before anyone associates it (and step 11's
    # corporate set, which does not forward a private zone).
    assert transcript.count("SNS Subject: [WARNING] dopt-") == 2
    assert "would break Lambda DNS in vpc-" in transcript
    assert transcript.index("SNS Subject: [WARNING]") < transcript.index("SNS Subject: [CRITICAL]")
    # Two pages after changes, one after the sweep, one for the private zone; a recovery for
    # each incident the story ends.
    assert transcript.count("SNS Subject: [CRITICAL]") == 4
    assert transcript.count("SNS Subject: [RECOVERED]") == 2
    assert "aws ec2 associate-dhcp-options --dhcp-options-id dopt-" in transcript


def test_the_first_page_is_shown_as_the_chat_markdown_next_to_its_e_mail_text(
    transcript: str,
) -> None:
    # Given the page after the dead server was associated
    email = transcript.index("SNS Subject: [CRITICAL]")
    chat = transcript.index("chat (Slack / Microsoft Teams), thread vpc-")
    next_step = transcript.index("[3] EventBridge delivers the same CloudTrail event again")
    # Then its chat rendering, as Amazon Q Developer would post it, follows its e-mail text
    assert email < chat < next_step
    assert transcript.count("chat (Slack / Microsoft Teams), thread") == 1
    posted = transcript[chat:next_step]
    assert "# *:rotating_light: [CRITICAL] vpc-" in posted
    assert "Lambda DNS FAILED after AssociateDhcpOptions*" in posted
    assert "# *Verdict* FAILED - `CONFIGURED_SERVER_UNREACHABLE`" in posted
    assert "# *Next steps*" in posted
    assert (
        "# - Roll back to the last option set verified healthy: "
        "`aws ec2 associate-dhcp-options --dhcp-options-id dopt-"
    ) in posted


def test_the_sweep_finds_a_silent_server_confirms_it_then_sees_it_recover(
    transcript: str,
) -> None:
    # Given the corp DNS server stops answering without any change event
    page = transcript.index("Lambda DNS FAILED in ScheduledSweep")
    recovery = transcript.index("Lambda DNS OK again in ScheduledSweep")
    assert transcript.count("Lambda DNS FAILED in ScheduledSweep") == 1
    # Then the sweep's page says a second canary run confirmed it, and names the silent server
    sweep_page = transcript[page:recovery]
    confirmed = (
        f"Confirmed: a second canary run {CONFIRM_DELAY_S:g} s after the first found the same."
    )
    assert f"| {confirmed}" in sweep_page
    assert "CONFIGURED_SERVER_UNREACHABLE" in sweep_page
    # No rollback: the current option set is the last one verified healthy
    assert "is the last option set verified healthy" in sweep_page
    # And the next sweep sees it answer again
    assert transcript.count("Lambda DNS OK again in ScheduledSweep") == 1
    assert transcript.rstrip().endswith("the story played out as expected.")


def test_make_demo_prints_the_story_only() -> None:
    # When the demo runs as `make demo` runs it
    done = subprocess.run(
        [sys.executable, "-m", "devtools.demo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    # Then it exits 0 and prints the story, with no library warning between the steps
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "the story played out as expected." in done.stdout
    output = done.stdout.splitlines() + done.stderr.splitlines()
    assert [line for line in output if WARNING_LINE.search(line)] == []
    assert done.stderr == ""


def test_every_page_says_what_is_hit_and_a_canary_only_vpc_gets_a_warning(
    transcript: str,
) -> None:
    # Given the demo's VPC holds three functions and an instance besides its canary
    hit = "Hit: 3 Lambda functions (orders-api, payments-worker, shipping-quotes), 1 instance"
    first_page = transcript.index("SNS Subject: [CRITICAL]")
    # Then the first page says so next to its headline, in e-mail and in chat
    assert transcript.index(f"| {hit}\n", first_page) < transcript.index("| Verdict:", first_page)
    assert f"# *{hit}*" in transcript
    assert "1 canary interface (not counted)" in transcript
    # and the preflight WARNING names them under the VPC that would break
    preflight = transcript[: transcript.index("[1] Scheduled sweep")]
    assert f"|     {hit}" in preflight
    # every page of the VPC carries it; the later ones from the cache, saying how old it is
    assert transcript.count(f"| {hit} (as of ") == 2
    assert '"workloads": "4"' in transcript

    # When a sandbox VPC holding nothing but its canary breaks, PriorityFromImpact on
    sandbox = transcript[transcript.index("[9] A sandbox VPC") : transcript.index("[10] A new VPC")]
    # Then a WARNING, not a page, says why
    assert "SNS Subject: [WARNING] vpc-" in sandbox
    assert "Lambda DNS FAILED after AssociateDhcpOptions" in sandbox
    assert "[CRITICAL]" not in sandbox
    assert (
        "| Priority: sent as WARNING, not CRITICAL: nothing but the watchdog's canaries has a "
        "network interface in vpc-"
    ) in sandbox
    assert "| Hit: nothing but the watchdog's canaries" in sandbox
    assert '"workloads": "0"' in sandbox


def test_a_private_zone_nobody_configured_is_discovered_warned_about_and_paged_with_the_zone(
    transcript: str,
) -> None:
    # Given a VPC with a private hosted zone and only the default probe names, seen healthy
    checked = transcript[transcript.index("[10] A new VPC") : transcript.index("[11] jane.doe")]
    assert "no alert" in checked
    not_forwarded = f"Private hosted zone {ZONE} ("
    # When a corporate option set that does not forward the zone is created: a WARNING first,
    # naming the zone, and the lint saying what the servers must forward where
    preflight = transcript[transcript.index("[11] jane.doe") : transcript.index("[12] jane.doe")]
    assert preflight.count("SNS Subject: [WARNING] dopt-") == 1
    assert "CUSTOM_SERVER_MISSING_NAMES" in preflight
    assert not_forwarded in preflight
    assert "does not forward it." in preflight
    assert "has 1 private hosted zone that custom DNS servers must forward to" in preflight
    # When it is associated anyway: one CRITICAL names the zone, with the rollback
    page = transcript[transcript.index("[12] jane.doe") :]
    assert page.count("SNS Subject: [CRITICAL] vpc-") == 1
    assert not_forwarded in page
    assert f"  - private hosted zone {ZONE} (" in page
    assert "Roll back to the last option set verified healthy" in page
    assert "|   aws ec2 associate-dhcp-options --dhcp-options-id dopt-" in page
