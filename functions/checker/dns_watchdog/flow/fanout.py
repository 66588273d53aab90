"""The organization sweep's fan-out: resolve its (account, region) places, one message each.

Imported only in organization mode with a sweep queue.
"""

from __future__ import annotations

from typing import Any

import boto3

from dns_watchdog import constants as names
from dns_watchdog.aws.organization import ResolvedTargets, resolve_sweep_targets
from dns_watchdog.aws.sweep_queue import SweepQueue
from dns_watchdog.config import CheckerConfig
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.targets import parse_sweep_targets, partition_of
from dns_watchdog.observability import logger


class SweepFanOut:
    """Sends one sweep message per place to the queue the checker reads in batches."""

    def __init__(self, config: CheckerConfig) -> None:
        assert config.home_account_id is not None  # the configuration requires it
        assert config.sweep_queue_url is not None
        self._home = Place(config.home_account_id, config.region)
        self._plan = parse_sweep_targets(
            config.sweep_targets,
            setting=names.SWEEP_TARGETS_ENV,
            partition=partition_of(config.region),
        )
        self._queue = SweepQueue(boto3.client("sqs"), config.sweep_queue_url)

    def fan_out(self, request: CheckRequest) -> dict[str, Any]:
        resolved = self._resolve()
        queued = self._queue.send(resolved.targets, resolved.account_names)
        logger.info(
            "Sweep fanned out",
            extra={
                "targets": queued,
                "source": resolved.source,
                "fallback_reason": resolved.fallback_reason,
            },
        )
        return {
            "status": "fanned_out",
            "event_name": request.event_name,
            "trigger": request.trigger,
            "targets": queued,
            "source": resolved.source,
            "fallback_reason": resolved.fallback_reason,
        }

    def _resolve(self) -> ResolvedTargets:
        plan = self._plan
        if not plan.targets and not plan.wants_every_account:
            return ResolvedTargets((self._home,), "setting")
        # Asked for the accounts (``*``) or for the names of the setting's own accounts.
        organizations = boto3.client("organizations")
        assert self._home.account is not None
        return resolve_sweep_targets(plan, home_account=self._home.account, client=organizations)
