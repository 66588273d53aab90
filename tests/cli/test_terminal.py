"""The CLI's terminal rule: text from canaries, the state table and AWS never reaches the terminal
as control characters (escape sequences, bell, carriage return, backspace, C1, bidi overrides);
each is shown as a visible escape (pure: no AWS called)."""

from __future__ import annotations

import io
import json
import unicodedata

import pytest
from vpc_dns_watchdog_cli.ask import render
from vpc_dns_watchdog_cli.main import main
from vpc_dns_watchdog_cli.status import render as render_status
from vpc_dns_watchdog_cli.status import rows_from_items
from vpc_dns_watchdog_cli.terminal import for_terminal

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
# A DNS answer as a hostile server would craft it: an OSC 8 hyperlink, a colour, a bell, a
# carriage return that overwrites the line, backspaces, a C1 CSI and a right-to-left override.
HOSTILE = (
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[31mred\x1b[0m\x07"
    "\rOK\x08\x08 \x9b2J \u202etxt.exe\u2066 \u2028end"
)


def assert_inert(text: str) -> None:
    """Nothing a terminal acts on: no control, format or separator character at all (the
    line breaks between printed lines aside)."""
    for line in text.split("\n"):
        bad = [c for c in line if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp", "Cs"}]
        assert bad == [], f"{line!r} holds {bad!r}"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31m", "\\x1b[31m"),
        ("ding\x07", "ding\\x07"),
        ("a\rb\nc\td", "a\\rb\\nc\\td"),
        ("x\x08\x7f", "x\\x08\\x7f"),
        ("\x9b2J", "\\x9b2J"),
        ("\u202eexe.txt\u202c", "\\u202eexe.txt\\u202c"),
        ("\u2066iso\u2069 \u200b \u2028", "\\u2066iso\\u2069 \\u200b \\u2028"),
        ("\U000e0041", "\\U000e0041"),  # a tag character (format)
        ("\ud800", "\\ud800"),  # a lone surrogate, from JSON
        # Everything else is printed as it is
        ("sts.us-east-1.amazonaws.com A 52.94.0.1", "sts.us-east-1.amazonaws.com A 52.94.0.1"),
        ("Zahlungsverkehr Prod ü 支付", "Zahlungsverkehr Prod ü 支付"),
    ],
)
def test_the_rule(raw: str, shown: str) -> None:
    assert for_terminal(raw) == shown


def test_a_hostile_canary_answer_is_printed_escaped() -> None:
    # Given the checker quotes a hostile DNS answer in a diagnosis summary, a code and an error
    result = {
        "status": "preflight",
        "dhcp_options_id": "dopt-0dead0001",
        "domain_name_servers": ["10.1.1.10\x1b[2J"],
        "lint": [{"code": "NOBODY_AT_ADDRESS", "severity": "ERROR", "message": HOSTILE}],
        "vpcs": [
            {
                "vpc_id": VPC,
                "verdict": "FAILED",
                "diagnosis": "UNEXPECTED_ANSWER\x07",
                "summary": f"sts answered {HOSTILE}",
            },
            {"vpc_id": "vpc-0bad", "status": "error", "error": f"no such VPC {HOSTILE}"},
        ],
        "would_break": [VPC + "\r"],
    }
    out = io.StringIO()

    assert render(result, out) == 1

    printed = out.getvalue()
    assert_inert(printed)
    assert "\\x1b]8;;https://evil.example\\x07click" in printed
    assert "\\rOK\\x08\\x08 \\x9b2J \\u202etxt.exe\\u2066 \\u2028end" in printed
    assert f"{VPC}: FAILED (UNEXPECTED_ANSWER\\x07)" in printed
    assert "Preflight of dopt-0dead0001 (10.1.1.10\\x1b[2J)" in printed
    assert f"Would break: {VPC}\\r" in printed


def test_the_status_table_escapes_what_the_state_holds() -> None:
    item = {
        "pk": "vpc#vpc-000000000000aaaa",
        "vpc_id": "vpc-000000000000aaaa",
        "verdict": "FAILED",
        "option_set_id": "dopt-1\x1b[8m",
        "last_checked_at": "2024-05-14T09:20:00Z\r",
        "incident_open": True,
        "incident_started_at": "\u202e2024",
    }
    table = render_status(rows_from_items([item], account="123456789012", region="us-east-1"))

    assert_inert(table)
    row = table.splitlines()[1]
    assert "dopt-1\\x1b[8m" in row
    assert "2024-05-14T09:20:00Z\\r" in row
    assert row.endswith("since \\u202e2024")


class _Checker:
    """A Lambda client whose checker answers `payload` (FunctionError when `failed`)."""

    def __init__(self, payload: object, *, failed: bool = False) -> None:
        self.payload = payload
        self.failed = failed

    def client(self, service: str) -> _Checker:
        return self

    def invoke(self, **_: object) -> dict[str, object]:
        body = io.BytesIO(json.dumps(self.payload).encode())
        error = {"FunctionError": "Unhandled"} if self.failed else {}
        return {"StatusCode": 200, "Payload": body, **error}


@pytest.mark.parametrize(
    "checker",
    [
        _Checker({"errorMessage": f"boom {HOSTILE}"}, failed=True),
        _Checker({"status": "rejected", "error": f"invalid {HOSTILE}"}),
        _Checker(f"not a dict {HOSTILE}"),
    ],
)
def test_errors_quoting_the_checker_are_escaped(checker: _Checker) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["check", "--vpc", VPC, "--function-name", "checker\x1b[2J", "--progress-every", "0"]

    code = main(argv, session=checker, out=out, err=err)  # type: ignore[arg-type]

    assert code == 3
    assert_inert(err.getvalue())
    assert "checker\\x1b[2J" in err.getvalue()
    assert "\\x1b]8;;https://evil.example\\x07click" in err.getvalue()


def test_the_json_answer_is_inert_too() -> None:
    out = io.StringIO()
    payload = {"status": "checked", "vpcs": [{"vpc_id": VPC, "verdict": "OK", "summary": HOSTILE}]}
    argv = ["check", "--vpc", VPC, "--function-name", "c", "--json", "--progress-every", "0"]

    assert main(argv, session=_Checker(payload), out=out, err=io.StringIO()) == 0  # type: ignore[arg-type]

    assert_inert(out.getvalue())
    printed, _ = json.JSONDecoder().raw_decode(out.getvalue())
    assert printed == payload
