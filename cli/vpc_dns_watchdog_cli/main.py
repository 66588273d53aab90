"""`vpc-dns-watchdog <command>`: one argparse dispatcher, one module per command.

    vpc-dns-watchdog preflight dopt-... [--vpc vpc-...] [--stack-name NAME | --function-name NAME]
    vpc-dns-watchdog check --vpc vpc-... [--stack-name NAME | --function-name NAME]
    vpc-dns-watchdog status [--stack-name NAME | --table NAME]
    vpc-dns-watchdog rollback --vpc vpc-... [--account-id ID] [--region REGION]

Exit codes: 0 every VPC OK (or DEGRADED) / rolled back and verified OK; 1 a VPC would break / is
FAILED, could not be verified, or a rollback was refused or not verified OK; 2 usage errors; 3
the watchdog could not be asked or answered with an error (a failed association included) - AWS
access problems included (no region, missing or expired credentials, the wrong account), each
said in one line: a pipeline that gates on 1 must not read a broken login as "would break".
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from vpc_dns_watchdog_cli import ask, rollback, status
from vpc_dns_watchdog_cli.common import EXIT_ERROR, EXIT_USAGE, CliError, aws_problem
from vpc_dns_watchdog_cli.terminal import for_terminal


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpc-dns-watchdog",
        description="Ask the deployed vpc-dns-watchdog about DNS for VPC Lambdas.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ask.register(commands)
    status.register(commands)
    rollback.register(commands)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    session: boto3.session.Session | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        session = session or boto3.session.Session(region_name=args.region)
        code: int = args.run(args, session, out, err)
    except (BotoCoreError, ClientError) as exc:
        # Whatever a command did not put in words itself (a client it could not even build)
        print(f"vpc-dns-watchdog: {aws_problem(exc, session, args.command)}", file=err)
        return EXIT_ERROR
    except CliError as exc:
        # The message may quote the checker or AWS (an error text, a stack output).
        print(f"vpc-dns-watchdog: {for_terminal(exc)}", file=err)
        return EXIT_ERROR
    return code


if __name__ == "__main__":
    sys.exit(main())
