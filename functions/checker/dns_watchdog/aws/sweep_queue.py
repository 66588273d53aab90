"""SQS adapter: an organization sweep fans its (account, region) targets out, one message each.

The queue's Lambda event source mapping (template.yaml) delivers them back to the checker with a
maximum concurrency, partial batch failure reporting and a dead-letter queue: one target's
failure is retried on its own and never stops the others.

Targets are released into the queue at most `RELEASE_PER_S` a second (each message's
`DelaySeconds`), whatever the concurrency: every target costs at most one AssumeRole in the
central account (STS: 600 requests a second per account and region, shared with everything else
there) and one read and one write of the state table, so the release rate bounds those rates for
any size of organization; a sweep of 4,000 targets is spread over 40 s of its 5-minute period
(devtools/org_model.py shows the rates with and without it).
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
# Targets released into the queue a second: a sixth of STS's AssumeRole quota in the central
# account (the module docstring says why). SQS delays a message at most 900 s.
RELEASE_PER_S = 100
MAX_DELAY_S = 900


def release_delay_s(position: int, release_per_s: float = RELEASE_PER_S) -> int:
    """The DelaySeconds of the sweep's `position`-th message (0-based)."""
    return min(MAX_DELAY_S, int(position / release_per_s))


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
        """Queue one message per target, released `RELEASE_PER_S` a second; raise AwsCallFailed
        naming the targets not queued (the sweep is then retried as a whole; targets queued
        twice are checked twice, harmlessly)."""
        failed: list[str] = []
        for start in range(0, len(targets), BATCH_SIZE):
            chunk = targets[start : start + BATCH_SIZE]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {
                    "Id": str(i),
                    "MessageBody": sweep_message(t, names.get(t.account or "")),
                    "DelaySeconds": release_delay_s(start + i),
                }
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
