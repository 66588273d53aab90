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
from dns_watchdog.domain.events import InvalidEvent, parse_event
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
    from dns_watchdog.flow.runtime import Runtime


@functools.cache
def _config() -> CheckerConfig:
    """Read once per execution environment; a missing setting fails every invocation loudly."""
    return load_config(os.environ)


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


def _is_sweep_queue_batch(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        bool(records) and isinstance(records, list) and records[0].get("eventSource") == "aws:sqs"
    )


def _sweep_queue_batch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Organization sweep targets from the fan-out queue, one check each; the failed ones are
    reported as batch item failures, so SQS retries them alone (then its dead-letter queue)."""
    # Imported here: only the fan-out queue's invocations pay for it.
    from aws_lambda_powertools.utilities.batch import (  # noqa: PLC0415
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    runtime = _runtime()
    budget = runtime.begin(context)

    def check_target(record: Any) -> dict[str, Any]:
        parsed = parse_event(json.loads(record.body))
        if not isinstance(parsed, CheckRequest) or parsed.trigger != "sweep":
            raise InvalidEvent('a sweep queue message must be {"action": "sweep", ...}')
        if parsed.account_id is None:
            raise InvalidEvent("a sweep queue message must name its account_id and region")
        logger.append_keys(trigger="sweep", account_id=parsed.account_id, region=parsed.region)
        return runtime.check(parsed, budget)

    processor = BatchProcessor(event_type=EventType.SQS)
    response = process_partial_response(
        event=event, record_handler=check_target, processor=processor, context=context
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


def _is_rollback(event: Any) -> bool:
    return isinstance(event, dict) and event.get("action") == "rollback"


def _chat_request(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Through the chat alias: a rollback request, or a rejection."""
    try:
        parsed = parse_event(event) if _is_rollback(event) else None
        if not isinstance(parsed, RollbackRequest):
            raise InvalidEvent(
                f"through its {names.CHAT_ROLLBACK_ALIAS!r} alias the checker takes rollback "
                'requests only ({"action": "rollback", ...})'
            )
    except InvalidEvent as exc:
        return _rejected(exc)
    return _rollback(replace(parsed, via_chat=True), context)


def _routed(event: Any, context: LambdaContext) -> dict[str, Any] | None:
    """Invocations answered before any event parsing: through the chat alias (rollbacks only,
    whatever the event looks like) and the fan-out queue's batches."""
    if _via_chat_alias(context):
        return _chat_request(event, context)
    if _is_sweep_queue_batch(event):
        return _sweep_queue_batch(event, context)
    return None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    config = _config()
    routed = _routed(event, context)
    if routed is not None:
        return routed
    try:
        parsed = parse_event(event)
    except InvalidEvent as exc:
        return _rejected(exc)
    if isinstance(parsed, IgnoredEvent):
        return _ignored(parsed)
    if isinstance(parsed, RollbackRequest):
        return _rollback(parsed, context)
    if isinstance(parsed, PreflightRequest):
        logger.append_keys(trigger="preflight", event_name=parsed.event_name, region=config.region)
        runtime = _runtime()
        return runtime.preflight(parsed, runtime.begin(context))
    logger.append_keys(trigger=parsed.trigger, event_name=parsed.event_name, region=config.region)
    runtime = _runtime()
    return _DISPATCH[parsed.trigger](runtime, parsed, event, runtime.begin(context))
