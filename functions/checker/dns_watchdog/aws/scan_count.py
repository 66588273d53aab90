"""DynamoDB adapter: the bytes Logs Insights scanned for workload evidence per account and UTC
day, in the state table (one item each, `pk = "logscan#<account>#<day>"`, expiring two days
later), the way aws/analysis_count.py counts Reachability analyses.

A query's cost is known only once it ran (GetQueryResults' `statistics.bytesScanned`), so the
day's count is read before a query starts (none starts once it reached the budget) and the bytes
are added after (`ADD`, so concurrent checks never lose each other's bytes). Checks that start
together may each run one query past the budget: the overshoot is at most one query per check
running at that moment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.constants import SCAN_COUNT_KEY_PREFIX
from dns_watchdog.domain.errors import AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The item outlives its day by this much (the table's TTL attribute is `expiration`).
KEEP_AFTER_DAY = timedelta(days=2)


def scan_key(account: str, day: str) -> str:
    return f"{SCAN_COUNT_KEY_PREFIX}{account}#{day}"


class ScanCount:
    """One account's bytes scanned per day (client injectable for tests)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table_name = table_name
        self._dynamodb = client or boto3.client("dynamodb")

    def scanned(self, account: str, day: str) -> int:
        """The bytes counted for `account` on `day` so far. Raises AwsCallFailed."""
        try:
            item = self._dynamodb.get_item(
                TableName=self._table_name,
                Key={"pk": {"S": scan_key(account, day)}},
                ConsistentRead=True,
            ).get("Item", {})
        except (ClientError, BotoCoreError) as exc:
            raise AwsCallFailed(f"could not read the bytes scanned by {account}: {exc}") from exc
        return int(item.get("scanned", {}).get("N", "0"))

    def add(self, account: str, day: str, scanned: int) -> None:
        """Count `scanned` more bytes for `account` on `day`. Raises AwsCallFailed."""
        if scanned <= 0:
            return
        expires = datetime.combine(date.fromisoformat(day), time(), UTC) + KEEP_AFTER_DAY
        try:
            self._dynamodb.update_item(
                TableName=self._table_name,
                Key={"pk": {"S": scan_key(account, day)}},
                UpdateExpression="ADD scanned :n SET expiration = :expires",
                ExpressionAttributeValues={
                    ":n": {"N": str(scanned)},
                    ":expires": {"N": str(int(expires.timestamp()))},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise AwsCallFailed(f"could not count the bytes scanned by {account}: {exc}") from exc
