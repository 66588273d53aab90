"""The command's usage errors and how it reads the checker's answer (pure: no AWS called)."""

from __future__ import annotations

import io

import pytest
from vpc_dns_watchdog_cli.ask import render
from vpc_dns_watchdog_cli.common import CliError
from vpc_dns_watchdog_cli.main import main

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"


def test_usage_errors_exit_2() -> None:
    assert main(["check"], out=io.StringIO(), err=io.StringIO()) == 2  # --vpc is required
    assert main(["nonsense"], out=io.StringIO(), err=io.StringIO()) == 2


def test_preflight_answer_is_printed_per_vpc_and_gates() -> None:
    out = io.StringIO()
    result = {
        "status": "preflight",
        "dhcp_options_id": "dopt-0dead0001",
        "domain_name_servers": ["10.1.1.10"],
        "lint": [{"code": "NOBODY_AT_ADDRESS", "severity": "ERROR", "message": "nobody."}],
        "vpcs": [
            {
                "vpc_id": VPC,
                "verdict": "FAILED",
                "diagnosis": "CONFIGURED_SERVER_UNREACHABLE",
                "summary": "10.1.1.10 never answered.",
            }
        ],
        "would_break": [VPC],
    }
    assert render(result, out) == 1
    printed = out.getvalue()
    assert "Preflight of dopt-0dead0001 (10.1.1.10)" in printed
    assert "lint [ERROR] NOBODY_AT_ADDRESS: nobody." in printed
    assert f"{VPC}: FAILED (CONFIGURED_SERVER_UNREACHABLE)" in printed
    assert f"Would break: {VPC}" in printed


@pytest.mark.parametrize(("verdict", "code"), [("OK", 0), ("DEGRADED", 0), ("UNVERIFIED", 1)])
def test_gate_by_verdict(verdict: str, code: int) -> None:
    result = {"status": "checked", "vpcs": [{"vpc_id": VPC, "verdict": verdict}]}
    assert render(result, io.StringIO()) == code


def test_no_vpc_checked_does_not_pass_the_gate() -> None:
    assert render({"status": "checked", "vpcs": []}, io.StringIO()) == 1


def test_a_rejected_request_is_an_error() -> None:
    with pytest.raises(CliError, match="invalid preflight"):
        render({"status": "rejected", "error": "invalid preflight: x"}, io.StringIO())
