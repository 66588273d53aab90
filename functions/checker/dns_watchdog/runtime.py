"""Wiring: the tracer, AWS clients, adapters and the idempotent entry for CloudTrail changes.

Built once per execution environment, on the first event that needs a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from botocore.config import Config

from dns_watchdog import constants as names
from dns_watchdog.aws_vpc import VpcDirectory
from dns_watchdog.canaries import CanaryDirectory
from dns_watchdog.check import Checker
from dns_watchdog.invoker import CanaryInvoker
from dns_watchdog.observability import count, logger, tracer
from dns_watchdog.publisher import SNS_CLIENT_CONFIG, AlertPublisher
from dns_watchdog.reachability import ReachabilityAnalyzer
from dns_watchdog.state import StateStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dns_watchdog.config import CheckerConfig
    from dns_watchdog.request import CheckRequest, PreflightRequest

# EventBridge retries a failing target for up to 24 hours: remember event ids a little longer.
IDEMPOTENCY_TTL_S = 25 * 60 * 60


def _mark_replay(response: Any, idempotent_data: DataRecord) -> Any:
    """A duplicate delivery gets the first delivery's summary, marked as such."""
    count(names.METRIC_DUPLICATE_EVENTS, 1)
    if isinstance(response, dict):
        return {**response, "duplicate": True}
    return response


@dataclass
class Runtime:
    config: CheckerConfig
    _run: Callable[..., dict[str, Any]]
    # Event ids and published alerts: both need the remaining time to expire in-progress records.
    idempotency: tuple[IdempotencyConfig, ...]
    _check_change: Callable[..., dict[str, Any]]
    _preflight: Callable[[PreflightRequest], dict[str, Any]]

    _request_id: str | None = None

    def register_context(self, context: LambdaContext) -> None:
        self._request_id = context.aws_request_id
        for config in self.idempotency:
            config.register_lambda_context(context)

    def check(self, request: CheckRequest) -> dict[str, Any]:
        """Run a check (a sweep, a manual check, or a change once it is known to be new)."""
        return self._run(request, request_id=self._request_id)

    def preflight(self, request: PreflightRequest) -> dict[str, Any]:
        """Predict what associating an option set would do (nothing is changed or stored)."""
        return self._preflight(request)

    def check_change_once(self, event: dict[str, Any], request: CheckRequest) -> dict[str, Any]:
        """Check a CloudTrail change; a repeated `detail.eventID` gets the first summary.

        A duplicate delivery that arrives while the first is still being checked is a no-op
        (not an error: the first delivery's outcome, or its failure and retry, stands).
        """
        try:
            return self._check_change(event=event, request=request)
        except IdempotencyAlreadyInProgressError:
            count(names.METRIC_DUPLICATE_EVENTS, 1)
            logger.info(
                "Duplicate delivery while the first is in progress",
                extra={"event_id": request.event_id},
            )
            return {
                "status": "in_progress",
                "event_name": request.event_name,
                "event_id": request.event_id,
                "duplicate": True,
            }


def build_runtime(config: CheckerConfig) -> Runtime:
    """Clients come from boto3's default session (so tests can hook it).

    The tracer is created first, so that its botocore patching covers every client.
    """
    traced = tracer()
    lambda_client = boto3.client(
        "lambda",
        config=Config(
            max_pool_connections=config.max_concurrent_invocations,
            read_timeout=config.canary_invoke_timeout_s,
            connect_timeout=5,
            # Throttling is retried by CanaryInvoker, with full jitter; no hidden retries here.
            retries={"mode": "standard", "total_max_attempts": 1},
        ),
    )
    dynamodb = boto3.client("dynamodb")

    # Event ids and published alerts are remembered in the state table (items whose `pk` starts
    # with the function and method name, with an `expiration` TTL). A Powertools persistence
    # layer takes the configuration of its first user, so each use gets its own.
    def persistence() -> DynamoDBPersistenceLayer:
        return DynamoDBPersistenceLayer(
            table_name=config.state_table_name, key_attr="pk", boto3_client=dynamodb
        )

    publisher = AlertPublisher(
        config.alert_topic_arn,
        boto3.client("sns", config=SNS_CLIENT_CONFIG),
        persistence=persistence(),
        chat_topic_arn=config.chat_topic_arn,
    )
    ec2 = boto3.client("ec2")
    checker = Checker(
        config=config,
        vpcs=VpcDirectory(ec2),
        canaries=CanaryDirectory(client=boto3.client("resourcegroupstaggingapi")),
        invoker=CanaryInvoker(lambda_client, max_attempts=config.invoke_max_attempts),
        state=StateStore(config.state_table_name, dynamodb),
        publisher=publisher,
        # Opt-in (NameBlockingRule): the same EC2 client; the canaries' placement comes from the
        # invoker's Lambda client.
        analyzer=ReachabilityAnalyzer(ec2) if config.name_blocking_rule else None,
    )
    check = traced.capture_method(checker.run)

    idempotency = IdempotencyConfig(
        event_key_jmespath="detail.eventID",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_TTL_S,
        response_hook=_mark_replay,
    )

    runtime: Runtime

    def check_change(event: dict[str, Any], request: CheckRequest) -> dict[str, Any]:
        return runtime.check(request)

    idempotent = idempotent_function(
        data_keyword_argument="event", persistence_store=persistence(), config=idempotency
    )(check_change)
    runtime = Runtime(
        config,
        check,
        (idempotency, publisher.idempotency),
        idempotent,
        traced.capture_method(checker.preflight),
    )
    return runtime
