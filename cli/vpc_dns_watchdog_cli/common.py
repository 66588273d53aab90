"""What every command shares: exit codes, the error type, finding the stack's outputs."""

from __future__ import annotations

import argparse
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

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


def stack_output(stack_name: str, key: str, cloudformation: Any) -> str:
    """One output of the watchdog's stack (its function or table name)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise CliError(f"cannot read stack {stack_name}: {exc}") from exc
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output.get("OutputKey") == key:
            return str(output["OutputValue"])
    raise CliError(f"stack {stack_name} has no {key} output")
