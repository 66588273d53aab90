"""Wiring: the tracer, AWS clients, adapters and the idempotent entry for CloudTrail changes.

Built once per execution environment, on the first event that needs a check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
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
from dns_watchdog.aws.canaries import CanaryDirectory
from dns_watchdog.aws.invoker import CanaryInvoker
from dns_watchdog.aws.organization import AccountNames, ResolvedTargets, resolve_sweep_targets
from dns_watchdog.aws.publisher import SNS_CLIENT_CONFIG, AlertPublisher
from dns_watchdog.aws.reachability import ReachabilityAnalyzer
from dns_watchdog.aws.sessions import STS_CLIENT_CONFIG, AccountSessions
from dns_watchdog.aws.state import StateStore
from dns_watchdog.aws.sweep_queue import SweepQueue
from dns_watchdog.aws.vpcs import VpcDirectory
from dns_watchdog.domain.errors import AccessProblem, MemberAccessDenied
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest, PreflightRequest
from dns_watchdog.domain.targets import parse_sweep_targets, partition_of
from dns_watchdog.flow.run import Checker
from dns_watchdog.observability import count, logger, tracer
from dns_watchdog.render.alert import build_access_warning

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dns_watchdog.config import CheckerConfig

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
    _context: LambdaContext | None = None

    def register_context(self, context: LambdaContext) -> None:
        self._request_id = context.aws_request_id
        self._context = context
        for config in self.idempotency:
            config.register_lambda_context(context)

    def check(self, request: CheckRequest) -> dict[str, Any]:
        """Run a check (a sweep, a manual check, or a change once it is known to be new)."""
        return self._run(request, request_id=self._request_id, deadline=self._deadline())

    def _deadline(self) -> float | None:
        """When this invocation's time runs out, on the monotonic clock (None: no context)."""
        if self._context is None:
            return None
        return time.monotonic() + self._context.get_remaining_time_in_millis() / 1000

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


def _lambda_config(config: CheckerConfig) -> Config:
    return Config(
        max_pool_connections=config.max_concurrent_invocations,
        read_timeout=config.canary_invoke_timeout_s,
        connect_timeout=5,
        # Throttling is retried by CanaryInvoker, with full jitter; no hidden retries here.
        retries={"mode": "standard", "total_max_attempts": 1},
    )


class Places:
    """The checker for each (account, region) a request names.

    Single-account mode: one checker, the configured region, the home account's credentials; a
    request for anywhere else is refused with the reason. Organization mode: the checker of a
    place is built per request from `AccountSessions` (its clients are cached there, renewed with
    the member role's credentials); state items outside the home place are keyed by place.
    """

    def __init__(
        self,
        config: CheckerConfig,
        *,
        dynamodb: Any,
        publisher: AlertPublisher,
        sessions: AccountSessions | None,
    ) -> None:
        self._config = config
        self._dynamodb = dynamodb
        self._publisher = publisher
        self._sessions = sessions
        self._home: Checker | None = None

    def where(self, account_id: str | None, region: str | None) -> tuple[str | None, str]:
        return account_id or self._config.home_account_id, region or self._config.region

    def checker(self, account_id: str | None, region: str | None) -> Checker:
        """Raises MemberAccessDenied when the place cannot be entered."""
        config = self._config
        account, region = self.where(account_id, region)
        if self._sessions is None or account is None:
            home = config.home_account_id
            if (account != home and home is not None) or region != config.region:
                raise MemberAccessDenied(
                    account or "?",
                    f"this watchdog runs in single-account mode and watches "
                    f"{home or 'its own account'} in {config.region} only, not {region}",
                    problem=AccessProblem.SINGLE_ACCOUNT_MODE,
                )
            if self._home is None:
                self._home = self._build(
                    boto3.client("ec2"),
                    boto3.client("resourcegroupstaggingapi"),
                    boto3.client("lambda", config=_lambda_config(config)),
                    region,
                    account=None,
                    place=None,
                )
            return self._home
        clients = self._sessions.clients(Place(account, region))
        at_home = (account, region) == (config.home_account_id, config.region)
        return self._build(
            clients.ec2,
            clients.tagging,
            clients.lambda_,
            region,
            account=account,
            place=None if at_home else (account, region),
        )

    def _build(
        self,
        ec2: Any,
        tagging: Any,
        lambda_client: Any,
        region: str,
        *,
        account: str | None,
        place: tuple[str, str] | None,
    ) -> Checker:
        config = self._config
        return Checker(
            config=config,
            vpcs=VpcDirectory(ec2),
            canaries=CanaryDirectory(client=tagging),
            invoker=CanaryInvoker(lambda_client, max_attempts=config.invoke_max_attempts),
            state=StateStore(config.state_table_name, self._dynamodb, place=place),
            publisher=self._publisher,
            region=region,
            account_id=account,
            # Opt-in (NameBlockingRule): the place's EC2 client; the canaries' placement comes
            # from the invoker's Lambda client.
            analyzer=ReachabilityAnalyzer(ec2) if config.name_blocking_rule else None,
        )

    def refused(self, request: CheckRequest, exc: MemberAccessDenied) -> dict[str, Any]:
        """A place the checker cannot enter: that request's targets are UNVERIFIED, with why.

        A change there gets one WARNING (a change nobody can check must not be silent); sweeps
        and manual checks report it in their result and log.
        """
        account, region = self.where(request.account_id, request.region)
        logger.error(
            "Cannot check in this account",
            extra={
                "account_id": exc.account,
                "region": region,
                "problem": str(exc.problem),
                "reason": exc.reason,
            },
        )
        published = False
        if request.change is not None:
            alert = build_access_warning(request, exc.account, region, exc.reason, str(exc.problem))
            key = f"access#{exc.account}#{region}#{request.event_id}"
            published = self._publisher.publish_once(alert, key) is not None
        targets = [t.resource_id for t in request.resources] or ["*"]
        return {
            "status": "checked",
            "event_name": request.event_name,
            "trigger": request.trigger,
            "account_id": account,
            "region": region,
            "vpcs": [
                {
                    "target": target,
                    "account_id": exc.account,
                    "region": region,
                    "status": "error",
                    "verdict": "UNVERIFIED",
                    "error": exc.reason,
                    "access_problem": str(exc.problem),
                }
                for target in targets
            ],
            "alerts_published": int(published),
        }


