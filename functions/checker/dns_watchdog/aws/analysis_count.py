"""DynamoDB adapter: the Reachability analyses started per account and UTC day, in the state
table (one item each, `pk = "analyses#<account>#<day>"`, expiring two days later).

A reservation is one conditional `UpdateItem` (ADD within the limit): concurrent checks of the
same account, in any region, never start more analyses together than the day's budget.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.aws.calls import read_error
from dns_watchdog.constants import ANALYSIS_COUNT_KEY_PREFIX
from dns_watchdog.domain.errors import AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The item outlives its day by this much (the table's TTL attribute is `expiration`).
KEEP_AFTER_DAY = timedelta(days=2)


def count_key(account: str, day: str) -> str:
    return f"{ANALYSIS_COUNT_KEY_PREFIX}{account}#{day}"


class AnalysisCount:
    """Reserves analyses against one account's daily budget (client injectable for tests)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table_name = table_name
        self._dynamodb = client or boto3.client("dynamodb")

    def reserve(self, account: str, day: str, analyses: int, limit: int) -> bool:
        """Count `analyses` more for `account` on `day` if the total stays within `limit`;
        False (nothing counted) when it would not. Raises AwsCallFailed when DynamoDB fails."""
        if analyses > limit:
            return False
        expires = datetime.combine(date.fromisoformat(day), time(), UTC) + KEEP_AFTER_DAY
        try:
            self._dynamodb.update_item(
                TableName=self._table_name,
                Key={"pk": {"S": count_key(account, day)}},
                UpdateExpression="ADD analyses :n SET expiration = :expires",
                ConditionExpression="attribute_not_exists(analyses) OR analyses <= :room",
                ExpressionAttributeValues={
                    ":n": {"N": str(analyses)},
                    ":room": {"N": str(limit - analyses)},
                    ":expires": {"N": str(int(expires.timestamp()))},
                },
            )
        except ClientError as exc:
            if read_error(exc).code == "ConditionalCheckFailedException":
                return False
            raise AwsCallFailed(f"could not count the analyses of {account}: {exc}") from exc
        except BotoCoreError as exc:
            raise AwsCallFailed(f"could not count the analyses of {account}: {exc}") from exc
        return True
