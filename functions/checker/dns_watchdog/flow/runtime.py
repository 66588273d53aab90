"""The checker's entry points, one method per kind of work, and the wiring that builds them.

    Runtime.check              a sweep (organization mode: fanned out), a manual check, or a
                               change once it is known to be new
    Runtime.check_change_once  a CloudTrail change, once per `detail.eventID`
    Runtime.preflight          what associating an option set would do (nothing is changed)
    Runtime.rollback           put a VPC's last good option set back, asked by somebody

Built once per execution environment, on the first event that needs it (clients and their
caches live here); each invocation brings its own `RunBudget` from its Lambda context.
"""

from __future__ import annotations

import gc
from dataclasses import replace
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

from dns_watchdog import constants as names
from dns_watchdog.aws.chat_pace import ChatPace
from dns_watchdog.aws.publisher import SNS_CLIENT_CONFIG, AlertPublisher
from dns_watchdog.config import CheckerConfig
from dns_watchdog.domain.errors import MemberAccessDenied
from dns_watchdog.domain.request import CheckRequest, PreflightRequest, RollbackRequest
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.flow.notifier import Notifier
from dns_watchdog.flow.places import Places, lambda_client_config, member_operations
from dns_watchdog.flow.run import CheckRun
from dns_watchdog.observability import count, logger, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dns_watchdog.aws.organization import AccountNames
    from dns_watchdog.aws.sessions import AccountSessions
    from dns_watchdog.flow.fanout import SweepFanOut

# EventBridge retries a failing target for up to 24 hours: remember event ids a little longer.
IDEMPOTENCY_TTL_S = 25 * 60 * 60


def _mark_replay(response: Any, idempotent_data: DataRecord) -> Any:
    """A duplicate delivery gets the first delivery's summary, marked as such."""
    count(names.METRIC_DUPLICATE_EVENTS, 1)
    if isinstance(response, dict):
        return {**response, "duplicate": True}
    return response


class Runtime:
    """What the handler calls. Each method takes the invocation's budget (`begin`)."""

    def __init__(
        self,
        config: CheckerConfig,
        *,
        places: Places,
        persistence: DynamoDBPersistenceLayer,
        idempotency: tuple[IdempotencyConfig, ...],
        fan_out: SweepFanOut | None = None,
        account_names: AccountNames | None = None,
    ) -> None:
        self.config = config
        self._places = places
        self._fan_out = fan_out
        self._account_names = account_names
        self._invocations = 0
        # Event ids and published alerts: both need the remaining time to expire in-progress
        # records, so each invocation registers its context with them.
        self._idempotency = idempotency
        traced = tracer()
        self._check = traced.capture_method(self._check_in_place)
        self._preflight = traced.capture_method(self._preflight_in_place)
        self._rollback = traced.capture_method(self._rollback_in_place)
        self._check_change = idempotent_function(
            data_keyword_argument="event", persistence_store=persistence, config=idempotency[0]
        )(self._check_unseen_change)

    def begin(self, context: LambdaContext) -> RunBudget:
        """An invocation starts: its budget, from its own context.

        When the second one starts, what the first loaded (modules, service models, the
        runtime) is frozen out of the garbage collector's reach, once per process (an execution
        environment has one runtime): a full collection of that heap costs ~0.3 s of a whole
        core, ~1 s at the checker's CPU share, and came every ~25 sweep targets; what later
        targets leave behind is collected as before.
        """
        self._invocations += 1
        if self._invocations == 2 and gc.get_freeze_count() == 0:
            gc.freeze()
        for config in self._idempotency:
            config.register_lambda_context(context)
        return RunBudget.from_context(context)

    def check(self, request: CheckRequest, budget: RunBudget) -> dict[str, Any]:
        """A sweep, a manual check, or a change known to be new."""
        if self._fan_out is not None and request.trigger == "sweep" and not request.account_id:
            return self._fan_out.fan_out(request)
        return self._check(request, budget)

    def check_change_once(
        self, event: dict[str, Any], request: CheckRequest, budget: RunBudget
    ) -> dict[str, Any]:
        """Check a CloudTrail change; a repeated `detail.eventID` gets the first summary.

        A duplicate delivery that arrives while the first is still being checked is a no-op
        (not an error: the first delivery's outcome, or its failure and retry, stands).
        """
        try:
            result: dict[str, Any] = self._check_change(event=event, request=request, budget=budget)
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
        return result

    def preflight(self, request: PreflightRequest, budget: RunBudget) -> dict[str, Any]:
        """Predict what associating an option set would do (nothing is changed or stored)."""
        return self._preflight(request, budget)

    def rollback(self, request: RollbackRequest, budget: RunBudget) -> dict[str, Any]:
        """Put the VPC's last good option set back, if the guard rails allow it."""
        return self._rollback(request, budget)

    def _check_unseen_change(
        self, event: dict[str, Any], request: CheckRequest, budget: RunBudget
    ) -> dict[str, Any]:
        return self.check(request, budget)

    def _check_in_place(self, request: CheckRequest, budget: RunBudget) -> dict[str, Any]:
        # A sweep target's name comes in its message (the fan-out named every account once).
        if (
            self._account_names is not None
            and request.account_id
            and not request.account_name
            and request.trigger != "sweep"
        ):
            request = _named(request, self._account_names.name_of(request.account_id))
        try:
            crew = self._places.crew(
                self._places.resolve(request.account_id, request.region), budget
            )
        except MemberAccessDenied as exc:
            if exc.transient and request.trigger == "sweep":
                raise  # the queue delivers this target again later
            return self._places.refused(request, exc)
        return CheckRun(crew, budget).run(request)

    def _preflight_in_place(self, request: PreflightRequest, budget: RunBudget) -> dict[str, Any]:
        try:
            check = self._places.preflight(self._places.resolve(request.account_id, request.region))
        except MemberAccessDenied as exc:
            return {"status": "error", "dhcp_options_id": request.option_set_id, "error": str(exc)}
        return check.run(request, budget)

    def _rollback_in_place(self, request: RollbackRequest, budget: RunBudget) -> dict[str, Any]:
        place = self._places.resolve(request.account_id, request.region)
        try:
            rollbacker = self._places.rollback(place)
        except MemberAccessDenied as exc:
            logger.warning(
                "Rollback refused", extra={"vpc_id": request.vpc_id, "reason": exc.reason}
            )
            return {
                "status": "refused",
                "event_name": request.event_name,
                "vpc_id": request.vpc_id,
                "account_id": place.account,
                "region": place.region,
                "requested_by": request.requested_by,
                "reason": exc.reason,
            }
        return rollbacker.run(request, budget)


