"""`rollback`: ask the deployed checker to put a VPC's last good option set back.

    vpc-dns-watchdog rollback --vpc vpc-... [--account-id ID] [--region REGION]
        [--stack-region REGION] [--stack-name NAME | --function-name NAME] [--json]

The same request as the chat "Roll back" button: the checker decides with self-healing's guard
rails (the VPC tagged dhcp-watchdog:self-heal=true, its last judgement FAILED or DEGRADED on the
set it is on, the last good set verified recently and still there...), associates only its own
verified last good set, verifies it with the canaries and records who asked: the caller's
identity (sts get-caller-identity), or "cli" when it cannot be read. `--region` is the VPC's
region and, unless `--stack-region` says otherwise, where the watchdog's stack is.

Exit codes: 0 rolled back and verified OK; 1 refused, held back (the VPC changed meanwhile), or
rolled back but not verified OK; 2 usage errors; 3 the checker could not be asked, answered with
an error, or the association failed.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from vpc_dns_watchdog_cli.ask import STACK_OUTPUT, Progress, invoke_checker
from vpc_dns_watchdog_cli.common import (
    DEFAULT_STACK,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_WOULD_BREAK,
    CliError,
    stack_output,
)

# Who asked, as the checker accepts it (its rollback request's `requested_by`).
REQUESTED_BY_MAX_LENGTH = 200
_REQUESTED_BY = re.compile(r"[A-Za-z0-9 _+=,.@:/-]+")
FALLBACK_REQUESTED_BY = "cli"
# The checker may take up to its 2-minute timeout (canaries, refreshes); one attempt only: a
# retried invocation would ask for the rollback twice.
LAMBDA_CONFIG = Config(read_timeout=150, retries={"mode": "standard", "total_max_attempts": 1})


def _vpc_id(value: str) -> str:
    if not re.fullmatch(r"vpc-[0-9a-f]{8,17}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a VPC id (vpc-...)")
    return value


def register(commands: Any) -> None:
    rollback = commands.add_parser(
        "rollback",
        help="ask the checker to put a VPC's last option set verified healthy back",
    )
    rollback.add_argument("--vpc", required=True, type=_vpc_id, help="the VPC, vpc-...")
    rollback.add_argument("--account-id", help="organization mode: the VPC's account")
    rollback.add_argument(
        "--region", help="the VPC's region (default: your AWS configuration's, the stack's)"
    )
    rollback.add_argument(
        "--stack-region", help="the watchdog stack's region, when it differs from the VPC's"
    )
    rollback.add_argument("--stack-name", default=DEFAULT_STACK, help="the watchdog's stack")
    rollback.add_argument("--function-name", help="the checker function (skips CloudFormation)")
    rollback.add_argument("--json", action="store_true", help="print the checker's answer")
    rollback.set_defaults(run=run)


def requested_by(session: boto3.session.Session, region: str | None) -> str:
    """The caller's identity ARN, as the checker accepts it; "cli" when it cannot be read."""
    try:
        arn = str(session.client("sts", region_name=region).get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError, KeyError):
        return FALLBACK_REQUESTED_BY
    arn = arn[:REQUESTED_BY_MAX_LENGTH]
    return arn if _REQUESTED_BY.fullmatch(arn) else FALLBACK_REQUESTED_BY


def request_of(args: argparse.Namespace, who: str) -> dict[str, Any]:
    event: dict[str, Any] = {"action": "rollback", "vpc_id": args.vpc}
    if args.account_id:
        event["account_id"] = args.account_id
    if args.region:
        event["region"] = args.region
    event["requested_by"] = who
    return event


def render(result: dict[str, Any], out: TextIO) -> int:
    """Print what came of the request; return the exit code."""
    status = result.get("status")
    if status in {"error", "rejected"}:
        raise CliError(f"the checker said: {result.get('error')}")
    summary = result.get("summary") or (
        f"Rollback of {result.get('vpc_id')} {status}: {result.get('reason')}."
    )
    print(summary, file=out)
    if status == "rolled_back":
        return EXIT_OK if result.get("verified_verdict") == "OK" else EXIT_WOULD_BREAK
    if status == "failed":
        return EXIT_ERROR
    if status in {"refused", "held_back"}:
        return EXIT_WOULD_BREAK
    raise CliError(f"unexpected answer from the checker: {result!r}")


class _InStackRegion:
    """The session as `stack_output` and `invoke_checker` use it, its clients made in the
    stack's region (Lambda without retries: a rollback is never requested twice)."""

    def __init__(self, session: boto3.session.Session, region: str | None) -> None:
        self._session = session
        self.region_name = region or getattr(session, "region_name", None)

    def client(self, service: str, **options: Any) -> Any:
        if service == "lambda":
            options.setdefault("config", LAMBDA_CONFIG)
        return self._session.client(service, region_name=self.region_name, **options)  # type: ignore[call-overload]

    def get_credentials(self) -> Any:
        return self._session.get_credentials()


def run(args: argparse.Namespace, session: boto3.session.Session, out: TextIO, err: TextIO) -> int:
    stack_region = args.stack_region or args.region
    in_stack_region = _InStackRegion(session, stack_region)
    function = args.function_name or stack_output(args.stack_name, STACK_OUTPUT, in_stack_region)
    event = request_of(args, requested_by(session, stack_region))
    print(
        f"Asking {function} to roll {args.vpc} back (requested by {event['requested_by']})...",
        file=err,
    )
    with Progress(err, every_s=5.0):
        result = invoke_checker(function, event, in_stack_region)
    if args.json:
        print(json.dumps(result, indent=2), file=out)
    if not isinstance(result, dict):
        raise CliError(f"unexpected answer from the checker: {result!r}")
    return render(result, out)
