"""What every command shares: exit codes, the error type, finding the stack's outputs, and one
clear line for each way AWS access goes wrong (no region, no or expired credentials, the wrong
account) instead of a traceback: exit code 3, never the gate's "would break" 1."""

from __future__ import annotations

import argparse
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

EXIT_OK = 0
# A VPC would break / is FAILED, or could not be verified.
EXIT_WOULD_BREAK = 1
EXIT_USAGE = 2
# The watchdog could not be found or asked, or it answered with an error.
EXIT_ERROR = 3
DEFAULT_STACK = "vpc-dns-watchdog"


class CliError(RuntimeError):
    """The watchdog could not be found, asked, or it answered with an error."""


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack-name", default=DEFAULT_STACK, help="the watchdog's stack")
    parser.add_argument("--region", help="the stack's region (default: your AWS configuration)")


# Error codes that say the credentials themselves are no good.
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
REJECTED_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "AuthFailure",
        "InvalidAccessKeyId",
    }
)
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
NOT_FOUND_CODES = frozenset({"ResourceNotFoundException", "ValidationError"})


def where(session: Any) -> str:
    """The account and region these credentials act in, as far as they can tell."""
    region = getattr(session, "region_name", None) or "no region"
    try:
        account = str(session.client("sts").get_caller_identity()["Account"])
    except (BotoCoreError, ClientError, AttributeError):
        return f"region {region}"
    return f"account {account}, region {region}"


# Problems of the caller's own AWS setup, found before any request (exception types -> words).
_SETUP_PROBLEMS: tuple[tuple[tuple[type[Exception], ...], str], ...] = (
    (
        (NoRegionError,),
        "no AWS region is configured; pass --region, or set AWS_REGION, or give your AWS "
        "profile a region (aws configure)",
    ),
    (
        (NoCredentialsError, PartialCredentialsError),
        "no AWS credentials found; run `aws configure` or `aws sso login`, or set AWS_PROFILE",
    ),
    ((ProfileNotFound,), "{exc} (check AWS_PROFILE)"),
    (
        (TokenRetrievalError, SSOError, CredentialRetrievalError),
        "your AWS credentials could not be refreshed ({exc}); log in again (aws sso login)",
    ),
    ((BotocoreConnectionError,), "AWS could not be reached ({exc})"),
)


def aws_problem(exc: BotoCoreError | ClientError, session: Any, doing: str) -> CliError:
    """One line saying what is wrong with the AWS access and what to do about it."""
    if isinstance(exc, ClientError):
        return _client_problem(exc, session, doing)
    for types, words in _SETUP_PROBLEMS:
        if isinstance(exc, types):
            return CliError(f"cannot {doing}: " + words.format(exc=exc))
    return CliError(f"cannot {doing}: {exc}")


def _client_problem(exc: ClientError, session: Any, doing: str) -> CliError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")).strip()
    if code in EXPIRED_CODES:
        return CliError(
            f"cannot {doing}: your AWS credentials have expired ({code}); refresh them "
            "(aws sso login, or new keys) and try again"
        )
    if code in REJECTED_CODES:
        return CliError(
            f"cannot {doing}: AWS rejected your credentials ({code}); check AWS_PROFILE or "
            "your access keys"
        )
    if code in NOT_FOUND_CODES and ("not exist" in message or "not found" in message.lower()):
        return CliError(
            f"cannot {doing}: not found in {where(session)} ({message}); is this the "
            "watchdog's account and region? (AWS_PROFILE, --region, --stack-name)"
        )
    if code in DENIED_CODES:
        return CliError(f"cannot {doing}: {where(session)} is not allowed to ({code}: {message})")
    return CliError(f"cannot {doing}: {code}: {message}" if code else f"cannot {doing}: {exc}")


def stack_output(stack_name: str, key: str, session: Any) -> str:
    """One output of the watchdog's stack (its function or table name)."""
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise aws_problem(exc, session, f"read stack {stack_name}") from exc
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output.get("OutputKey") == key:
            return str(output["OutputValue"])
    raise CliError(f"stack {stack_name} has no {key} output")
