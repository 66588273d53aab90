"""The command's usage errors and how it reads the checker's answer (pure: no AWS called)."""

from __future__ import annotations

import io
import json
import threading

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


class _Err(io.StringIO):
    """stderr that tells when the command said it is still checking."""

    def __init__(self) -> None:
        super().__init__()
        self.ticked = threading.Event()

    def write(self, text: str) -> int:
        if "still checking" in text:
            self.ticked.set()
        return super().write(text)


class _SlowChecker:
    """A Lambda client whose checker answers only once the command has shown progress."""

    def __init__(self, err: _Err) -> None:
        self.err = err

    def client(self, service: str) -> _SlowChecker:
        assert service == "lambda"
        return self

    def invoke(self, **_: object) -> dict[str, object]:
        assert self.err.ticked.wait(10), "no progress shown while the checker worked"
        body = json.dumps({"status": "checked", "vpcs": [{"vpc_id": VPC, "verdict": "OK"}]})
        return {"StatusCode": 200, "Payload": io.BytesIO(body.encode())}


def test_progress_is_shown_while_the_checker_works() -> None:
    err = _Err()
    out = io.StringIO()
    argv = ["check", "--vpc", VPC, "--function-name", "checker", "--progress-every", "0.01"]

    code = main(argv, session=_SlowChecker(err), out=out, err=err)  # type: ignore[arg-type]

    assert code == 0
    lines = err.getvalue().splitlines()
    assert lines[0] == f"Asking checker; the canaries probe DNS in {VPC}..."
    assert lines[1].startswith("  ... still checking (")
    assert lines[-1].startswith("  answered after ")
    assert f"{VPC}: OK" in out.getvalue()
