"""`vpc-dns-watchdog status`: every watched VPC as the state table holds it, one row each."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from vpc_dns_watchdog_cli.common import EXIT_OK, add_stack_arguments, aws_problem, stack_output
from vpc_dns_watchdog_cli.terminal import for_terminal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STACK_OUTPUT = "StateTableName"
STATE_KEY_PREFIX = "vpc#"  # the checker's state items (dns_watchdog/state.py)
COLUMNS = (
    "account",
    "region",
    "VPC",
    "verdict",
    "workloads",
    "option set",
    "last good",
    "last checked",
    "open incident",
)


@dataclass(frozen=True)
class Row:
    account: str
    region: str
    vpc_id: str
    verdict: str
    workloads: str
    option_set: str
    last_good: str
    last_checked: str
    open_incident: str

    def cells(self) -> tuple[str, ...]:
        return (
            self.account,
            self.region,
            self.vpc_id,
            self.verdict,
            self.workloads,
            self.option_set,
            self.last_good,
            self.last_checked,
            self.open_incident,
        )


def rows_from_items(items: Iterable[Mapping[str, Any]], *, account: str, region: str) -> list[Row]:
    """The state items (plain values) as rows, failing VPCs first, then by VPC id."""
    rows = []
    for item in items:
        if not str(item.get("pk", "")).startswith(STATE_KEY_PREFIX):
            continue  # idempotency records share the table
        last_good = item.get("last_good_option_set_id")
        verified = item.get("last_good_verified_at")
        since = item.get("incident_started_at")
        rows.append(
            Row(
                # Organization mode: items outside the home place name their account and region.
                account=str(item.get("account_id") or account),
                region=str(item.get("region") or region),
                vpc_id=str(item["vpc_id"]),
                verdict=str(item.get("verdict", "?")),
                workloads=_workloads(item.get("workloads")),
                option_set=str(item.get("option_set_id", "?")),
                last_good=f"{last_good} ({verified})" if last_good else "-",
                last_checked=str(item.get("last_checked_at") or "-"),
                open_incident=f"since {since}" if item.get("incident_open") else "no",
            )
        )
    rank = {"FAILED": 0, "DEGRADED": 1, "UNVERIFIED": 2, "OK": 3}
    return sorted(rows, key=lambda r: (rank.get(r.verdict, 0), r.vpc_id))


def _workloads(census: Any) -> str:
    """The workloads cached with the VPC's state, and when they were read ("-": never read, as
    they are read only when an alert goes out)."""
    if not isinstance(census, Mapping) or census.get("workloads") is None:
        return "-"
    return f"{int(census['workloads'])} ({census.get('read_at', '?')})"


def render(rows: Iterable[Row]) -> str:
    """A plain-text table, columns padded to their widest cell. Cells come from the state table
    (canary and AWS text among them): each is printed through the terminal rule (`terminal.py`),
    and padded as it is shown."""
    table = [COLUMNS, *(tuple(map(for_terminal, row.cells())) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in table
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def scan_state(client: DynamoDBClient, table: str) -> list[dict[str, Any]]:
    deserializer = TypeDeserializer()
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="begins_with(pk, :prefix)",
        ExpressionAttributeValues={":prefix": {"S": STATE_KEY_PREFIX}},
        ConsistentRead=True,
    ):
        items += [{k: deserializer.deserialize(v) for k, v in i.items()} for i in page["Items"]]
    return items


def run(args: argparse.Namespace, session: boto3.session.Session, out: TextIO, err: TextIO) -> int:
    region = session.region_name or "?"
    table = args.table or stack_output(args.stack_name, STACK_OUTPUT, session)
    try:
        account = session.client("sts").get_caller_identity()["Account"]
        items = scan_state(session.client("dynamodb"), table)
    except (BotoCoreError, ClientError) as exc:
        raise aws_problem(exc, session, f"read the state table {table}") from exc
    rows = rows_from_items(items, account=account, region=region)
    out.write(render(rows) if rows else f"No VPC state in {for_terminal(table)} yet.\n")
    return EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("status", help="the watched VPCs as the state table holds them")
    add_stack_arguments(parser)
    parser.add_argument("--table", help="the state table (default: the stack's StateTableName)")
    parser.set_defaults(run=run)