def _fan_out(config: CheckerConfig) -> Callable[[CheckRequest], dict[str, Any]]:
    """The organization sweep: resolve its (account, region) targets, one queue message each."""
    assert config.home_account_id is not None
    assert config.sweep_queue_url is not None
    home, queue_url = config.home_account_id, config.sweep_queue_url
    plan = parse_sweep_targets(
        config.sweep_targets, setting=names.SWEEP_TARGETS_ENV, partition=partition_of(config.region)
    )
    queue = SweepQueue(boto3.client("sqs"), queue_url)

    def fan_out(request: CheckRequest) -> dict[str, Any]:
        organizations = boto3.client("organizations") if plan.wants_every_account else None
        if not plan.targets and not plan.wants_every_account:
            resolved = ResolvedTargets((Place(home, config.region),), "setting")
        else:
            resolved = resolve_sweep_targets(plan, home_account=home, client=organizations)
        queued = queue.send(resolved.targets, resolved.account_names)
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

    return fan_out


def build_runtime(config: CheckerConfig) -> Runtime:
    """Clients come from boto3's default session (so tests can hook it).

    The tracer is created first, so that its botocore patching covers every client.
    """
    traced = tracer()
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
    sessions = None
    if config.organization_mode:
        assert config.home_account_id is not None  # the configuration requires it
        sessions = AccountSessions(
            home_account=config.home_account_id,
            partition=partition_of(config.region),
            member_role_name=config.member_role_name,
            sts_client=boto3.client("sts", config=STS_CLIENT_CONFIG),
            client_configs={"lambda": _lambda_config(config)},
        )
    places = Places(config, dynamodb=dynamodb, publisher=publisher, sessions=sessions)

    def run(
        request: CheckRequest, request_id: str | None = None, deadline: float | None = None
    ) -> dict[str, Any]:
        if fan_out is not None and request.trigger == "sweep" and request.account_id is None:
            return fan_out(request)
        if names is not None and request.account_id and request.account_name is None:
            request = replace(request, account_name=names.name_of(request.account_id))
        try:
            checker = places.checker(request.account_id, request.region)
        except MemberAccessDenied as exc:
            if exc.transient and request.trigger == "sweep":
                raise  # the queue delivers this target again later
            return places.refused(request, exc)
        return checker.run(request, request_id=request_id, deadline=deadline)

    fan_out = _fan_out(config) if config.organization_mode and config.sweep_queue_url else None
    # Organization mode: alerts name the account (sweeps learn names from ListAccounts).
    names = AccountNames(boto3.client("organizations")) if config.organization_mode else None

    def preflight(request: PreflightRequest) -> dict[str, Any]:
        try:
            checker = places.checker(request.account_id, request.region)
        except MemberAccessDenied as exc:
            return {"status": "error", "dhcp_options_id": request.option_set_id, "error": str(exc)}
        return checker.preflight(request)

    check = traced.capture_method(run)

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
        traced.capture_method(preflight),
    )
    return runtime
