"""`preflight` and `check`: invoke the deployed checker and gate a pipeline on its answer.

    vpc-dns-watchdog preflight dopt-... [--vpc vpc-...] [--stack-name NAME | --function-name NAME]
    vpc-dns-watchdog check --vpc vpc-... [--stack-name NAME | --function-name NAME]

Exit codes: 0 every VPC OK (or DEGRADED); 1 a VPC would break / is FAILED, or could not be
verified; 2 usage errors; 3 the checker could not be asked or answered with an error.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from vpc_dns_watchdog_cli.common import (
    EXIT_OK,
    EXIT_WOULD_BREAK,
    CliError,
    add_stack_arguments,
    aws_problem,
    stack_output,
)
from vpc_dns_watchdog_cli.terminal import for_terminal as shown

STACK_OUTPUT = "CheckerFunctionName"
# A VPC with one of these verdicts fails the gate: broken, or not verifiable.
GATE_FAILS = frozenset({"FAILED", "UNVERIFIED"})


def register(commands: Any) -> None:
    preflight = commands.add_parser(
        "preflight", help="predict what associating an option set would do (changes nothing)"
    )
    preflight.add_argument("dhcp_options_id", help="the option set to test, dopt-...")
    preflight.add_argument(
        "--vpc", action="append", default=[], help="a VPC to test (repeatable; default: all)"
    )
    check = commands.add_parser("check", help="check VPCs now (the manual check)")
    check.add_argument("--vpc", action="append", required=True, help="a VPC (repeatable)")
    for command in (preflight, check):
        add_stack_arguments(command)
        command.add_argument("--function-name", help="the checker function (skips CloudFormation)")
        command.add_argument("--reason", default="", help="shown in the checker's log / alerts")
        command.add_argument("--json", action="store_true", help="print the checker's answer")
        command.add_argument(
            "--progress-every",
            type=float,
            default=5.0,
            metavar="SECONDS",
            help="say it is still checking this often (0: never)",
        )
        command.set_defaults(run=run)


def invoke_checker(function_name: str, event: dict[str, Any], session: Any) -> Any:
    try:
        response = session.client("lambda").invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
    except (ClientError, BotoCoreError) as exc:
        raise aws_problem(exc, session, f"invoke {function_name}") from exc
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = payload.get("errorMessage") if isinstance(payload, dict) else payload
        raise CliError(f"the checker failed: {message}")
    return payload


def render(result: dict[str, Any], out: TextIO) -> int:
    """Print the per-VPC answer readably; return the exit code. Every value in it came from the
    checker (canary findings, AWS): each is printed through the terminal rule (`terminal.py`)."""
    status = result.get("status")
    if status in {"error", "rejected"}:
        raise CliError(f"the checker said: {result.get('error')}")
    if status == "preflight":
        servers = ", ".join(map(str, result.get("domain_name_servers", []))) or "no DNS servers"
        print(f"Preflight of {shown(result['dhcp_options_id'])} ({shown(servers)})", file=out)
        for finding in result.get("lint", []):
            severity, code, message = (
                shown(finding.get(key)) for key in ("severity", "code", "message")
            )
            print(f"  lint [{severity}] {code}: {message}", file=out)
    vpcs = result.get("vpcs", [])
    if not vpcs:
        print("No VPC was checked (no VPC with canaries?).", file=out)
        return EXIT_WOULD_BREAK
    failing = False
    for vpc in vpcs:
        verdict = vpc.get("verdict") or vpc.get("status", "error").upper()
        failing = failing or verdict in GATE_FAILS or vpc.get("status") == "error"
        print(_vpc_line(vpc, verdict), file=out)
        if vpc.get("summary"):
            print(f"      {shown(vpc['summary'])}", file=out)
    if status == "preflight":
        would_break = ", ".join(map(str, result.get("would_break", []))) or "none"
        print(f"Would break: {shown(would_break)}", file=out)
    return EXIT_WOULD_BREAK if failing else EXIT_OK


def _vpc_line(vpc: dict[str, Any], verdict: str) -> str:
    line = f"  {shown(vpc.get('vpc_id', vpc.get('target', '?')))}: {shown(verdict)}"
    if vpc.get("diagnosis"):
        line += f" ({shown(vpc['diagnosis'])})"
    if vpc.get("error"):
        line += f" - {shown(vpc['error'])}"
    return line


class Progress:
    """While the checker works (canaries, refreshes: up to its 2-minute timeout), say every
    `every_s` seconds that it still does, so a person or a pipeline log sees it is alive."""

    def __init__(self, err: TextIO, *, every_s: float) -> None:
        self._err = err
        self._every_s = every_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self.ticks = 0

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if self._every_s > 0:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
        print(f"  answered after {time.monotonic() - self._started:.1f} s", file=self._err)

    def _tick(self) -> None:
        while not self._done.wait(self._every_s):
            self.ticks += 1
            elapsed = time.monotonic() - self._started
            print(f"  ... still checking ({elapsed:.0f} s)", file=self._err, flush=True)


def run(args: argparse.Namespace, session: boto3.session.Session, out: TextIO, err: TextIO) -> int:
    if args.command == "preflight":
        event: dict[str, Any] = {"action": "preflight", "dhcp_options_id": args.dhcp_options_id}
        if args.vpc:
            event["vpc_ids"] = args.vpc
    else:
        event = {"action": "check", "vpc_ids": args.vpc}
    if args.reason:
        event["reason"] = args.reason
    function = args.function_name or stack_output(args.stack_name, STACK_OUTPUT, session)
    where = ", ".join(args.vpc) if args.vpc else "every watched VPC"
    print(f"Asking {shown(function)}; the canaries probe DNS in {shown(where)}...", file=err)
    with Progress(err, every_s=args.progress_every):
        result = invoke_checker(function, event, session)
    if args.json:
        print(json.dumps(result, indent=2), file=out)
    if not isinstance(result, dict):
        raise CliError(f"unexpected answer from the checker: {result!r}")  # main() escapes it
    return render(result, out)
