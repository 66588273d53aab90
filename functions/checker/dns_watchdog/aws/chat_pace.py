"""Chat posts paced across every checker running at once (Amazon Q Developer's channel rate).

Amazon Q Developer in chat applications throttles a channel above 10 notifications a second and
drops what it throttles. An organization sweep runs up to its maximum concurrency of checkers at
once, each of which may page: a limiter inside one process cannot see the others. So every chat
post first claims a slot of the current wall-clock second in the state table (one conditional
`UpdateItem` adding 1 to that second's counter while it is under the limit, the item expiring a
minute later); a full second means waiting for the next one.

The claim never blocks a page: past its deadline (the run's spare time) or when DynamoDB fails,
the post goes out unpaced and the log says so (a chat post the channel may drop is still better
than none, and the e-mail page went out before).

Hand-written rather than a library rate limiter: the count must be shared by every execution
environment, through the table the checker already owns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.aws.calls import read_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Amazon Q Developer's channel limit is 10 a second; a margin for posts from elsewhere.
CHAT_POSTS_PER_SECOND = 8
_KEY_PREFIX = "chat-rate#"
_EXPIRES_AFTER_S = 60


class ChatPace:
    """Claims a slot of the channel's per-second rate before each chat post."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        per_second: int = CHAT_POSTS_PER_SECOND,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second < 1:
            raise ValueError("at least one chat post a second")
        self._table = table_name
        self._dynamodb = client
        self._per_second = per_second
        self._wall = wall
        self._sleep = sleep
        self._monotonic = monotonic

    def claim(self, deadline: float) -> str | None:
        """Wait for a slot until `deadline` (monotonic seconds); None when one was claimed,
        else why the post goes out unpaced."""
        while True:
            second = math.floor(self._wall())
            try:
                if self._claim(second):
                    return None
            except (ClientError, BotoCoreError) as exc:
                return f"the chat rate could not be claimed ({read_error(exc)})"
            wait = second + 1 - self._wall()
            if self._monotonic() + wait > deadline:
                return "no time left in this run to wait for a chat slot"
            self._sleep(max(0.0, wait))

    def _claim(self, second: int) -> bool:
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"{_KEY_PREFIX}{second}"}},
                UpdateExpression="ADD posts :one SET expiration = :expires",
                ConditionExpression="attribute_not_exists(posts) OR posts < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self._per_second)},
                    ":expires": {"N": str(second + _EXPIRES_AFTER_S)},
                },
            )
        except ClientError as exc:
            if read_error(exc).code == "ConditionalCheckFailedException":
                return False
            raise
        return True
