"""The command on a machine whose AWS access is missing or wrong says so in one line and exits 3.

A change pipeline gates on exit code 1 ("would break / FAILED"); a missing region, missing or
expired credentials, or credentials of the wrong account must never read as that, nor as a
traceback. Pure: AWS is never called (no region and no credentials fail before any request; the
others are answered by botocore hooks on the session, as AWS would answer).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import pytest
from vpc_dns_watchdog_cli.common import EXIT_ERROR
from vpc_dns_watchdog_cli.main import main

from devtools.lambdakit import api_error

pytestmark = pytest.mark.unit

COMMANDS = [
    ["status"],
    ["preflight", "dopt-0123456789abcdef0"],
    ["check", "--vpc", "vpc-0a1b2c3d4e5f60718"],
    ["check", "--vpc", "vpc-0a1b2c3d4e5f60718", "--function-name", "vpc-dns-watchdog-checker"],
]
IDS = ["status", "preflight", "check", "check --function-name"]


@pytest.fixture
def no_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without AWS configuration: no region, no credentials, no profile files."""
    for variable in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookup


def run(argv: list[str], session: Any = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, session=session, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def said_in_one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if not line.startswith(("Asking ", "  "))]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.usefixtures("no_aws_configuration")
@pytest.mark.parametrize("argv", COMMANDS, ids=IDS)
def test_no_region_is_one_line_and_exit_3(argv: list[str]) -> None:
    code, out, err = run(argv)
    assert code == EXIT_ERROR
    line = said_in_one_line(err)
    assert "no AWS region" in line
    assert "--region" in line
    assert out == ""


@pytest.mark.usefixtures("no_aws_configuration")
@pytest.mark.parametrize("argv", COMMANDS, ids=IDS)
def test_no_credentials_is_one_line_and_exit_3(argv: list[str]) -> None:
    code, _, err = run([*argv, "--region", "eu-west-1"])
    assert code == EXIT_ERROR
    assert "no AWS credentials found" in said_in_one_line(err)


def answering(responses: dict[str, tuple[str, int, str]]) -> boto3.session.Session:
    """A session whose calls AWS answers with these errors (operation -> code, status, message);
    GetCallerIdentity names account 999999999999."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    session = boto3.session.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x", region_name="eu-west-1"
    )

    def answer(model: Any, **_: Any) -> Any:
        if model.name == "GetCallerIdentity" and model.name not in responses:
            return AWSResponse("local://sts", 200, HTTPHeaders(), None), {
                "Account": "999999999999",
                "Arn": "arn:aws:iam::999999999999:user/someone",
                "UserId": "AIDAEXAMPLE",
                "ResponseMetadata": {"HTTPStatusCode": 200},
            }
        code, status, message = responses.get(model.name, ("InternalFailure", 500, "unexpected"))
        http, parsed = api_error(code, status)
        parsed["Error"]["Message"] = message
        return http, parsed

    session.events.register("before-call", answer)
    return session


@pytest.mark.parametrize("argv", COMMANDS, ids=IDS)
@pytest.mark.parametrize(
    "code",
    ["ExpiredToken", "ExpiredTokenException", "RequestExpired"],
)
def test_expired_credentials_are_one_line_and_exit_3(argv: list[str], code: str) -> None:
    failing = {
        op: (code, 400, "The security token included in the request is expired")
        for op in ("DescribeStacks", "Invoke", "GetCallerIdentity", "Scan")
    }
    exit_code, _, err = run(argv, answering(failing))
    assert exit_code == EXIT_ERROR
    assert "credentials have expired" in said_in_one_line(err)


def test_the_wrong_account_is_named_and_exits_3() -> None:
    # Given credentials of another account, where the watchdog's stack does not exist
    session = answering(
        {
            "DescribeStacks": (
                "ValidationError",
                400,
                "Stack with id vpc-dns-watchdog does not exist",
            )
        }
    )
    code, _, err = run(["preflight", "dopt-0123456789abcdef0"], session)
    assert code == EXIT_ERROR
    line = said_in_one_line(err)
    assert "account 999999999999, region eu-west-1" in line
    assert "watchdog's account and region" in line


def test_a_function_of_the_wrong_account_is_named_and_exits_3() -> None:
    session = answering(
        {"Invoke": ("ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:...")}
    )
    code, _, err = run(
        ["check", "--vpc", "vpc-0a1b2c3d4e5f60718", "--function-name", "checker"], session
    )
    assert code == EXIT_ERROR
    assert "account 999999999999, region eu-west-1" in said_in_one_line(err)


def test_rejected_credentials_are_one_line_and_exit_3() -> None:
    session = answering({"DescribeStacks": ("InvalidClientTokenId", 403, "invalid token")})
    code, _, err = run(["status"], session)
    assert code == EXIT_ERROR
    assert "AWS rejected your credentials" in said_in_one_line(err)
