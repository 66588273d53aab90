"""The one clip rule (domain/text.py): every limited field the checker shows or stores is cut the
same way, and the places that used to cut their own way now share it."""

from __future__ import annotations

import pytest
from dns_watchdog.domain.blocking import not_analysed
from dns_watchdog.domain.events import printable
from dns_watchdog.domain.models import MAX_SUMMARY_CHARS, MAX_TEXT_CHARS, Diagnosis
from dns_watchdog.domain.text import ELLIPSIS, clip
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.unit


def test_text_that_fits_is_left_alone() -> None:
    assert clip("dopt-0a1b", 9) == "dopt-0a1b"
    assert clip("", 1) == ""


def test_text_that_does_not_fit_ends_with_one_ellipsis_in_exactly_the_limit() -> None:
    assert clip("dopt-0a1b2c", 9) == "dopt-0a1…"
    assert clip("abc", 1) == ELLIPSIS


def test_a_limit_below_one_character_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one character"):
        clip("abc", 0)


@given(st.text(max_size=300), st.integers(min_value=1, max_value=200))
def test_a_clipped_text_fits_and_keeps_the_start(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert len(clipped) <= limit
    if len(text) <= limit:
        assert clipped == text
    else:
        assert clipped == text[: limit - 1] + ELLIPSIS


def test_canary_text_is_clipped_by_the_same_rule() -> None:
    # Given a canary's diagnosis summary far beyond the limit
    summary = "s" * (MAX_SUMMARY_CHARS * 2)
    causes = ["c" * (MAX_TEXT_CHARS * 2)]
    diagnosis = Diagnosis.model_validate(
        {"code": "X", "severity": "FAILED", "summary": summary, "likely_causes": causes}
    )
    # Then it is cut like every other field
    assert diagnosis.summary == clip(summary, MAX_SUMMARY_CHARS)
    assert diagnosis.likely_causes == [clip(causes[0], MAX_TEXT_CHARS)]


def test_event_text_is_escaped_then_clipped_by_the_same_rule() -> None:
    # Given a reason with control characters, longer than its limit
    shown = printable("line one\nline two " + "x" * 300, 40)
    # Then the newline shows escaped, and the cut is the one clip rule's
    assert shown == clip("line one\\nline two " + "x" * 300, 40)
    assert len(shown) == 40
    assert shown.endswith(ELLIPSIS)


def test_blocking_reasons_are_clipped_by_the_same_rule() -> None:
    finding = not_analysed("z" * 5000, protocol="udp", server="10.1.1.10")
    assert finding.text.endswith(ELLIPSIS)


def test_an_ascii_marker_ends_a_clipped_subject() -> None:
    assert clip("x" * 120, 99, marker="...") == "x" * 96 + "..."
    assert clip("short", 99, marker="...") == "short"
    with pytest.raises(ValueError, match="at least one character"):
        clip("abcdef", 2, marker="...")
