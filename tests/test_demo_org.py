"""`make demo-org` is part of the test suite: the organization story must play out, and exit 0."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from devtools.demo_org import INTRUDER, MEMBER_REGION, run
from devtools.lambdakit import REGION, REPO_ROOT
from devtools.orgworld import HOME, MEMBER, ROLE_NAME

pytestmark = pytest.mark.integration

# What Python's warnings module prints: "...: UserWarning: ...", "DeprecationWarning", "Warning".
WARNING_LINE = re.compile(r"\b\w*Warning\b")


@pytest.fixture(scope="module")
def transcript() -> str:
    lines: list[str] = []
    assert run(say=lines.append), "\n".join(lines)
    return "\n".join(lines)


def _step(transcript: str, number: int) -> str:
    start = transcript.index(f"[{number}] ")
    following = transcript.find(f"\n[{number + 1}] ", start)
    return transcript[start : following if following != -1 else len(transcript)]


def test_the_member_accounts_dead_server_pages_once_naming_account_and_region(
    transcript: str,
) -> None:
    # Exactly one page in the whole story, for the member account's change
    assert transcript.count("SNS Subject: [CRITICAL]") == 1
    page = _step(transcript, 3)
    assert f"SNS Subject: [CRITICAL] {MEMBER} {MEMBER_REGION} vpc-" in page
    assert f'"account_id": "{MEMBER}"' in page
    assert f'"region": "{MEMBER_REGION}"' in page
    assert f"| Account:      {MEMBER}" in page
    assert "CONFIGURED_SERVER_UNREACHABLE" in page
    # Its rollback command is for that account and region
    assert f"(run it with credentials for account {MEMBER})" in page
    assert re.search(
        rf"aws ec2 associate-dhcp-options --dhcp-options-id dopt-\w+ --vpc-id vpc-\w+ "
        rf"--region {MEMBER_REGION}",
        page,
    )
    # And the rollback recovers it, named the same way
    assert transcript.count("SNS Subject: [RECOVERED]") == 1
    assert f"SNS Subject: [RECOVERED] {MEMBER} {MEMBER_REGION} vpc-" in _step(transcript, 5)


def test_the_route53_association_recorded_in_us_east_1_is_checked_in_the_vpcs_region(
    transcript: str,
) -> None:
    step = _step(transcript, 2)
    assert (
        f"AssociateVPCWithHostedZone from account {MEMBER}, recorded in us-east-1 for a VPC in "
        f"{MEMBER_REGION}"
    ) in step
    assert "OK (HEALTHY)" in step
    assert "no alert" in step
    assert f"real canaries run: vpc-dns-canary-member ({MEMBER} {MEMBER_REGION})" in step


def test_the_organization_sweep_goes_through_the_queue_and_keeps_state_per_place(
    transcript: str,
) -> None:
    healthy, still_failing = _step(transcript, 0), _step(transcript, 4)
    for sweep in (healthy, still_failing):
        assert "2 (account, region) targets" in sweep
        assert f"SQS batch of 2 ({HOME}:{REGION}, {MEMBER}:{MEMBER_REGION})" in sweep
        assert "batchItemFailures none" in sweep
        assert "no alert" in sweep  # an open incident is not paged twice
        assert f"vpc-dns-canary-central ({HOME} {REGION})" in sweep
        assert f"vpc-dns-canary-member ({MEMBER} {MEMBER_REGION})" in sweep
    assert re.search(rf"vpc#{MEMBER}#{MEMBER_REGION}#vpc-\w+ +OK", healthy)
    assert re.search(rf"vpc#{MEMBER}#{MEMBER_REGION}#vpc-\w+ +FAILED", still_failing)
    # The central account's own VPC keeps the single-account key shape
    assert re.search(r"vpc#vpc-\w+ +OK", still_failing)
    assert f"assumed arn:aws:iam::{MEMBER}:role/{ROLE_NAME} 1 time(s)" in transcript
    assert transcript.rstrip().endswith("the story played out as expected.")


def test_a_second_member_account_forging_a_change_is_rejected_and_nothing_happens(
    transcript: str,
) -> None:
    step = _step(transcript, 1)
    assert f"put on the central bus by account {INTRUDER}" in step
    assert (
        f"checker: rejected - detail.recipientAccountId '{MEMBER}' differs from the envelope "
        f"account '{INTRUDER}'"
    ) in step
    assert "no alert" in step
    assert "real canaries run: none" in step
    # The member role was assumed for the real checks only, never for the forgery
    assert f"assumed arn:aws:iam::{MEMBER}:role/{ROLE_NAME} 1 time(s)" in transcript


def test_make_demo_org_exits_zero_and_prints_the_story_only() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devtools.demo_org"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "the story played out as expected." in done.stdout
    # No library warning between the steps
    output = done.stdout.splitlines() + done.stderr.splitlines()
    assert [line for line in output if WARNING_LINE.search(line)] == []
    assert done.stderr == ""