def _named(request: CheckRequest, account_name: str | None) -> CheckRequest:
    return replace(request, account_name=account_name)


def build_runtime(config: CheckerConfig) -> Runtime:
    """Clients come from boto3's default session (so tests can hook it). The tracer is created
    first, so that its botocore patching covers every client."""
    tracer()
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
    # Chat posts share the channel's rate across every checker running at once.
    pace = ChatPace(config.state_table_name, dynamodb) if config.chat_topic_arn else None
    places = Places(
        config,
        dynamodb=dynamodb,
        notifier=Notifier(publisher, pace),
        sessions=_sessions(config),
    )
    changes = IdempotencyConfig(
        event_key_jmespath="detail.eventID",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_TTL_S,
        response_hook=_mark_replay,
    )
    fan_out, account_names = _organization_parts(config)
    return Runtime(
        config,
        places=places,
        persistence=persistence(),
        idempotency=(changes, publisher.idempotency),
        fan_out=fan_out,
        account_names=account_names,
    )


def _sessions(config: CheckerConfig) -> AccountSessions | None:
    """Organization mode: clients per place through the member role (imported only then)."""
    if not config.organization_mode:
        return None
    from dns_watchdog.aws.sessions import STS_CLIENT_CONFIG, AccountSessions  # noqa: PLC0415
    from dns_watchdog.domain.targets import partition_of  # noqa: PLC0415

    assert config.home_account_id is not None  # the configuration requires it
    return AccountSessions(
        home_account=config.home_account_id,
        partition=partition_of(config.region),
        member_role_name=config.member_role_name,
        sts_client=boto3.client("sts", config=STS_CLIENT_CONFIG),
        client_configs={"lambda": lambda_client_config(config)},
        operations=member_operations(config),
    )


def _organization_parts(
    config: CheckerConfig,
) -> tuple[SweepFanOut | None, AccountNames | None]:
    """Organization mode: the sweep's fan-out (with a queue) and account names for alerts."""
    if not config.organization_mode:
        return None, None
    from dns_watchdog.aws.organization import AccountNames  # noqa: PLC0415
    from dns_watchdog.flow.fanout import SweepFanOut  # noqa: PLC0415

    fan_out = SweepFanOut(config) if config.sweep_queue_url else None
    return fan_out, AccountNames(boto3.client("organizations"))
