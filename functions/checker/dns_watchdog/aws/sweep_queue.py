"""SQS adapter: an organization sweep fans its (account, region) targets out, one message each.

The queue's Lambda event source mapping (template.yaml) delivers them back to the checker with a
maximum concurrency, partial batch failure reporting and a dead-letter queue: one target's
failure is retried on its own and never stops the others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.place import Place

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

# SendMessageBatch takes at most 10 entries.
BATCH_SIZE = 10


def sweep_message(target: Place, account_name: str | None) -> str:
    """The body the checker parses back as `{"action": "sweep", ...}` (events.py)."""
    if target.account is None:
        raise ValueError(f"a sweep message names its account: {target}")
    body: dict[str, str] = {
        "action": "sweep",
        "account_id": target.account,
        "region": target.region,
    }
    if account_name:
        body["account_name"] = account_name
    return json.dumps(body, sort_keys=True)


class SweepQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._sqs = client
        self._queue_url = queue_url

    def send(self, targets: Sequence[Place], names: Mapping[str, str]) -> int:
        """Queue one message per target; raise AwsCallFailed naming the targets not queued (the
        sweep is then retried as a whole; targets queued twice are checked twice, harmlessly)."""
        failed: list[str] = []
        for start in range(0, len(targets), BATCH_SIZE):
            chunk = targets[start : start + BATCH_SIZE]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": sweep_message(t, names.get(t.account or ""))}
                for i, t in enumerate(chunk)
            ]
            try:
                response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                failed += [str(t) for t in chunk]
                failed[-1] += f" ({exc})"
                continue
            failed += [str(chunk[int(f["Id"])]) for f in response.get("Failed", [])]
        if failed:
            raise AwsCallFailed(f"could not queue {len(failed)} sweep targets: {', '.join(failed)}")
        return len(targets)
