"""`make demo` is part of the test suite: the same story must play out."""

from __future__ import annotations

import pytest

from devtools.demo import run

pytestmark = pytest.mark.integration


def test_the_demo_story_plays_out_with_one_page_per_incident_and_one_recovery() -> None:
    lines: list[str] = []
    assert run(say=lines.append), "\n".join(lines)
    transcript = "\n".join(lines)
    # What the on-call engineer reads: the outage, the missing names, the recovery.
    assert "CONFIGURED_SERVER_UNREACHABLE" in transcript
    assert "CUSTOM_SERVER_MISSING_NAMES" in transcript
    # Step 0: the dead-server option set is flagged before anyone associates it.
    assert transcript.count("SNS Subject: [WARNING]") == 1
    assert "would break Lambda DNS in vpc-" in transcript
    assert transcript.index("SNS Subject: [WARNING]") < transcript.index("SNS Subject: [CRITICAL]")
    assert transcript.count("SNS Subject: [CRITICAL]") == 2
    assert transcript.count("SNS Subject: [RECOVERED]") == 1
    assert "aws ec2 associate-dhcp-options --dhcp-options-id dopt-" in transcript
