"""Checker Lambda: an event in, verdicts and alerts out (docs/checker-contract.md).

The handler parses the event and dispatches on its kind (the table below); everything else lives
in `dns_watchdog` (docs/architecture.md). Invoked through its chat alias (the only way the chat
channel role may invoke it), it takes rollback requests and nothing else.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dns_watchdog import constants as names
from dns_watchdog.config import CheckerConfig, load_config
from dns_watchdog.domain.events import (
    InvalidEvent,
    check_queue_batch,
    is_cloudtrail_event,
    is_queue_batch,
    parse_event,
)
from dns_watchdog.domain.request import (
    CheckRequest,
    IgnoredEvent,
    PreflightRequest,
    RollbackRequest,
    Trigger,
)
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.observability import count, logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from dns_watchdog.domain.origins import ChangeOrigins
    from dns_watchdog.flow.runtime import Runtime


@functools.cache
def _config() -> CheckerConfig:
    """Read once per execution environment; a missing setting fails every invocation loudly."""
    return load_config(os.environ)


@functools.cache
def _origins() -> ChangeOrigins:
    """Where a change may make the checker act (its partition; organization mode: the swept
    regions)."""
    return _config().change_origins()


@functools.cache
def _runtime() -> Runtime:
    """The check machinery (boto3, the adapters, the run) is imported and built on first use:
    importing the handler loads only what parsing an event needs, and rejected or ignored
    events never pay for the rest."""
    from dns_watchdog.flow.runtime import build_runtime  # noqa: PLC0415

    return build_runtime(_config())


def _rejected(error: InvalidEvent) -> dict[str, Any]:
    # Garbage is rejected, not raised: retrying it would only repeat the rejection.
    logger.warning("Rejected event", extra={"error": str(error)})
    count(names.METRIC_EVENTS_REJECTED, 1)
    return {"status": "rejected", "error": str(error)}


def _ignored(parsed: IgnoredEvent) -> dict[str, Any]:
    count(names.METRIC_EVENTS_IGNORED, 1)
    logger.info(
        "Ignoring a failed API call",
        extra={
            "event_name": parsed.event_name,
            "event_id": parsed.event_id,
            "error_code": parsed.error_code,
            "vpc_id": parsed.vpc_id,
        },
    )
    return {
        "status": "ignored",
        "event_name": parsed.event_name,
        "event_id": parsed.event_id,
        "reason": parsed.reason,
    }


# What each kind of check request runs: a CloudTrail change once per event id (EventBridge may
# deliver it twice), sweeps and manual checks every time.
_DISPATCH: dict[
    Trigger, Callable[[Runtime, CheckRequest, dict[str, Any], RunBudget], dict[str, Any]]
] = {
    "change": lambda runtime, request, event, budget: runtime.check_change_once(
        event, request, budget
    ),
    "sweep": lambda runtime, request, _, budget: runtime.check(request, budget),
    "manual": lambda runtime, request, _, budget: runtime.check(request, budget),
}


def _admitted(
    event: Any,
) -> CheckRequest | PreflightRequest | RollbackRequest | dict[str, Any]:
    """The request `event` makes, or the final answer when there is nothing to run: rejected
    (garbage; a change whose record disagrees with its envelope, or from a region the watchdog
    does not act in) or ignored (a failed call)."""
    try:
        parsed = parse_event(event)
    except InvalidEvent as exc:
        return _rejected(exc)
    if isinstance(parsed, IgnoredEvent):
        return _ignored(parsed)
    if isinstance(parsed, RollbackRequest):
        return parsed
    problem = _origins().problem(parsed)
    if problem is not None:
        return _rejected(InvalidEvent(problem))
    return parsed


def _run(
    runtime: Runtime,
    request: CheckRequest | PreflightRequest,
    event: dict[str, Any],
    budget: RunBudget,
) -> dict[str, Any]:
    region = _config().region
    if isinstance(request, PreflightRequest):
        logger.append_keys(trigger="preflight", event_name=request.event_name, region=region)
        return runtime.preflight(request, budget)
    logger.append_keys(trigger=request.trigger, event_name=request.event_name, region=region)
    return _DISPATCH[request.trigger](runtime, request, event, budget)


def _sweep_target(runtime: Runtime, body: Any, budget: RunBudget) -> dict[str, Any]:
    """A fan-out queue message: the checker wrote it, so a garbled one is a fault (raised: SQS
    delivers it again, then dead-letters it)."""
    parsed = parse_event(body)
    if not isinstance(parsed, CheckRequest) or parsed.trigger != "sweep":
        raise InvalidEvent('a sweep queue message must be {"action": "sweep", ...}')
    if parsed.account_id is None:
        raise InvalidEvent("a sweep queue message must name its account_id and region")
    logger.append_keys(trigger="sweep", account_id=parsed.account_id, region=parsed.region)
    return runtime.check(parsed, budget)


def _queue_batch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Messages of the checker's queues, one check each: organization sweep targets (the fan-out
    queue) and changes forwarded by member accounts (the change queue, which caps how many are
    checked at once). A failed check is reported as a batch item failure, so SQS retries it alone
    (then its dead-letter queue); a change rejected or ignored is done, never retried."""
    # Imported here: only the queues' invocations pay for it.
    from aws_lambda_powertools.utilities.batch import (  # noqa: PLC0415
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    runtime = _runtime()
    budget = runtime.begin(context)

    def check_message(record: Any) -> dict[str, Any]:
        body = json.loads(record.body)
        if not is_cloudtrail_event(body):
            return _sweep_target(runtime, body, budget)
        admitted = _admitted(body)
        if isinstance(admitted, dict):
            return admitted
        if isinstance(admitted, RollbackRequest):
            return _rejected(InvalidEvent("a rollback request does not come through a queue"))
        return _run(runtime, admitted, body, budget)

    processor = BatchProcessor(event_type=EventType.SQS)
    response = process_partial_response(
        event=event, record_handler=check_message, processor=processor, context=context
    )
    return dict(response)


def _via_chat_alias(context: LambdaContext) -> bool:
    """Invoked as `function:<name>:chat`, the alias the chat channel role may invoke."""
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    return len(parts) == 8 and parts[7] == names.CHAT_ROLLBACK_ALIAS


def _rollback(request: RollbackRequest, context: LambdaContext) -> dict[str, Any]:
    config = _config()
    logger.append_keys(trigger="rollback", event_name=request.event_name, region=config.region)
    runtime = _runtime()
    return runtime.rollback(request, runtime.begin(context))


def _chat_request(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Through the chat alias: a rollback request, or a rejection (whatever the event is)."""
    try:
        is_rollback = isinstance(event, dict) and event.get("action") == "rollback"
        parsed = parse_event(event) if is_rollback else None
        if not isinstance(parsed, RollbackRequest):
            raise InvalidEvent(
                f"through its {names.CHAT_ROLLBACK_ALIAS!r} alias the checker takes rollback "
                'requests only ({"action": "rollback", ...})'
            )
    except InvalidEvent as exc:
        return _rejected(exc)
    return _rollback(replace(parsed, via_chat=True), context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    _config()
    if _via_chat_alias(context):
        return _chat_request(event, context)
    if is_queue_batch(event):
        try:
            check_queue_batch(event)
        except InvalidEvent as exc:
            return _rejected(exc)
        return _queue_batch(event, context)
    admitted = _admitted(event)
    if isinstance(admitted, dict):
        return admitted
    if isinstance(admitted, RollbackRequest):
        return _rollback(admitted, context)
    runtime = _runtime()
    return _run(runtime, admitted, event, runtime.begin(context))
